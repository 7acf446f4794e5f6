"""What ships: the wheel holds the runtime package and nothing the tests use."""

from __future__ import annotations

import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_wheel_carries_no_test_support(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(REPO / name, source / name)
    shutil.copytree(
        REPO / "visibility", source / "visibility", ignore=shutil.ignore_patterns("__pycache__")
    )
    # The tests folder sits where a careless package pattern would pick it up.
    shutil.copytree(
        REPO / "tests" / "emulators",
        source / "tests" / "emulators",
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "--wheel-dir",
            str(tmp_path / "dist"),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = (tmp_path / "dist").glob("visibility-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "visibility/queue/store.py" in names
    assert "visibility/web/templates/base.html" in names
    # Swagger UI is served from the package, not from a CDN.
    assert "visibility/web/static/swagger-ui/swagger-ui-bundle.js" in names
    shipped_code = [n for n in names if n.endswith(".py")]
    assert not [n for n in shipped_code if not n.startswith("visibility/")]
    assert not [n for n in names if "emulator" in n or n.startswith("visibility/testing/")]
