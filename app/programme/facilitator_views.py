"""The team's page for choosing who facilitates a session.

Its routes join programme's blueprint: app.register_blueprints imports this module before it
registers the blueprint.
"""

from __future__ import annotations

from flask import redirect, render_template, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app import clock
from app.db import db
from app.form_errors import attach_domain_error
from app.permissions import team_required
from app.programme.facilitators import assign_facilitators, possible_facilitators
from app.programme.forms import FacilitatorsForm
from app.programme.models import ProgrammeSession
from app.programme.views import bp
from app.unit_of_work import unit_of_work


@bp.route("/sessions/<int:session_id>/facilitators", methods=["GET", "POST"])
@team_required
def session_facilitators(session_id: int):
    session = db.get_or_404(ProgrammeSession, session_id)
    form = FacilitatorsForm()
    if not form.is_submitted():
        form.facilitators.data = [row.user_id for row in session.facilitators]
    form.facilitators.choices = [SelectChoice(u.id, f"{u.name} ({'team' if u.is_team else 'facilitator'})")
                                 for u in possible_facilitators()]
    if form.validate_on_submit():
        with unit_of_work(flash_error=False) as work:
            changed = assign_facilitators(actor=current_user, session=session, user_ids=form.facilitators.data or [],
                                          now=clock.now())
            work.success = f"Facilitators of {session.title} saved." if changed else "Nothing was changed."
        if not work.failed:
            return redirect(url_for("programme.schedule", cohort_id=session.cohort_id))
        attach_domain_error(form, work.error)
    return render_template("programme/facilitators.html", session=session, cohort=session.cohort, form=form,
                           form_errors=bool(form.errors or form.form_errors))
