"""Data protection: the personal-data map, subject access export, erasure, retention, backup and
restore, the audit log search and the privacy notice."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import date, timedelta
from pathlib import Path

import pytest
from flask import current_app
from sqlalchemy import String, Text, select

from app import clock
from app.admin.personal_data import HOLDINGS, NO_PERSONAL_DATA, collect
from app.admin.retention import apply_retention, erase_person
from app.applications.services import assign_reviewers
from app.applications.services.selection import score_application
from app.attendance.models import AttendanceStatus
from app.attendance.services import save_attendance
from app.audit import AuditEvent
from app.auth.models import EmailConfirmation, HeldForm, User
from app.auth.services import authenticate, request_deletion, request_password_reset
from app.auth.sessions import start_session
from app.celebration.participants import answer_celebration
from app.celebration.services import invite_guest, propose_showcase, sign_up_for_clinic
from app.communities.programme_models import ProgrammeTeamMember
from app.communities.services import feedback as community_feedback
from app.communities.services import meetings as community_meetings
from app.communities.services import programmes as community_programmes
from app.communities.services import spaces as community_spaces
from app.communities.services import value as community_value
from app.db import db
from app.evaluation import communities, feedback, impact
from app.groups.services import allocate_groups, future_turns, group_of, swap_turns
from app.notifications.models import OutboxMessage
from app.portal.discussion import choose_subscription
from app.portal.progress import set_done
from app.portal.services import ResourceDetails, directory_entry, share_resource, start_thread
from app.portal.uploads import check_upload
from app.programme import services as programme
from app.programme.models import Enrolment
from app.tokens import hash_token
from tests.conftest import csrf_token
from tests.factories import PASSWORD, make_application, make_participant, make_team, make_user, open_cohort

NAME, EMAIL = "Zebedee Quillfeather", "zebedee.quillfeather@example.org"
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


@pytest.fixture
def everywhere(app, frozen_now, tmp_path):
    """One participant present in every table that can hold data about a person."""
    app.config["UPLOAD_DIR"] = tmp_path / "uploads"
    team = make_team()
    cohort = open_cohort(starts_on=date(2026, 10, 26))
    person = make_user(email=EMAIL, name=NAME)
    start_session(person, now=clock.now())
    authenticate(email=EMAIL, password=PASSWORD, now=clock.now())
    request_password_reset(email=EMAIL, now=clock.now())
    db.session.add(EmailConfirmation(user_id=person.id, token_hash=hash_token("confirm"), created_at=clock.now(),
                                     expires_at=clock.now() + timedelta(hours=48), used_at=clock.now()))
    db.session.add(HeldForm(token_hash=hash_token("held"), user_id=person.id, path="/applications/1/edit",
                            data={"hopes": "typed"}, created_at=clock.now(), expires_at=clock.now() + timedelta(hours=1)))
    application = make_application(cohort, applicant=person, submit=True)
    assign_reviewers(actor=team, application=application, reviewer_ids=[team.id], now=clock.now())
    score_application(actor=team, application=application, boundary=4, ambition=4, readiness=4)
    programme.enrol(cohort=cohort, user=person, now=clock.now())
    partner = make_participant(cohort)
    enrolment = db.session.scalar(select(Enrolment).where(Enrolment.user_id == person.id))
    directory_entry(enrolment)
    ended = [s for s in cohort.sessions if s.ends_at < clock.now()][-1]
    save_attendance(ended.id, enrolment.id, AttendanceStatus.PRESENT, "", team, ended.ends_at)
    thread = start_thread(actor=person, cohort=cohort, title="My thread", body="My post", module_number=None,
                          now=clock.now())
    choose_subscription(actor=person, thread=thread, state="following", now=clock.now())
    slides = share_resource(actor=person, cohort=cohort, now=clock.now(), details=ResourceDetails(title="My slides"),
                            upload=check_upload("my-slides.pdf", PDF, 10_000_000))
    set_done(actor=person, resource=slides, cohort=cohort, done=True, now=clock.now())
    allocate_groups(actor=team, cohort=cohort, size=5, seed=1, now=clock.now())
    group = group_of(person, cohort.id)
    mine = next(r for r in future_turns(group, clock.now()) if r.presenter_id == enrolment.id)
    theirs = next(r for r in future_turns(group, clock.now()) if r.presenter_id != enrolment.id)
    swap_turns(actor=person, group=group, rota=mine, other=theirs, now=clock.now())  # asks to exchange turns
    clinic = next(s for s in cohort.sessions if s.kind == "drop_in" and s.starts_at > clock.now())
    sign_up_for_clinic(actor=person, session=clinic, topic="My topic", now=clock.now())
    invite_guest(actor=person, cohort=cohort, name="My Guest", email="my.guest@example.org",
                 relationship="colleague", now=clock.now())
    propose_showcase(actor=person, cohort=cohort, title="My showcase", description="", format="")
    answer_celebration(actor=person, cohort=cohort, coming="yes", access_needs="My access need", dietary_needs="",
                       now=clock.now())
    feedback.give_feedback(actor=person, session=ended, now=clock.now(), answers=feedback.Answers(
        worthwhile=5, recommend_yes=True, what_worked="Named words"))
    communities.save_community(actor=person, cohort=cohort, now=clock.now(),
                               details=communities.CommunityDetails(title="My community"))
    meeting = communities.log_meeting(actor=person, cohort=cohort, today=clock.local_today(), now=clock.now(),
                                      details=communities.MeetingDetails(held_on=clock.local_today(), attendance=5))
    # The community they convene: an invitation they sent, and their own name on a meeting's register.
    mine = communities.community_of(db.session.get(Enrolment, enrolment.id))
    community_spaces.invite(actor=person, community=mine, email="invited.friend@example.org", role="member",
                            now=clock.now())
    community_meetings.record_register(actor=person, meeting=meeting, statuses={person.id: "present"}, guest_count=4,
                                       now=clock.now())
    # Their named feedback on that meeting (with a receipt that they answered).
    community_feedback.save_settings(actor=person, community=mine, now=clock.now(),
                                     settings=community_feedback.Settings(answers_are="named"))
    community_feedback.give_feedback(actor=person, meeting=meeting, now=clock.now(), answers=community_feedback.Answers(
        rating=4, worked="Named words about my community's meeting"))
    impact.add_evidence(actor=person, cohort=cohort, kind="quote", text="My evidence", cycles=["applied"], consent=True)
    # A programme of work the team set up: they are on its team, and recorded value evidence and a story
    # from their own interview for their community.
    programme_of_work = community_programmes.create_programme(
        actor=team, details=community_programmes.ProgrammeDetails(name="A programme of work"), now=clock.now())
    community_programmes.add_team_member(actor=team, programme=programme_of_work, email=EMAIL, now=clock.now())
    community_value.add_evidence(actor=person, community=mine, kind="change", text="My community evidence",
                                 cycles=["applied"], now=clock.now())
    community_value.save_story(actor=person, community=mine, story=None, now=clock.now(), draft=community_value.StoryDraft(
        interviewee_id=person.id, questions=["What has changed?"], answers=["My interview answer"],
        consent_to_share=True))
    impact.save_story(actor=person, cohort=cohort, story=None, submit=False, now=clock.now(),
                      draft=impact.StoryDraft(title="My story"))
    db.session.commit()
    return person, partner, team, cohort


def test_every_table_is_mapped_once_as_holding_personal_data_or_not():
    held = [h.table for h in HOLDINGS]
    assert len(held) == len(set(held))
    tables = {t.name for t in db.metadata.sorted_tables}
    assert tables - set(held) - NO_PERSONAL_DATA == set(), "tables missing from the personal-data map"
    assert set(held) & NO_PERSONAL_DATA == set()
    assert set(held) <= tables


def test_the_subject_access_export_covers_every_table_that_holds_their_data(everywhere, client, login_as):
    person, _partner, team, cohort = everywhere
    from app.programme.reminder_rules import change_reminder_rule

    change_reminder_rule(actor=team, cohort=cohort, key="offer_lapse", enabled=True, days="4", now=clock.now())
    clinic = next(s for s in cohort.sessions if s.kind == "drop_in" and s.starts_at > clock.now())
    programme.postpone_session(actor=team, session=clinic, reason="Room unavailable", now=clock.now())
    found = collect(person)
    from app.programme.facilitators import assign_facilitators

    assign_facilitators(actor=team, session=clinic, user_ids=[team.id], now=clock.now())
    from app.programme.services.templates import TemplateDetails, create_template

    create_template(actor=team, details=TemplateDetails(name="Team's own shape"), module_pages=5, now=clock.now())
    # Rows about staff: checked with the team below.
    staff_only = {"cohort_reminder_rules", "session_changes", "session_facilitators", "programme_templates",
                  "programmes_of_work"}
    empty = [table for table, rows in found.items() if not rows and table not in staff_only]
    assert empty == [], f"the export found nothing in {empty}"
    by_team = collect(team)
    assert by_team["cohort_reminder_rules"] and by_team["session_changes"] and by_team["session_facilitators"]
    assert [row["name"] for row in by_team["programme_templates"]] == ["Team's own shape"]
    assert [row["name"] for row in by_team["programmes_of_work"]] == ["A programme of work"]
    assert found["users"][0]["password_hash"] == "(withheld: a security secret)"
    assert all(row["token_hash"] == "(withheld: a security secret)" for row in found["password_reset_tokens"])

    person_id = person.id
    login_as(team)
    response = client.post(f"/team/people/{person_id}/export",
                           data={"csrf_token": csrf_token(client, f"/team/people/{person_id}")})
    assert response.status_code == 200 and response.mimetype == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.data))
    names = archive.namelist()
    assert {"data.json", "README.txt"} <= set(names)
    assert any(name.startswith("files/") and name.endswith("my-slides.pdf") for name in names)
    data = json.loads(archive.read("data.json"))
    assert data["person"]["email"] == EMAIL and data["tables"]["impact_stories"][0]["title"] == "My story"
    assert "correct horse" not in archive.read("data.json").decode()


def _text_everywhere() -> str:
    """Every string in every table, as one text (to look for what must be gone)."""
    parts = []
    for table in db.metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, String | Text)]
        if columns:
            for row in db.session.execute(select(*columns)).all():
                parts.extend(str(v) for v in row if v)
    return "\n".join(parts)


def test_erasure_leaves_nothing_that_identifies_the_person_and_keeps_the_counts(everywhere):
    person, partner, team, cohort = everywhere
    upload_dir = Path(current_app.config["UPLOAD_DIR"])
    assert any(upload_dir.iterdir())
    erase_person(actor=team, person=person, now=clock.now(), reason="asked")
    db.session.commit()
    text = _text_everywhere()
    for identifying in (NAME, EMAIL, "My post", "My community", "My evidence", "My story", "My showcase",
                        "My topic", "Named words", "My interview answer"):
        assert identifying not in text, f"{identifying!r} survived erasure"
    assert not any(upload_dir.iterdir())
    erased = db.session.get(User, person.id)
    assert erased.is_disabled and erased.erased_at and erased.email.endswith("@invalid.example")
    assert db.session.scalar(select(Enrolment.id).where(Enrolment.user_id == person.id))  # the place still counts
    tally = feedback.tallies([s for s in cohort.sessions if s.ends_at < clock.now()][-1:])
    assert sum(t.responses for t in tally.values()) == 1  # their feedback still counts, anonymously
    assert db.session.get(User, partner.id).name != "Deleted person"
    assert db.session.scalar(select(ProgrammeTeamMember.id)) is None  # off the programme of work's team


def test_a_participant_asks_for_deletion_and_it_happens_within_thirty_days(client, login_as, frozen_now):
    person = make_participant(open_cohort(), name=NAME, email=EMAIL)
    person_id = person.id
    login_as(person)
    client.post("/settings/delete-account", data={"csrf_token": csrf_token(client, "/settings"),
                                                  "action": "request"})
    assert "You asked for your account to be deleted" in client.get("/settings").get_data(as_text=True)
    with pytest.raises(Exception, match="Staff accounts"):
        request_deletion(user=make_team(), now=clock.now())
    db.session.rollback()
    frozen_now.shift(timedelta(days=29))
    apply_retention(clock.now())
    assert db.session.get(User, person_id).erased_at is None
    frozen_now.shift(timedelta(days=2))
    assert apply_retention(clock.now())["people"] == 1
    assert db.session.get(User, person_id).name == "Deleted person"


def test_the_retention_schedule(frozen_now):
    cohort = open_cohort(starts_on=date(2026, 1, 12))
    unsuccessful = make_application(cohort, submit=True)
    unsuccessful.status = "unsuccessful"
    kept = make_application(cohort, submit=True)
    kept.status = "accepted"
    participant = make_participant(cohort, name=NAME)
    db.session.commit()
    frozen_now.move_to(clock.now().replace(year=2027, month=3, day=1))
    done = apply_retention(clock.now())
    assert done["applications"] == 1 and done["people"] == 0
    assert done["emails"] >= 2  # the sign-off requests of 23 November 2026 are over 90 days old
    last = max(s.ends_at for s in cohort.sessions)
    frozen_now.move_to(last + timedelta(days=round(6 * 365.25) + 1))
    # The participant, and the unsuccessful applicant: their application went in 2027 and they have belonged to
    # nothing since (staff are never erased by the schedule; the accepted applicant still has an application).
    assert apply_retention(clock.now())["people"] == 2
    assert db.session.get(User, participant.id).name == "Deleted person"
    assert db.session.get(User, unsuccessful.applicant_id).erased_at is not None
    assert db.session.get(User, kept.applicant_id).erased_at is None
    assert db.session.scalar(select(OutboxMessage.id)) is None


def test_retention_clears_held_forms_old_confirmation_links_and_accounts_never_confirmed(frozen_now):
    cohort = open_cohort()
    never = make_user(email="never.confirmed@example.org", email_confirmed_at=None)
    applied = make_user(email="applied.unconfirmed@example.org", email_confirmed_at=None)
    make_application(cohort, applicant=applied)
    confirmed = make_user(email="confirmed@example.org")
    db.session.add(EmailConfirmation(user_id=never.id, token_hash=hash_token("old"), created_at=clock.now(),
                                     expires_at=clock.now() + timedelta(hours=48)))
    db.session.add(HeldForm(token_hash=hash_token("held"), user_id=confirmed.id, path="/x", data={},
                            created_at=clock.now(), expires_at=clock.now() + timedelta(hours=1)))
    db.session.commit()
    frozen_now.shift(timedelta(hours=2))
    done = apply_retention(clock.now())
    assert done["held_forms"] == 1 and done["unconfirmed_accounts"] == 0 and done["confirmation_links"] == 0
    frozen_now.shift(timedelta(days=33))
    done = apply_retention(clock.now())
    assert done["confirmation_links"] == 1 and done["unconfirmed_accounts"] == 1
    emails = set(db.session.scalars(select(User.email)))
    assert "never.confirmed@example.org" not in emails
    assert {"applied.unconfirmed@example.org", "confirmed@example.org"} <= emails


def test_backup_then_restore_brings_back_the_database_and_the_files(app, runner, tmp_path, frozen_now):
    app.config["UPLOAD_DIR"] = tmp_path / "uploads"
    (tmp_path / "uploads").mkdir()
    (tmp_path / "uploads" / "kept.pdf").write_bytes(PDF)
    make_user(email="before@example.org", name="Before Backup")
    db.session.commit()
    archive = tmp_path / "backup.tar.gz"
    result = runner.invoke(args=["backup", str(archive)])
    assert result.exit_code == 0, result.output
    assert "1 file(s)" in result.output

    make_user(email="after@example.org", name="After Backup")
    db.session.commit()
    (tmp_path / "uploads" / "kept.pdf").unlink()
    (tmp_path / "uploads" / "new.pdf").write_bytes(PDF)
    db.session.remove()
    result = runner.invoke(args=["restore", str(archive), "--yes"])
    assert result.exit_code == 0, result.output
    emails = set(db.session.scalars(select(User.email)))
    assert "before@example.org" in emails and "after@example.org" not in emails
    assert sorted(p.name for p in (tmp_path / "uploads").iterdir()) == ["kept.pdf"]
    refused = runner.invoke(args=["restore", str(tmp_path / "missing.tar.gz"), "--yes"])
    assert refused.exit_code != 0 and "There is no backup" in refused.output


def test_the_audit_log_records_sign_ins_and_refusals_and_the_team_can_search_it(client, login_as, frozen_now):
    make_user(email="someone@example.org", name="Someone Audited")
    db.session.commit()
    token = csrf_token(client, "/sign-in")
    client.post("/sign-in", data={"csrf_token": token, "email": "someone@example.org", "password": "wrong guess"})
    client.post("/sign-in", data={"csrf_token": token, "email": "nobody@example.org", "password": "wrong guess"})
    participant = make_participant(open_cohort())
    login_as(participant)
    assert client.get("/team/people").status_code == 403
    login_as(make_team())
    page = client.get("/team/audit?action=login_failed").get_data(as_text=True)
    assert "login failed" in page and "wrong password" in page and "unknown email" in page
    assert "2 entries" in page
    denied = client.get("/team/audit?action=access_denied").get_data(as_text=True)
    assert "/team/people" in denied and participant.name in denied
    assert "wrong guess" not in client.get("/team/audit").get_data(as_text=True)  # never a password
    bad = client.get("/team/audit?from=not-a-date").get_data(as_text=True)
    assert "Enter the &#34;from&#34; date" in bad or 'Enter the "from" date' in bad


def test_the_privacy_notice_says_what_is_held_and_for_how_long(client):
    page = client.get("/privacy").get_data(as_text=True)
    for words in ("What we hold and why", "How long", "12 months after the cohort starts",
                  "6 years after your cohort ends", "Anonymous feedback: what is and is not protected",
                  "Information Commissioner"):
        assert words in page


def test_an_account_that_belongs_to_nothing_is_erased_a_year_after_it_last_signed_in(frozen_now):
    """Community members have no cohort: without this rule someone removed from their community stayed
    for ever. The privacy notice says how long, from the setting."""
    from app.communities.services import spaces

    team = make_team()
    community = spaces.start_community(actor=team, now=clock.now(), details=spaces.CommunityDetails(name="A CoP"))
    left, stayed = make_user(name="Left Member"), make_user(name="Staying Member")
    for person in (left, stayed):
        spaces.add_membership(community, person, "member", now=clock.now())
    membership = next(m for m in community.memberships if m.user_id == left.id)
    spaces.remove_member(actor=team, community=community, membership_id=membership.id, now=clock.now())
    recent = make_user(name="Signed In Lately")
    db.session.commit()
    frozen_now.shift(timedelta(days=300))
    recent.last_login_at = clock.now()
    db.session.commit()
    assert apply_retention(clock.now())["people"] == 0  # not a year yet
    frozen_now.shift(timedelta(days=80))
    assert apply_retention(clock.now())["people"] == 1
    assert db.session.get(User, left.id).erased_at is not None
    assert db.session.get(User, stayed.id).erased_at is None  # still in a community
    assert db.session.get(User, recent.id).erased_at is None  # signed in 80 days ago
    assert db.session.get(User, team.id).erased_at is None  # staff
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "account_erased")).all()
    assert any("dormant" in str(e.detail) for e in event)


def test_the_privacy_notice_gives_the_dormant_account_period(client, app):
    page = client.get("/privacy").get_data(as_text=True)
    assert f"{app.config['RETENTION_DORMANT_MONTHS']} months after you last signed in" in page
    assert "Communities you belong to" in page
