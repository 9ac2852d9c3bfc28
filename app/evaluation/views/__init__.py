"""Pages for feedback, participants' CoPs, the value board, impact stories and the report."""

from __future__ import annotations

from flask import Blueprint

bp = Blueprint("evaluation", __name__, template_folder="../templates")


from app.evaluation.views import communities, feedback, impact, report  # noqa: E402, F401  (registers the routes)
