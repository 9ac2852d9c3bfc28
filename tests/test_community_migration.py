"""The migration into communities, on a populated database, both ways: participants' CoPs and their meetings
arrive with nothing lost, and go back as far as the old tables can hold them."""

from __future__ import annotations

from datetime import date, datetime, time

import flask_migrate
import sqlalchemy as sa
from sqlalchemy import select

from app import clock, create_app
from app.communities.models import Community, CommunityMeeting
from app.communities.services import meetings, spaces
from app.db import db
from app.evaluation import communities as cops
from app.programme.models import Cohort
from tests.factories import make_cohort, make_participant, make_team, make_user

BEFORE = "b5d2e8f41a63"  # the revision before communities (e4b7c2a9d051)

participant_communities = sa.table(
    "participant_communities", sa.column("id", sa.Integer), sa.column("enrolment_id", sa.Integer),
    sa.column("title", sa.String), sa.column("domain", sa.Text), sa.column("member_kinds", sa.Text),
    sa.column("crosses_boundaries", sa.Boolean), sa.column("boundaries_how", sa.Text), sa.column("status", sa.String),
    sa.column("created_at", sa.DateTime), sa.column("updated_at", sa.DateTime))
old_meetings = sa.table(
    "community_meetings", sa.column("id", sa.Integer), sa.column("community_id", sa.Integer),
    sa.column("held_on", sa.Date), sa.column("attendance", sa.Integer), sa.column("methods", sa.JSON),
    sa.column("reflection", sa.Text), sa.column("created_at", sa.DateTime))


def _fresh():
    db.session.commit()
    db.session.remove()


def test_cops_and_meetings_move_into_communities_with_nothing_lost_and_back(app, scratch_database_url):
    migrated = create_app({**app.config, "SQLALCHEMY_DATABASE_URI": scratch_database_url})
    with migrated.app_context():
        try:
            flask_migrate.upgrade()
            cohort = make_cohort(name="Migrated cohort")
            ada, ben = make_participant(cohort, name="Ada Convener"), make_participant(cohort, name="Ben Convener")
            enrolments = {e.user_id: e.id for e in cohort.enrolments}
            cohort_id, ada_id, ben_id = cohort.id, ada.id, ben.id
            _fresh()
            flask_migrate.downgrade(revision=BEFORE)

            created = datetime(2026, 9, 20, 8, 0)
            with db.engine.begin() as connection:
                connection.execute(participant_communities.insert(), [
                    dict(id=5, enrolment_id=enrolments[ada_id], title="Falls prevention", domain="Falls at home",
                         member_kinds="Physios and carers", crosses_boundaries=True,
                         boundaries_how="Hospital and community", status="meeting_regularly",
                         created_at=created, updated_at=created),
                    dict(id=9, enrolment_id=enrolments[ben_id], title="Ben's CoP", domain="", member_kinds="",
                         crosses_boundaries=False, boundaries_how="", status="planning", created_at=created,
                         updated_at=created)])
                connection.execute(old_meetings.insert(), [
                    dict(id=3, community_id=5, held_on=date(2026, 10, 5), attendance=14,
                         methods=["Liberating Structures", "Walk and talk"], reflection="Good energy.",
                         created_at=datetime(2026, 10, 5, 18, 0)),
                    dict(id=4, community_id=5, held_on=date(2026, 11, 2), attendance=9, methods=[], reflection="",
                         created_at=datetime(2026, 11, 2, 18, 0))])
            db.engine.dispose()

            # Up to the head (later migrations on top, such as programmes of work): the models read what moved.
            flask_migrate.upgrade()
            falls = db.session.get(Community, 5)
            assert (falls.name, falls.domain, falls.member_kinds, falls.crosses_boundaries, falls.boundaries_how,
                    falls.status, falls.cohort_id) == ("Falls prevention", "Falls at home", "Physios and carers", True,
                                                       "Hospital and community", "meeting_regularly", cohort_id)
            assert [(m.user_id, m.role) for m in falls.memberships] == [(ada_id, "convener")]
            assert [(m.user_id, m.role) for m in db.session.get(Community, 9).memberships] == [(ben_id, "convener")]
            old = [(m.id, m.meets_on, m.starts_at, m.guest_count, m.headcount, m.methods, m.notes, m.status)
                   for m in falls.meetings]
            assert old == [(3, date(2026, 10, 5), None, 14, 14, ["Liberating Structures", "Walk and talk"],
                            "Good energy.", "held"),
                           (4, date(2026, 11, 2), None, 9, 9, [], "", "held")]
            # The participant pages read the same figures as before.
            rows = {r.enrolment.user.name: r for r in cops.cohort_communities(db.session.get(Cohort, cohort_id))}
            assert (rows["Ada Convener"].meetings, rows["Ada Convener"].total_attendance,
                    rows["Ada Convener"].last_met) == (2, 23, date(2026, 11, 2))
            assert rows["Ben Convener"].community.name == "Ben's CoP" and rows["Ben Convener"].meetings == 0

            # New ids continue after the moved ones (PostgreSQL's sequences too); then a register and a plan.
            ada = falls.memberships[0].user
            member = make_user(name="Mia Member")
            spaces.add_membership(falls, member, "member", now=clock.now())
            meetings.record_register(actor=ada, meeting=falls.meetings[1], statuses={member.id: "present"},
                                     guest_count=9, now=clock.now())
            planned = meetings.add_meeting(actor=ada, community=falls, now=clock.now(), details=meetings.MeetingDetails(
                meets_on=date(2027, 3, 1), starts=time(10, 0), notes="Planned", actions="Book a room"))
            extra = spaces.start_community(actor=make_team(), details=spaces.CommunityDetails(name="Outside any cohort"),
                                           now=clock.now())
            assert extra.id > 9
            planned_id = planned.id
            _fresh()

            flask_migrate.downgrade(revision=BEFORE)
            with db.engine.connect() as connection:
                back = connection.execute(sa.text(
                    "SELECT id, enrolment_id, title, status, crosses_boundaries FROM participant_communities ORDER BY id")).all()
                assert [tuple(r) for r in back] == [(5, enrolments[ada_id], "Falls prevention", "meeting_regularly", True),
                                                    (9, enrolments[ben_id], "Ben's CoP", "planning", False)]
                held = connection.execute(sa.text(
                    "SELECT id, community_id, held_on, attendance, reflection FROM community_meetings ORDER BY id")).all()
                # The register's named person is counted; the planned meeting keeps its status in words.
                assert sorted((r[0], r[1], str(r[2]), r[3], r[4]) for r in held) == sorted([
                    (3, 5, "2026-10-05", 14, "Good energy."), (4, 5, "2026-11-02", 10, ""),
                    (planned_id, 5, "2027-03-01", 0, "[planned] Planned\n\nActions: Book a room")])
            db.engine.dispose()
            flask_migrate.upgrade()
            again = {m.id: m for m in db.session.scalars(select(CommunityMeeting))}
            assert (again[4].guest_count, again[4].status) == (10, "held")
            assert (again[planned_id].status, again[planned_id].notes) == ("planned", "Planned\n\nActions: Book a room")
        finally:
            db.session.remove()
            db.engine.dispose()
