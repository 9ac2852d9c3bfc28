"""The applications blueprint: the applicant's pages, the line manager's page, the team's pages."""

from flask import Blueprint

from app.applications.services import application_answers

bp = Blueprint("applications", __name__, template_folder="../templates")
# The applicant's answers as the form words them: the applicant's copy and the confirmation email.
bp.add_app_template_global(application_answers, "application_answers")

from app.applications.views import (  # noqa: E402,F401  (registers the routes)
    applicant,
    export,
    organisations,
    reviewing,
    sponsor,
    team,
)
