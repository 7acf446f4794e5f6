"""The API reference (/docs): Swagger UI served from this package, never from a CDN.

The files under ``static/swagger-ui/`` are swagger-ui-dist, unchanged from its
npm package; ``SWAGGER_UI_FILES`` pins their hashes, and a test checks them,
so a changed file is noticed. To upgrade: ``npm pack swagger-ui-dist@VERSION``,
copy the same files, update the version and hashes here.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import APIRouter, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse

from visibility.web.i18n import pick_language, translator
from visibility.web.security import policy_allowing_scripts

SWAGGER_UI_VERSION = "5.35.0"
#: sha256 of each vendored file, as npm's swagger-ui-dist 5.35.0 ships them; the
#: tarball's integrity is sha512-U06rpMtW9V3XPGOBeamTUSr0Z09jMX4IJuANpE/EZbAhw0G8
#: CgwrzU4YmXkn/h0wCDNsXdGarTNNHC3sU8yVUQ== (one value, split over two lines).
SWAGGER_UI_FILES = {
    "swagger-ui-bundle.js": "e6a898692f2d768e807c3ba4626068a69a2c5dd960dd6c76f3e4d3a3de180af2",
    "swagger-ui.css": "5ed08757e53da3e026d6cbecc61fe5d43585c9560b302d534ad56692519a273d",
    "LICENSE": "cfc7749b96f63bd31c3c42b5c471bf756814053e847c10f3eb003417bc523d30",
    "NOTICE": "0d20d1adef18aee3f40dd258172155521ce702ac445cb5f7b7d60ed32dad2fb2",
    "swagger-ui-bundle.js.LICENSE.txt": (
        "37eb6e7e59aed57b2c1acf076574b818ea07b74265717e0bd67b59e0baf9abbb"
    ),
}

router = APIRouter(include_in_schema=False)

_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def _script_hashes(page: str) -> list[str]:
    return [
        "sha256-" + base64.b64encode(hashlib.sha256(body.encode("utf-8")).digest()).decode()
        for body in _INLINE_SCRIPT.findall(page)
    ]


@router.get("/docs")
def swagger_ui(request: Request) -> HTMLResponse:
    root = str(request.scope.get("root_path", "")).rstrip("/")
    _ = translator(
        pick_language(request.session.get("lang"), request.headers.get("accept-language"))
    )
    page = get_swagger_ui_html(
        openapi_url=f"{root}{request.app.openapi_url}",
        title=_("visibility API reference"),
        swagger_js_url=f"{root}/static/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url=f"{root}/static/swagger-ui/swagger-ui.css",
        swagger_favicon_url=f"{root}/static/favicon.svg",
        # Swagger UI would otherwise send the spec to validator.swagger.io.
        swagger_ui_parameters={"validatorUrl": None},
    )
    html = bytes(page.body).decode("utf-8")
    # The one inline script (Swagger UI's start) is allowed by its hash, and
    # only on this page: every other page allows no inline script at all.
    policy = policy_allowing_scripts(*_script_hashes(html))
    return HTMLResponse(html, headers={"Content-Security-Policy": policy})
