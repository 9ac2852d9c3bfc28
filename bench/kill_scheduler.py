"""Kill test: stop the sender repeatedly during a 1,000-email run; count what arrives.

A local SMTP server (aiosmtpd) counts the emails by their X-Convene-Key.

1. SIGTERM: 1,000 emails are due. The real scheduler process (`flask scheduler run`, sending every
   second) is started and sent SIGTERM at a random moment, 5 times; a last run sends the rest.
   A stop counts as mid-send only when the outbox had rows claimed ("sending") just before the
   signal. Target: 5 stops mid-send, 0 lost, 0 duplicates, every stop a clean exit.
2. SIGKILL: 1,000 more. A sending process (send_due in a loop, as the scheduler runs it) is
   started and killed with SIGKILL at a random moment, 10 times; each restart is given a clock
   11 minutes later than the last, past the 10-minute claim lease a killed sender leaves on its
   rows (the real scheduler would wait those minutes). A last run is allowed to finish. A kill
   counts as mid-send only when the dead sender left rows it had claimed ("sending", claimed on its
   clock). Target: 10 kills mid-send, 0 lost, at most one duplicate per kill mid-send.

    .venv/bin/python bench/kill_scheduler.py [--emails 1000] [--terms 5] [--kills 10]

(Smaller counts make a quick check that the script runs; the targets are for the defaults.)
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
    global EMAILS, KILLS, TERMS
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--emails", type=int, default=EMAILS, help="emails in each half")
    parser.add_argument("--terms", type=int, default=TERMS, help="SIGTERMs to the scheduler mid-run")
    parser.add_argument("--kills", type=int, default=KILLS, help="SIGKILLs to the sender mid-run")
    args = parser.parse_args()
    EMAILS, TERMS, KILLS = args.emails, args.terms, args.kills

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

    def claimed(since=None) -> int:
        """Rows a sender holds (status "sending"); with `since`, only those claimed on a clock from then on."""
        query = select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sending")
        if since is not None:
            query = query.where(OutboxMessage.claimed_at >= since)
        with app.app_context():
            count = db.session.scalar(query)
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
    terms, busy_terms, unclean, stop_seconds, arrived, held = 0, 0, 0, [], [], []

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
        # A graceful stop hands its claim back, so what it held is read just before the signal.
        holding = claimed() if round_number < TERMS else 0
        asked = time.perf_counter()
        scheduler.send_signal(signal.SIGTERM)
        if round_number < TERMS:
            arrived.append(term_arrived())
            held.append(holding)
            terms += 1
            busy_terms += holding > 0
        code = scheduler.wait(timeout=60)
        stop_seconds.append(time.perf_counter() - asked)
        unclean += code != 0
    term_keys = {key: n for key, n in handler.keys.items() if key.startswith("term-test:")}
    term_lost = EMAILS - len(term_keys)
    term_duplicates = sum(n - 1 for n in term_keys.values())

    # 2. SIGKILL to a sender, restarted with a clock past the claim lease each time.
    start = queue("kill-test")
    kills, busy_kills, killed_at, left_claimed = 0, 0, [], []

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
                worker.wait(timeout=60)
                kills += 1
                killed_at.append(kill_arrived())
                # Dead, it can no longer change its rows: what it had claimed on its clock is still there.
                left_claimed.append(claimed(since=now))
                busy_kills += left_claimed[-1] > 0
        worker.wait(timeout=300)
    controller.stop()
    left = unsent()
    kill_keys = {key: n for key, n in handler.keys.items() if key.startswith("kill-test:")}
    kill_lost = EMAILS - len(kill_keys)
    kill_duplicates = sum(n - 1 for n in kill_keys.values())
    figures = [
        Figure("SIGTERM to `flask scheduler run` holding claimed emails (+1 at the end)",
               f"{busy_terms} of {terms} + 1", f"{TERMS} + 1", busy_terms == TERMS),
        Figure("SIGTERM: emails arrived / claimed at each stop",
               ", ".join(f"{a}/{h}" for a, h in zip(arrived, held, strict=True)), "", None),
        Figure("SIGTERM: clean exits, slowest stop",
               f"{len(stop_seconds) - unclean}/{len(stop_seconds)}, {max(stop_seconds):.1f} s", "all", unclean == 0),
        Figure("SIGTERM: emails lost", str(term_lost), "0", term_lost == 0),
        Figure("SIGTERM: duplicates", str(term_duplicates), "0", term_duplicates == 0),
        Figure("SIGKILL to the sender holding claimed emails", f"{busy_kills} of {kills}", str(KILLS),
               busy_kills == KILLS),
        Figure("SIGKILL: emails arrived / left claimed at each kill",
               ", ".join(f"{a}/{c}" for a, c in zip(killed_at, left_claimed, strict=True)), "", None),
        Figure("SIGKILL: emails lost", str(kill_lost), "0", kill_lost == 0 and left == 0),
        Figure("SIGKILL: duplicates", str(kill_duplicates), f"<= {busy_kills} (one per kill mid-send)",
               kill_duplicates <= busy_kills),
    ]
    print_table(figures)
    return 0 if all(figure.passed is not False for figure in figures) else 1


if __name__ == "__main__":
    sys.exit(main())
