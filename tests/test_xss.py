"""Hostile text stored in every free-text field never runs: not in pages, emails, calendars or exports."""

from __future__ import annotations

import csv
import io
from datetime import date

from icalendar import Calendar
from sqlalchemy import select

from app import clock
from app.attendance.services import send_apologies
from app.auth.models import Organisation
from app.celebration.services import invite_guest, propose_showcase, sign_up_for_clinic
from app.db import db
from app.evaluation import communities, feedback, impact
from app.notifications.models import OutboxMessage
from app.notifications.services import build_message
from app.portal.services import ResourceDetails, share_resource, start_thread
from app.portal.uploads import check_upload
from app.programme import services as programme
from app.programme.models import ProgrammeSession
from tests.factories import make_facilitator, make_participant, make_team, open_cohort

SCRIPT = "<script>alert(1)</script>"
IMG = '"><img src=x onerror=alert(2)>'
FORMULA = '=HYPERLINK("http://evil.example","click")'
HOSTILE = f"{SCRIPT}{IMG}"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
INJECT = "Title\r\nBcc: victim@example.org\r\nX-Injected: yes"


def _assert_inert(body: str, where: str) -> None:
    assert SCRIPT not in body, f"raw script tag in {where}"
    assert "<img src=x" not in body, f"raw img tag in {where}"


def test_hostile_text_everywhere_is_escaped(app, client, login_as, frozen_now, tmp_path):
    app.config["UPLOAD_DIR"] = tmp_path
    team, facilitator = make_team(name=HOSTILE), make_facilitator()
    cohort = open_cohort(starts_on=date(2026, 10, 26))
    organisation = Organisation(name=f"Org {HOSTILE}", kind="other")
    db.session.add(organisation)
    person = make_participant(cohort, name=f"Pat {HOSTILE}", organisation=organisation)
    make_participant(cohort, name=FORMULA)
    now = clock.now()
    ended = [s for s in cohort.sessions if s.ends_at < now][-1]
    upcoming = next(s for s in cohort.sessions if s.starts_at > now and s.kind == "module")
    clinic = next(s for s in cohort.sessions if s.kind == "drop_in" and s.starts_at > now)
    thread = start_thread(actor=person, cohort=cohort, title=f"Thread {HOSTILE}", now=now, module_number=None,
                          body=f"Post {HOSTILE} [link](javascript:alert(3)) <iframe src=//evil></iframe>")
    share_resource(actor=person, cohort=cohort, upload=None, now=now, details=ResourceDetails(
        title=f"Resource {HOSTILE}", description=HOSTILE, url="https://example.org/r"))
    share_resource(actor=person, cohort=cohort, now=now, details=ResourceDetails(title="A file"),
                   upload=check_upload(f"{HOSTILE}.pdf", PDF, 10_000_000))
    send_apologies(actor=person, session=upcoming, reason=HOSTILE, now=now)
    sign_up_for_clinic(actor=person, session=clinic, topic=HOSTILE, now=now)
    propose_showcase(actor=person, cohort=cohort, title=HOSTILE, description=HOSTILE, format=HOSTILE)
    invite_guest(actor=person, cohort=cohort, name=f"Guest {HOSTILE}", email="guest@example.org",
                 relationship="colleague", now=now)
    feedback.give_feedback(actor=person, session=ended, now=now, answers=feedback.Answers(
        worthwhile=5, recommend_yes=True, what_worked=HOSTILE, what_to_change=FORMULA, quote=HOSTILE,
        quote_consent=True, value_cycles=["immediate"]))
    communities.save_community(actor=person, cohort=cohort, now=now, details=communities.CommunityDetails(
        title=f"CoP {HOSTILE}", domain=HOSTILE, member_kinds=HOSTILE, status="launched"))
    communities.log_meeting(actor=person, cohort=cohort, today=clock.local_today(), now=now,
                            details=communities.MeetingDetails(held_on=clock.local_today(), attendance=3,
                                                               other_method=HOSTILE, reflection=HOSTILE))
    impact.add_evidence(actor=person, cohort=cohort, kind="quote", text=HOSTILE, cycles=["applied"], consent=True)
    story = impact.save_story(actor=person, cohort=cohort, story=None, submit=True, now=now, draft=impact.StoryDraft(
        title=f"Story {HOSTILE}", once_upon_a_time=HOSTILE, every_day=HOSTILE, one_day=HOSTILE,
        because_of_that=[HOSTILE], until_finally=HOSTILE, cycles=["applied"], consent_to_publish=True))
    impact.review_story(actor=team, story=story, decision="publish", note="", now=now)
    session = db.session.get(ProgrammeSession, upcoming.id)
    details = programme.SessionDetails(
        title=INJECT + SCRIPT, kind=session.kind, day=clock.to_local(session.starts_at).date(),
        starts=clock.to_local(session.starts_at).time(), ends=clock.to_local(session.ends_at).time(),
        module_number=session.module.number, part=session.part, join_url=session.join_url, venue=HOSTILE,
        access_info=HOSTILE, description=HOSTILE)
    programme.update_session(actor=team, session=session, details=details, now=now)
    db.session.commit()
    ids = dict(cohort=cohort.id, thread=thread.id, ended=ended.id, upcoming=upcoming.id, clinic=clinic.id,
               story=story.id, person=person.id)

    participant_pages = ["/home", "/cohorts/{cohort}/library", "/threads/{thread}", "/cohorts/{cohort}/discussion",
                         "/cohorts/{cohort}/people", "/sessions/{upcoming}", "/cohorts/{cohort}/celebration",
                         "/cohorts/{cohort}/my-community", "/cohorts/{cohort}/value", "/cohorts/{cohort}/stories",
                         "/stories/{story}", "/sessions/{clinic}/clinic", "/sessions/{ended}/feedback"]
    team_pages = ["/team/", "/cohorts/{cohort}/attendance", "/sessions/{upcoming}/register",
                  "/cohorts/{cohort}/feedback", "/sessions/{ended}/feedback/results", "/cohorts/{cohort}/communities",
                  "/cohorts/{cohort}/report", "/team/people", "/team/people/{person}", "/team/audit",
                  "/team/outbox", "/cohorts/{cohort}/schedule", "/sessions/{clinic}/clinic"]
    for user, pages in ((person, participant_pages), (team, team_pages)):
        login_as(user)
        for page in pages:
            response = client.get(page.format(**ids))
            assert response.status_code == 200, page
            _assert_inert(response.get_data(as_text=True), page)
    login_as(facilitator)
    _assert_inert(client.get("/cohorts/{cohort}/value".format(**ids)).get_data(as_text=True), "value board")

    # Markdown: no javascript: links, no iframes.
    login_as(person)
    thread_page = client.get("/threads/{thread}".format(**ids)).get_data(as_text=True)
    assert "href=\"javascript:" not in thread_page and "<iframe" not in thread_page

    # Emails: escaped HTML, and nothing can add a header.
    for row in db.session.scalars(select(OutboxMessage)):
        _assert_inert(row.body_html, f"email {row.key}")
        message = build_message(row, sender="Convene <no-reply@convene.test>", domain="convene.test")
        assert message["Bcc"] is None and message["X-Injected"] is None, row.key
    # Calendars: one summary line, no injected property.
    login_as(person)
    ics = client.get("/sessions/{upcoming}.ics".format(**ids)).data
    event = next(c for c in Calendar.from_ical(ics).walk() if c.name == "VEVENT")
    assert "BCC" not in event and "X-INJECTED" not in event and "\n" not in str(event["SUMMARY"])
    assert not any(line.upper().startswith((b"BCC", b"X-INJECTED")) for line in ics.splitlines())

    # Exports: a cell that starts a formula is made plain text.
    login_as(team)
    for url in ("/cohorts/{cohort}/attendance.xlsx", "/cohorts/{cohort}/communities.csv", "/cohorts/{cohort}/feedback.csv"):
        assert client.get(url.format(**ids)).status_code == 200
    rows = list(csv.reader(io.StringIO(client.get("/cohorts/{cohort}/feedback.csv".format(**ids))
                                       .get_data(as_text=True).lstrip("\ufeff"))))
    cells = [cell for row in rows for cell in row]
    assert FORMULA not in cells and "'" + FORMULA in cells
