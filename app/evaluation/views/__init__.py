"""Pages for feedback, participants' CoPs, the value board, impact stories and the report."""

from __future__ import annotations

from dataclasses import dataclass

from flask import Blueprint
from flask_login import current_user

from app import clock

bp = Blueprint("evaluation", __name__, template_folder="../templates")


@dataclass
class HomePrompts:
    feedback_due: list
    community: object
    progress: object


@bp.app_template_global()
def evaluation_prompts(cohort) -> HomePrompts:
    """For a participant's home: sessions waiting for their feedback, and their CoP's progress."""
    from app.evaluation import communities as cop
    from app.evaluation import feedback as answers

    enrolment = cop.own_enrolment(current_user, cohort.id)
    community = cop.community_of(enrolment)
    return HomePrompts(answers.awaiting(enrolment, clock.now()), community,
                       cop.Progress(len(community.meetings) if community else 0))


from app.evaluation.views import communities, feedback, impact, report  # noqa: E402, F401  (registers the routes)
