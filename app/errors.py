"""Domain errors: a broken rule in a service. One handler turns them into a page or flash."""


class DomainError(Exception):
    """A rule of the programme was broken. The message is shown to the user as it is."""

    status_code = 400

    def __init__(self, message: str, *, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class NotFound(DomainError):
    status_code = 404


class PermissionDenied(DomainError):
    status_code = 403


class Conflict(DomainError):
    status_code = 409


class InvalidToken(DomainError):
    """A link's token is unknown, used or expired."""

    status_code = 400


class FieldErrors(DomainError):
    """Several answers are wrong at once: one message per field, so the form can show them all."""

    def __init__(self, errors: dict[str, str]):
        super().__init__(" ".join(errors.values()), field=next(iter(errors), None))
        self.errors = errors
