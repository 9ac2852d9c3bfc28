"""Benchmark: the cohort attendance matrix for 10 and 40 participants × 21 sessions.

Builds a throwaway SQLite database (or uses DATABASE_URL), fills two cohorts with attendance for
every session, and times the matrix page through the app's test client. Prints both timings, the
ratio (target: the 40-person page within 2x the 10-person page) and the queries per page.

    .venv/bin/python bench/attendance_matrix.py [--repeat 50]
"""

from __future__ import annotations

import argparse

from common import make_app, measure, signed_in_client


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()

    app = make_app()

    from datetime import date, timedelta

    from app import clock
    from app.attendance.models import AttendanceStatus
    from app.attendance.services import save_attendance
    from app.auth.models import StaffRole, User
    from app.db import db
    from app.programme import services as programme

    with app.app_context():
        team = User(email="bench-team@example.org", name="Bench Team", staff_role=StaffRole.TEAM.value,
                    password_hash="x")
        db.session.add(team)
        db.session.flush()
        content = app.extensions["convene_content"]
        row = programme.get_or_create_programme("Bench")
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
    client = signed_in_client(app, team_id)

    results = {size: measure(app, client, f"/cohorts/{cohort_id}/attendance", args.repeat)
               for size, cohort_id in cohort_ids.items()}
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
