"""An audit of the report's numbers: each figure rebuilt from the raw rows by plain SQL and arithmetic of
its own (not the report's code), then found, with its denominator, on the page and in the PDF.

The year is built as a team would meet it: registers with every status, a leaver who had attended,
named and anonymous feedback (some released, some still held back), co-consulting attendance recorded by
groups, a module moved months in advance, a session postponed on its day, a clinic cancelled, a
session that did not take place; and a second cohort entered after the fact (a past year).
"""

from __future__ import annotations

import csv
import io
import random
import re
from datetime import UTC, date, datetime, timedelta
from fractions import Fraction
from math import floor

import pytest
from pypdf import PdfReader
from sqlalchemy import text

from app import clock
from app.attendance.models import AttendanceStatus
from app.attendance.services import save_attendance
from app.auth.models import OrganisationKind
from app.db import db
from app.errors import Conflict
from app.evaluation import feedback, feedback_import
from app.evaluation.jobs import release_feedback
from app.groups.services import allocate_groups, record_meeting, withdraw_participant
from app.programme import services as programme
from tests.conftest import csrf_token
from tests.factories import make_cohort, make_organisation, make_participant, make_team

HELD_STATES = {"as_planned", "moved_in_advance", "postponed"}
ATTENDED = ("present", "late", "left_early")


def pct(part: int, whole: int) -> int | None:
    """Half up, by exact fractions: an independent rounding."""
    return None if whole == 0 else floor(Fraction(part * 100, whole) + Fraction(1, 2))


def instant(value) -> datetime:
    """A stored instant as an aware UTC datetime (SQLite gives plain SQL its text)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def rows(sql: str, **params):
    return db.session.execute(text(sql), params).all()


def build_year(cohort, rng: random.Random, team, *, now):
    """Registers, feedback and group records for every session of `cohort` that ended before `now`."""
    orgs = [make_organisation(kind=kind, region=region) for kind, region in (
        (OrganisationKind.NHS_TRUST, "London"), (OrganisationKind.PRIMARY_CARE, "North West"),
        (OrganisationKind.LOCAL_GOVERNMENT, "London"), (OrganisationKind.CHARITY, ""))]
    people = [make_participant(cohort, organisation=orgs[n % 4]) for n in range(9)]
    enrolment = {e.user_id: e for e in cohort.enrolments}
    statuses = list(AttendanceStatus)
    ended = sorted((s for s in cohort.sessions if s.ends_at < now), key=lambda s: s.starts_at)
    for session in ended:
        if session.kind == "co_consulting":
            continue
        if rng.random() < 0.85:  # most sessions have a register
            for person in people:
                if rng.random() < 0.95:
                    save_attendance(session.id, enrolment[person.id].id, rng.choice(statuses), "", team,
                                    session.ends_at)
        for person in people:
            if rng.random() < 0.6:
                try:
                    feedback.give_feedback(actor=person, session=session, now=session.ends_at + timedelta(hours=2),
                                           answers=feedback.Answers(
                                               worthwhile=rng.randint(1, 5), recommend_yes=rng.random() < 0.7,
                                               anonymous=rng.random() < 0.4, value_cycles=["immediate"]))
                except Conflict:
                    pass  # not there, or feedback closed because everyone had answered
    return people, enrolment, ended


@pytest.fixture
def audited(frozen_now):
    rng = random.Random(17)
    team = make_team()
    cohort = make_cohort(starts_on=date(2026, 3, 2))
    now = clock.now()
    moved = next(s for s in cohort.sessions if s.kind == "module" and s.module.number == 3 and s.part == 1)
    local = clock.to_local(moved.starts_at)
    programme.update_session(actor=team, session=moved, now=moved.starts_at - timedelta(days=80),
                             details=programme.SessionDetails(
                                 title=moved.title, kind="module", day=local.date() + timedelta(days=1),
                                 starts=local.time(), ends=clock.to_local(moved.ends_at).time(), module_number=3,
                                 part=1, keep_date=True))
    late = next(s for s in cohort.sessions if s.kind == "drop_in" and s.ends_at < now)
    local = clock.to_local(late.starts_at)
    programme.update_session(actor=team, session=late, now=late.starts_at + timedelta(minutes=5),
                             details=programme.SessionDetails(
                                 title=late.title, kind="drop_in", day=local.date() + timedelta(days=2),
                                 starts=local.time(), ends=clock.to_local(late.ends_at).time(), keep_date=True))
    clinics = [s for s in cohort.sessions if s.kind == "drop_in" and s.ends_at < now and s.id != late.id]
    programme.cancel_session(actor=team, session=clinics[0], now=clinics[0].starts_at - timedelta(days=3))
    people, enrolment, ended = build_year(cohort, rng, team, now=now)
    not_held = next(s for s in ended if s.kind == "welcome")
    if not feedback.tallies([not_held])[not_held.id].responses:
        programme.mark_not_held(actor=team, session=not_held, reason="Platform failure", now=now)
    groups = allocate_groups(actor=team, cohort=cohort, size=3, seed=2, now=now)
    for group in groups[:2]:
        member = group.memberships[0].enrolment.user
        for rota in [r for r in group.rota if r.session.ends_at < now]:
            came = [m.enrolment_id for m in group.memberships if rng.random() < 0.7]
            record_meeting(actor=member, group=group, rota=rota, attended=came, note="", now=now)
    withdraw_participant(actor=team, enrolment=enrolment[people[0].id], reason="New job", now=now)
    # Close feedback on all but the most recent session, so some anonymous answers are still held back.
    for session in ended[:-1]:
        if feedback.window_state(session, now) == "open":
            feedback.close_feedback(actor=team, session=session, now=now)
    db.session.commit()
    return team, cohort


def independent_figures(cohort_id: int, now) -> dict:
    sessions = rows("SELECT id, kind, status, starts_at, ends_at FROM programme_sessions WHERE cohort_id = :c "
                    "ORDER BY starts_at", c=cohort_id)
    changes = {}
    for session_id, kind, changed_at, from_start, _to in rows(
            "SELECT session_id, kind, changed_at, from_starts_at, to_starts_at FROM session_changes"):
        changes.setdefault(session_id, []).append((kind, changed_at, from_start))
    aware = instant

    def state(session_id, status, ends_at):
        if status != "scheduled":
            return {"cancelled": "cancelled", "not_held": "not_held", "postponed": "postponed_tbc"}[status]
        if aware(ends_at) > now:
            return "upcoming"
        mine = changes.get(session_id, [])
        if any(k in ("postponed", "dated") or (k == "moved" and aware(at) >= aware(fr)) for k, at, fr in mine):
            return "postponed"
        return "moved_in_advance" if any(k == "moved" for k, _a, _f in mine) else "as_planned"

    states = {sid: state(sid, status, ends) for sid, _k, status, _s, ends in sessions}
    kinds = {sid: kind for sid, kind, *_ in sessions}
    enrolments = dict(rows("SELECT id, status FROM enrolments WHERE cohort_id = :c", c=cohort_id))
    participants = sum(1 for s in enrolments.values() if s in ("active", "completed"))
    register = {}
    for session_id, enrolment_id, status in rows(
            "SELECT a.session_id, a.enrolment_id, a.status FROM attendances a JOIN enrolments e ON e.id = "
            "a.enrolment_id WHERE e.cohort_id = :c", c=cohort_id):
        register.setdefault(session_id, {})[enrolment_id] = status
    core = ("welcome", "module", "celebration")
    places = taken = 0
    came: dict[int, int] = {}
    counted = 0
    for sid, *_ in sessions:
        recorded = {e: s for e, s in register.get(sid, {}).items() if s != "apologies"}
        if states[sid] in HELD_STATES and recorded and kinds[sid] in core:
            counted += 1
            leavers = sum(1 for e in recorded if enrolments[e] == "withdrawn")
            places += participants + leavers
            for e, s in recorded.items():
                if s in ATTENDED:
                    taken += 1
                    came[e] = came.get(e, 0) + 1
    completed = sum(1 for e in enrolments if counted and came.get(e, 0) >= 0.8 * counted)

    # Feedback: people who could answer (register, or active participants without apologies), who did.
    ended = [sid for sid, _k, status, _s, ends in sessions if status == "scheduled" and aware(ends) <= now]
    invited = answered = 0
    for sid in ended:
        recorded = {e: s for e, s in register.get(sid, {}).items() if s != "apologies"}
        if recorded:
            could = {e for e, s in recorded.items() if s in ATTENDED}
        else:
            apologised = {e for e, s in register.get(sid, {}).items() if s == "apologies"}
            could = {e for e, s in enrolments.items() if s == "active"} - apologised
        invited += len(could)
        answered += sum(1 for (e,) in rows("SELECT enrolment_id FROM feedback_receipts WHERE session_id = :s",
                                           s=sid) if e in could)
    ratings = rows(f"SELECT worthwhile, recommend_yes, recommend_score FROM feedback_responses WHERE session_id IN "
                   f"({','.join(str(s) for s in ended) or 'NULL'})")
    held = rows(f"SELECT COUNT(*) FROM feedback_sealed WHERE session_id IN ({','.join(str(s) for s in ended) or 'NULL'})")
    agree = sum(1 for w, _y, _s in ratings if w is not None and w >= 4)
    worth_n = sum(1 for w, _y, _s in ratings if w is not None)
    yes = sum(1 for _w, y, score in ratings if y or (score is not None and score >= 9))
    rec_n = sum(1 for _w, y, score in ratings if y is not None or score is not None)
    regions: dict[str, int] = {}
    for (region,) in rows("SELECT o.region FROM enrolments e JOIN users u ON u.id = e.user_id LEFT JOIN organisations o "
                          "ON o.id = u.organisation_id WHERE e.cohort_id = :c AND e.status IN ('active', 'completed')",
                          c=cohort_id):
        label = (region or "").strip() or "Not recorded"
        regions[label] = regions.get(label, 0) + 1
    held_count = sum(1 for s in states.values() if s in HELD_STATES)
    planned_by_kind = {}
    for kind in kinds.values():
        planned_by_kind[kind] = planned_by_kind.get(kind, 0) + 1
    return dict(states=states, planned_by_kind=planned_by_kind, participants=participants, withdrawn=sum(1 for s in enrolments.values() if s == "withdrawn"),
                planned=len(sessions), held=held_count, places=places, taken=taken, completed=completed,
                started=len(enrolments), invited=invited, answered=answered, agree=agree, worth_n=worth_n, yes=yes,
                rec_n=rec_n, held_back=held[0][0], regions=regions,
                counts={name: sum(1 for s in states.values() if s == name) for name in (
                    "moved_in_advance", "postponed", "cancelled", "not_held", "upcoming")})


NOUNS = {"welcome": "welcome half-day", "module": "module day", "drop_in": "drop-in clinic",
         "co_consulting": "co-consulting session", "celebration": "celebration event"}


def sentences(f: dict) -> list[str]:
    parts = [f"{n} {NOUNS[kind]}{'s' if n != 1 else ''}" for kind, n in sorted(
        f["planned_by_kind"].items(), key=lambda item: list(NOUNS).index(item[0]))]
    design = ", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]
    said = [
        f"The year was planned as {design}",
        f"{f['participants']} participants ({f['withdrawn']} withdrew)" if f["withdrawn"]
        else f"{f['participants']} participants.",
        f"{f['held']} of {f['planned']} planned sessions held",
        f"Overall attendance: {pct(f['taken'], f['places'])}% ({f['taken']} of {f['places']} places taken",
        f"Completion: {pct(f['completed'], f['started'])}% ({f['completed']} of the {f['started']} people who started",
        f"Feedback response rate: {pct(f['answered'], f['invited'])}% ({f['answered']} of the {f['invited']} people "
        "who could answer",
        f"{pct(f['agree'], f['worth_n'])}% said taking part was a worthwhile use of their time ({f['agree']} of "
        f"{f['worth_n']} answers)",
        f"{pct(f['yes'], f['rec_n'])}% would recommend the sessions to a colleague ({f['yes']} of {f['rec_n']})",
    ]
    for name, words in (("moved_in_advance", "of them moved before they were due"), ("postponed", "postponed after they were due"),
                        ("cancelled", "cancelled"), ("not_held", "did not take place"), ("upcoming", "still to come")):
        if f["counts"][name]:
            said.append(f"{f['counts'][name]} {words}" if name != "cancelled" else f"{f['counts'][name]} cancelled")
    if f["held_back"]:
        said.append(f"{f['held_back']} anonymous answer{'s are' if f['held_back'] != 1 else ' is'} held back")
    return said


def _page_and_pdf(client, cohort_id):
    page = " ".join(client.get(f"/cohorts/{cohort_id}/report").get_data(as_text=True).split())
    pdf = client.get(f"/cohorts/{cohort_id}/report.pdf")
    text_ = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.data)).pages).split())
    return page, re.sub(r"(\w)- (\w)", r"\1-\2", text_)  # a line broken after a hyphen, joined again


def test_every_figure_of_the_report_matches_an_independent_count(audited, client, login_as):
    team, cohort = audited
    cohort_id = cohort.id
    figures = independent_figures(cohort_id, clock.now())
    # The year is varied enough to test something: every kind of outcome is present.
    assert figures["counts"]["moved_in_advance"] and figures["counts"]["postponed"] and figures["counts"]["cancelled"]
    assert figures["places"] > figures["taken"] > 0 and figures["invited"] > figures["answered"] > 0
    assert figures["held_back"] > 0 and figures["withdrawn"] == 1
    login_as(team)
    page, pdf = _page_and_pdf(client, cohort_id)
    for sentence in sentences(figures):
        assert sentence in page, sentence
        assert sentence in pdf, sentence
    for region, n in figures["regions"].items():
        assert f"{region} {n}" in pdf or f"{region}</td><td class=\"nhsuk-table__cell nhsuk-table__cell--numeric\">{n}" in page


def _csv(header: list[str], lines: list[list]) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(lines)
    return out.getvalue()


def test_a_year_entered_after_the_fact_gives_a_full_report(client, login_as, frozen_now):
    """A year run on spreadsheets: the cohort created with its past dates, its registers imported from
    the attendance CSV and its feedback from the feedback CSV (through the pages, previewed first), then
    reported like any other year, every figure checked against an independent count."""
    rng = random.Random(2025)
    team = make_team()
    cohort = make_cohort(starts_on=date(2025, 1, 6))
    people = [make_participant(cohort, organisation=make_organisation(region=region))
              for region in ("London", "London", "North West", "South West", "North West", "London")]
    now = clock.now()
    held = [s for s in sorted(cohort.sessions, key=lambda s: s.starts_at) if s.kind in ("welcome", "module")]
    statuses = ["Present", "Present", "Present", "Late", "Left early", "Absent", "Apologies"]
    register = [[p.email, s.title, clock.to_local(s.starts_at).isoformat(), rng.choice(statuses)]
                for s in held for p in people]
    from app.attendance import exchange

    assert exchange.apply_import(actor=team, cohort=cohort, now=now,
                                 text=_csv(["Email", "Session", "Starts", "Status"], register)) == len(register)
    answers = []
    for s in held:
        day = clock.to_local(s.starts_at).date()
        for p in people:
            if rng.random() < 0.7:
                answers.append([s.title, day.strftime("%d/%m/%Y"), str(rng.randint(1, 5)), rng.choice(["Yes", "No", "9"]),
                                "Useful", "", "", "", "immediate", rng.choice([p.email, "Anonymous"])])
    answers.append(["No such session", "2025-01-06", "5", "Yes", "", "", "", "", "", "Anonymous"])
    header = ["Session", "Date", "Worthwhile use of time (1-5)", "Would recommend", "What worked", "What to change",
              "Quote", "Quote may be used", "Value", "Respondent"]
    text_ = _csv(header, answers)
    cohort_id = cohort.id
    db.session.commit()
    login_as(team)
    token = csrf_token(client, f"/cohorts/{cohort_id}/feedback/import")
    preview = client.post(f"/cohorts/{cohort_id}/feedback/import", content_type="multipart/form-data", data={
        "csrf_token": token, "action": "preview", "file": (io.BytesIO(text_.encode()), "feedback.csv")})
    body = " ".join(preview.get_data(as_text=True).split())
    assert "No session of this cohort has that title on that date" in body
    assert db.session.scalar(text("SELECT COUNT(*) FROM feedback_responses")) == 0  # a preview saves nothing
    done = client.post(f"/cohorts/{cohort_id}/feedback/import", data={
        "csrf_token": token, "action": "confirm", "csv_text": text_})
    assert done.status_code == 302
    # Anyone the register shows away could not have answered: those rows still count as answers
    # given (the spreadsheet says so) but never above the people who could answer.
    figures = independent_figures(cohort_id, now)
    unnamed = {sid: n for sid, n in rows("SELECT session_id, imported_unnamed FROM feedback_closures")}
    figures["answered"] = 0
    for session in held:
        could = {e for (e,) in rows("SELECT enrolment_id FROM attendances WHERE session_id = :s AND status IN "
                                    "('present', 'late', 'left_early')", s=session.id)}
        named = {e for (e,) in rows("SELECT enrolment_id FROM feedback_receipts WHERE session_id = :s",
                                    s=session.id)} & could
        figures["answered"] += min(len(named) + unnamed.get(session.id, 0), len(could))
    assert figures["counts"]["upcoming"] == 0 and figures["held"] == figures["planned"]
    assert figures["answered"] > 0 and figures["held_back"] == 0
    page, pdf = _page_and_pdf(client, cohort_id)
    for sentence in sentences(figures):
        assert sentence in page, sentence
        assert sentence in pdf, sentence


def test_chart_labels_tell_every_bar_apart_and_a_missing_value_draws_no_bar():
    from app.charts import bar_chart, short_labels

    long = "Module 1: Why communities of practice matter in health and care"
    labels = short_labels([f"{long} (day 1)", f"{long} (day 2)", "Welcome"])
    assert len(set(labels)) == 3 and labels[0].endswith("(day 1)") and all(len(label) <= 34 for label in labels)
    same = short_labels(["A" * 20 + "x" * 30 + "B" * 20, "A" * 20 + "y" * 30 + "B" * 20])
    assert len(set(same)) == 2
    chart = str(bar_chart(title="t", labels=["Welcome", "Module"], values=[None, 50], maximum=100, chart_id="c",
                          value_label="%"))
    assert chart.count("<rect") == 1 and "no answers" in chart and ">0%<" not in chart


def test_importing_the_feedback_download_back_adds_nothing_twice(client, login_as, frozen_now):
    team = make_team()
    cohort = make_cohort(starts_on=date(2026, 3, 2))
    build_year(cohort, random.Random(3), team, now=clock.now())
    release_feedback(clock.now() + timedelta(days=400))
    db.session.commit()
    before = db.session.scalar(text("SELECT COUNT(*) FROM feedback_responses"))
    cohort_id = cohort.id
    login_as(team)
    exported = client.get(f"/cohorts/{cohort_id}/feedback.csv").get_data(as_text=True)
    preview = feedback_import.preview_feedback_import(cohort=cohort, text=exported, now=clock.now())
    assert preview and all(row.outcome == "rejected" for row in preview)
    assert {row.message.split(",")[0] for row in preview} == {
        "This person's feedback on that session is already recorded",
        "That session already has feedback recorded here"}
    assert feedback_import.import_feedback(actor=team, cohort=cohort, text=exported, now=clock.now()) == 0
    assert db.session.scalar(text("SELECT COUNT(*) FROM feedback_responses")) == before
