"""Groups pages: the team's allocation, a group's page and rota, the session runner."""

from __future__ import annotations

from flask import Blueprint, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from app import clock
from app.db import db
from app.form_errors import attach_domain_error
from app.groups import services
from app.groups.forms import AllocateForm, MeetingRecordForm, MoveForm, SwapAnswerForm, SwapForm, WithdrawForm
from app.groups.models import CaseRota, CoConsultingGroup, RotaSwap
from app.permissions import signed_in, team_required
from app.programme.access import viewable_cohort_or_404
from app.programme.models import Cohort, Enrolment
from app.unit_of_work import unit_of_work

bp = Blueprint("groups", __name__, template_folder="templates")


def _overview(cohort: Cohort, form: AllocateForm | None = None):
    form = form or AllocateForm(formdata=None)
    return render_template("groups/overview.html", cohort=cohort, groups=services.groups_of(cohort),
                           mix=services.current_mix(cohort), sessions=services.co_consulting_sessions(cohort.id),
                           last_move=request.args.get("moved"), form=form,
                           form_errors=bool(form.errors or form.form_errors))


@bp.get("/cohorts/<int:cohort_id>/groups")
@signed_in
def overview(cohort_id: int):
    cohort = viewable_cohort_or_404(cohort_id)
    if not current_user.is_staff:
        group = services.group_of(current_user, cohort.id)
        if group is None:
            flash("Co-consulting groups have not been made yet.", "info")
            return redirect(url_for("programme.home"))
        return redirect(url_for("groups.group", group_id=group.id))
    return _overview(cohort)


@bp.post("/cohorts/<int:cohort_id>/groups/allocate")
@team_required
def allocate(cohort_id: int):
    cohort = db.get_or_404(Cohort, cohort_id)
    form = AllocateForm()
    if not form.validate():
        return _overview(cohort, form), 400
    with unit_of_work(flash_error=False) as work:
        groups = services.allocate_groups(actor=current_user, cohort=cohort, size=form.size.data or 5,
                                          seed=form.seed.data or 1, now=clock.now())
        work.success = (f"{len(groups)} groups made with arrangement number {form.seed.data or 1}. "
                        f"Mix score {services.current_mix(cohort)}.")
    if work.failed and work.error.field:
        attach_domain_error(form, work.error)
        return _overview(cohort, form), 400
    if work.failed:
        flash(work.error.message, "error")
    return redirect(url_for("groups.overview", cohort_id=cohort.id))


@bp.post("/cohorts/<int:cohort_id>/groups/move")
@team_required
def move(cohort_id: int):
    cohort = db.get_or_404(Cohort, cohort_id)
    form = MoveForm()
    with unit_of_work() as work:
        before, after = services.move_member(actor=current_user, cohort=cohort, now=clock.now(),
                                             enrolment_id=form.enrolment_id.data or 0, to_number=form.to.data or 0)
        work.success = f"Moved. Mix score {before} before, {after} after."
    return redirect(url_for("groups.overview", cohort_id=cohort.id))


def _group(group_id: int) -> CoConsultingGroup:
    group = db.get_or_404(CoConsultingGroup, group_id)
    if not (current_user.is_staff or services.is_member(current_user, group)):
        abort(404)
    return group


@bp.get("/groups/<int:group_id>")
@signed_in
def group(group_id: int):
    item = _group(group_id)
    now = clock.now()
    return render_template("groups/group.html", group=item, cohort=db.session.get(Cohort, item.cohort_id), now=now,
                           upcoming=services.next_turn(item, now), names=services.member_names(item),
                           is_member=services.is_member(current_user, item), me=services.my_enrolment(current_user, item),
                           open_turns=services.future_turns(item, now), requests=services.pending_swaps(item, now))


@bp.post("/groups/<int:group_id>/rota/<int:rota_id>/swap")
@signed_in
def swap(group_id: int, rota_id: int):
    item = _group(group_id)
    rota = db.get_or_404(CaseRota, rota_id)
    form = SwapForm()
    other = db.session.get(CaseRota, form.other.data) if form.other.data else None
    if other is None:
        flash("Choose the session whose turn to exchange with.", "error")
        return redirect(url_for("groups.group", group_id=item.id))
    with unit_of_work() as work:
        made = services.swap_turns(actor=current_user, group=item, rota=rota, other=other, now=clock.now())
        work.success = ("The turns are exchanged and both people are emailed." if made.status != "pending" else
                        "Your request is sent. The turns are exchanged if they accept.")
    return redirect(url_for("groups.group", group_id=item.id))


@bp.post("/groups/<int:group_id>/swaps/<int:swap_id>")
@signed_in
def answer_swap(group_id: int, swap_id: int):
    item = _group(group_id)
    request_ = db.get_or_404(RotaSwap, swap_id)
    form = SwapAnswerForm()
    accept = form.answer.data == "accept"
    with unit_of_work("You accepted: the turns are exchanged." if accept else "You declined the request."):
        services.answer_swap(actor=current_user, group=item, swap=request_, accept=accept, now=clock.now())
    return redirect(url_for("groups.group", group_id=item.id))


@bp.route("/groups/<int:group_id>/sessions/<int:session_id>", methods=["GET", "POST"])
@signed_in
def runner(group_id: int, session_id: int):
    item = _group(group_id)
    rota = services.turn_at(item, session_id)
    if rota is None:
        abort(404)
    member = services.is_member(current_user, item)
    if request.method == "POST":
        if not member:
            abort(403)
        form = MeetingRecordForm()
        with unit_of_work("Saved for your group."):
            services.record_meeting(actor=current_user, group=item, rota=rota, attended=form.attended.data,
                                    note=form.note.data or "", now=clock.now())
        return redirect(url_for("groups.runner", group_id=item.id, session_id=session_id))
    steps = current_app.extensions["convene_content"].co_consulting_steps
    return render_template("groups/runner.html", group=item, rota=rota, session=rota.session, steps=steps,
                           names=services.member_names(item), is_member=member,
                           cohort=db.session.get(Cohort, item.cohort_id),
                           can_record=services.can_record_meeting(rota, clock.now()),
                           total=services.running_minutes(steps))


@bp.route("/cohorts/<int:cohort_id>/participants/<int:enrolment_id>/withdraw", methods=["GET", "POST"])
@team_required
def withdraw(cohort_id: int, enrolment_id: int):
    enrolment = db.get_or_404(Enrolment, enrolment_id)
    if enrolment.cohort_id != cohort_id:
        abort(404)
    if request.method == "POST":
        form = WithdrawForm()
        with unit_of_work() as work:
            services.withdraw_participant(actor=current_user, enrolment=enrolment, now=clock.now(),
                                          reason=form.reason.data or "")
            work.success = f"{enrolment.user.name} has left the programme. Their group's rota is rebalanced."
        return redirect(url_for("groups.overview", cohort_id=cohort_id))
    return render_template("groups/withdraw.html", enrolment=enrolment, cohort=enrolment.cohort)
