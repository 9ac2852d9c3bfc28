"""Kill test: stop the sender repeatedly during a 1,000-email run; count what arrives.

A local SMTP server (aiosmtpd) counts the emails by their X-Convene-Key.

1. SIGTERM: 1,000 emails are due. The real scheduler process (`flask scheduler run`, sending every
   second) is started and sent SIGTERM at a random moment, 5 times; a last run sends the rest.
   Target: 0 lost, 0 duplicates, every stop a clean exit.
2. SIGKILL: 1,000 more. A sending process (send_due in a loop, as the scheduler runs it) is
   started and killed with SIGKILL at a random moment, 10 times; each restart is given a clock
   11 minutes later than the last, past the 10-minute claim lease a killed sender leaves on its
   rows (the real scheduler would wait those minutes). A last run is allowed to finish.
   Target: 0 lost, at most one duplicate per hard kill.

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

EMAILS, KILLS, TERMS = 1000, 10, 5
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

    def queue(prefix: str):
        start = clock.now()
        with app.app_context():
            for n in range(EMAILS):
                queue_email(key=f"{prefix}:{n}", recipient=f"person{n}@example.org", subject=f"Reminder {n}",
                            body_text="Hello", due_at=start)
            db.session.commit()
        return start

    def unsent() -> int:
        with app.app_context():
            count = db.session.scalar(select(func.count()).select_from(OutboxMessage)
                                      .where(OutboxMessage.status != "sent"))
            db.session.remove()
            return count

    with app.app_context():
        flask_migrate.upgrade()
    handler = Counting()
    port = free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    rng = random.Random(11)
    root = Path(__file__).resolve().parent.parent
    env = {**os.environ, "PYTHONPATH": str(root)}

    # 1. SIGTERM to the real scheduler process.
    queue("term-test")
    scheduler_env = {**env, "DATABASE_URL": url, "MAIL_TRANSPORT": "smtp", "SMTP_HOST": "127.0.0.1",
                     "SMTP_PORT": str(port), "SCHEDULER_SEND_INTERVAL_SECONDS": "1", "SCHEDULER_EMBEDDED": "false",
                     "BASE_URL": "http://bench.example"}
    terms, unclean, stop_seconds, arrived = 0, 0, [], []

    def term_arrived() -> int:
        return sum(1 for key in list(handler.keys) if key.startswith("term-test:"))

    for round_number in range(TERMS + 1):
        scheduler = subprocess.Popen([str(Path(sys.executable).parent / "flask"), "--app", "wsgi", "scheduler", "run"],
                                     cwd=root, env=scheduler_env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        if round_number < TERMS:
            # Once this run is sending, stop it at a random moment.
            before, deadline = term_arrived(), time.monotonic() + 60
            while term_arrived() == before and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.05, 0.6))
        else:
            deadline = time.monotonic() + 120
            while unsent() and time.monotonic() < deadline:
                time.sleep(0.5)
        asked = time.perf_counter()
        scheduler.send_signal(signal.SIGTERM)
        arrived.append(term_arrived())
        terms += 1
        code = scheduler.wait(timeout=60)
        stop_seconds.append(time.perf_counter() - asked)
        unclean += code != 0
    term_keys = {key: n for key, n in handler.keys.items() if key.startswith("term-test:")}
    term_lost = EMAILS - len(term_keys)
    term_duplicates = sum(n - 1 for n in term_keys.values())

    # 2. SIGKILL to a sender, restarted with a clock past the claim lease each time.
    start = queue("kill-test")
    kills, killed_at = 0, []

    def kill_arrived() -> int:
        return sum(1 for key in list(handler.keys) if key.startswith("kill-test:"))

    for round_number in range(KILLS + 1):
        now = start + timedelta(minutes=11 * round_number)
        worker = subprocess.Popen([sys.executable, "-c", WORKER, url, str(port), now.isoformat()], env=env)
        if round_number < KILLS:
            # Once this run is sending, kill it at a random moment.
            before, deadline = kill_arrived(), time.monotonic() + 60
            while kill_arrived() == before and worker.poll() is None and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.05, 0.4))
            if worker.poll() is None:
                worker.send_signal(signal.SIGKILL)
                kills += 1
                killed_at.append(kill_arrived())
        worker.wait(timeout=300)
    controller.stop()
    left = unsent()
    kill_keys = {key: n for key, n in handler.keys.items() if key.startswith("kill-test:")}
    kill_lost = EMAILS - len(kill_keys)
    kill_duplicates = sum(n - 1 for n in kill_keys.values())
    figures = [
        Figure("SIGTERM to `flask scheduler run` mid-run (+1 at the end)", f"{terms - 1} + 1", f"{TERMS} + 1",
               terms == TERMS + 1),
        Figure("SIGTERM: emails arrived by each stop", ", ".join(map(str, arrived)), "", None),
        Figure("SIGTERM: clean exits, slowest stop", f"{terms - unclean}/{terms}, {max(stop_seconds):.1f} s",
               "all", unclean == 0),
        Figure("SIGTERM: emails lost", str(term_lost), "0", term_lost == 0),
        Figure("SIGTERM: duplicates", str(term_duplicates), "0", term_duplicates == 0),
        Figure("SIGKILL to the sender mid-run", str(kills), str(KILLS), kills == KILLS),
        Figure("SIGKILL: emails arrived by each kill", ", ".join(map(str, killed_at)), "", None),
        Figure("SIGKILL: emails lost", str(kill_lost), "0", kill_lost == 0 and left == 0),
        Figure("SIGKILL: duplicates", str(kill_duplicates), f"<= {kills} (one per kill)", kill_duplicates <= kills),
    ]
    print_table(figures)
    return 0 if all(figure.passed for figure in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
