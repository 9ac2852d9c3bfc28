"""Benchmark: the cohort attendance matrix for 10 and 40 participants × 21 sessions.

Builds a throwaway SQLite database (or uses DATABASE_URL), fills two cohorts with attendance for
every session, and times the matrix page through the app's test client. Prints both timings, the
ratio (target: the 40-person page within 2x the 10-person page) and the queries per page.

    .venv/bin/python bench/attendance_matrix.py [--repeat 50]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()

    import flask_migrate
    from sqlalchemy import event

    from app import clock, create_app
    from app.attendance.models import AttendanceStatus
    from app.attendance.services import save_attendance
    from app.auth.models import StaffRole, User
    from app.db import db
    from app.programme import services as programme

    folder = tempfile.mkdtemp(prefix="convene-bench-")
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{folder}/bench.sqlite3"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "WTF_CSRF_ENABLED": False, "MAIL_FILE_DIR": Path(folder)})
    with app.app_context(), contextlib.redirect_stderr(io.StringIO()):
        flask_migrate.upgrade()
        team = User(email="bench-team@example.org", name="Bench Team", staff_role=StaffRole.TEAM.value,
                    password_hash="x")
        db.session.add(team)
        db.session.flush()
        content = app.extensions["convene_content"]
        row = programme.get_or_create_programme("Bench")
        from datetime import date, timedelta

        cohort_ids = {}
        for size in (10, 40):
            cohort = programme.create_cohort(actor=team, programme=row, name=f"Bench {size}",
                                             starts_on=date(2025, 9, 15), content=content)
            for n in range(size):
                user = User(email=f"bench{size}-{n}@example.org", name=f"Person {n:02d}", password_hash="x")
                db.session.add(user)
                db.session.flush()
                enrolment = programme.enrol(cohort=cohort, user=user, now=clock.now())
                for i, session in enumerate(cohort.sessions):
                    status = AttendanceStatus.PRESENT if (n + i) % 7 else AttendanceStatus.ABSENT
                    save_attendance(session.id, enrolment.id, status, "", team, session.ends_at + timedelta(hours=1))
            cohort_ids[size] = cohort.id
        db.session.commit()
        team_id = team.get_id()

    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = team_id
        session["_fresh"] = True

    results = {}
    for size, cohort_id in cohort_ids.items():
        path = f"/cohorts/{cohort_id}/attendance"
        for _ in range(5):
            assert client.get(path).status_code == 200
        queries: list[str] = []

        def listener(_conn, _cursor, statement, *_args, sink=queries):
            if not statement.startswith("BEGIN"):
                sink.append(statement)

        with app.app_context():
            event.listen(db.engine, "before_cursor_execute", listener)
            client.get(path)
            event.remove(db.engine, "before_cursor_execute", listener)
        timings = []
        for _ in range(args.repeat):
            start = time.perf_counter()
            client.get(path)
            timings.append(time.perf_counter() - start)
        results[size] = (statistics.median(timings), len(queries))

    small, big = results[10], results[40]
    ratio = big[0] / small[0]
    print(f"{'cohort':<22}{'median ms':>10}{'queries':>9}")
    print(f"{'10 people x 21 sessions':<22}{small[0] * 1000:>10.1f}{small[1]:>9}")
    print(f"{'40 people x 21 sessions':<22}{big[0] * 1000:>10.1f}{big[1]:>9}")
    verdict = "PASS" if ratio <= 2 and small[1] == big[1] else "MISS"
    print(f"ratio 40/10: {ratio:.2f} (target <= 2.00, same query count) {verdict}")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    raise SystemExit(main())
