"""The team's pages for programme templates (the shapes of year cohorts are created from), and for
deleting a session that has not happened.

Its routes join programme's blueprint: app.register_blueprints imports this module before it
registers the blueprint.
"""

from __future__ import annotations

from datetime import timedelta

from flask import current_app, redirect, render_template, request, url_for
from flask_login import current_user

from app import clock
from app.db import db
from app.form_errors import attach_domain_error
from app.permissions import team_required
from app.programme.forms import PreviewForm, TemplateForm
from app.programme.models import ProgrammeSession, ProgrammeTemplate, SessionKind
from app.programme.services import delete_session, deletion_preview
from app.programme.services import templates as service
from app.programme.views import bp
from app.unit_of_work import unit_of_work


def _module_pages() -> int:
    return len(current_app.extensions["convene_content"].modules)


def _details(form: TemplateForm) -> service.TemplateDetails:
    return service.TemplateDetails(**{
        name: (int(form.days_per_module.data) if form.days_per_module.data in ("1", "2") else None)
        if name == "days_per_module" else getattr(form, name).data
        for name in service.TemplateDetails.__dataclass_fields__})


@bp.get("/templates")
@team_required
def templates():
    rows = service.list_templates()
    return render_template("programme/templates.html", rows=rows, summary=service.summary)


def _form_page(form: TemplateForm, template: ProgrammeTemplate | None):
    return render_template("programme/template_form.html", form=form, template=template, module_pages=_module_pages(),
                           form_errors=bool(form.errors or form.form_errors))


@bp.route("/templates/new", methods=["GET", "POST"])
@team_required
def new_template():
    if request.method == "GET":
        base = db.session.get(ProgrammeTemplate, request.args.get("from", type=int) or 0) or service.default_template()
        details = service.TemplateDetails.of(base)
        form = TemplateForm(formdata=None, data={**vars(details), "name": "", "days_per_module": str(details.days_per_module)})
        return _form_page(form, None)
    form = TemplateForm()
    if form.validate_on_submit():
        with unit_of_work(flash_error=False) as work:
            template = service.create_template(actor=current_user, details=_details(form),
                                               module_pages=_module_pages(), now=clock.now())
            work.success = f"The template {template.name} is saved. Choose it when you create a cohort."
        if not work.failed:
            return redirect(url_for("programme.template_preview", template_id=template.id))
        attach_domain_error(form, work.error)
    return _form_page(form, None)


@bp.route("/templates/<int:template_id>/edit", methods=["GET", "POST"])
@team_required
def edit_template(template_id: int):
    template = db.get_or_404(ProgrammeTemplate, template_id)
    if request.method == "GET":
        details = service.TemplateDetails.of(template)
        return _form_page(TemplateForm(formdata=None, data={**vars(details),
                                                            "days_per_module": str(details.days_per_module)}), template)
    form = TemplateForm()
    if form.validate_on_submit():
        with unit_of_work("Template saved. Cohorts already created from it keep their schedule.",
                          flash_error=False) as work:
            service.update_template(actor=current_user, template=template, details=_details(form),
                                    module_pages=_module_pages(), now=clock.now())
        if not work.failed:
            return redirect(url_for("programme.template_preview", template_id=template.id))
        attach_domain_error(form, work.error)
    return _form_page(form, template)


@bp.get("/templates/<int:template_id>")
@team_required
def template_preview(template_id: int):
    """The year a cohort would get from this template, from a start date the team chooses (nothing saved)."""
    template = db.get_or_404(ProgrammeTemplate, template_id)
    form = PreviewForm(request.args)
    starts_on = form.starts_on.data if form.validate() and form.starts_on.data else clock.local_today() + timedelta(
        days=90)
    planned = service.preview_year(template, starts_on, current_app.config["BANK_HOLIDAY_REGION"])
    form.starts_on.data = starts_on
    return render_template("programme/template.html", template=template, planned=planned, form=form,
                           summary=service.summary(template), kinds=SessionKind)


@bp.post("/templates/<int:template_id>/delete")
@team_required
def delete_template(template_id: int):
    template = db.get_or_404(ProgrammeTemplate, template_id)
    with unit_of_work(f"The template {template.name} is deleted.") as work:
        service.delete_template(actor=current_user, template=template, now=clock.now())
    if work.failed:
        return redirect(url_for("programme.template_preview", template_id=template_id))
    return redirect(url_for("programme.templates"))


# -- deleting a session ----------------------------------------------------------------------

@bp.get("/sessions/<int:session_id>/delete")
@team_required
def confirm_delete_session(session_id: int):
    session = db.get_or_404(ProgrammeSession, session_id)
    return render_template("programme/delete_session.html", session=session, cohort=session.cohort,
                           preview=deletion_preview(session, clock.now()))


@bp.post("/sessions/<int:session_id>/delete", endpoint="delete_session")
@team_required
def delete_session_view(session_id: int):
    session = db.get_or_404(ProgrammeSession, session_id)
    cohort_id, title = session.cohort_id, session.title
    with unit_of_work() as work:
        told = delete_session(actor=current_user, session=session, now=clock.now())
        emailed = (f"{told} {'people were' if told != 1 else 'person was'} emailed that it is cancelled"
                   if told else "Nobody needed to be told")
        work.success = f"{title} is deleted from the schedule. {emailed}."
    if work.failed:
        return redirect(url_for("programme.confirm_delete_session", session_id=session_id))
    return redirect(url_for("programme.schedule", cohort_id=cohort_id))
