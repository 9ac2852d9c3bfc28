"""Kill test: SIGKILL the sender repeatedly during a 1,000-email run; count what arrives.

1,000 emails are due. A sending process (send_due in a loop, as the scheduler runs it) is started
and killed with SIGKILL at a random moment, 10 times; each restart is given a clock 11 minutes
later than the last, past the 10-minute claim lease a killed sender leaves on its rows. A last run
is allowed to finish. A local SMTP server (aiosmtpd) counts the emails by their X-Convene-Key.
Prints lost (never arrived) and duplicates, against the targets: 0 lost, at most one
duplicate per hard kill.

    .venv/bin/python bench/kill_scheduler.py
"""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

from aiosmtpd.controller import Controller

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import Figure, print_table  # noqa: E402
from bench.server import free_port  # noqa: E402

EMAILS, KILLS = 1000, 10
WORKER = """
import sys
from datetime import datetime
from app import create_app
from app.db import db
from app.notifications.services import send_due
app = create_app({"SQLALCHEMY_DATABASE_URI": sys.argv[1], "MAIL_TRANSPORT": "smtp", "SMTP_HOST": "127.0.0.1",
                  "SMTP_PORT": int(sys.argv[2]), "SCHEDULER_EMBEDDED": False, "BASE_URL": "http://bench.example"})
with app.app_context():
    now = datetime.fromisoformat(sys.argv[3])
    while send_due(now):
        db.session.commit()
"""


class Counting:
    def __init__(self) -> None:
        self.keys: Counter[str] = Counter()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's hook name
        for line in envelope.content.decode(errors="replace").splitlines():
            if line.lower().startswith("x-convene-key:"):
                self.keys[line.split(":", 1)[1].strip()] += 1
                break
        await asyncio.sleep(0.002)  # a real server takes a moment per message
        return "250 OK"


def main() -> int:
    import flask_migrate
    from sqlalchemy import func, select

    from app import clock, create_app
    from app.db import db
    from app.notifications.models import OutboxMessage
    from app.notifications.services import queue_email

    folder = Path(tempfile.mkdtemp(prefix="convene-kill-"))
    url = f"sqlite:///{folder}/kill.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SCHEDULER_EMBEDDED": False})
    start = clock.now()
    with app.app_context():
        flask_migrate.upgrade()
        for n in range(EMAILS):
            queue_email(key=f"kill-test:{n}", recipient=f"person{n}@example.org", subject=f"Reminder {n}",
                        body_text="Hello", due_at=start)
        db.session.commit()
    handler = Counting()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    rng = random.Random(11)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parent.parent)}
    kills = 0
    for round_number in range(KILLS + 1):
        now = start + timedelta(minutes=11 * round_number)
        worker = subprocess.Popen([sys.executable, "-c", WORKER, url, str(port), now.isoformat()], env=env)
        if round_number < KILLS:
            time.sleep(rng.uniform(1.2, 2.5))  # start-up takes about a second; then it is sending
            if worker.poll() is None:
                worker.send_signal(signal.SIGKILL)
                kills += 1
        worker.wait(timeout=300)
    controller.stop()
    with app.app_context():
        left = db.session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent"))
    received = len(handler.keys)
    duplicates = sum(count - 1 for count in handler.keys.values())
    lost = EMAILS - received
    print_table([
        Figure("kill test: hard kills during the run", str(kills), "10", kills == KILLS),
        Figure("kill test: emails lost", str(lost), "0", lost == 0 and left == 0),
        Figure("kill test: duplicates", str(duplicates), f"<= {kills} (one per kill)", duplicates <= kills),
    ])
    return 0 if lost == 0 and duplicates <= kills else 1


if __name__ == "__main__":
    sys.exit(main())
