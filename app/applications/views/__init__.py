"""The applications blueprint: the applicant's pages, the line manager's page, the team's pages."""

from flask import Blueprint

bp = Blueprint("applications", __name__, template_folder="../templates")

from app.applications.views import (  # noqa: E402,F401  (registers the routes)
    applicant,
    export,
    organisations,
    reviewing,
    sponsor,
    team,
)
