"""How the API refuses: one documented shape (``Problem``), in the asker's language, never with
their input in it.

A validation error names the field, the rule it broke and what to do, in words from the
catalogues. Nothing of the rejected value is sent back: not to repeat a password or a
3 MB text, not to reflect what an attacker wrote, and not to fail on a value that cannot
even be encoded (a lone surrogate). Only numbers and choices from our own schema (a
minimum, the allowed values) appear in the message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from visibility.errors import (
    ConfigError,
    ConflictError,
    InputError,
    NotFoundError,
    TransitionError,
    UserError,
    ValidationError,
)
from visibility.web.i18n import Translate, request_language, translator

_STATUS_OF_ERROR: tuple[tuple[type[UserError], int], ...] = (
    (NotFoundError, 404),
    (TransitionError, 409),
    (ConflictError, 409),
    (ValidationError, 422),
    (InputError, 422),
    (ConfigError, 400),
)


def status_of(exc: UserError) -> int:
    """404 for what does not exist, 409 for a refused transition, 422 for bad input, else 400."""
    for kind, code in _STATUS_OF_ERROR:
        if isinstance(exc, kind):
            return code
    return 400


# -- the shape, as documented ------------------------------------------------------


class FieldProblem(BaseModel):
    """One thing wrong with a request; the value sent is never repeated."""

    # Closed, so a schema check fails on anything more (pydantic's "input", say).
    model_config = ConfigDict(extra="forbid")

    field: str = Field(
        description="Where: a body field ('password'), or 'query.limit', 'path.post_id'; "
        "'body' for the body as a whole."
    )
    rule: str = Field(description="The rule broken, e.g. string_too_short, missing, int_parsing.")
    message: str = Field(description="What is wrong and how to fix it, in the request's language.")


class Problem(BaseModel):
    """Every error answer of the API."""

    model_config = ConfigDict(extra="forbid")

    detail: str = Field(description="What went wrong and what to do, in the request's language.")
    errors: list[FieldProblem] | None = Field(
        default=None, description="With 422 for a malformed request: each field's problem."
    )


_DESCRIPTIONS: Mapping[int, str] = {
    400: "Refused: the request cannot be done as asked (the detail says why).",
    401: "Not signed in, or the API token is not valid.",
    403: "Signed in, but the role does not allow this, or the CSRF token is missing.",
    404: "No such record.",
    409: "The post is not in a state that allows this, or the name is in use already.",
    413: "The news item (or the whole request) is larger than VISIBILITY_MAX_NEWS_BYTES allows.",
    422: "A field is missing or not valid (see errors), or the content breaks a channel's limit.",
    429: "Too many failed sign-ins: wait the Retry-After seconds.",
}


def problems(*codes: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for these error codes, each a ``Problem``."""
    return {code: {"model": Problem, "description": _DESCRIPTIONS[code]} for code in codes}


# -- validation errors in words from the catalogue ---------------------------------------

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,63}$")
_QUOTED = re.compile(r"'([^']*)'")
_Message = Callable[[Translate, Mapping[str, Any]], str]


def _choices(ctx: Mapping[str, Any]) -> str:
    # pydantic writes the allowed values as "'a', 'b' or 'c'": our schema's, not the input.
    return ", ".join(_QUOTED.findall(str(ctx.get("expected", ""))))


_MESSAGES: Mapping[str, _Message] = {
    "missing": lambda _, c: _("This is required: send a value."),
    "extra_forbidden": lambda _, c: _(
        "This field is not part of the request: remove it (see /docs)."
    ),
    "json_invalid": lambda _, c: _(
        "The body is not valid JSON: check its quotes, commas and brackets."
    ),
    "string_type": lambda _, c: _("Send text (a JSON string) here."),
    "string_unicode": lambda _, c: _(
        "This text is not valid Unicode (it holds a lone surrogate): send real characters."
    ),
    "string_too_short": lambda _, c: _(
        "Too short: use at least {count} characters.", count=c.get("min_length", "?")
    ),
    "string_too_long": lambda _, c: _(
        "Too long: use at most {count} characters.", count=c.get("max_length", "?")
    ),
    "string_pattern_mismatch": lambda _, c: _(
        "Not in the expected form ({pattern}).", pattern=c.get("pattern", "?")
    ),
    "too_short": lambda _, c: _(
        "Too few: send at least {count} items.", count=c.get("min_length", "?")
    ),
    "too_long": lambda _, c: _(
        "Too many: send at most {count} items.", count=c.get("max_length", "?")
    ),
    "int_type": lambda _, c: _("Send a whole number."),
    "int_parsing": lambda _, c: _("Send a whole number."),
    "int_from_float": lambda _, c: _("Send a whole number."),
    "int_parsing_size": lambda _, c: _("Send a whole number."),
    "float_type": lambda _, c: _("Send a number."),
    "float_parsing": lambda _, c: _("Send a number."),
    "bool_type": lambda _, c: _("Send true or false."),
    "bool_parsing": lambda _, c: _("Send true or false."),
    "greater_than_equal": lambda _, c: _(
        "Too small: the least allowed is {bound}.", bound=c.get("ge", "?")
    ),
    "greater_than": lambda _, c: _("Too small: send more than {bound}.", bound=c.get("gt", "?")),
    "less_than_equal": lambda _, c: _(
        "Too large: the most allowed is {bound}.", bound=c.get("le", "?")
    ),
    "less_than": lambda _, c: _("Too large: send less than {bound}.", bound=c.get("lt", "?")),
    "literal_error": lambda _, c: _("Choose one of: {choices}.", choices=_choices(c)),
    "enum": lambda _, c: _("Choose one of: {choices}.", choices=_choices(c)),
    "date_type": lambda _, c: _("Send a date as YYYY-MM-DD."),
    "date_parsing": lambda _, c: _("Send a date as YYYY-MM-DD."),
    "date_from_datetime_parsing": lambda _, c: _("Send a date as YYYY-MM-DD."),
    "datetime_type": lambda _, c: _(
        "Send a date and time as YYYY-MM-DDTHH:MM, with an offset such as +01:00."
    ),
    "datetime_parsing": lambda _, c: _(
        "Send a date and time as YYYY-MM-DDTHH:MM, with an offset such as +01:00."
    ),
    "datetime_from_date_parsing": lambda _, c: _(
        "Send a date and time as YYYY-MM-DDTHH:MM, with an offset such as +01:00."
    ),
    "list_type": lambda _, c: _("Send a list (a JSON array) here."),
    "dict_type": lambda _, c: _("Send an object (JSON with named fields) here."),
    "model_type": lambda _, c: _("Send an object (JSON with named fields) here."),
    "model_attributes_type": lambda _, c: _("Send an object (JSON with named fields) here."),
}


def _field(loc: Iterable[object], rule: str) -> str:
    parts = [str(p) for p in loc]
    if rule == "json_invalid":
        return "body"  # FastAPI puts the parse position after it
    if rule == "extra_forbidden" and parts:
        parts = parts[:-1]  # the unknown name is the client's, not ours
    if parts[:1] == ["body"] and len(parts) > 1:
        parts = parts[1:]
    # A name we did not define (a dict key, say) is input too.
    named = [p if (_NAME.match(p) or p.isdigit()) else "?" for p in parts]
    return ".".join(named) or "body"


def field_problems(errors: Iterable[Mapping[str, Any]], _: Translate) -> list[FieldProblem]:
    """Each validation error as field, rule and a message from the catalogue; no input."""
    found: list[FieldProblem] = []
    for error in errors:
        rule = str(error.get("type", "invalid"))
        ctx = error.get("ctx") or {}
        explain = _MESSAGES.get(rule)
        message = (
            explain(_, ctx)
            if explain is not None
            else _("Not valid here: /docs shows what this field accepts.")
        )
        found.append(
            FieldProblem(field=_field(error.get("loc", ()), rule), rule=rule, message=message)
        )
    return found


def summary(found: Iterable[FieldProblem]) -> str:
    return "; ".join(f"{p.field}: {p.message}" for p in found)


# -- the handlers ---------------------------------------------------------------


def _answer(problem: Problem, status_code: int) -> JSONResponse:
    return JSONResponse(problem.model_dump(exclude_none=True), status_code=status_code)


async def user_error(request: Request, exc: UserError) -> JSONResponse:
    # A refusal may name its fields (visibility.web.grant_input.GrantInputError).
    found = getattr(exc, "problems", None)
    return _answer(Problem(detail=str(exc), errors=found or None), status_of(exc))


async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
    _ = translator(request_language(request))
    found = field_problems(exc.errors(), _)
    detail = summary(found) or _("The request is not valid: /docs shows what it accepts.")
    return _answer(Problem(detail=detail, errors=found), 422)


_STOCK: Mapping[int, Callable[[Translate], str]] = {
    404: lambda _: _("Nothing here: check the address; /docs lists the API."),
    405: lambda _: _("This address does not take this method; /docs lists the ones it does."),
}


async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
    """Our own HTTP errors as they are; Starlette's stock phrases ("Not Found") in words."""
    stock = _STOCK.get(exc.status_code)
    if stock is not None and exc.detail == HTTPStatus(exc.status_code).phrase:
        _ = translator(request_language(request))
        exc = StarletteHTTPException(exc.status_code, stock(_), headers=exc.headers)
    return await http_exception_handler(request, exc)


def register(app: FastAPI) -> None:
    """Answer every refusal as a ``Problem``."""
    app.exception_handler(UserError)(user_error)
    app.exception_handler(RequestValidationError)(validation_error)
    app.exception_handler(StarletteHTTPException)(http_error)
