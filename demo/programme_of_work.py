"""Demo data: a regional alliance's programme of work with four communities of practice, their conveners,
meetings (attendance mostly counted without names, one meeting postponed), value evidence and stories.
Everyone is fictional. The programme of work's lead signs in as alliance@example.org."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta

from app import clock
from app.auth.models import User
from app.communities.services import meetings, programmes, spaces, value

ALLIANCE_LEAD = ("alliance@example.org", "Avery Alliance-Lead", "Programme manager, Northshire Cancer Alliance")

# name, purpose, conveners (email, name, job title), guests counted at each of three meetings
# (None: the third was postponed).
COMMUNITIES = [
    ("Patient Involvement", "Patients, carers and staff improving how people shape cancer services together.",
     [("noor.haddad@example.org", "Noor Haddad", "Patient and public involvement lead"),
      ("tom.bright@example.org", "Tom Bright", "Patient representative")], [31, 27, 25]),
    ("Rehabilitation and Personalised Care", "Rehabilitation and personalised care before, during and after "
     "treatment.", [("ruth.mensah@example.org", "Ruth Mensah", "Oncology physiotherapist"),
                    ("ollie.grant@example.org", "Ollie Grant", "Personalised care project manager")], [29, 26, 18]),
    ("Operational Teams", "Cancer service managers sharing how they run pathways and meet waiting times.",
     [("priya.shah@example.org", "Priya Shah", "Cancer services manager")], [11, 8, 9]),
    ("Ultrasound Imaging", "Sonographers and educators growing the ultrasound workforce together.",
     [("kit.ferris@example.org", "Kit Ferris", "Superintendent sonographer"),
      ("dana.osei@example.org", "Dana Osei", "Sonographer practice educator")], [12, 10, None]),
]

EVIDENCE = [
    (0, "quote", "I came as a patient and left as part of the team redesigning the letters.", ["immediate", "applied"]),
    (1, "change", "Three trusts now use one prehabilitation leaflet instead of three.", ["applied", "realised"]),
    (2, "reflection", "We stopped solving the same breach problem five times over.", ["potential", "enabling"]),
    (3, "change", "Two new practice educators trained through the community's placements.", ["realised",
                                                                                           "transformative"]),
]


def seed_programme_of_work(*, team: User, now: datetime, make_user: Callable[..., User]) -> None:
    lead = make_user(ALLIANCE_LEAD[0], ALLIANCE_LEAD[1], job_title=ALLIANCE_LEAD[2])
    programme = programmes.create_programme(actor=team, now=now, details=programmes.ProgrammeDetails(
        name="Northshire Cancer Alliance Communities of Practice", run_by="Northshire Cancer Alliance",
        description="Four communities of practice the alliance set up to connect people across its trusts, "
                    "meeting every few months, with an evaluation at the end.",
        starts_on=(clock.to_local(now) - timedelta(days=300)).date(),
        ends_on=(clock.to_local(now) + timedelta(days=60)).date()))
    programmes.add_team_member(actor=team, programme=programme, email=lead.email, now=now)
    today = clock.to_local(now).date()
    made = []
    for number, (name, purpose, conveners, guests) in enumerate(COMMUNITIES):
        community = spaces.start_community(actor=lead, now=now, programme_of_work_id=programme.id,
                                           details=spaces.CommunityDetails(name=name, purpose=purpose,
                                                                           status="meeting_regularly"))
        people = [make_user(email, person, job_title=title) for email, person, title in conveners]
        for person in people:
            spaces.add_membership(community, person, "convener", now=now - timedelta(days=280))
        for n, counted in enumerate(guests):
            day = today - timedelta(days=250 - n * 100 - number * 9)
            postponed = counted is None
            meeting = meetings.add_meeting(actor=lead, community=community, now=now, details=meetings.MeetingDetails(
                meets_on=day, starts=time(13, 30), ends=time(15, 0), format="online",
                location="https://meet.example.org/northshire", methods=["Liberating Structures"],
                status="postponed" if postponed else "held",
                notes="The venue closed at short notice" if postponed else ""))
            if not postponed:
                meetings.record_register(actor=lead, meeting=meeting, now=now, guest_count=counted,
                                         statuses={person.id: "present" for person in people})
        made.append((community, people))
    for index, kind, text, cycles in EVIDENCE:
        value.add_evidence(actor=lead, community=made[index][0], kind=kind, text=text, cycles=cycles, now=now)
    community, people = made[1]
    value.save_story(actor=lead, community=community, story=None, now=now, draft=value.StoryDraft(
        interviewee_id=people[0].id, interviewed_on=today - timedelta(days=20), consent_to_share=True,
        cycles=["applied", "realised"], questions=list(programme.questions), answers=[
            "Each trust wrote its own advice on exercise before treatment, and patients got three different stories.",
            "We agreed one leaflet and one referral route, written with patients from the community.",
            "Patients start exercising weeks earlier; physiotherapists spend less time rewriting materials.",
            "Take the same approach to nutrition advice next year."]))
    community, people = made[3]
    value.save_story(actor=lead, community=community, story=None, now=now, draft=value.StoryDraft(
        interviewee_id=people[0].id, interviewed_on=today - timedelta(days=12), consent_to_share=False,
        questions=list(programme.questions)[:1], answers=["Not agreed to share yet: the report leaves it out."]))
    programme.next_steps = ("Hand each community to a host trust, keep one shared meeting a year, "
                            "and repeat the value story interviews in twelve months.")
