"""Demo evaluation data for the running cohort: feedback, CoPs and meetings, value evidence, two stories."""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import select

from app import clock
from app.attendance.models import ATTENDED, Attendance
from app.auth.models import User
from app.communities.models import MEETING_METHODS, CommunityStatus
from app.db import db
from app.evaluation import communities, feedback, impact
from app.evaluation.jobs import release_feedback
from app.evaluation.models import EvidenceKind, RecommendScale
from app.evaluation.report import save_narrative
from app.programme.models import Enrolment, EnrolmentStatus, SessionKind

WORKED = ["Time to think with peers from other organisations.", "The breakout rooms were well run.",
          "Practical tools I can use next week.", "Hearing how others keep their communities going.",
          "The facilitators kept it moving and made space for quieter voices."]
CHANGE = ["A little more time in small groups.", "Send the pre-reading earlier.", "",
          "Fewer slides, more conversation.", ""]
QUOTES = [
    ("I left with three ideas I used at my next community meeting.", ["immediate", "applied"]),
    ("Meeting people facing the same problems in other places made me feel less alone.", ["immediate"]),
    ("I now plan our meetings around what members want to learn, not what I want to tell them.", ["applied", "reframing"]),
    ("The co-consulting method gave me a way to get unstuck.", ["potential", "applied"]),
    ("A contact from today has already joined my community.", ["potential"]),
    ("The session on value stories changed how I report to my director.", ["reframing", "strategic"]),
    ("I tried the 1-2-4-All exercise the next day and people who never speak spoke.", ["applied"]),
    ("Good to have a space that is about us as convenors, not the work.", ["immediate"]),
    ("I came away with a plan for our next three meetings.", ["potential"]),
]
REFLECTIONS = [
    (EvidenceKind.CHANGE, "Our community now rotates who chairs, so it no longer depends on me.", ["applied", "realised"]),
    (EvidenceKind.REFLECTION, "I used to measure success by attendance. Now I ask what members did differently.",
     ["reframing"]),
    (EvidenceKind.CHANGE, "Two care homes changed how they hand over medicines after our meeting.", ["realised"]),
    (EvidenceKind.REFLECTION, "My director asked to hear what the community has achieved at the board.", ["strategic"]),
    (EvidenceKind.QUOTE, "Having protected time signed off by my manager made it possible to take part.", ["enabling"]),
]


def seed_evaluation(cohort, *, team: User, now: datetime, rng: random.Random) -> None:
    enrolments = db.session.scalars(select(Enrolment).where(
        Enrolment.cohort_id == cohort.id, Enrolment.status == EnrolmentStatus.ACTIVE.value)
        .order_by(Enrolment.id)).all()
    feedback.save_settings(actor=team, cohort=cohort, settings=feedback.Settings(
        SessionKind.MODULE.value, recommend_scale=RecommendScale.ZERO_TEN.value))
    _seed_feedback(cohort, enrolments, now=now, rng=rng)
    _seed_communities(cohort, enrolments, now=now, rng=rng)
    for i, (kind, text, cycles) in enumerate(REFLECTIONS):
        author = team if i == 3 else enrolments[(i * 5 + 2) % len(enrolments)].user
        impact.add_evidence(actor=author, cohort=cohort, kind=kind.value, text=text, cycles=cycles, consent=i != 1)
    _seed_stories(cohort, enrolments, team=team, now=now)
    save_narrative(actor=team, cohort=cohort,
                   summary="The cohort brought together convenors from hospitals, primary care, local government "
                           "and the voluntary sector. This report covers the sessions held so far.",
                   next_steps="Share the impact stories with sponsors before the celebration event, and plan an "
                              "alumni network so communities keep learning from each other.")


def _seed_feedback(cohort, enrolments, *, now: datetime, rng: random.Random) -> None:
    ended = [s for s in cohort.sessions if s.ends_at <= now and s.status == "scheduled"]
    attended = {(sid, eid) for sid, eid in db.session.execute(select(Attendance.session_id, Attendance.enrolment_id)
                .where(Attendance.status.in_([s.value for s in ATTENDED])))}
    registered = {sid for sid, _ in attended}
    latest = ended[-1].id if ended else None
    for session in ended:
        settings = feedback.settings_for(cohort.id)[session.kind]
        for enrolment in enrolments:
            if session.id in registered and (session.id, enrolment.id) not in attended:
                continue
            demo_person = enrolment.user.email == "participant@example.org"
            if (demo_person and session.id == latest) or (not demo_person and rng.random() > 0.72):
                continue  # the demo participant still has the latest session's feedback to give
            quote, cycles = QUOTES[rng.randrange(len(QUOTES))] if rng.random() < 0.35 else ("", [])
            worthwhile = rng.choices([5, 4, 3, 2], weights=[48, 38, 10, 4])[0]
            answers = feedback.Answers(
                worthwhile=worthwhile, what_worked=rng.choice(WORKED), what_to_change=rng.choice(CHANGE),
                quote=quote, quote_consent=bool(quote) and rng.random() < 0.85, anonymous=rng.random() < 0.3,
                value_cycles=cycles or rng.sample(["immediate", "potential", "applied"], k=rng.randint(0, 2)))
            if settings.recommend_scale == RecommendScale.ZERO_TEN:
                answers.recommend_score = min(10, max(0, worthwhile * 2 + rng.randint(-1, 1)))
            else:
                answers.recommend_yes = worthwhile >= 3 or rng.random() < 0.3
            feedback.give_feedback(actor=enrolment.user, session=session, answers=answers,
                                   now=session.ends_at + timedelta(hours=2 + rng.randint(0, 48)))
    # As the scheduler would have done by now: sessions whose 30 days are over have their anonymous
    # answers released; the recent ones still hold theirs back.
    release_feedback(now)


def _seed_communities(cohort, enrolments, *, now: datetime, rng: random.Random) -> None:
    today = clock.to_local(now, cohort.timezone).date()
    statuses = [CommunityStatus.MEETING_REGULARLY, CommunityStatus.LAUNCHED, CommunityStatus.LAUNCHED,
                CommunityStatus.PLANNING, CommunityStatus.PAUSED]
    for i, enrolment in enumerate(enrolments[:22]):
        details = communities.details_from_application(enrolment)
        details.status = statuses[i % len(statuses)].value
        demo_person = enrolment.user.email == "participant@example.org"
        communities.save_community(actor=enrolment.user, cohort=cohort, details=details, now=now)
        meetings = 2 if demo_person else {"meeting_regularly": 4, "launched": 2, "paused": 1}.get(details.status, 0)
        for n in range(meetings):
            communities.log_meeting(actor=enrolment.user, cohort=cohort, today=today, now=now, details=(
                communities.MeetingDetails(
                    held_on=today - timedelta(days=110 - n * 28 - i % 7), attendance=rng.randint(8, 38),
                    methods=rng.sample(MEETING_METHODS[:5], k=rng.randint(1, 2)),
                    reflection=rng.choice(["Good energy; members want to meet monthly.",
                                           "Smaller group than hoped, but deep conversation.", ""]))))


def _seed_stories(cohort, enrolments, *, team: User, now: datetime) -> None:
    published = impact.save_story(actor=enrolments[4].user, cohort=cohort, story=None, submit=True, now=now,
                                  draft=impact.StoryDraft(
        title="Safer handovers between hospital and care homes",
        once_upon_a_time="Medicines information often went missing when people moved from hospital to a care home.",
        every_day="Care home staff phoned the ward, waited, and sometimes gave doses late.",
        one_day="Our community met to map a handover from both sides, using a Liberating Structures exercise.",
        because_of_that=["Ward pharmacists and care home managers agreed a one-page handover.",
                         "Two care homes tried it for a month and shared what they learned."],
        until_finally="The handover is now used across the area, and late doses have fallen.",
        cycles=["applied", "realised"], consent_to_publish=True))
    impact.review_story(actor=team, story=published, decision="publish", note="", now=now)
    impact.save_story(actor=enrolments[9].user, cohort=cohort, story=None, submit=True, now=now,
                      draft=impact.StoryDraft(
        title="From a mailing list to a community",
        once_upon_a_time="Our network was a mailing list that nobody replied to.",
        every_day="I sent updates and heard nothing back.",
        one_day="After module two I asked members what they wanted to learn from each other.",
        because_of_that=["We started a monthly online meeting where members bring a problem."],
        until_finally="Members now run the meetings themselves, and new people join every month.",
        cycles=["immediate", "reframing"], consent_to_publish=True))
