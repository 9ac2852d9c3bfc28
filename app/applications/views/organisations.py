"""The team checks organisations applicants added before others can choose them."""

from __future__ import annotations

from flask import flash, redirect, render_template, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app import clock
from app.applications import services
from app.applications.team_forms import MergeOrganisationForm
from app.applications.views import bp
from app.auth.models import Organisation
from app.db import db
from app.permissions import team_required
from app.unit_of_work import unit_of_work


def _merge_form(organisation: Organisation, form: MergeOrganisationForm | None = None) -> MergeOrganisationForm:
    form = form or MergeOrganisationForm(prefix=f"o{organisation.id}")
    form.into.choices = [SelectChoice(0, "Choose an organisation")] + [
        SelectChoice(o.id, o.name) for o in services.choosable_organisations(including=None)]
    return form


@bp.get("/team/organisations")
@team_required
def organisations():
    waiting = services.organisations_waiting()
    return render_template("applications/organisations.html", waiting=waiting,
                           forms={w.organisation.id: _merge_form(w.organisation) for w in waiting})


@bp.post("/team/organisations/<int:organisation_id>/accept")
@team_required
def accept_organisation(organisation_id: int):
    organisation = db.get_or_404(Organisation, organisation_id)
    with unit_of_work() as work:
        services.accept_organisation(actor=current_user, organisation=organisation, now=clock.now())
        work.success = f"{organisation.name} is on the list: applicants can now choose it."
    return redirect(url_for("applications.organisations"))


@bp.post("/team/organisations/<int:organisation_id>/merge")
@team_required
def merge_organisation(organisation_id: int):
    organisation = db.get_or_404(Organisation, organisation_id)
    name = organisation.name
    form = _merge_form(organisation, MergeOrganisationForm(prefix=f"o{organisation.id}"))
    if form.validate_on_submit():
        into = db.session.get(Organisation, form.into.data) if form.into.data else None
        with unit_of_work() as work:
            services.merge_organisation(actor=current_user, organisation=organisation, into=into, now=clock.now())
            work.success = f"{name} is now {into.name} on every application that named it."
    else:
        flash("Choose the organisation on the list that this one is.", "error")
    return redirect(url_for("applications.organisations"))
