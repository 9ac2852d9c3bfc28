"""The applicant's answers as the application form words its questions: for the applicant's copy of
their application and the confirmation email (a template global, so emails can show them too)."""

from __future__ import annotations

from app.applications.forms import ApplicationForm
from app.applications.models import Application

ELIGIBILITY_QUESTION = "Which of these apply to you?"
NOT_ANSWERED = "Not answered"


def _question(name: str) -> str:
    """The wording the application form shows for a field, without building a form."""
    unbound = getattr(ApplicationForm, name)
    return unbound.kwargs.get("label") or unbound.args[0]


def _choice_label(name: str, value) -> str:
    choices = getattr(ApplicationForm, name).kwargs["choices"]
    return next((choice.label for choice in choices if choice.value == value), "")


def application_answers(application: Application) -> list[tuple[str, str]]:
    """Every question of the application form, in the form's order, with the applicant's answer as
    plain text ("" when not answered): the applicant's copy and the confirmation email show these."""
    organisation = application.organisation
    eligibility = [_question(name) for name in ("is_improvement_community_member", "leads_network_cop")
                   if getattr(application, name)]
    crosses = {True: "yes", False: "no"}.get(application.crosses_boundaries)
    return [
        (_question("job_title"), application.job_title),
        (_question("profession"), application.profession),
        (_question("phone"), application.phone),
        (_question("organisation_id"), organisation.name if organisation else ""),
        (_question("new_organisation_kind"), organisation.kind_label if organisation else ""),
        (_question("new_organisation_region"), organisation.region if organisation else ""),
        (ELIGIBILITY_QUESTION, "\n".join(eligibility)),
        (_question("cop_title"), application.cop_title),
        (_question("cop_domain"), application.cop_domain),
        (_question("cop_members"), application.cop_members),
        (_question("crosses_boundaries"), _choice_label("crosses_boundaries", crosses)),
        (_question("boundaries_how"), application.boundaries_how),
        (_question("cop_status"), _choice_label("cop_status", application.cop_status)),
        (_question("hopes"), application.hopes),
        (_question("sponsor_name"), application.sponsor_name),
        (_question("sponsor_email"), application.sponsor_email),
        (_question("sponsor_job_title"), application.sponsor_job_title),
    ]
