"""Evaluation's part of a participant's home page: sessions waiting for their feedback, and their CoP's
progress. Programme's home view asks for it through its home-panels registry (wired in create_app)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from app.communities.models import Community
from app.evaluation import communities, feedback
from app.programme.models import Cohort, ProgrammeSession


@dataclass
class HomePrompts:
    feedback_due: list[ProgrammeSession]
    community: Community | None
    progress: communities.Progress


def home_prompts(user, cohort: Cohort, now: datetime) -> HomePrompts:
    enrolment = communities.own_enrolment(user, cohort.id)
    community = communities.community_of(enrolment)
    return HomePrompts(feedback.awaiting(enrolment, now), community,
                       communities.Progress(len(communities.held_meetings(community))))
