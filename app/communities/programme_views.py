"""Programme of work pages: the list, one programme of work with its team and communities, setting up a
community inside it, and its report (page and PDF).

The programme team (staff) sets programmes of work up, names their teams and puts communities in them;
a programme of work's team sees it, manages its communities, sets up new ones in it and writes the next
steps in its report. To anyone else a programme of work does not exist (404).
"""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, url_for
from flask_login import current_user

from app import audit, clock
from app.charts import bar_chart
from app.communities.forms import (
    CommunityDetailsForm,
    ConfirmForm,
    NextStepsForm,
    ProgrammeCommunityForm,
    ProgrammeForm,
    TeamMemberForm,
)
from app.communities.programme_models import DEFAULT_STORY_QUESTIONS
from app.communities.services import access, feedback, meetings, programme_report, programmes, spaces
from app.db import write_unit
from app.form_errors import attach_domain_error
from app.permissions import signed_in, team_required
from app.unit_of_work import unit_of_work

bp = Blueprint("programmes_of_work", __name__, template_folder="templates")


def _details(form) -> programmes.ProgrammeDetails:
    return programmes.ProgrammeDetails(name=form.name.data or "", description=form.description.data or "",
                                       run_by=form.run_by.data or "", starts_on=form.starts_on.data,
                                       ends_on=form.ends_on.data, story_questions=form.story_questions.data or "")


def _form_page(form, programme, status=200):
    return render_template("communities/programme_form.html", form=form, programme=programme,
                           form_errors=bool(form.errors or form.form_errors)), status


def _answered_feedback(meeting_ids) -> dict:
    """Feedback figures for the meetings someone answered about: a meeting nobody could be asked about in
    the app (everyone counted without names, as with meetings entered afterwards) shows no feedback at all,
    rather than "0 of 38 answered"."""
    return {mid: figures for mid, figures in feedback.meeting_feedback_figures(meeting_ids).items() if figures[0]}


@bp.get("/programmes-of-work")
@signed_in
def index():
    return render_template("communities/programmes.html", programmes=access.programmes_of(current_user),
                           can_start=current_user.is_team)


@bp.route("/programmes-of-work/new", methods=["GET", "POST"])
@team_required
def new():
    form = ProgrammeForm(data={"story_questions": "\n".join(DEFAULT_STORY_QUESTIONS)})
    if form.validate_on_submit():
        with unit_of_work("Programme of work set up. Now add its team and its communities.", flash_error=False) as work:
            programme = programmes.create_programme(actor=current_user, details=_details(form), now=clock.now())
        if not work.failed:
            return redirect(url_for("programmes_of_work.programme", programme_id=programme.id))
        attach_domain_error(form, work.error)
    return _form_page(form, None, 400 if form.is_submitted() else 200)


def _programme_page(programme, *, team_form=None, community_form=None, status=200):
    community_form = community_form or ProgrammeCommunityForm(formdata=None)
    if current_user.is_team:
        community_form.community_id.choices = [(c.id, c.name) for c in programmes.communities_outside_programmes()]
    listed = programme.communities
    return render_template(
        "communities/programme.html", programme=programme, communities=listed,
        figures=meetings.figures_by_community([c.id for c in listed]), manages_programme=current_user.is_team,
        team_form=team_form or TeamMemberForm(formdata=None), community_form=community_form,
        form_errors=status != 200), status


@bp.get("/programmes-of-work/<int:programme_id>")
@signed_in
def programme(programme_id: int):
    return _programme_page(access.visible_programme(current_user, programme_id))


@bp.route("/programmes-of-work/<int:programme_id>/edit", methods=["GET", "POST"])
@team_required
def edit(programme_id: int):
    found = access.visible_programme(current_user, programme_id)
    form = ProgrammeForm(data={"name": found.name, "description": found.description, "run_by": found.run_by,
                               "starts_on": found.starts_on, "ends_on": found.ends_on,
                               "story_questions": "\n".join(found.questions)})
    if form.validate_on_submit():
        with unit_of_work("Programme of work saved.", flash_error=False) as work:
            programmes.update_programme(actor=current_user, programme=found, details=_details(form), now=clock.now())
        if not work.failed:
            return redirect(url_for("programmes_of_work.programme", programme_id=found.id))
        attach_domain_error(form, work.error)
    return _form_page(form, found, 400 if form.is_submitted() else 200)


@bp.post("/programmes-of-work/<int:programme_id>/team")
@team_required
def add_team_member(programme_id: int):
    found = access.visible_programme(current_user, programme_id)
    form = TeamMemberForm()
    if form.validate_on_submit():
        with unit_of_work(flash_error=False) as work:
            member = programmes.add_team_member(actor=current_user, programme=found, email=form.email.data or "",
                                                now=clock.now())
            work.success = f"{member.user.name} is on the team."
        if not work.failed:
            return redirect(url_for("programmes_of_work.programme", programme_id=found.id))
        attach_domain_error(form, work.error)
        found = access.visible_programme(current_user, programme_id)
    return _programme_page(found, team_form=form, status=400)


@bp.post("/programmes-of-work/<int:programme_id>/team/<int:member_id>/remove")
@team_required
def remove_team_member(programme_id: int, member_id: int):
    found = access.visible_programme(current_user, programme_id)
    if ConfirmForm().validate_on_submit():
        with unit_of_work("Taken off the team."):
            programmes.remove_team_member(actor=current_user, programme=found, member_id=member_id, now=clock.now())
    return redirect(url_for("programmes_of_work.programme", programme_id=found.id))


@bp.post("/programmes-of-work/<int:programme_id>/communities")
@team_required
def add_community(programme_id: int):
    found = access.visible_programme(current_user, programme_id)
    form = ProgrammeCommunityForm()
    if form.validate_on_submit():
        with unit_of_work(flash_error=False) as work:
            added = programmes.add_community(actor=current_user, programme=found, community_id=form.community_id.data,
                                             now=clock.now())
            work.success = f"{added.name} is now in {found.name}."
        if not work.failed:
            return redirect(url_for("programmes_of_work.programme", programme_id=found.id))
        attach_domain_error(form, work.error)
        found = access.visible_programme(current_user, programme_id)
    return _programme_page(found, community_form=form, status=400)


@bp.post("/programmes-of-work/<int:programme_id>/communities/<int:community_id>/remove")
@team_required
def remove_community(programme_id: int, community_id: int):
    found = access.visible_programme(current_user, programme_id)
    if ConfirmForm().validate_on_submit():
        with unit_of_work("Taken out of the programme of work; the community carries on."):
            programmes.remove_community(actor=current_user, programme=found, community_id=community_id,
                                        now=clock.now())
    return redirect(url_for("programmes_of_work.programme", programme_id=found.id))


@bp.route("/programmes-of-work/<int:programme_id>/communities/new", methods=["GET", "POST"])
@signed_in
def new_community(programme_id: int):
    found = access.visible_programme(current_user, programme_id)
    form = CommunityDetailsForm()
    if form.validate_on_submit():
        with unit_of_work("Community set up. Now invite its conveners.", flash_error=False) as work:
            community = spaces.start_community(
                actor=current_user, now=clock.now(), programme_of_work_id=found.id,
                details=spaces.CommunityDetails(name=form.name.data or "", purpose=form.purpose.data or "",
                                                domain=form.domain.data or "", status=form.status.data or ""))
        if not work.failed:
            return redirect(url_for("communities.community", community_id=community.id))
        attach_domain_error(form, work.error)
    return render_template("communities/details_form.html", form=form, community=None, programme=found,
                           form_errors=bool(form.errors or form.form_errors)), 400 if form.is_submitted() else 200


# -- the report ---------------------------------------------------------------------------------

def report_charts(report: programme_report.ProgrammeReport) -> dict:
    lines = report.communities
    return {
        "attendance": bar_chart(
            title="Attendance at the meetings held, by community", chart_id="attendance-by-community",
            labels=[line.community.name for line in lines], values=[line.total for line in lines],
            maximum=max([*(line.total for line in lines), 1])),
        "cycles": bar_chart(
            title="Value evidence by kind of value", chart_id="value-by-cycle",
            labels=[cycle.capitalize() for cycle in report.cycle_counts], values=list(report.cycle_counts.values()),
            maximum=max([*report.cycle_counts.values(), 1])),
    }


def _report_page(found, form, status=200):
    built = programme_report.build_programme_report(found, clock.now(),
                                                    feedback_figures=_answered_feedback)
    return render_template("communities/programme_report.html", report=built, charts=report_charts(built),
                           form=form, form_errors=status != 200), status


@bp.get("/programmes-of-work/<int:programme_id>/report")
@signed_in
def report(programme_id: int):
    found = access.visible_programme(current_user, programme_id)
    return _report_page(found, NextStepsForm(data={"next_steps": found.next_steps}))


@bp.post("/programmes-of-work/<int:programme_id>/report/next-steps")
@signed_in
def next_steps(programme_id: int):
    found = access.visible_programme(current_user, programme_id)
    form = NextStepsForm()
    if form.validate_on_submit():
        with unit_of_work("The next steps are saved.", flash_error=False) as work:
            programmes.save_next_steps(actor=current_user, programme=found, next_steps=form.next_steps.data or "",
                                       now=clock.now())
        if not work.failed:
            return redirect(url_for("programmes_of_work.report", programme_id=found.id) + "#next-steps")
        attach_domain_error(form, work.error)
    return _report_page(found, form, 400)


@bp.get("/programmes-of-work/<int:programme_id>/report.pdf")
@signed_in
def report_pdf(programme_id: int):
    found = access.visible_programme(current_user, programme_id)
    built = programme_report.build_programme_report(found, clock.now(),
                                                    feedback_figures=_answered_feedback)
    pdf = programme_report.render_pdf(built, charts=report_charts(built))
    with write_unit():
        audit.record(actor=current_user, action="programme_report_downloaded", target_type="programme_of_work",
                     target_id=found.id)
    filename = "".join(ch for ch in f"programme-report-{found.name}".replace(" ", "-").lower()
                       if ch.isalnum() or ch in "-_") + ".pdf"
    return Response(pdf, mimetype="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"', "Cache-Control": "no-store"})
