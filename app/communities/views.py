"""Community pages: your communities, a community, its meetings and registers, and joining by invitation.

Every page loads the community through `access`: to someone outside it, it does not exist (404);
its members see it and its meetings; its conveners and the programme team manage it (403 to members).
"""

from __future__ import annotations

from flask import Blueprint, Response, redirect, render_template, url_for
from flask_login import current_user

from app import clock
from app.auth import sessions
from app.communities.forms import (
    CommunityDetailsForm,
    ConfirmForm,
    EvidenceForm,
    InvitationForm,
    JoinWithNewAccountForm,
    MeetingForm,
    register_form,
    story_form,
)
from app.communities.services import access, feedback, meetings, spaces, value
from app.communities.value_cycles import ValueCycle
from app.errors import InvalidToken
from app.extensions import limiter
from app.form_errors import attach_domain_error
from app.permissions import public, signed_in, team_required
from app.unit_of_work import unit_of_work
from app.urls import site_domain

bp = Blueprint("communities", __name__, template_folder="templates")


def _details(form) -> spaces.CommunityDetails:
    return spaces.CommunityDetails(name=form.name.data or "", purpose=form.purpose.data or "",
                                   domain=form.domain.data or "", status=form.status.data or "")


def _meeting_details(form) -> meetings.MeetingDetails:
    return meetings.MeetingDetails(
        meets_on=form.meets_on.data, starts=form.starts.data, ends=form.ends.data, format=form.format.data or "",
        location=form.location.data or "", agenda=form.agenda.data or "", methods=form.methods.data or [],
        other_method=form.other_method.data or "", status=form.status.data or "", notes=form.notes.data or "",
        actions=form.actions.data or "")


@bp.get("/communities")
@signed_in
def mine():
    return render_template("communities/mine.html", communities=access.communities_of(current_user),
                           programmes=access.programmes_of(current_user), can_start=current_user.is_team)


@bp.route("/communities/new", methods=["GET", "POST"])
@team_required
def new():
    form = CommunityDetailsForm()
    if form.validate_on_submit():
        with unit_of_work("Community set up. Now invite its conveners.", flash_error=False) as work:
            community = spaces.start_community(actor=current_user, details=_details(form), now=clock.now())
        if not work.failed:
            return redirect(url_for("communities.community", community_id=community.id))
        attach_domain_error(form, work.error)
    return render_template("communities/details_form.html", form=form, community=None,
                           form_errors=bool(form.errors or form.form_errors)), 400 if form.is_submitted() else 200


def _community_page(community, invitation_form: InvitationForm, status: int = 200):
    now = clock.now()
    manages = access.can_manage(current_user, community)
    return render_template(
        "communities/community.html", community=community, manages=manages, now=now,
        meetings=community.meetings, invitation_form=invitation_form, programme=access.programme_shown_with(
            current_user, community),
        invitations=spaces.pending_invitations(community, now) if manages else [],
        form_errors=bool(invitation_form.errors or invitation_form.form_errors)), status


@bp.get("/communities/<int:community_id>")
@signed_in
def community(community_id: int):
    found = access.visible_community(current_user, community_id)
    return _community_page(found, InvitationForm(formdata=None))


@bp.route("/communities/<int:community_id>/edit", methods=["GET", "POST"])
@signed_in
def edit(community_id: int):
    found = access.managed_community(current_user, community_id)
    form = CommunityDetailsForm(obj=found)
    if form.validate_on_submit():
        with unit_of_work("Community details saved.", flash_error=False) as work:
            spaces.update_community(actor=current_user, community=found, details=_details(form), now=clock.now())
        if not work.failed:
            return redirect(url_for("communities.community", community_id=found.id))
        attach_domain_error(form, work.error)
    return render_template("communities/details_form.html", form=form, community=found,
                           form_errors=bool(form.errors or form.form_errors)), 400 if form.is_submitted() else 200


@bp.post("/communities/<int:community_id>/invitations")
@signed_in
def invite(community_id: int):
    found = access.managed_community(current_user, community_id)
    form = InvitationForm()
    if form.validate_on_submit():
        with unit_of_work(flash_error=False) as work:
            spaces.invite(actor=current_user, community=found, email=form.email.data or "",
                          role=form.role.data or "", now=clock.now())
            work.success = f"Invitation sent to {spaces.normalise_email(form.email.data or '')}."
        if not work.failed:
            return redirect(url_for("communities.community", community_id=found.id))
        attach_domain_error(form, work.error)
        found = access.visible_community(current_user, community_id)
    return _community_page(found, form, status=400)


@bp.post("/communities/<int:community_id>/invitations/<int:invitation_id>/withdraw")
@signed_in
def withdraw_invitation(community_id: int, invitation_id: int):
    found = access.managed_community(current_user, community_id)
    if ConfirmForm().validate_on_submit():
        with unit_of_work() as work:
            invitation = spaces.withdraw_invitation(actor=current_user, community=found, invitation_id=invitation_id,
                                                    now=clock.now())
            work.success = f"The invitation to {invitation.email} is withdrawn: its link no longer works."
    return redirect(url_for("communities.community", community_id=found.id, _anchor="invite"))


@bp.post("/communities/<int:community_id>/members/<int:membership_id>/remove")
@signed_in
def remove_member(community_id: int, membership_id: int):
    found = access.managed_community(current_user, community_id)
    if ConfirmForm().validate_on_submit():
        with unit_of_work("Removed from the community."):
            spaces.remove_member(actor=current_user, community=found, membership_id=membership_id, now=clock.now())
    return redirect(url_for("communities.community", community_id=found.id))


@bp.route("/communities/<int:community_id>/meetings/new", methods=["GET", "POST"])
@signed_in
def new_meeting(community_id: int):
    found = access.managed_community(current_user, community_id)
    form = MeetingForm()
    if form.validate_on_submit():
        with unit_of_work("Meeting saved.", flash_error=False) as work:
            meeting = meetings.add_meeting(actor=current_user, community=found, details=_meeting_details(form),
                                           now=clock.now())
        if not work.failed:
            return redirect(url_for("communities.meeting", community_id=found.id, meeting_id=meeting.id))
        attach_domain_error(form, work.error)
    return render_template("communities/meeting_form.html", form=form, community=found, meeting=None,
                           form_errors=bool(form.errors or form.form_errors)), 400 if form.is_submitted() else 200


@bp.get("/communities/<int:community_id>/meetings/<int:meeting_id>")
@signed_in
def meeting(community_id: int, meeting_id: int):
    found = access.visible_community(current_user, community_id)
    shown = access.visible_meeting(current_user, found, meeting_id)
    manages = access.can_manage(current_user, found)
    settings = feedback.settings_of(found.id)
    return render_template("communities/meeting.html", community=found, meeting=shown, manages=manages,
                           feedback_settings=settings,
                           feedback_invitation=feedback.invitation_for(current_user, shown, settings, clock.now()),
                           feedback_figures=feedback.figures_for([shown.id])[shown.id] if manages else None)


def _meeting_form_data(shown) -> dict:
    return dict(meets_on=shown.meets_on, starts=clock.to_local(shown.starts_at).time() if shown.starts_at else None,
                ends=clock.to_local(shown.ends_at).time() if shown.ends_at else None, format=shown.format,
                location=shown.location, agenda=shown.agenda, status=shown.status, notes=shown.notes,
                actions=shown.actions, methods=[m for m in shown.methods if m in meetings.MEETING_METHODS],
                other_method=", ".join(m for m in shown.methods if m not in meetings.MEETING_METHODS))


@bp.route("/communities/<int:community_id>/meetings/<int:meeting_id>/edit", methods=["GET", "POST"])
@signed_in
def edit_meeting(community_id: int, meeting_id: int):
    found = access.managed_community(current_user, community_id)
    shown = access.visible_meeting(current_user, found, meeting_id)
    form = MeetingForm(data=_meeting_form_data(shown))
    if form.validate_on_submit():
        with unit_of_work("Meeting saved.", flash_error=False) as work:
            meetings.update_meeting(actor=current_user, meeting=shown, details=_meeting_details(form), now=clock.now())
        if not work.failed:
            return redirect(url_for("communities.meeting", community_id=found.id, meeting_id=shown.id))
        attach_domain_error(form, work.error)
    return render_template("communities/meeting_form.html", form=form, community=found, meeting=shown,
                           form_errors=bool(form.errors or form.form_errors)), 400 if form.is_submitted() else 200


@bp.route("/communities/<int:community_id>/meetings/<int:meeting_id>/register", methods=["GET", "POST"])
@signed_in
def register(community_id: int, meeting_id: int):
    found = access.managed_community(current_user, community_id)
    shown = access.visible_meeting(current_user, found, meeting_id)
    form = register_form(found.memberships, shown, data={"guest_count": shown.guest_count})
    if form.validate_on_submit():
        with unit_of_work("Register saved.", flash_error=False) as work:
            meetings.record_register(actor=current_user, meeting=shown, statuses=form.statuses(),
                                     guest_count=form.guest_count.data if form.guest_count.data is not None else 0,
                                     now=clock.now())
        if not work.failed:
            return redirect(url_for("communities.meeting", community_id=found.id, meeting_id=shown.id))
        attach_domain_error(form, work.error)
    return render_template("communities/register.html", form=form, community=found, meeting=shown,
                           form_errors=bool(form.errors or form.form_errors)), 400 if form.is_submitted() else 200


@bp.post("/communities/<int:community_id>/meetings/<int:meeting_id>/delete")
@signed_in
def delete_meeting(community_id: int, meeting_id: int):
    found = access.managed_community(current_user, community_id)
    shown = access.visible_meeting(current_user, found, meeting_id)
    if ConfirmForm().validate_on_submit():
        with unit_of_work("Meeting deleted.") as work:
            meetings.delete_meeting(actor=current_user, meeting=shown, now=clock.now())
        if work.failed:
            return redirect(url_for("communities.meeting", community_id=found.id, meeting_id=shown.id))
    return redirect(url_for("communities.community", community_id=found.id))


@bp.get("/communities/<int:community_id>/meetings/<int:meeting_id>.ics")
@signed_in
def meeting_ics(community_id: int, meeting_id: int):
    found = access.visible_community(current_user, community_id)
    shown = access.visible_meeting(current_user, found, meeting_id)
    body = meetings.meeting_calendar(shown, domain=site_domain(), now=clock.now())
    return Response(body, mimetype="text/calendar",
                    headers={"Content-Disposition": f'attachment; filename="community-meeting-{shown.id}.ics"'})


def _private(body, status: int = 200):
    """The token is in the address: the page is not cached and the address is not passed on."""
    return Response(body, status=status, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


@bp.route("/join/<token>", methods=["GET", "POST"])
@limiter.limit("20 per hour", methods=["POST"])
@public
def join(token: str):
    """Opening the link changes nothing. Signed in with the invited address: one button joins. No
    account with that address: a name and a password create one (the address is confirmed by the
    link) and join. An account exists but is not signed in: sign in first, then come back."""
    now = clock.now()
    try:
        invitation = spaces.open_invitation(token=token, now=now)
    except InvalidToken as error:
        return _private(render_template("communities/join_invalid.html", message=error.message), 400)
    has_account = spaces.find_user_by_email(invitation.email) is not None
    signed_in_as_other = current_user.is_authenticated and current_user.email != invitation.email
    if current_user.is_authenticated and not signed_in_as_other:
        form = ConfirmForm()
        if form.validate_on_submit():
            with unit_of_work(flash_error=False) as work:
                joined = spaces.join_with_account(token=token, user=current_user, now=now)
                work.success = f"You have joined {joined.name}."
            if not work.failed:
                return redirect(url_for("communities.community", community_id=joined.id))
            return _private(render_template("communities/join_invalid.html", message=work.error.message), 400)
        return _private(render_template("communities/join.html", invitation=invitation, form=form, mode="join"))
    if has_account or signed_in_as_other:
        return _private(render_template("communities/join.html", invitation=invitation, form=None,
                                        mode="other" if signed_in_as_other else "sign_in",
                                        sign_in=url_for("auth.login", next=url_for("communities.join", token=token))))
    form = JoinWithNewAccountForm()
    if form.validate_on_submit():
        with unit_of_work(flash_error=False) as work:
            user = spaces.join_with_new_account(token=token, name=form.name.data or "", password=form.password.data or "",
                                                now=now)
            sessions.sign_in(user, now=now)
            work.success = f"Your account is ready and you have joined {invitation.community.name}."
        if not work.failed:
            return redirect(url_for("communities.community", community_id=invitation.community_id))
        if isinstance(work.error, InvalidToken):
            return _private(render_template("communities/join_invalid.html", message=work.error.message), 400)
        attach_domain_error(form, work.error)
        invitation = spaces.open_invitation(token=token, now=now)
    status = 400 if form.is_submitted() else 200
    return _private(render_template("communities/join.html", invitation=invitation, form=form, mode="create",
                                    form_errors=bool(form.errors or form.form_errors)), status)


# -- value: evidence and stories ----------------------------------------------------------------

def _value_page(community, evidence_form: EvidenceForm, status: int = 200):
    return render_template("communities/value.html", community=community, evidence_form=evidence_form,
                           evidence=value.evidence_of(community), stories=value.stories_of(community),
                           cycle_hints={c.value: c.hint for c in ValueCycle},
                           form_errors=bool(evidence_form.errors or evidence_form.form_errors)), status


@bp.get("/communities/<int:community_id>/value")
@signed_in
def value_page(community_id: int):
    return _value_page(access.managed_community(current_user, community_id), EvidenceForm(formdata=None))


@bp.post("/communities/<int:community_id>/value/evidence")
@signed_in
def add_evidence(community_id: int):
    found = access.managed_community(current_user, community_id)
    form = EvidenceForm()
    if form.validate_on_submit():
        with unit_of_work("Evidence added.", flash_error=False) as work:
            value.add_evidence(actor=current_user, community=found, kind=form.kind.data or "",
                               text=form.text.data or "", cycles=form.cycles.data or [], now=clock.now())
        if not work.failed:
            return redirect(url_for("communities.value_page", community_id=found.id))
        attach_domain_error(form, work.error)
        found = access.visible_community(current_user, community_id)
    return _value_page(found, form, status=400)


@bp.post("/communities/<int:community_id>/value/evidence/<int:evidence_id>/delete")
@signed_in
def delete_evidence(community_id: int, evidence_id: int):
    found = access.managed_community(current_user, community_id)
    if ConfirmForm().validate_on_submit():
        with unit_of_work("Evidence deleted."):
            value.delete_evidence(actor=current_user, community=found, evidence_id=evidence_id, now=clock.now())
    return redirect(url_for("communities.value_page", community_id=found.id))


def _story_draft(form) -> value.StoryDraft:
    questions, answers = form.pairs()
    chosen = form.interviewee.data or ""
    return value.StoryDraft(interviewee_id=int(chosen) if chosen.isdigit() else None,
                            interviewee_name=form.interviewee_name.data or "", interviewed_on=form.interviewed_on.data,
                            questions=questions, answers=answers, cycles=form.cycles.data or [],
                            consent_to_share=bool(form.consent_to_share.data))


def _story_page(community, story=None):
    if story is None:
        form = story_form(value.story_questions(community), community.conveners)
    else:
        form = story_form([], community.conveners, story, data={
            "interviewee": str(story.interviewee_id or ""), "interviewee_name": "" if story.interviewee_id
            else story.interviewee_name, "interviewed_on": story.interviewed_on, "cycles": story.cycles,
            "consent_to_share": story.consent_to_share})
    if form.validate_on_submit():
        with unit_of_work("Value story saved.", flash_error=False) as work:
            value.save_story(actor=current_user, community=community, story=story, draft=_story_draft(form),
                             now=clock.now())
        if not work.failed:
            return redirect(url_for("communities.value_page", community_id=community.id))
        attach_domain_error(form, work.error)
    return render_template("communities/story_form.html", form=form, community=community, story=story,
                           form_errors=bool(form.errors or form.form_errors)), 400 if form.is_submitted() else 200


@bp.route("/communities/<int:community_id>/value/stories/new", methods=["GET", "POST"])
@signed_in
def new_story(community_id: int):
    return _story_page(access.managed_community(current_user, community_id))


@bp.route("/communities/<int:community_id>/value/stories/<int:story_id>/edit", methods=["GET", "POST"])
@signed_in
def edit_story(community_id: int, story_id: int):
    found = access.managed_community(current_user, community_id)
    return _story_page(found, value.story_of(found, story_id))


# The feedback pages join this blueprint (they import `bp` from here, so they come after it).
from app.communities import feedback_views  # noqa: E402, F401
