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


def pages_the_team_can_reach(client) -> dict[str, str]:
    """Every page where a team member could read what the service recorded or sent: the audit log (each
    action's filter too), the outbox and each message in it, the reminders, people and each person.
    `client` is signed in as a team member. Returns {path: body}."""
    from sqlalchemy import select

    from app.audit import AuditEvent
    from app.auth.models import User
    from app.notifications.models import OutboxMessage

    paths = ["/team/audit", "/team/outbox", "/team/reminders", "/team/people", "/team/"]
    paths += [f"/team/audit?action={action}" for action in db.session.scalars(select(AuditEvent.action).distinct())]
    paths += [f"/team/outbox/{id_}" for id_ in db.session.scalars(select(OutboxMessage.id))]
    paths += [f"/team/people/{id_}" for id_ in db.session.scalars(select(User.id))]
    pages = {}
    for path in paths:
        response = client.get(path)
        assert response.status_code == 200, f"{path}: {response.status_code}"
        pages[path] = response.get_data(as_text=True)
    return pages
