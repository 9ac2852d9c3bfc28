"""Fictional demo data: one cohort built by the programme template, 28 participants, staff.

Every name and organisation here is invented.
"""

from __future__ import annotations

import random
import re
from datetime import datetime, time, timedelta

from flask import current_app
from sqlalchemy import func, select, update

from app import clock
from app.applications import services as applications
from app.applications.models import Decision
from app.attendance.models import AttendanceStatus
from app.attendance.services import save_attendance, send_apologies
from app.auth.models import Organisation, OrganisationKind, StaffRole, User
from app.celebration import services as celebration
from app.communities.services import meetings as community_meetings
from app.communities.services.spaces import add_membership
from app.db import db
from app.evaluation.communities import community_of
from app.groups.services import allocate_groups
from app.notifications.models import OutboxMessage, OutboxStatus
from app.notifications.services import open_links
from app.portal import services as portal
from app.portal.uploads import check_upload
from app.programme import services as programme
from app.programme.models import CohortStatus, Enrolment
from demo.evaluation import seed_evaluation
from demo.programme_of_work import seed_programme_of_work

DEMO_PASSWORD = "demo-password"
DEMO_LOGINS = {
    "password": DEMO_PASSWORD,
    "accounts": [
        ("Programme team", "team@example.org"),
        ("Facilitator", "facilitator@example.org"),
        ("Participant", "participant@example.org"),
        ("Applicant (no place yet)", "applicant@example.org"),
        ("Community member (not a participant)", "member@example.org"),
        ("Programme of work team (not staff)", "alliance@example.org"),
    ],
}

ORGANISATIONS = [
    ("Riverside Community Health NHS Trust", OrganisationKind.NHS_TRUST, "North West"),
    ("Moorland Teaching Hospitals NHS Trust", OrganisationKind.NHS_TRUST, "Yorkshire and the Humber"),
    ("Eastbrook Mental Health NHS Trust", OrganisationKind.NHS_TRUST, "North East"),
    ("Harbourside Primary Care Network", OrganisationKind.PRIMARY_CARE, "North West"),
    ("Valley Lane Medical Practice", OrganisationKind.PRIMARY_CARE, "North East"),
    ("Northgate City Council", OrganisationKind.LOCAL_GOVERNMENT, "North West"),
    ("Fellside County Council", OrganisationKind.LOCAL_GOVERNMENT, "Cumbria"),
    ("Brightwater Home Care", OrganisationKind.SOCIAL_CARE, "North West"),
    ("Oakleigh Care Homes", OrganisationKind.SOCIAL_CARE, "Yorkshire and the Humber"),
    ("Northgate Public Health Team", OrganisationKind.PUBLIC_HEALTH, "North West"),
    ("Carers Together", OrganisationKind.CHARITY, "North East"),
    ("Open Door Wellbeing Trust", OrganisationKind.CHARITY, "North West"),
    ("University of Westmoor", OrganisationKind.HIGHER_EDUCATION, "North West"),
    ("North Coast Health Innovation Network", OrganisationKind.HEALTH_INNOVATION_NETWORK, "North East"),
]

ROLES = [
    ("Patient safety lead", "Patient safety"),
    ("Quality improvement facilitator", "Quality improvement"),
    ("Lead pharmacist", "Pharmacy"),
    ("Advanced clinical practitioner", "Nursing"),
    ("Practice development nurse", "Nursing"),
    ("Physiotherapy team lead", "Allied health professions"),
    ("Public health practitioner", "Public health"),
    ("Social work practice educator", "Social work"),
    ("Improvement advisor", "Quality improvement"),
    ("GP partner", "Medicine"),
    ("Occupational therapist", "Allied health professions"),
    ("Learning and development manager", "Professional development"),
    ("Care home manager", "Social care"),
    ("Community engagement officer", "Community development"),
]

FIRST_NAMES = ["Aisha", "Ben", "Carys", "Dev", "Eleni", "Farah", "Gethin", "Hana", "Idris", "Jo", "Kofi",
               "Lena", "Mairead", "Nikhil", "Orla", "Priya", "Quentin", "Rosa", "Sam", "Tomasz", "Uma",
               "Vikram", "Wren", "Xander", "Yasmin", "Zoe", "Alfie", "Bea"]
LAST_NAMES = ["Okafor", "Lindqvist", "Brennan", "Chaudhry", "Moreau", "Haddad", "Pryce", "Nakamura",
              "Adeyemi", "Fairbairn", "Mensah", "Kowalczyk", "Doherty", "Raman", "Quigley", "Sethi",
              "Ashworth", "Delgado", "Whitlock", "Nowak", "Iyer", "Kapoor", "Ellison", "Marr", "Rahman",
              "Tait", "Oduya", "Greaves"]


def database_is_empty() -> bool:
    return not db.session.scalar(select(func.count()).select_from(User))


def _user(email: str, name: str, *, staff_role: StaffRole = StaffRole.NONE, job_title: str = "",
          profession: str = "", organisation: Organisation | None = None) -> User:
    user = User(email=email, name=name, staff_role=staff_role.value, job_title=job_title,
                profession=profession, organisation=organisation, email_confirmed_at=clock.now())
    user.password_hash = _PASSWORD_HASH[0]
    db.session.add(user)
    return user


_PASSWORD_HASH: list[str] = []


def _demo_user(email: str, name: str, *, job_title: str = "") -> User:
    user = _user(email, name, job_title=job_title)
    db.session.flush()
    return user


def seed(*, now: datetime) -> None:
    """Create the demo programme, cohort, staff and participants. Deterministic."""
    rng = random.Random(2026)
    probe = User()
    probe.set_password(DEMO_PASSWORD)  # one scrypt hash, shared: seeding stays quick
    _PASSWORD_HASH[:] = [probe.password_hash]

    organisations = [Organisation(name=n, kind=k.value, region=r, accepted_at=now) for n, k, r in ORGANISATIONS]
    db.session.add_all(organisations)

    team = _user("team@example.org", "Morgan Team-Lead", staff_role=StaffRole.TEAM, job_title="Programme manager",
                 organisation=organisations[-1])
    _user("facilitator@example.org", "Ffion Facilitator", staff_role=StaffRole.FACILITATOR,
          job_title="Associate facilitator", organisation=organisations[-1])
    _user("applicant@example.org", "Alex Applicant", job_title="Ward manager", profession="Nursing",
          organisation=organisations[1])
    db.session.flush()

    content = current_app.extensions["convene_content"]
    programme_row = programme.get_or_create_programme(current_app.config["PROGRAMME_NAME"])
    # Started about four months ago, so some sessions have happened and most are to come.
    start = (clock.to_local(now) - timedelta(days=125)).date()
    cohort = programme.create_cohort(
        actor=team, programme=programme_row, name=f"{start.year} to {start.year + 1}", starts_on=start,
        content=content, capacity=28,
        applications_open_at=clock.local_instant(start - timedelta(days=110), time(9, 0)),
        application_deadline_at=clock.local_instant(start - timedelta(days=50), time(23, 59)),
        bank_holiday_region=current_app.config["BANK_HOLIDAY_REGION"],
    )
    cohort.status = CohortStatus.RUNNING.value
    for index, session in enumerate(cohort.sessions):
        if not session.venue:
            session.join_url = f"https://video.example.org/convene-{cohort.id}-{index + 1:02d}"
    celebration = cohort.sessions[-1]
    celebration.venue = "The Lantern Conference Centre, Northgate"
    celebration.access_info = "Step-free access throughout. A quiet room is available on the ground floor."

    # The running cohort's selection, as it happened: 34 applied; 28 accepted (one after a decline
    # freed a place), one still waiting, two turned down, one line manager said no, one withdrew.
    window_open = cohort.applications_open_at
    people = []
    first_names = FIRST_NAMES + ["Cal", "Dina", "Emeka", "Fen", "Gwen", "Hal"]
    last_names = LAST_NAMES + ["Morrow", "Petrakis", "Obi", "Lund", "Harcourt", "Ng"]
    for number in range(len(first_names)):
        first, last = first_names[number], last_names[number]
        email = "participant@example.org" if number == 0 else f"{first.lower()}.{last.lower()}@example.org"
        job_title, profession = ROLES[number % len(ROLES)]
        people.append(_user(email, f"{first} {last}", job_title=job_title, profession=profession,
                            organisation=organisations[rng.randrange(len(organisations) - 1)]))
    db.session.flush()
    applied = [_apply(person, cohort, window_open + timedelta(days=3 + i % 20, hours=i % 7), rng, submit=True)
               for i, person in enumerate(people)]
    decided_at = cohort.application_deadline_at + timedelta(days=2)
    applications.withdraw_application(actor=applied[-2].applicant, application=applied[-2],
                                      now=applied[-2].submitted_at + timedelta(days=1), reason="Changed jobs")
    for i, application in enumerate(applied):
        if application.status == "withdrawn":
            continue
        token = _sponsor_token(application)
        approve = i != len(applied) - 1  # the last line manager said no
        applications.record_sponsor_decision(
            token=token, approve=approve, confirms_release=approve,
            comment="" if approve else "We cannot release anyone this year because of a service redesign.",
            now=application.submitted_at + timedelta(days=2 + i % 4))
    reviewers = [team, db.session.scalar(select(User).where(User.email == "facilitator@example.org"))]
    pool = [a for a in applied if a.status == "sponsor_approved"]
    for i, application in enumerate(pool):
        base = 5 - (i * 3 // len(pool))
        for reviewer in reviewers[:1] if i % 2 else reviewers:
            if reviewer.is_team:
                applications.score_application(actor=reviewer, application=application, boundary=base,
                                               ambition=max(1, base - i % 2), readiness=max(1, base - i % 3))
    ranked = sorted(pool, key=lambda a: -(a.mean_score or 0))
    for i, application in enumerate(ranked):
        decision = Decision.OFFER if i < 28 else (Decision.WAITLIST if i < 30 else Decision.UNSUCCESSFUL)
        applications.set_decision(actor=team, application=application, decision=decision, now=decided_at)
    applications.release_outcomes(actor=team, cohort=cohort, now=decided_at + timedelta(hours=1))
    offered = [a for a in ranked if a.status == "offered"]
    declining = offered[-1]
    applications.respond_to_offer(actor=declining.applicant, application=declining, accept=False,
                                  now=decided_at + timedelta(days=3))
    promoted = applications.offer_to_next(actor=team, cohort=cohort, now=decided_at + timedelta(days=4))
    for application in [*offered[:-1], promoted]:
        applications.respond_to_offer(actor=application.applicant, application=application, accept=True,
                                      now=decided_at + timedelta(days=5))
    db.session.flush()
    _seed_attendance(cohort, team=team, now=now, rng=rng)
    _seed_portal(cohort, team=team, now=now)
    _seed_directory(cohort)
    allocate_groups(actor=team, cohort=cohort, size=5, seed=1, now=cohort.sessions[0].starts_at)
    _seed_celebration_and_clinics(cohort, now=now)
    seed_evaluation(cohort, team=team, now=now, rng=rng)
    _seed_community_members(cohort, now=now)
    seed_programme_of_work(team=team, now=now, make_user=_demo_user)

    _seed_next_cohort(now=now, team=team, programme_row=programme_row, start=start, organisations=organisations,
                      rng=rng)
    # Every email above went out at the time; the outbox shows them as sent.
    db.session.execute(update(OutboxMessage).where(OutboxMessage.due_at <= now)
                       .values(status=OutboxStatus.SENT.value, sent_at=OutboxMessage.due_at, attempts=1))
    db.session.flush()


COMMUNITY_MEMBERS = [("member@example.org", "Morgan Member", "Care home manager"),
                     ("sam.okafor@example.org", "Sam Okafor", "Community pharmacist"),
                     ("lee.hart@example.org", "Lee Hart", "Carer and lived-experience adviser"),
                     ("ana.silva@example.org", "Ana Silva", "Practice nurse")]


def _seed_community_members(cohort, *, now: datetime) -> None:
    """The participants' CoPs have members who are not on the programme (the first of them signs in as
    member@example.org); the demo participant's community has a register and a planned meeting."""
    enrolments = db.session.scalars(select(Enrolment).where(Enrolment.cohort_id == cohort.id)
                                    .order_by(Enrolment.id)).all()
    convened = [(e, c) for e in enrolments if (c := community_of(e)) is not None]
    convened.sort(key=lambda pair: pair[0].user.email != "participant@example.org")  # the demo participant's first
    members = [_user(email, name, job_title=title) for email, name, title in COMMUNITY_MEMBERS]
    db.session.flush()
    for i, (_enrolment, community) in enumerate(convened[:6]):
        for member in (members[:2] if i == 0 else [members[2 + i % 2]]):
            add_membership(community, member, "member", now=now - timedelta(days=60))
    enrolment, community = convened[0]
    held = [m for m in community.meetings if m.status == "held"]
    if held:
        community_meetings.record_register(actor=enrolment.user, meeting=held[-1], now=now, guest_count=3,
                                           statuses={members[0].id: "present", members[1].id: "apologies"})
    community_meetings.add_meeting(actor=enrolment.user, community=community, now=now, details=(
        community_meetings.MeetingDetails(
            meets_on=clock.to_local(now).date() + timedelta(days=12), starts=time(14, 0), ends=time(15, 30),
            format="online", location="https://meet.example.org/cop", agenda="Welcome new members\n"
            "1-2-4-All: what gets in the way of safe handovers?\nAgree one thing to try before we next meet",
            methods=["Liberating Structures"])))


def _seed_attendance(cohort, *, team: User, now: datetime, rng: random.Random) -> None:
    """Registers for the sessions that have happened, two people drifting away, some apologies ahead."""
    enrolments = db.session.scalars(select(Enrolment).where(Enrolment.cohort_id == cohort.id)
                                    .order_by(Enrolment.id)).all()
    drifting = {enrolments[-1].id, enrolments[-2].id}
    past = [s for s in cohort.sessions if s.ends_at <= now and s.kind != "co_consulting"]
    for index, session in enumerate(past):
        for enrolment in enrolments:
            roll = rng.random()
            if enrolment.id in drifting and index >= len(past) - 3:
                status = AttendanceStatus.ABSENT if roll < 0.7 else AttendanceStatus.APOLOGIES
            elif session.kind == "drop_in":
                status = AttendanceStatus.PRESENT if roll < 0.55 else AttendanceStatus.ABSENT
            elif roll < 0.86:
                status = AttendanceStatus.PRESENT
            elif roll < 0.91:
                status = AttendanceStatus.LATE
            elif roll < 0.94:
                status = AttendanceStatus.LEFT_EARLY
            else:
                status = AttendanceStatus.APOLOGIES
            save_attendance(session.id, enrolment.id, status, "", team, session.ends_at)
    upcoming = next((s for s in cohort.sessions if s.starts_at > now and s.kind == "module"), None)
    if upcoming is not None:
        for enrolment in enrolments[3:6]:
            send_apologies(actor=enrolment.user, session=upcoming, now=now - timedelta(days=1),
                           reason=rng.choice(["On leave that week", "Covering a clinic", "Training course"]))


MATERIALS = {
    1: [("Slides: why communities of practice", "slides"), ("Reading: domain, practice and community", "reading"),
        ("Template: community charter", "template")],
    2: [("Slides: compassionate leadership", "slides"), ("Reading: keeping conversations vibrant", "reading")],
    3: [("Slides: experience-based co-design", "slides"), ("Recording: a co-design story", "recording")],
    4: [("Value creation framework: worksheet", "tool"), ("Value stories: a template", "template")],
    5: [("Slides: rhythm and renewal", "slides"), ("Reading: sustaining a community", "reading")],
}


def _demo_pdf(title: str) -> bytes:
    text = title.replace("(", "").replace(")", "")
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>"
            b"endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 595 842]/Contents 4 0 R/Resources<</Font<</F1"
            b" 5 0 R>>>>>>endobj\n4 0 obj<</Length 60>>stream\nBT /F1 18 Tf 50 780 Td (" + text.encode("latin-1",
            "replace") + b") Tj ET\nendstream endobj\n5 0 obj<</Type/Font/Subtype/Type1/BaseFont/Helvetica>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")


def _seed_directory(cohort) -> None:
    """Most participants have chosen what the people directory shows; the demo login and two others have not
    (so the home's prompt and the directory's count of people still to choose can be seen)."""
    enrolments = db.session.scalars(select(Enrolment).where(Enrolment.cohort_id == cohort.id)
                                    .order_by(Enrolment.id)).all()
    for index, enrolment in enumerate(enrolments):
        if enrolment.user.email == "participant@example.org" or index % 12 == 5:
            continue
        portal.save_directory_choices(enrolment=enrolment, is_listed=index % 9 != 4, show_role=True,
                                      show_organisation=index % 4 != 3, show_cop=index % 5 != 2,
                                      show_email=index % 3 == 0)


def _seed_portal(cohort, *, team: User, now: datetime) -> None:
    """Materials for every module (module 4's value tools released with the module), shared
    resources and a few discussions."""
    module_start = {s.module.number: s.starts_at for s in cohort.sessions if s.module and s.part == 1}
    for number, items in MATERIALS.items():
        for title, kind in items:
            release = module_start[number] - timedelta(days=7) if module_start[number] > now else None
            if kind in ("slides", "tool", "template"):
                upload = check_upload(f"{title.split(':')[-1].strip().lower().replace(' ', '-')}.pdf",
                                      _demo_pdf(title), 10 * 1024 * 1024)
                portal.share_resource(actor=team, cohort=cohort, upload=upload, now=now, details=portal.ResourceDetails(
                    title=title, kind=kind, module_number=number, release_at=release,
                    description=f"For module {number}.", tags="module " + str(number)))
            else:
                portal.share_resource(actor=team, cohort=cohort, upload=None, now=now, details=portal.ResourceDetails(
                    title=title, kind=kind, module_number=number, release_at=release, url="https://example.org/reading",
                    description=f"For module {number}."))
    portal.share_resource(actor=team, cohort=cohort, upload=None, now=now, details=portal.ResourceDetails(
        title="Liberating Structures: a quick guide", kind="tool", url="https://example.org/liberating-structures",
        all_cohorts=True, tags="methods, facilitation", description="Short descriptions of the structures we use."))
    people = db.session.scalars(select(User).join(Enrolment, Enrolment.user_id == User.id)
                                .where(Enrolment.cohort_id == cohort.id).order_by(User.id)).all()
    portal.share_resource(actor=people[1], cohort=cohort, upload=None, now=now, details=portal.ResourceDetails(
        title="Our falls network's terms of reference", kind="template", module_number=1,
        url="https://example.org/falls-network", tags="charter, terms of reference",
        description="How we agreed purpose and ways of working in our first meeting."))
    portal.share_resource(actor=people[2], cohort=cohort, upload=None, now=now, details=portal.ResourceDetails(
        title="Invitation letter that worked", kind="template", module_number=2, url="https://example.org/invitation",
        tags="invitation, membership"))
    first = portal.start_thread(actor=people[3], cohort=cohort, module_number=1, now=now - timedelta(days=40),
                                title="How did your first meeting go?",
                                body="Ours had **twelve** people from four organisations. What worked for you?")
    portal.add_post(actor=people[4], thread=first, now=now - timedelta(days=39),
                    body="We used 1-2-4-All to agree our purpose. Quiet people spoke up far more than usual.")
    portal.add_post(actor=people[0], thread=first, now=now - timedelta(days=38),
                    body="We struggled with timing. Next time:\n\n- a shorter agenda\n- an invitation, not a summons")
    portal.start_thread(actor=people[5], cohort=cohort, module_number=None, now=now - timedelta(days=10),
                        title="Anyone measuring value already?",
                        body="Module 4 is a while away, but our sponsor wants evidence now. Any tips?")


def _seed_celebration_and_clinics(cohort, *, now: datetime) -> None:
    people = db.session.scalars(select(User).join(Enrolment, Enrolment.user_id == User.id)
                                .where(Enrolment.cohort_id == cohort.id).order_by(User.id)).all()
    guests = [("Pat Reid", "pat.reid@example.org", "colleague"), ("Sol Amari", "sol.amari@example.org", "cop_member"),
              ("Dee Lowther", "dee.lowther@example.org", "sponsor")]
    for person, (name, email, relation) in zip(people[:3], guests, strict=False):
        celebration.invite_guest(actor=person, cohort=cohort, name=name, email=email, relationship=relation, now=now)
    celebration.propose_showcase(actor=people[1], cohort=cohort, title="From idea to twelve members",
                                 description="How our falls network started and what changed.", format="5-minute talk")
    celebration.propose_showcase(actor=people[2], cohort=cohort, title="Value stories wall",
                                 description="Posters of the value our members saw.", format="Poster")
    clinic = next((s for s in cohort.sessions if s.kind == "drop_in" and s.starts_at > now), None)
    if clinic is not None:
        for person, topic in zip(people[4:7], ["Keeping members coming back", "Finding a co-convener",
                                               "Measuring value early"], strict=False):
            celebration.sign_up_for_clinic(actor=person, session=clinic, topic=topic, now=now)


def _sponsor_token(application) -> str:
    """The token from the line manager's email (only its hash is stored on the approval)."""
    approval = application.current_approval
    message = db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.key.startswith(f"sponsor-request:{approval.id}:")).order_by(OutboxMessage.id.desc())).first()
    return re.search(r"/sponsor/([A-Za-z0-9_\-]+)", open_links(message.body_text)).group(1)


COPS = [
    ("Medicines safety across care transfers", "Safer medicines when people move between hospital, home and care homes",
     "Pharmacists, nurses, care home staff and GPs"),
    ("Frailty friends network", "Recognising and responding to frailty earlier", "Community nurses, therapists, GPs"),
    ("Learning from deterioration", "Spotting and acting on deterioration in care homes",
     "Care home managers, paramedics, district nurses"),
    ("Compassionate workplaces", "Staff wellbeing and compassionate leadership", "Team leaders across the system"),
    ("Data for improvement circle", "Using data well to improve services", "Analysts, clinicians, managers"),
    ("Co-production collective", "Designing services with people who use them",
     "People with lived experience, commissioners, voluntary groups"),
]


def _apply(person: User, cohort, at: datetime, rng: random.Random, *, submit: bool, sponsor: int = 0,
           complete: bool = True):
    title, domain, members = COPS[rng.randrange(len(COPS))]
    application = applications.start_application(applicant=person, cohort=cohort, now=at)
    answers = applications.Answers(
        job_title=person.job_title, profession=person.profession, organisation_id=person.organisation_id,
        is_improvement_community_member=rng.random() < 0.6, leads_network_cop=True,
        cop_title=title, cop_domain=domain, cop_members=members, crosses_boundaries=rng.random() < 0.8,
        boundaries_how="It brings together people from different professions and organisations.",
        cop_status=rng.choice(["planning", "running"]),
        hopes="Confidence to grow the community and show the difference it makes.",
        sponsor_name=f"{person.name.split()[0]}'s manager" if not sponsor else "Jordan Lineman",
        sponsor_email=f"manager.{person.email}" if not sponsor else "line.manager@example.org",
        sponsor_job_title="Head of service",
    )
    if not complete:
        answers.sponsor_name = answers.sponsor_email = answers.sponsor_job_title = ""
        answers.hopes = ""
    if not answers.crosses_boundaries:
        answers.boundaries_how = ""
    applications.save_draft(actor=person, application=application, answers=answers, now=at)
    if submit:
        applications.submit_application(actor=person, application=application, now=at + timedelta(minutes=20))
    return application


def _seed_next_cohort(*, now, team, programme_row, start, organisations, rng) -> None:
    """Next year's cohort, taking applications now: one of every state before selection."""
    next_start = start + timedelta(days=364)
    cohort = programme.create_cohort(
        actor=team, programme=programme_row, name=f"{next_start.year} to {next_start.year + 1}",
        starts_on=next_start, content=current_app.extensions["convene_content"], capacity=28,
        applications_open_at=clock.local_instant((clock.to_local(now) - timedelta(days=21)).date(), time(9, 0)),
        application_deadline_at=clock.local_instant((clock.to_local(now) + timedelta(days=40)).date(), time(23, 59)),
        bank_holiday_region=current_app.config["BANK_HOLIDAY_REGION"],
    )
    cohort.status = CohortStatus.OPEN.value
    applicant = db.session.scalar(select(User).where(User.email == "applicant@example.org"))
    _apply(applicant, cohort, now - timedelta(days=2), rng, submit=False, complete=False)
    names = [("Rowan", "Achebe"), ("Kit", "Forsyth"), ("Noor", "Siddiqui"), ("Ellis", "Varga"), ("Tamsin", "Oyelaran"),
             ("Jude", "Castellano"), ("Ines", "Barlow")]
    people = [_user(f"{f.lower()}.{last.lower()}@example.org", f"{f} {last}", job_title=ROLES[i][0],
                    profession=ROLES[i][1], organisation=organisations[(i * 5) % (len(organisations) - 1)])
              for i, (f, last) in enumerate(names)]
    db.session.flush()
    # Waiting for line managers: one asked today, one asked eight days ago (chased twice).
    _apply(people[0], cohort, now - timedelta(hours=3), rng, submit=True, sponsor=1)
    chased = _apply(people[1], cohort, now - timedelta(days=8), rng, submit=True)
    # An organisation the applicant added, waiting for the team to accept it.
    added = Organisation(name="Lakeside Wellbeing Collective", kind=OrganisationKind.CHARITY.value, region="North West")
    db.session.add(added)
    db.session.flush()
    chased.organisation_id = added.id
    # Approved and scored, waiting for selection; one deferred from last year already offered a place.
    facilitator = db.session.scalar(select(User).where(User.email == "facilitator@example.org"))
    for i, person in enumerate(people[2:4]):
        application = _apply(person, cohort, now - timedelta(days=15 - i), rng, submit=True)
        applications.record_sponsor_decision(token=_sponsor_token(application), approve=True, confirms_release=True,
                                             comment="Fully supported.", now=now - timedelta(days=12 - i))
        # Reviewed blind by the team and the facilitator; the facilitator has one still to score.
        applications.assign_reviewers(actor=team, application=application, reviewer_ids=[team.id, facilitator.id],
                                      now=now - timedelta(days=11))
        applications.score_application(actor=team, application=application, boundary=4 + i, ambition=4, readiness=3 + i,
                                       comment="Clear plan for the community's first year." if i else "")
        if i:
            applications.score_application(actor=facilitator, application=application, boundary=4, ambition=5,
                                           readiness=4, comment="Strong on crossing organisational boundaries.")
    deferred = _apply(people[6], cohort, now - timedelta(days=20), rng, submit=True)
    applications.record_sponsor_decision(token=_sponsor_token(deferred), approve=True, confirms_release=True,
                                         comment="", now=now - timedelta(days=18))
    applications.set_decision(actor=team, application=deferred, decision=Decision.OFFER, now=now - timedelta(days=4))
    applications.release_outcomes(actor=team, cohort=cohort, now=now - timedelta(days=4))
    cohort.status = CohortStatus.OPEN.value  # still taking applications
    # A line manager who said no, and someone who withdrew.
    declined = _apply(people[4], cohort, now - timedelta(days=10), rng, submit=True)
    applications.record_sponsor_decision(token=_sponsor_token(declined), approve=False, confirms_release=False,
                                         comment="Not this year: we are short-staffed.", now=now - timedelta(days=9))
    withdrawn = _apply(people[5], cohort, now - timedelta(days=6), rng, submit=True)
    applications.withdraw_application(actor=people[5], application=withdrawn, now=now - timedelta(days=5),
                                      reason="Moving to a new role")
