"""Showing a service's DomainError on the form that caused it."""

from app.db import db
from app.errors import DomainError, FieldErrors


def row_id(value: str) -> int:
    """A row's id from a form (`request.form.get(name, type=row_id)`): a whole number a database key can
    hold, else None, never an overflow deeper in."""
    number = int(value)
    if not 0 < number < 2**31:
        raise ValueError(value)
    return number


def attach_domain_error(form, error: DomainError) -> None:
    """Undo the unit of work and show the message beside the field it names (or above the form); for
    several fields at once (FieldErrors), each beside its own."""
    db.session.rollback()
    if isinstance(error, FieldErrors):
        for name, message in error.errors.items():
            field = getattr(form, name, None)
            if field is not None:
                field.errors = [*field.errors, message]
            else:
                form.form_errors.append(message)
        return
    field = getattr(form, error.field, None) if error.field else None
    if field is not None:
        field.errors = [*field.errors, error.message]
    else:
        form.form_errors.append(error.message)
