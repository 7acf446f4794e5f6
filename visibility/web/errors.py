"""The HTTP status of each kind of refusal, shared by the API and the pages."""

from __future__ import annotations

from visibility.errors import (
    ConfigError,
    InputError,
    NotFoundError,
    TransitionError,
    UserError,
    ValidationError,
)

_STATUS_OF_ERROR: tuple[tuple[type[UserError], int], ...] = (
    (NotFoundError, 404),
    (TransitionError, 409),
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
