"""A participant's own CoP and its meetings; the team's view of every CoP in a cohort."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user

from app import clock
from app.communities.models import CommunityMeeting
from app.db import db, write_unit
from app.errors import DomainError
from app.evaluation import communities
from app.evaluation.forms import CommunityForm, MeetingForm
from app.evaluation.views import bp
from app.exports import spreadsheet_response
from app.form_errors import attach_domain_error
from app.permissions import signed_in, staff_required, team_required
from app.programme.access import viewable_cohort_or_404
from app.programme.models import Cohort
from app.unit_of_work import unit_of_work


def _own(cohort: Cohort):
    try:
        return communities.own_enrolment(current_user, cohort.id)
    except DomainError:
        abort(404)


def _page(cohort, enrolment, community_form: CommunityForm, meeting_form: MeetingForm, status: int = 200):
    community = communities.community_of(enrolment)
    meetings = list(reversed(communities.held_meetings(community)))
    body = render_template("evaluation/my_community.html", cohort=cohort, community=community, meetings=meetings,
                           progress=communities.Progress(len(meetings)), form=community_form,
                           meeting_form=meeting_form, today=clock.local_today(cohort.timezone),
                           form_errors=bool(community_form.errors or community_form.form_errors
                                            or meeting_form.errors or meeting_form.form_errors))
    return body, status


@bp.route("/cohorts/<int:cohort_id>/my-community", methods=["GET", "POST"])
@signed_in
def my_community(cohort_id: int):
    cohort = viewable_cohort_or_404(cohort_id)
    if current_user.is_staff:
        return redirect(url_for("evaluation.cohort_communities", cohort_id=cohort.id))
    enrolment = _own(cohort)
    community = communities.community_of(enrolment)
    form = CommunityForm(prefix="cop")
    if request.method == "GET":
        details = communities.details_from_application(enrolment) if community is None else community
        for name in ("title", "domain", "member_kinds", "crosses_boundaries", "boundaries_how"):
            getattr(form, name).data = getattr(details, name)
        form.status.data = getattr(details, "status", None) or "planning"
    elif form.validate_on_submit():
        with unit_of_work("Your community of practice is saved.", flash_error=False) as work:
            communities.save_community(actor=current_user, cohort=cohort, now=clock.now(), details=communities.CommunityDetails(
                title=form.title.data or "", domain=form.domain.data or "", member_kinds=form.member_kinds.data or "",
                crosses_boundaries=form.crosses_boundaries.data, boundaries_how=form.boundaries_how.data or "",
                status=form.status.data or ""))
        if not work.failed:
            return redirect(url_for("evaluation.my_community", cohort_id=cohort.id))
        attach_domain_error(form, work.error)
    return _page(cohort, enrolment, form, MeetingForm(prefix="meeting", formdata=None))


@bp.post("/cohorts/<int:cohort_id>/my-community/meetings")
@signed_in
def log_meeting(cohort_id: int):
    cohort = viewable_cohort_or_404(cohort_id)
    if current_user.is_staff:
        abort(403)
    enrolment = _own(cohort)
    form = MeetingForm(prefix="meeting")
    if form.validate_on_submit():
        with unit_of_work("Meeting logged. Thank you.", flash_error=False) as work:
            communities.log_meeting(actor=current_user, cohort=cohort, today=clock.local_today(cohort.timezone),
                                    now=clock.now(), details=communities.MeetingDetails(
                held_on=form.held_on.data, attendance=form.attendance.data, methods=form.methods.data or [],
                other_method=form.other_method.data or "", reflection=form.reflection.data or ""))
        if not work.failed:
            return redirect(url_for("evaluation.my_community", cohort_id=cohort.id))
        attach_domain_error(form, work.error)
    community = communities.community_of(enrolment)
    community_form = CommunityForm(prefix="cop", formdata=None, obj=community)
    if form.held_on.raw_data and form.held_on.data is None and not form.held_on.errors:
        form.held_on.errors = ["Enter a real date, for example 14 3 2027."]
    return _page(cohort, enrolment, community_form, form, status=400)


@bp.post("/meetings/<int:meeting_id>/delete")
@signed_in
def delete_meeting(meeting_id: int):
    meeting = db.get_or_404(CommunityMeeting, meeting_id)
    cohort_id = meeting.community.cohort_id
    if cohort_id is None:
        abort(404)
    viewable_cohort_or_404(cohort_id)
    with unit_of_work("Meeting removed.", flash_error=False) as work:
        communities.delete_meeting(actor=current_user, meeting=meeting)
    if work.failed:
        abort(404)  # not theirs to remove
    return redirect(url_for("evaluation.my_community", cohort_id=cohort_id))


@bp.get("/cohorts/<int:cohort_id>/communities")
@staff_required
def cohort_communities(cohort_id: int):
    cohort = db.get_or_404(Cohort, cohort_id)
    rows = communities.cohort_communities(cohort)
    return render_template("evaluation/communities.html", cohort=cohort, rows=rows,
                           recorded=sum(1 for r in rows if r.community),
                           on_track=sum(1 for r in rows if r.progress.met_expectation))


EXPORT_HEADERS = ["Participant", "Community of practice", "Domain", "Members", "Crosses boundaries", "Boundaries",
                  "Status", "Meetings", "Total attendance", "Last met"]


@bp.get("/cohorts/<int:cohort_id>/communities.<any(csv, xlsx):fmt>")
@team_required
def export_communities(cohort_id: int, fmt: str):
    cohort = db.get_or_404(Cohort, cohort_id)
    rows = []
    for row in communities.cohort_communities(cohort):
        c = row.community
        rows.append([row.enrolment.user.name, c.title if c else "", c.domain if c else "", c.member_kinds if c else "",
                     ("Yes" if c.crosses_boundaries else "No") if c else "", c.boundaries_how if c else "",
                     c.status_label if c else "Not recorded", row.meetings, row.total_attendance,
                     row.last_met.isoformat() if row.last_met else ""])
    with write_unit():
        communities.record_export(actor=current_user, cohort=cohort, fmt=fmt, rows=len(rows))
    return spreadsheet_response(fmt, EXPORT_HEADERS, rows, title="Communities",
                                filename_stem=f"communities-{cohort.name}")
