"""Feedback pages of a community's meetings: its questions, giving feedback, paper forms, results.

Added to the communities blueprint (imported at the end of views.py). As elsewhere in communities: to
someone outside the community it does not exist (404); members give their own feedback and see nobody
else's; conveners and the programme team set the questions, add paper forms and see the results (403 to
members).
"""

from __future__ import annotations

from flask import redirect, render_template, url_for
from flask_login import current_user

from app import clock
from app.communities.feedback_forms import FeedbackQuestionsForm, answers_form
from app.communities.forms import ConfirmForm
from app.communities.services import access
from app.communities.services import feedback as service
from app.communities.views import bp
from app.form_errors import attach_domain_error
from app.permissions import signed_in
from app.unit_of_work import unit_of_work


def _managed_meeting(community_id: int, meeting_id: int):
    found = access.managed_community(current_user, community_id)
    return found, access.visible_meeting(current_user, found, meeting_id)


@bp.route("/communities/<int:community_id>/feedback/questions", methods=["GET", "POST"])
@signed_in
def feedback_questions(community_id: int):
    found = access.managed_community(current_user, community_id)
    form = FeedbackQuestionsForm.from_settings(service.settings_of(found.id))
    if form.validate_on_submit():
        with unit_of_work("Feedback questions saved.", flash_error=False) as work:
            service.save_settings(actor=current_user, community=found, settings=form.settings(), now=clock.now())
        if not work.failed:
            return redirect(url_for("communities.community", community_id=found.id))
        attach_domain_error(form, work.error)
    return render_template("communities/feedback_questions.html", form=form, community=found,
                           form_errors=bool(form.errors or form.form_errors)), 400 if form.is_submitted() else 200


@bp.route("/communities/<int:community_id>/meetings/<int:meeting_id>/feedback", methods=["GET", "POST"])
@signed_in
def give_feedback(community_id: int, meeting_id: int):
    found = access.visible_community(current_user, community_id)
    shown = access.visible_meeting(current_user, found, meeting_id)
    settings = service.settings_of(found.id)
    now = clock.now()
    invitation = service.invitation_for(current_user, shown, settings, now)
    form = answers_form(settings)
    if invitation is not None and invitation.can_answer and form.validate_on_submit():
        with unit_of_work(flash_error=False) as work:
            anonymous = service.give_feedback(actor=current_user, meeting=shown, answers=form.answers(), now=now)
            work.success = ("Thank you. Your answer is anonymous: it is held back, unreadable, until feedback on this "
                            "meeting closes." if anonymous else "Thank you for your feedback.")
        if not work.failed:
            return redirect(url_for("communities.meeting", community_id=found.id, meeting_id=shown.id))
        attach_domain_error(form, work.error)
    status = 400 if form.is_submitted() else 200
    return render_template("communities/feedback_give.html", form=form, community=found, meeting=shown,
                           settings=settings, invitation=invitation,
                           form_errors=bool(form.errors or form.form_errors)), status


@bp.get("/communities/<int:community_id>/meetings/<int:meeting_id>/feedback/results")
@signed_in
def feedback_results(community_id: int, meeting_id: int):
    found, shown = _managed_meeting(community_id, meeting_id)
    now = clock.now()
    return render_template("communities/feedback_results.html", community=found, meeting=shown,
                           results=service.results(actor=current_user, meeting=shown),
                           state=service.window_state(shown, now), closes=service.closes_at(shown),
                           settings=service.settings_of(found.id), small_group=service.SMALL_GROUP,
                           rating_labels=service.RATING_LABELS, close_form=ConfirmForm())


@bp.route("/communities/<int:community_id>/meetings/<int:meeting_id>/feedback/paper", methods=["GET", "POST"])
@signed_in
def paper_feedback(community_id: int, meeting_id: int):
    found, shown = _managed_meeting(community_id, meeting_id)
    settings = service.settings_of(found.id)
    form = answers_form(settings, paper=True)
    if form.validate_on_submit():
        with unit_of_work("Answers from a paper form added, anonymously.", flash_error=False) as work:
            service.add_paper_answers(actor=current_user, meeting=shown, answers=form.answers(), now=clock.now())
        if not work.failed:
            return redirect(url_for("communities.paper_feedback", community_id=found.id, meeting_id=shown.id))
        attach_domain_error(form, work.error)
    return render_template("communities/feedback_paper.html", form=form, community=found, meeting=shown,
                           settings=settings, form_errors=bool(form.errors or form.form_errors)), \
        400 if form.is_submitted() else 200


@bp.post("/communities/<int:community_id>/meetings/<int:meeting_id>/feedback/close")
@signed_in
def close_feedback(community_id: int, meeting_id: int):
    found, shown = _managed_meeting(community_id, meeting_id)
    if ConfirmForm().validate_on_submit():
        with unit_of_work() as work:
            released = service.close_feedback(actor=current_user, meeting=shown, now=clock.now())
            work.success = f"Feedback on this meeting closed: {released} anonymous answer{'s' if released != 1 else ''} released."
    return redirect(url_for("communities.feedback_results", community_id=found.id, meeting_id=shown.id))
