"""Giving feedback, the team's results and settings, exports."""

from __future__ import annotations

from flask import abort, redirect, render_template, request, url_for
from flask_login import current_user

from app import audit, clock
from app.charts import bar_chart
from app.db import db, write_unit
from app.errors import DomainError
from app.evaluation import anonymity, feedback, feedback_import, impact
from app.evaluation.forms import FeedbackForm, FeedbackImportForm, FeedbackSettingsForm, TagsForm
from app.evaluation.models import ClosureReason, FeedbackResponse, RecommendScale, ValueCycle
from app.evaluation.views import bp
from app.exports import read_csv_upload, spreadsheet_response
from app.form_errors import attach_domain_error
from app.permissions import signed_in, staff_required, team_required
from app.programme.access import active_enrolment, can_view_session
from app.programme.models import SESSION_KIND_LABELS, Cohort, ProgrammeSession, SessionKind
from app.unit_of_work import unit_of_work
from app.urls import safe_next


def _answers(form: FeedbackForm, scale: str) -> feedback.Answers:
    recommend = form.recommend.data
    return feedback.Answers(
        worthwhile=int(form.worthwhile.data) if (form.worthwhile.data or "").isdigit() else None,
        recommend_yes={"yes": True, "no": False}.get(recommend) if scale == RecommendScale.YES_NO else None,
        recommend_score=int(recommend) if scale == RecommendScale.ZERO_TEN and (recommend or "").isdigit() else None,
        what_worked=form.what_worked.data or "", what_to_change=form.what_to_change.data or "",
        quote=form.quote.data or "", quote_consent=form.quote_consent.data, anonymous=form.anonymous.data,
        value_cycles=form.value_cycles.data or [])


@bp.route("/sessions/<int:session_id>/feedback", methods=["GET", "POST"])
@signed_in
def give(session_id: int):
    session = db.get_or_404(ProgrammeSession, session_id)
    if current_user.is_staff:
        return redirect(url_for("evaluation.session_results", session_id=session.id))
    if not can_view_session(current_user, session):
        abort(404)
    now = clock.now()
    settings = feedback.settings_for(session.cohort_id)[session.kind]
    enrolment = active_enrolment(current_user)
    given = enrolment is not None and feedback.has_given(enrolment.id, session.id)
    can_answer = enrolment is not None and enrolment.id in feedback.invited([session.id])[session.id]
    closure = anonymity.closure(session.id)
    form = FeedbackForm()
    form.set_scale(settings.recommend_scale)
    if not given and form.validate_on_submit():
        with unit_of_work("Thank you for your feedback.", flash_error=False) as work:
            feedback.give_feedback(actor=current_user, session=session, answers=_answers(form, settings.recommend_scale),
                                   now=now)
        if not work.failed:
            return redirect(url_for("programme.session_detail", session_id=session.id))
        attach_domain_error(form, work.error)
    return render_template("evaluation/feedback_form.html", session=session, cohort=session.cohort, form=form,
                           settings=settings, state=feedback.window_state(session, now), given=given,
                           can_answer=can_answer,
                           closes_at=closure.closed_at if closure else session.ends_at + feedback.FEEDBACK_WINDOW,
                           cycle_hints={c.value: c.hint for c in ValueCycle},
                           form_errors=bool(form.errors or form.form_errors))


def _results_chart(kinds: dict[str, feedback.Tally]):
    labels = [SESSION_KIND_LABELS[SessionKind(k)] for k in kinds]
    return bar_chart(title="Percentage agreeing the session was a worthwhile use of their time, by kind of session",
                     labels=labels, values=[t.worthwhile_percent for t in kinds.values()], maximum=100,
                     chart_id="worthwhile-by-kind", value_label="%")


@bp.get("/cohorts/<int:cohort_id>/feedback")
@staff_required
def results(cohort_id: int):
    cohort = db.get_or_404(Cohort, cohort_id)
    now = clock.now()
    sessions = feedback.sessions_with_feedback(cohort, now)
    per_session = feedback.tallies(sessions)
    kinds = feedback.by_kind(sessions, per_session)
    overall = feedback.overall(per_session)
    return render_template("evaluation/results.html", cohort=cohort, sessions=sessions, per_session=per_session,
                           kinds=kinds, overall=overall, chart=_results_chart(kinds) if kinds else None,
                           years=feedback.year_on_year(cohort, now), kind_labels=SESSION_KIND_LABELS)


@bp.get("/sessions/<int:session_id>/feedback/results")
@staff_required
def session_results(session_id: int):
    session = db.get_or_404(ProgrammeSession, session_id)
    tally = feedback.tallies([session])[session.id]
    responses = feedback.responses_for([session.id])
    worthwhile_chart = bar_chart(
        title="Answers to: taking part was a worthwhile use of my time", chart_id="worthwhile-answers",
        labels=list(feedback.WORTHWHILE_LABELS.values()), values=list(tally.worthwhile_counts.values()),
        maximum=max([*tally.worthwhile_counts.values(), 1]))
    closure = anonymity.closure(session.id)
    return render_template("evaluation/session_results.html", session=session, cohort=session.cohort, tally=tally,
                           responses=responses, worthwhile_chart=worthwhile_chart,
                           worthwhile_labels=feedback.WORTHWHILE_LABELS, cycles=list(ValueCycle),
                           state=feedback.window_state(session, clock.now()), closure=closure,
                           closure_reason=ClosureReason(closure.reason).label if closure else "",
                           window=feedback.FEEDBACK_WINDOW)


@bp.post("/sessions/<int:session_id>/feedback/close")
@team_required
def close(session_id: int):
    """Close a session's feedback early, so its anonymous answers are added now (audited)."""
    session = db.get_or_404(ProgrammeSession, session_id)
    with unit_of_work() as work:
        released = feedback.close_feedback(actor=current_user, session=session, now=clock.now())
        audit.record(actor=current_user, action="feedback_closed", target_type="session", target_id=session.id,
                     detail={"released": released})
        work.success = f"Feedback on this session is closed. {released} anonymous answer(s) added."
    return redirect(url_for("evaluation.session_results", session_id=session.id))


@bp.post("/feedback/<key>/tags")
@team_required
def tag(key: str):
    response = db.get_or_404(FeedbackResponse, key)
    form = TagsForm()
    with unit_of_work("Value tags saved."):
        impact.tag_feedback(actor=current_user, response=response, cycles=form.cycles.data or [])
    return redirect(safe_next(form.next.data)
                    or url_for("evaluation.session_results", session_id=response.session_id))


@bp.route("/cohorts/<int:cohort_id>/feedback/settings", methods=["GET", "POST"])
@team_required
def settings(cohort_id: int):
    cohort = db.get_or_404(Cohort, cohort_id)
    current = feedback.settings_for(cohort.id)
    form = FeedbackSettingsForm()
    kind = request.args.get("kind") or form.kind.data or SessionKind.MODULE.value
    if kind not in current:
        abort(404)
    if request.method == "GET":
        form = FeedbackSettingsForm(data=vars(current[kind]))
    if form.validate_on_submit():
        with unit_of_work(f"Feedback form for {SESSION_KIND_LABELS[SessionKind(kind)].lower()} sessions saved.",
                          flash_error=False) as work:
            feedback.save_settings(actor=current_user, cohort=cohort, settings=feedback.Settings(
                kind, form.enabled.data, form.recommend_scale.data or "", form.ask_free_text.data,
                form.ask_quote.data, form.allow_anonymous.data))
            audit.record(actor=current_user, action="feedback_settings_changed", target_type="cohort",
                         target_id=cohort.id, detail={"kind": kind})
        if not work.failed:
            return redirect(url_for("evaluation.settings", cohort_id=cohort.id, kind=kind))
        attach_domain_error(form, work.error)
    return render_template("evaluation/settings.html", cohort=cohort, form=form, kind=kind, current=current,
                           kind_labels=SESSION_KIND_LABELS, form_errors=bool(form.errors or form.form_errors))


@bp.route("/cohorts/<int:cohort_id>/feedback/import", methods=["GET", "POST"])
@team_required
def import_feedback(cohort_id: int):
    """Feedback from a year run on spreadsheets: preview, then import (audited)."""
    cohort = db.get_or_404(Cohort, cohort_id)
    now = clock.now()
    form = FeedbackImportForm()
    preview, text = None, ""
    if form.validate_on_submit():
        text = form.csv_text.data or ""
        if form.action.data == "confirm" and text:
            with unit_of_work(flash_error=False) as work:
                added = feedback_import.import_feedback(actor=current_user, cohort=cohort, text=text, now=now)
                audit.record(actor=current_user, action="feedback_imported", target_type="cohort",
                             target_id=cohort.id, detail={"added": added})
                work.success = f"Feedback imported: {added} answer{'s' if added != 1 else ''} added."
            if not work.failed:
                return redirect(url_for("evaluation.results", cohort_id=cohort.id))
            attach_domain_error(form, work.error)
        else:
            text = read_csv_upload(form)
            if text is not None:
                try:
                    preview = feedback_import.preview_feedback_import(cohort=cohort, text=text, now=now)
                except DomainError as error:
                    attach_domain_error(form, error)
    return render_template("evaluation/import.html", cohort=cohort, form=form, preview=preview, text=text or "",
                           form_errors=bool(form.errors or form.form_errors))


EXPORT_HEADERS = ["Session", "Date", "Kind", "Worthwhile use of time (1-5)", "Would recommend", "What worked",
                  "What to change", "Quote", "Quote may be used", "Value", "Respondent"]


@bp.get("/cohorts/<int:cohort_id>/feedback.<any(csv, xlsx):fmt>")
@team_required
def export(cohort_id: int, fmt: str):
    """Every response; anonymous ones say 'Anonymous' and carry nothing that could identify them."""
    cohort = db.get_or_404(Cohort, cohort_id)
    sessions = feedback.sessions_with_feedback(cohort, clock.now())
    by_id = {s.id: s for s in sessions}
    rows = []
    for r in sorted(feedback.responses_for(list(by_id)), key=lambda r: (by_id[r.session_id].starts_at, r.key)):
        s = by_id[r.session_id]
        recommend = ("Yes" if r.recommend_yes else "No") if r.recommend_yes is not None else r.recommend_score
        rows.append([s.title, clock.to_local(s.starts_at, cohort.timezone).date().isoformat(), s.kind_label, r.worthwhile, recommend, r.what_worked,
                     r.what_to_change, r.quote, "Yes" if r.quote_consent else "No", ", ".join(r.value_cycles),
                     "Anonymous" if r.is_anonymous else r.enrolment.user.name])
    with write_unit():
        audit.record(actor=current_user, action="feedback_exported", target_type="cohort", target_id=cohort.id,
                     detail={"format": fmt, "rows": len(rows)})
    return spreadsheet_response(fmt, EXPORT_HEADERS, rows, title="Feedback", filename_stem=f"feedback-{cohort.name}")
