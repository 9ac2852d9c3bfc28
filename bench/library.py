"""Benchmark: the library page with 20 and with 2,000 resources (paginated, 20 a page).

    .venv/bin/python bench/library.py [--repeat 50]

Prints the median time and queries for page 1, a search and a later page, for both sizes, and the
ratio of the two. The target checked: the same number of queries whatever the size
(at most 10). A search scans the cohort's rows (LIKE on title, description and tags), so it grows
with the library; the ratio shows by how much.
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
    from app.auth.models import StaffRole, User
    from app.db import db
    from app.portal.models import Resource
    from app.programme import services as programme

    with app.app_context():
        team = User(email="bench-team@example.org", name="Bench Team", staff_role=StaffRole.TEAM.value,
                    password_hash="x")
        db.session.add(team)
        db.session.flush()
        row = programme.get_or_create_programme("Bench")
        cohorts = {}
        now = clock.now()
        for size in (20, 2000):
            cohort = programme.create_cohort(actor=team, programme=row, name=f"Bench {size}",
                                             starts_on=date(2025, 9, 15), content=app.extensions["convene_content"])
            db.session.add_all(Resource(
                cohort_id=cohort.id, title=f"Resource {n}", description="Notes on value and practice",
                tags="value, tools" if n % 3 else "methods", kind="reading", url="https://example.org/r",
                module_number=n % 5 + 1, uploaded_by_id=team.id, is_material=True,
                created_at=now - timedelta(minutes=n), updated_at=now) for n in range(size))
            cohorts[size] = cohort.id
        db.session.commit()
        user_id = team.get_id()
    client = signed_in_client(app, user_id)
    print(f"{'page':<22}{'20 res. ms':>11}{'2,000 ms':>10}{'ratio':>7}{'queries':>9}  verdict")
    ok = True
    for label, suffix in (("library, page 1", ""), ("search 'value'", "?q=value"),
                          ("module 4, page 3", "?module=4&page=3")):
        small = measure(app, client, f"/cohorts/{cohorts[20]}/library{suffix or ''}" if "page=3" not in suffix
                        else f"/cohorts/{cohorts[20]}/library?module=4", args.repeat)
        big = measure(app, client, f"/cohorts/{cohorts[2000]}/library{suffix}", args.repeat)
        verdict = big[1] == small[1] and big[1] <= 10
        ok &= verdict
        print(f"{label:<22}{small[0] * 1000:>11.1f}{big[0] * 1000:>10.1f}{big[0] / small[0]:>7.2f}{big[1]:>9}"
              f"  {'PASS' if verdict else 'MISS'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
