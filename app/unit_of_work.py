"""One unit of work for a view that changes something: commit once, or roll back and say why.

    with unit_of_work("Saved.") as work:
        services.do_the_thing(actor=current_user, ...)
    return redirect(...)

The block's writes are committed together when it ends and the success message is flashed. A
broken rule (`DomainError`) rolls everything back: by default its message is flashed and the view
carries on (usually to a redirect); with `flash_error=False` nothing is flashed and the view reads
`work.error` to show its form again with the message beside the field. Any other exception rolls
back and propagates (a 500, or the 503 of an unreachable database). Services only flush.

A success message that depends on the result is set inside the block: `work.success = f"..."`.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from flask import flash

from app.db import db
from app.errors import DomainError


@dataclass
class Work:
    success: str | None = None
    error: DomainError | None = None

    @property
    def failed(self) -> bool:
        return self.error is not None


@contextmanager
def unit_of_work(success: str | None = None, *, flash_error: bool = True) -> Iterator[Work]:
    work = Work(success=success)
    try:
        yield work
    except DomainError as error:
        db.session.rollback()
        work.error = error
        if flash_error:
            flash(error.message, "error")
        return
    except BaseException:
        db.session.rollback()
        raise
    db.session.commit()
    if work.success:
        flash(work.success, "success")
