"""The value board and impact stories."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user

from app import clock
from app.db import db
from app.evaluation import impact
from app.evaluation.forms import EvidenceForm, ReviewStoryForm, StoryForm
from app.evaluation.models import ImpactStory, StoryStatus, ValueCycle, ValueEvidence
from app.evaluation.views import bp
from app.form_errors import attach_domain_error
from app.permissions import signed_in, team_required
from app.programme.access import viewable_cohort_or_404
from app.unit_of_work import unit_of_work


@bp.route("/cohorts/<int:cohort_id>/value", methods=["GET", "POST"])
@signed_in
def value_board(cohort_id: int):
    cohort = viewable_cohort_or_404(cohort_id)
    form = EvidenceForm()
    can_add = current_user.is_team or not current_user.is_staff
    if request.method == "POST":
        if not can_add:
            abort(403)
        if form.validate_on_submit():
            with unit_of_work("Added to the value board.", flash_error=False) as work:
                impact.add_evidence(actor=current_user, cohort=cohort, kind=form.kind.data or "",
                                    text=form.text.data or "", cycles=form.cycles.data or [],
                                    consent=form.consent.data)
            if not work.failed:
                return redirect(url_for("evaluation.value_board", cohort_id=cohort.id))
            attach_domain_error(form, work.error)
    board = impact.value_board(cohort, viewer=current_user)
    return render_template("evaluation/value_board.html", cohort=cohort, board=board, cycles=list(ValueCycle),
                           form=form, can_add=can_add, form_errors=bool(form.errors or form.form_errors),
                           cycle_hints={c.value: c.hint for c in ValueCycle}), 400 if form.errors else 200


@bp.post("/evidence/<int:evidence_id>/delete")
@signed_in
def delete_evidence(evidence_id: int):
    evidence = db.get_or_404(ValueEvidence, evidence_id)
    viewable_cohort_or_404(evidence.cohort_id)
    with unit_of_work("Removed from the value board.", flash_error=False) as work:
        impact.delete_evidence(actor=current_user, evidence=evidence)
    if work.failed:
        abort(404)  # not theirs to remove
    return redirect(url_for("evaluation.value_board", cohort_id=evidence.cohort_id))


@bp.get("/cohorts/<int:cohort_id>/stories")
@signed_in
def stories(cohort_id: int):
    cohort = viewable_cohort_or_404(cohort_id)
    if current_user.is_staff and not current_user.is_team:
        listed = impact.published_stories(cohort)
    else:
        listed = impact.stories_of(cohort, viewer=current_user)
    return render_template("evaluation/stories.html", cohort=cohort, stories=listed,
                           can_write=not current_user.is_staff)


def _draft(form: StoryForm) -> impact.StoryDraft:
    beats = [part.strip() for part in (form.because_of_that.data or "").replace("\r\n", "\n").split("\n\n")]
    return impact.StoryDraft(
        title=form.title.data or "", once_upon_a_time=form.once_upon_a_time.data or "",
        every_day=form.every_day.data or "", one_day=form.one_day.data or "", because_of_that=beats,
        until_finally=form.until_finally.data or "", cycles=form.cycles.data or [],
        consent_to_publish=form.consent_to_publish.data)


def _story_editor(cohort, story: ImpactStory | None):
    form = StoryForm()
    if request.method == "GET" and story is not None:
        form.process(obj=story)
        form.because_of_that.data = "\n\n".join(story.because_of_that)
    if form.validate_on_submit():
        submit = form.action.data == "submit"
        with unit_of_work("Your story is sent to the programme team for review." if submit else "Your draft is saved.",
                          flash_error=False) as work:
            saved = impact.save_story(actor=current_user, cohort=cohort, draft=_draft(form), story=story,
                                      submit=submit, now=clock.now())
        if not work.failed:
            return redirect(url_for("evaluation.story", story_id=saved.id))
        attach_domain_error(form, work.error)
    return render_template("evaluation/story_form.html", cohort=cohort, story=story, form=form,
                           cycle_hints={c.value: c.hint for c in ValueCycle},
                           form_errors=bool(form.errors or form.form_errors)), 400 if form.form_errors or (
        request.method == "POST" and form.errors) else 200


@bp.route("/cohorts/<int:cohort_id>/stories/new", methods=["GET", "POST"])
@signed_in
def new_story(cohort_id: int):
    cohort = viewable_cohort_or_404(cohort_id)
    if current_user.is_staff:
        abort(403)
    return _story_editor(cohort, None)


def _story_or_404(story_id: int) -> ImpactStory:
    story = db.get_or_404(ImpactStory, story_id)
    viewable_cohort_or_404(story.cohort_id)
    mine = story.enrolment.user_id == current_user.id
    visible = mine or (story.status == StoryStatus.PUBLISHED and story.consent_to_publish) or (
        current_user.is_team and story.status != StoryStatus.DRAFT)
    if not visible:
        abort(404)
    return story


@bp.route("/stories/<int:story_id>/edit", methods=["GET", "POST"])
@signed_in
def edit_story(story_id: int):
    story = _story_or_404(story_id)
    if story.enrolment.user_id != current_user.id:
        abort(403)
    refusal = impact.story_edit_refusal(story)
    if refusal:  # said before anything is typed, by the rule save_story applies
        return render_template("evaluation/story_form.html", cohort=story.enrolment.cohort, story=story, form=None,
                               refusal=refusal, cycle_hints={}, form_errors=False)
    return _story_editor(story.enrolment.cohort, story)


@bp.get("/stories/<int:story_id>")
@signed_in
def story(story_id: int):
    story = _story_or_404(story_id)
    return render_template("evaluation/story.html", story=story, cohort=story.enrolment.cohort,
                           mine=story.enrolment.user_id == current_user.id, cycles={c.value: c for c in ValueCycle},
                           edit_refusal=impact.story_edit_refusal(story))


REVIEWED = {"publish": "Story published. We have emailed its author.",
            "return": "Story returned to its author: we have emailed them your note.",
            "unpublish": "Story unpublished."}


@bp.post("/stories/<int:story_id>/review")
@team_required
def review_story(story_id: int):
    story = db.get_or_404(ImpactStory, story_id)
    form = ReviewStoryForm()
    decision = form.decision.data or ""
    with unit_of_work() as work:
        impact.review_story(actor=current_user, story=story, decision=decision, note=form.note.data or "",
                            now=clock.now())
        work.success = REVIEWED[decision]
    if not work.failed and decision == "return":  # back with its author as a draft, which only they see
        return redirect(url_for("evaluation.stories", cohort_id=story.cohort_id))
    return redirect(url_for("evaluation.story", story_id=story.id))


@bp.post("/stories/<int:story_id>/consent")
@signed_in
def withdraw_consent(story_id: int):
    story = _story_or_404(story_id)
    with unit_of_work(flash_error=False) as work:
        impact.withdraw_consent(actor=current_user, story=story, now=clock.now())
        work.success = ("You have withdrawn consent: your story is not published, and only you can read it while it "
                        "is a draft." if story.status == StoryStatus.DRAFT
                        else "You have withdrawn consent: your story will not be published.")
    if work.failed:
        abort(403)
    return redirect(url_for("evaluation.story", story_id=story.id))
