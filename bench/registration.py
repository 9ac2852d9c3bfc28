"""Benchmark: do registering and asking for a password reset take the same time whatever the address?

    .venv/bin/python bench/registration.py

Registration answers with one page whether the address is new, belongs to an account waiting to be
confirmed, or to a confirmed account; a password reset says the same for a known and an unknown
address. The words are tested by the suite; this measures what a timing attacker would: the median
time of each case over many requests, in a random order, through the whole app (rate limits off).
"""

from __future__ import annotations

import random
import re
import statistics
import time

from common import Figure, make_app, print_table

ROUNDS = 40
PASSWORD = "a long enough phrase"


def main() -> int:
    app = make_app(RATELIMIT_ENABLED=False)
    from app import clock
    from app.auth.models import User
    from app.db import db

    with app.app_context():
        for n in range(ROUNDS):
            confirmed = User(email=f"confirmed{n}@example.org", name="Confirmed", email_confirmed_at=clock.now())
            confirmed.set_password(PASSWORD)
            waiting = User(email=f"waiting{n}@example.org", name="Waiting")
            waiting.set_password(PASSWORD)
            db.session.add_all([confirmed, waiting])
        db.session.commit()
    client = app.test_client()
    cases = {
        "register: a new address": lambda n: ("/register", {"email": f"new{n}@example.org"}),
        "register: an account waiting to be confirmed": lambda n: ("/register", {"email": f"waiting{n}@example.org"}),
        "register: a confirmed account": lambda n: ("/register", {"email": f"confirmed{n}@example.org"}),
        "reset: a known address": lambda n: ("/password/forgot", {"email": f"confirmed{n}@example.org"}),
        "reset: an unknown address": lambda n: ("/password/forgot", {"email": f"nobody{n}@example.org"}),
    }
    order = [(name, n) for name in cases for n in range(ROUNDS)]
    random.Random(1).shuffle(order)
    timings: dict[str, list[float]] = {name: [] for name in cases}
    pages: dict[str, set[str]] = {name: set() for name in cases}
    for name, n in order:
        path, data = cases[name](n)
        form = {"name": "Someone New", "job_title": "", "password": PASSWORD, "confirm": PASSWORD, **data}
        started = time.perf_counter()
        response = client.post(path, data=form)
        timings[name].append(time.perf_counter() - started)
        assert response.status_code == 200, (name, response.status_code)
        page = re.sub(r'nonce="[^"]+"', "", response.get_data(as_text=True))  # a fresh nonce on every page
        pages[name].add(page.replace(data["email"], "ADDRESS"))
    medians = {name: statistics.median(values) * 1000 for name, values in timings.items()}
    figures = [Figure(f"{name}: median", f"{ms:.1f} ms", "information", None) for name, ms in medians.items()]
    for group in ("register", "reset"):
        values = [ms for name, ms in medians.items() if name.startswith(group)]
        spread = max(values) / min(values)
        figures.append(Figure(f"{group}: slowest median / fastest median", f"{spread:.2f}", "<= 1.25",
                              spread <= 1.25))
        same = len({page for name in cases if name.startswith(group) for page in pages[name]}) == 1
        figures.append(Figure(f"{group}: every case gets the same page (address aside)", str(same), "True", same))
    print_table(figures)
    return 1 if any(f.passed is False for f in figures) else 0


if __name__ == "__main__":
    raise SystemExit(main())
