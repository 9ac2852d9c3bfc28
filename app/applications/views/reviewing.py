"""Reviewers' pages: their assignments, one application to score, and the team's view of progress."""

from __future__ import annotations

from flask import abort, redirect, render_template, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app import clock
from app.applications import services
from app.applications.forms import ReviewForm
from app.applications.models import Application
from app.applications.team_forms import AssignmentPlanForm
from app.applications.views import bp
from app.applications.views.team import _team_detail
from app.db import db
from app.form_errors import attach_domain_error
from app.permissions import staff_required, team_required
from app.programme.models import Cohort
from app.unit_of_work import unit_of_work


def _assigned_application(application_id: int) -> Application:
    application = db.get_or_404(Application, application_id)
    if not services.can_review(current_user, application):
        abort(404)  # a reviewer sees only their assignments; others are not there for them
    return application


@bp.get("/team/reviews")
@staff_required
def my_reviews():
    rows = services.my_assignments(current_user)
    return render_template("applications/my_reviews.html", rows=rows,
                           left=sum(1 for r in rows if r.review is None))


def _review_page(application: Application, form: ReviewForm | None = None):
    mine = next((r for r in application.reviews if r.reviewer_id == current_user.id), None)
    form = form or ReviewForm(data={"boundary": mine.boundary_score if mine else None,
                                    "ambition": mine.ambition_score if mine else None,
                                    "readiness": mine.readiness_score if mine else None,
                                    "comment": mine.comment if mine else ""})
    return render_template("applications/review.html", application=application, review_form=form, mine=mine,
                           show_scores=services.can_see_scores(current_user, application),
                           form_errors=bool(form.errors or form.form_errors))


@bp.get("/team/reviews/<int:application_id>")
@staff_required
def review_page(application_id: int):
    return _review_page(_assigned_application(application_id))


@bp.post("/team/applications/<int:application_id>/review")
@staff_required
def review(application_id: int):
    application = _assigned_application(application_id)
    form = ReviewForm()
    if form.validate_on_submit():
        with unit_of_work("Your scores are saved.", flash_error=False) as work:
            services.score_application(actor=current_user, application=application, boundary=form.boundary.data,
                                       ambition=form.ambition.data, readiness=form.readiness.data,
                                       comment=form.comment.data or "")
        if work.failed:
            attach_domain_error(form, work.error)
        elif services.is_assigned(current_user, application) or not current_user.is_team:
            return redirect(url_for("applications.review_page", application_id=application.id))
        else:
            return redirect(url_for("applications.team_detail", application_id=application.id))
    if current_user.is_team and not services.is_assigned(current_user, application):
        return _team_detail(application, review_form=form)
    return _review_page(application, form)


def _plan_form(form: AssignmentPlanForm | None = None) -> AssignmentPlanForm:
    form = form or AssignmentPlanForm()
    form.reviewers.choices = [SelectChoice(u.id, f"{u.name} ({'team' if u.is_team else 'facilitator'})")
                              for u in services.possible_reviewers()]
    return form


@bp.route("/team/cohorts/<int:cohort_id>/reviewers", methods=["GET", "POST"])
@team_required
def reviewers(cohort_id: int):
    """Progress per reviewer, and sharing the cohort's applications out among reviewers."""
    cohort = db.get_or_404(Cohort, cohort_id)
    form = _plan_form()
    if form.validate_on_submit():
        with unit_of_work(flash_error=False) as work:
            made = services.share_out(actor=current_user, cohort=cohort, reviewer_ids=form.reviewers.data or [],
                                      per_application=form.per_application.data, now=clock.now())
            work.success = (f"{made} assignment{'s' if made != 1 else ''} made. Each reviewer sees their "
                            "applications under Applications for you to review.")
        if work.failed:
            attach_domain_error(form, work.error)
        else:
            return redirect(url_for("applications.reviewers", cohort_id=cohort.id))
    return render_template("applications/reviewers.html", cohort=cohort, form=form,
                           progress=services.progress(cohort), form_errors=bool(form.errors or form.form_errors))
