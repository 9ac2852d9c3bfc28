"""What someone holding the whole database sees: for the tests that play that adversary."""

from __future__ import annotations

from app.db import db


def everything_stored() -> str:
    """Every value of every row of every table, as text (binary columns as Latin-1)."""
    seen = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(table.select()):
            seen += [bytes(v).decode("latin-1") if isinstance(v, bytes | memoryview) else str(v) for v in row]
    return "\n".join(seen)
