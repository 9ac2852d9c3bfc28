"""Every route × every kind of person: the expected answer, in one table.

The table is checked against app.url_map, so a new route without a row fails the suite.
Objects belong to the participant's cohort ("own"); the other-cohort participant meets them
as another cohort's objects and must get 404, with nothing of the object in the body.
"""

from __future__ import annotations

import re
from datetime import time, timedelta

import pytest
from sqlalchemy import select, text

from app import clock
from app.applications.services import start_application
from app.auth.models import Organisation
from app.celebration.services import invite_guest
from app.communities.services import programmes, value
from app.communities.services.meetings import MeetingDetails, add_meeting
from app.communities.services.spaces import CommunityDetails, add_membership, start_community
from app.db import db
from app.evaluation import communities, feedback, impact
from app.evaluation.models import FeedbackResponse
from app.groups.services import allocate_groups
from app.notifications.services import queue_email
from app.portal.services import ResourceDetails, share_resource, start_thread
from app.programme import services
from tests.conftest import sign_in_client
from tests.factories import make_cohort, make_facilitator, make_participant, make_team, make_user

ROLES = ("anonymous", "applicant", "participant", "other_cohort", "facilitator", "team")
# People of communities who are not programme participants: a convener and a member of the participant's
# community, a member of another community, and someone on the team of the programme of work the participant's
# community is in. They are checked on the community pages (rows that name them).
COMMUNITY_ROLES = ("convener", "member", "outsider", "programme_team")
LOGIN = "login"  # a redirect to the sign-in page

# The applicant's own application: only they open it; everyone else, the team included, gets 404
# (the team works on applications from its own pages).
OWNER_ONLY = {"anonymous": LOGIN, "applicant": 200, "participant": 404, "other_cohort": 404, "facilitator": 404,
              "team": 404}
# The cohort's participants and staff; everyone else meets another cohort's things as missing.
COHORT_MEMBERS = {"anonymous": LOGIN, "applicant": 404, "participant": 200, "other_cohort": 404, "facilitator": 200,
                  "team": 200}
STAFF_ONLY = {"anonymous": LOGIN, "applicant": 403, "participant": 403, "other_cohort": 403, "facilitator": 200,
              "team": 200}
TEAM_ONLY = {"anonymous": LOGIN, "applicant": 403, "participant": 403, "other_cohort": 403, "facilitator": 403,
             "team": 200}

# A community's pages: its people see them; to anyone else (another community's member, another cohort,
# facilitators) it does not exist. Its conveners (the participant convenes this one) and the team manage it;
# its members are refused.
COMMUNITY_VIEWERS = {"anonymous": LOGIN, "applicant": 404, "participant": 200, "other_cohort": 404, "facilitator": 404,
                     "team": 200, "convener": 200, "member": 200, "outsider": 404, "programme_team": 200}
COMMUNITY_MANAGERS = {**COMMUNITY_VIEWERS, "member": 403}
# A programme of work: the programme team and the programme of work's own team; to anyone else (its
# communities' conveners and members included) it does not exist. Setting it up and changing its team and
# its communities: the programme team only.
PROGRAMME_VIEWERS = {**dict.fromkeys(ROLES + COMMUNITY_ROLES, 404), "anonymous": LOGIN, "team": 200,
                     "programme_team": 200}
PROGRAMME_TEAM_ONLY = {**TEAM_ONLY, **dict.fromkeys(COMMUNITY_ROLES, 403)}

# endpoint: (method, path, {role: expected})
EXPECTED = {
    "public.index": ("GET", "/", dict.fromkeys(ROLES, 200)),
    "public.healthz": ("GET", "/healthz", dict.fromkeys(ROLES, 200)),
    "public.liveness": ("GET", "/healthz/live", dict.fromkeys(ROLES, 200)),
    "auth.login": ("GET", "/sign-in", {"anonymous": 200, "applicant": 302, "participant": 302,
                                       "other_cohort": 302, "facilitator": 302, "team": 302}),
    "auth.register": ("GET", "/register", {"anonymous": 200, "applicant": 302, "participant": 302,
                                           "other_cohort": 302, "facilitator": 302, "team": 302}),
    "auth.resend_confirmation": ("GET", "/register/resend", dict.fromkeys(ROLES, 200)),
    "auth.confirm_email": ("GET", "/register/confirm/not-a-token", dict.fromkeys(ROLES, 400)),
    "auth.forgot_password": ("GET", "/password/forgot", dict.fromkeys(ROLES, 200)),
    "auth.reset_password": ("GET", "/password/reset/not-a-token", dict.fromkeys(ROLES, 400)),
    "auth.logout": ("POST", "/sign-out", {"anonymous": LOGIN, "applicant": 302, "participant": 302,
                                          "other_cohort": 302, "facilitator": 302, "team": 302}),
    "programme.home": ("GET", "/home", {"anonymous": LOGIN, "applicant": 302, "participant": 200,
                                        "other_cohort": 200, "facilitator": 302, "team": 302}),
    "programme.session_detail": ("GET", "/sessions/{session}", {
        "anonymous": LOGIN, "applicant": 404, "participant": 200, "other_cohort": 404,
        "facilitator": 200, "team": 200}),
    "programme.schedule": ("GET", "/cohorts/{cohort}/schedule", {
        "anonymous": LOGIN, "applicant": 403, "participant": 403, "other_cohort": 403,
        "facilitator": 200, "team": 200}),
    "programme.new_cohort": ("GET", "/cohorts/new", {
        "anonymous": LOGIN, "applicant": 403, "participant": 403, "other_cohort": 403,
        "facilitator": 403, "team": 200}),
    "programme.new_session": ("GET", "/cohorts/{cohort}/sessions/new", {
        "anonymous": LOGIN, "applicant": 403, "participant": 403, "other_cohort": 403,
        "facilitator": 403, "team": 200}),
    "programme.edit_session": ("GET", "/sessions/{session}/edit", {
        "anonymous": LOGIN, "applicant": 403, "participant": 403, "other_cohort": 403,
        "facilitator": 403, "team": 200}),
    "programme.confirm_cancel": ("GET", "/sessions/{session}/cancel", {
        "anonymous": LOGIN, "applicant": 403, "participant": 403, "other_cohort": 403,
        "facilitator": 403, "team": 200}),
    "programme.cancel_session": ("POST", "/sessions/{session}/cancel", {
        "anonymous": LOGIN, "applicant": 403, "participant": 403, "other_cohort": 403,
        "facilitator": 403, "team": 302}),
    "programme.session_status": ("GET", "/sessions/{session}/status", {
        "anonymous": LOGIN, "applicant": 403, "participant": 403, "other_cohort": 403,
        "facilitator": 403, "team": 200}),
    "programme.new_date": ("GET", "/sessions/{session}/new-date", {
        "anonymous": LOGIN, "applicant": 403, "participant": 403, "other_cohort": 403,
        "facilitator": 403, "team": 200}),
    "programme.reinstate_session": ("POST", "/sessions/{cancelled_session}/reinstate", {
        "anonymous": LOGIN, "applicant": 403, "participant": 403, "other_cohort": 403,
        "facilitator": 403, "team": 302}),
    "applications.apply": ("GET", "/apply", dict.fromkeys(ROLES, 200)),
    "applications.mine": ("GET", "/my-applications", {"anonymous": LOGIN, "applicant": 200, "participant": 200,
                                                      "other_cohort": 200, "facilitator": 200, "team": 200}),
    "applications.start": ("POST", "/apply", {"anonymous": LOGIN, "applicant": 302, "participant": 302,
                                               "other_cohort": 302, "facilitator": 302, "team": 302}),
    "applications.edit": ("GET", "/applications/{application}/edit", OWNER_ONLY),
    "applications.status": ("GET", "/applications/{application}", OWNER_ONLY),
    "applications.answers": ("GET", "/applications/{application}/answers", OWNER_ONLY),
    # A draft has no line manager to change: its owner is sent back to the application.
    "applications.change_sponsor": ("GET", "/applications/{application}/line-manager", {**OWNER_ONLY, "applicant": 302}),
    "applications.apply_to": ("GET", "/apply/{cohort}", dict.fromkeys(ROLES, 200)),
    "applications.resend_sponsor": ("POST", "/applications/{application}/line-manager/resend",
                                    {**OWNER_ONLY, "applicant": 302}),
    "applications.withdraw": ("GET", "/applications/{application}/withdraw", OWNER_ONLY),
    "applications.respond": ("POST", "/applications/{application}/offer", OWNER_ONLY),
    "applications.sponsor": ("GET", "/sponsor/not-a-real-token", dict.fromkeys(ROLES, 404)),
    "applications.team_list": ("GET", "/team/cohorts/{cohort}/applications", TEAM_ONLY),
    "applications.export": ("GET", "/team/cohorts/{cohort}/applications.csv", TEAM_ONLY),
    "applications.team_detail": ("GET", "/team/applications/{application}", TEAM_ONLY),
    # Reviewers are staff; a reviewer not assigned to the application finds nothing there.
    "applications.review": ("POST", "/team/applications/{application}/review", {**TEAM_ONLY, "facilitator": 404}),
    "applications.review_page": ("GET", "/team/reviews/{application}", {**TEAM_ONLY, "facilitator": 404}),
    "applications.my_reviews": ("GET", "/team/reviews", STAFF_ONLY),
    "applications.reviewers": ("GET", "/team/cohorts/{cohort}/reviewers", TEAM_ONLY),
    "applications.assign": ("POST", "/team/applications/{application}/reviewers", TEAM_ONLY),
    "applications.organisations": ("GET", "/team/organisations", TEAM_ONLY),
    "applications.accept_organisation": ("POST", "/team/organisations/{organisation}/accept",
                                         {**TEAM_ONLY, "team": 302}),
    "applications.merge_organisation": ("POST", "/team/organisations/{organisation}/merge",
                                        {**TEAM_ONLY, "team": 302}),
    "programme.cohort_settings": ("GET", "/cohorts/{cohort}/settings", TEAM_ONLY),
    "applications.decide": ("POST", "/team/applications/{application}/decision", TEAM_ONLY),
    "applications.record_on_behalf": ("POST", "/team/applications/{application}/sponsor-decision", TEAM_ONLY),
    "applications.selection": ("GET", "/team/cohorts/{cohort}/selection", TEAM_ONLY),
    "applications.release": ("GET", "/team/cohorts/{cohort}/selection/release", TEAM_ONLY),
    "applications.offer_next": ("POST", "/team/cohorts/{cohort}/selection/offer-next",
                                {**TEAM_ONLY, "team": 302}),
    "auth.settings": ("GET", "/settings", {"anonymous": LOGIN, **dict.fromkeys(ROLES[1:], 200)}),
    "auth.reminder_settings": ("POST", "/settings/reminders", {"anonymous": LOGIN, **dict.fromkeys(ROLES[1:], 302)}),
    "auth.calendar_link": ("POST", "/settings/calendar", {"anonymous": LOGIN, **dict.fromkeys(ROLES[1:], 400)}),
    # An empty form is refused on the settings page itself, with the messages.
    "auth.change_password": ("POST", "/settings/password", {"anonymous": LOGIN, **dict.fromkeys(ROLES[1:], 400)}),
    "programme.reschedule_module": ("GET", "/cohorts/{cohort}/modules/1/reschedule", TEAM_ONLY),
    "programme.reminder_rules_page": ("GET", "/cohorts/{cohort}/reminder-rules", TEAM_ONLY),
    "programme.edit_reminder_rule": ("GET", "/cohorts/{cohort}/reminder-rules/session_reminders", TEAM_ONLY),
    "programme.session_ics": ("GET", "/sessions/{session}.ics", {
        "anonymous": LOGIN, "applicant": 404, "participant": 200, "other_cohort": 404, "facilitator": 200,
        "team": 200}),
    "programme.calendar_feed": ("GET", "/calendar/not-a-token.ics", dict.fromkeys(ROLES, 404)),
    "programme.session_facilitators": ("GET", "/sessions/{session}/facilitators", TEAM_ONLY),
    "attendance.register": ("GET", "/sessions/{session}/register", STAFF_ONLY),
    "attendance.apologies": ("GET", "/sessions/{session}/apologies", {
        "anonymous": LOGIN, "applicant": 404, "participant": 200, "other_cohort": 404, "facilitator": 404,
        "team": 404}),
    "attendance.matrix": ("GET", "/cohorts/{cohort}/attendance", STAFF_ONLY),
    "attendance.export": ("GET", "/cohorts/{cohort}/attendance.xlsx", TEAM_ONLY),
    "attendance.import_register": ("GET", "/cohorts/{cohort}/attendance/import", TEAM_ONLY),
    "attendance.mine": ("GET", "/my-attendance", {
        "anonymous": LOGIN, "applicant": 404, "participant": 200, "other_cohort": 200, "facilitator": 404,
        "team": 404}),
    # Template 1 is the default (the HIN year), there from the migrations.
    "programme.templates": ("GET", "/templates", TEAM_ONLY),
    "programme.new_template": ("GET", "/templates/new", TEAM_ONLY),
    "programme.edit_template": ("GET", "/templates/1/edit", TEAM_ONLY),
    "programme.template_preview": ("GET", "/templates/1", TEAM_ONLY),
    # The default cannot be deleted: the team is told so (a flash) and sent back.
    "programme.delete_template": ("POST", "/templates/1/delete", {**TEAM_ONLY, "team": 302}),
    "programme.confirm_delete_session": ("GET", "/sessions/{session}/delete", TEAM_ONLY),
    # A session that has ended is not deleted: the team is told why and sent back.
    "programme.delete_session": ("POST", "/sessions/{ended_session}/delete", {**TEAM_ONLY, "team": 302}),
    "portal.module": ("GET", "/cohorts/{cohort}/modules/1", COHORT_MEMBERS),
    "portal.library": ("GET", "/cohorts/{cohort}/library", COHORT_MEMBERS),
    "portal.share": ("GET", "/cohorts/{cohort}/library/new", COHORT_MEMBERS),
    "portal.resource": ("GET", "/resources/{resource}", COHORT_MEMBERS),
    "portal.download": ("GET", "/resources/{resource}/download", {**COHORT_MEMBERS, "participant": 302,
                                                                   "facilitator": 302, "team": 302}),
    "portal.edit_resource": ("GET", "/resources/{resource}/edit", {**COHORT_MEMBERS, "facilitator": 403}),
    # The fixture's resource is a link: there is no file to replace, so its owner and the team find no page.
    "portal.replace_file": ("GET", "/resources/{resource}/replace", {**COHORT_MEMBERS, "participant": 404,
                                                                     "facilitator": 403, "team": 404}),
    "portal.mark_done": ("POST", "/resources/{resource}/done", {
        **COHORT_MEMBERS, "participant": 302, "facilitator": 302, "team": 302}),
    "portal.delete_resource": ("POST", "/resources/{resource}/delete", {**COHORT_MEMBERS, "participant": 302,
                                                                         "facilitator": 403, "team": 302}),
    "portal.discussion": ("GET", "/cohorts/{cohort}/discussion", COHORT_MEMBERS),
    "portal.new_thread": ("GET", "/cohorts/{cohort}/discussion/new", COHORT_MEMBERS),
    "portal.thread": ("GET", "/threads/{thread}", COHORT_MEMBERS),
    "portal.edit_post": ("GET", "/posts/{post}/edit", {**COHORT_MEMBERS, "facilitator": 403, "team": 403}),
    "portal.hide_post": ("GET", "/posts/{post}/hide", STAFF_ONLY),
    "portal.unhide_post": ("POST", "/posts/{post}/unhide", {**STAFF_ONLY, "facilitator": 302, "team": 302}),
    "portal.lock_thread": ("POST", "/threads/{thread}/lock", {**STAFF_ONLY, "facilitator": 302, "team": 302}),
    "portal.pin_thread": ("POST", "/threads/{thread}/pin", {**STAFF_ONLY, "facilitator": 302, "team": 302}),
    "portal.follow_thread": ("POST", "/threads/{thread}/following", {
        **COHORT_MEMBERS, "participant": 302, "facilitator": 302, "team": 302}),
    "portal.people": ("GET", "/cohorts/{cohort}/people", COHORT_MEMBERS),
    "portal.directory_settings": ("GET", "/settings/directory", {
        "anonymous": LOGIN, "applicant": 404, "participant": 200, "other_cohort": 200, "facilitator": 404,
        "team": 404}),
    "groups.overview": ("GET", "/cohorts/{cohort}/groups", {**COHORT_MEMBERS, "participant": 302}),
    "groups.allocate": ("POST", "/cohorts/{cohort}/groups/allocate", {**TEAM_ONLY, "team": 302}),
    "groups.move": ("POST", "/cohorts/{cohort}/groups/move", {**TEAM_ONLY, "team": 302}),
    "groups.group": ("GET", "/groups/{group}", COHORT_MEMBERS),
    "groups.swap": ("POST", "/groups/{group}/rota/{rota}/swap", {**COHORT_MEMBERS, "participant": 302,
                                                                 "facilitator": 302, "team": 302}),
    # No request exists in this fixture: it answers 404 to everyone signed in (the services test who may answer).
    "groups.answer_swap": ("POST", "/groups/{group}/swaps/{rota}", {**COHORT_MEMBERS, "participant": 404,
                                                                     "facilitator": 404, "team": 404}),
    "groups.runner": ("GET", "/groups/{group}/sessions/{group_session}", COHORT_MEMBERS),
    "groups.withdraw": ("GET", "/cohorts/{cohort}/participants/{enrolment}/withdraw", TEAM_ONLY),
    "celebration.overview": ("GET", "/cohorts/{cohort}/celebration", COHORT_MEMBERS),
    # An empty form is refused on the page itself, with the message.
    "celebration.invite": ("POST", "/cohorts/{cohort}/celebration/guests", COHORT_MEMBERS),
    # A participant's own answer: an empty form is refused on the page itself, with the message.
    "celebration.answer": ("POST", "/cohorts/{cohort}/celebration/my-answer", COHORT_MEMBERS),
    "celebration.stop": ("POST", "/guests/{guest}/stop", {**COHORT_MEMBERS, "participant": 302,
                                                          "facilitator": 302, "team": 302}),
    "celebration.propose_sponsors": ("POST", "/cohorts/{cohort}/celebration/sponsors", {**TEAM_ONLY, "team": 302}),
    "celebration.propose": ("POST", "/cohorts/{cohort}/celebration/showcases", COHORT_MEMBERS),
    "celebration.running_order": ("POST", "/cohorts/{cohort}/celebration/running-order", {**TEAM_ONLY, "team": 302}),
    "celebration.export": ("GET", "/cohorts/{cohort}/celebration/guests.csv", TEAM_ONLY),
    "celebration.rsvp": ("GET", "/rsvp/not-a-token", dict.fromkeys(ROLES, 404)),
    "celebration.clinic": ("GET", "/sessions/{clinic}/clinic", COHORT_MEMBERS),
    "evaluation.give": ("GET", "/sessions/{ended_session}/feedback", {**COHORT_MEMBERS, "facilitator": 302,
                                                                       "team": 302}),
    "evaluation.results": ("GET", "/cohorts/{cohort}/feedback", STAFF_ONLY),
    "evaluation.session_results": ("GET", "/sessions/{ended_session}/feedback/results", STAFF_ONLY),
    "evaluation.settings": ("GET", "/cohorts/{cohort}/feedback/settings", TEAM_ONLY),
    "evaluation.export": ("GET", "/cohorts/{cohort}/feedback.csv", TEAM_ONLY),
    "evaluation.tag": ("POST", "/feedback/{feedback}/tags", {**TEAM_ONLY, "team": 302}),
    "evaluation.import_feedback": ("GET", "/cohorts/{cohort}/feedback/import", TEAM_ONLY),
    "evaluation.close": ("POST", "/sessions/{ended_session}/feedback/close", {**TEAM_ONLY, "team": 302}),
    "evaluation.my_community": ("GET", "/cohorts/{cohort}/my-community", {**COHORT_MEMBERS, "facilitator": 302,
                                                                          "team": 302}),
    # An empty meeting form is refused on the page itself, with the messages.
    "evaluation.log_meeting": ("POST", "/cohorts/{cohort}/my-community/meetings", {
        **COHORT_MEMBERS, "participant": 400, "facilitator": 403, "team": 403}),
    # Only the participant removes their own meetings and evidence; to anyone else they are not there.
    "evaluation.delete_meeting": ("POST", "/meetings/{meeting}/delete", {**COHORT_MEMBERS, "participant": 302,
                                                                         "facilitator": 404, "team": 404}),
    "evaluation.cohort_communities": ("GET", "/cohorts/{cohort}/communities", STAFF_ONLY),
    "evaluation.export_communities": ("GET", "/cohorts/{cohort}/communities.xlsx", TEAM_ONLY),
    "evaluation.value_board": ("GET", "/cohorts/{cohort}/value", COHORT_MEMBERS),
    "evaluation.delete_evidence": ("POST", "/evidence/{evidence}/delete", {**COHORT_MEMBERS, "participant": 302,
                                                                           "facilitator": 404, "team": 302}),
    "evaluation.stories": ("GET", "/cohorts/{cohort}/stories", COHORT_MEMBERS),
    "evaluation.new_story": ("GET", "/cohorts/{cohort}/stories/new", {**COHORT_MEMBERS, "facilitator": 403,
                                                                      "team": 403}),
    # A story waiting for review: its author and the team; facilitators see only published stories.
    "evaluation.story": ("GET", "/stories/{story}", {**COHORT_MEMBERS, "facilitator": 404}),
    "evaluation.edit_story": ("GET", "/stories/{story}/edit", {**COHORT_MEMBERS, "facilitator": 404, "team": 403}),
    "evaluation.review_story": ("POST", "/stories/{story}/review", {**TEAM_ONLY, "team": 302}),
    "evaluation.withdraw_consent": ("POST", "/stories/{story}/consent", {**COHORT_MEMBERS, "participant": 302,
                                                                         "facilitator": 404, "team": 403}),
    "evaluation.report": ("GET", "/cohorts/{cohort}/report", TEAM_ONLY),
    "evaluation.report_pdf": ("GET", "/cohorts/{cohort}/report.pdf", TEAM_ONLY),
    "evaluation.narrative": ("POST", "/cohorts/{cohort}/report/narrative", {**TEAM_ONLY, "team": 302}),
    "public.privacy": ("GET", "/privacy", dict.fromkeys(ROLES, 200)),
    # Without a password step first there is nothing to enter a code for: back to sign in.
    "auth.two_step_code": ("GET", "/sign-in/code", dict.fromkeys(ROLES, 302)),
    "auth.two_step_settings": ("GET", "/settings/two-step", {"anonymous": LOGIN, **dict.fromkeys(ROLES[1:], 200)}),
    "auth.end_sessions": ("POST", "/settings/sessions", {"anonymous": LOGIN, **dict.fromkeys(ROLES[1:], 302)}),
    "auth.delete_account": ("POST", "/settings/delete-account", {"anonymous": LOGIN, **dict.fromkeys(ROLES[1:], 302)}),
    "admin.people": ("GET", "/team/people", TEAM_ONLY),
    "admin.person": ("GET", "/team/people/{person}", TEAM_ONLY),
    "admin.person_action": ("POST", "/team/people/{person}/sign-out", {**TEAM_ONLY, "team": 302}),
    "admin.person_export": ("POST", "/team/people/{person}/export", TEAM_ONLY),
    "admin.audit_log": ("GET", "/team/audit", TEAM_ONLY),
    "admin.reminders": ("GET", "/team/reminders", TEAM_ONLY),
    "admin.cancel_reminder": ("POST", "/team/reminders/{message}/cancel", {**TEAM_ONLY, "team": 302}),
    "admin.outbox_action": ("POST", "/team/outbox/{message}/cancel", {**TEAM_ONLY, "team": 302}),
    "admin.retry_all_failed": ("POST", "/team/outbox/retry-failed", {**TEAM_ONLY, "team": 302}),
    "admin.dashboard": ("GET", "/team/", {
        "anonymous": LOGIN, "applicant": 403, "participant": 403, "other_cohort": 403,
        "facilitator": 200, "team": 200}),
    "admin.outbox": ("GET", "/team/outbox", {
        "anonymous": LOGIN, "applicant": 403, "participant": 403, "other_cohort": 403,
        "facilitator": 403, "team": 200}),
    "admin.outbox_message": ("GET", "/team/outbox/{message}", {
        "anonymous": LOGIN, "applicant": 403, "participant": 403, "other_cohort": 403,
        "facilitator": 403, "team": 200}),
    # Communities (destructive rows last: each role gets a fresh world, but rows run in this order).
    "communities.mine": ("GET", "/communities", {"anonymous": LOGIN,
                                                 **dict.fromkeys(ROLES[1:] + COMMUNITY_ROLES, 200)}),
    "communities.new": ("GET", "/communities/new", {**TEAM_ONLY, **dict.fromkeys(COMMUNITY_ROLES, 403)}),
    "communities.community": ("GET", "/communities/{community}", COMMUNITY_VIEWERS),
    "communities.edit": ("GET", "/communities/{community}/edit", COMMUNITY_MANAGERS),
    "communities.new_meeting": ("GET", "/communities/{community}/meetings/new", COMMUNITY_MANAGERS),
    "communities.meeting": ("GET", "/communities/{community}/meetings/{community_meeting}", COMMUNITY_VIEWERS),
    "communities.meeting_ics": ("GET", "/communities/{community}/meetings/{community_meeting}.ics", COMMUNITY_VIEWERS),
    "communities.edit_meeting": ("GET", "/communities/{community}/meetings/{community_meeting}/edit", COMMUNITY_MANAGERS),
    "communities.register": ("GET", "/communities/{community}/meetings/{community_meeting}/register", COMMUNITY_MANAGERS),
    "communities.feedback_questions": ("GET", "/communities/{community}/feedback/questions", COMMUNITY_MANAGERS),
    # The meeting is still to come: its people see "once the meeting has ended", nobody else anything.
    "communities.give_feedback": ("GET", "/communities/{community}/meetings/{community_meeting}/feedback",
                                  COMMUNITY_VIEWERS),
    "communities.feedback_results": ("GET", "/communities/{community}/meetings/{community_meeting}/feedback/results",
                                     COMMUNITY_MANAGERS),
    "communities.paper_feedback": ("GET", "/communities/{community}/meetings/{community_meeting}/feedback/paper",
                                   COMMUNITY_MANAGERS),
    "communities.close_feedback": ("POST", "/communities/{community}/meetings/{community_meeting}/feedback/close", {
        **COMMUNITY_MANAGERS, "participant": 302, "team": 302, "convener": 302, "programme_team": 302}),
    # Anyone may open an invitation link; one that is not real is refused to everyone.
    "communities.join": ("GET", "/join/not-a-token", dict.fromkeys(ROLES + COMMUNITY_ROLES, 400)),
    # An empty invitation is refused on the community page itself, with the message.
    "communities.invite": ("POST", "/communities/{community}/invitations", {
        **COMMUNITY_MANAGERS, "participant": 400, "team": 400, "convener": 400, "programme_team": 400}),
    # Invitation 999 does not exist: managers are told so on the community page (a flash), others as above.
    "communities.withdraw_invitation": ("POST", "/communities/{community}/invitations/999/withdraw", {
        **COMMUNITY_MANAGERS, "participant": 302, "team": 302, "convener": 302, "programme_team": 302}),
    "communities.remove_member": ("POST", "/communities/{community}/members/{membership}/remove", {
        **COMMUNITY_MANAGERS, "participant": 302, "team": 302, "convener": 302, "programme_team": 302}),
    "communities.value_page": ("GET", "/communities/{community}/value", COMMUNITY_MANAGERS),
    "communities.new_story": ("GET", "/communities/{community}/value/stories/new", COMMUNITY_MANAGERS),
    "communities.edit_story": ("GET", "/communities/{community}/value/stories/{community_story}/edit",
                               COMMUNITY_MANAGERS),
    # Empty evidence is refused on the value page itself, with the message.
    "communities.add_evidence": ("POST", "/communities/{community}/value/evidence", {
        **COMMUNITY_MANAGERS, "participant": 400, "team": 400, "convener": 400, "programme_team": 400}),
    "communities.delete_evidence": ("POST", "/communities/{community}/value/evidence/{community_evidence}/delete", {
        **COMMUNITY_MANAGERS, "participant": 302, "team": 302, "convener": 302, "programme_team": 302}),
    "communities.delete_meeting": ("POST", "/communities/{community}/meetings/{community_meeting}/delete", {
        **COMMUNITY_MANAGERS, "participant": 302, "team": 302, "convener": 302, "programme_team": 302}),
    # Programmes of work.
    "programmes_of_work.index": ("GET", "/programmes-of-work", {"anonymous": LOGIN,
                                                                **dict.fromkeys(ROLES[1:] + COMMUNITY_ROLES, 200)}),
    "programmes_of_work.new": ("GET", "/programmes-of-work/new", PROGRAMME_TEAM_ONLY),
    "programmes_of_work.programme": ("GET", "/programmes-of-work/{programme}", PROGRAMME_VIEWERS),
    "programmes_of_work.edit": ("GET", "/programmes-of-work/{programme}/edit", PROGRAMME_TEAM_ONLY),
    "programmes_of_work.new_community": ("GET", "/programmes-of-work/{programme}/communities/new", PROGRAMME_VIEWERS),
    "programmes_of_work.report": ("GET", "/programmes-of-work/{programme}/report", PROGRAMME_VIEWERS),
    "programmes_of_work.report_pdf": ("GET", "/programmes-of-work/{programme}/report.pdf", PROGRAMME_VIEWERS),
    "programmes_of_work.next_steps": ("POST", "/programmes-of-work/{programme}/report/next-steps", {
        **PROGRAMME_VIEWERS, "team": 302, "programme_team": 302}),
    # An empty address or no community chosen is refused on the programme's page, with the message.
    "programmes_of_work.add_team_member": ("POST", "/programmes-of-work/{programme}/team", {
        **PROGRAMME_TEAM_ONLY, "team": 400}),
    "programmes_of_work.add_community": ("POST", "/programmes-of-work/{programme}/communities", {
        **PROGRAMME_TEAM_ONLY, "team": 400}),
    "programmes_of_work.remove_team_member": ("POST", "/programmes-of-work/{programme}/team/{team_member}/remove", {
        **PROGRAMME_TEAM_ONLY, "team": 302}),
    "programmes_of_work.remove_community": ("POST",
                                           "/programmes-of-work/{programme}/communities/{community}/remove", {
                                               **PROGRAMME_TEAM_ONLY, "team": 302}),
}


def test_every_route_has_an_expected_answer_and_an_access_rule(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules() if rule.endpoint != "static"}
    assert endpoints - EXPECTED.keys() == set(), "routes without a row in EXPECTED"
    assert EXPECTED.keys() - endpoints == set(), "rows in EXPECTED for routes that no longer exist"
    for endpoint in endpoints:
        assert hasattr(app.view_functions[endpoint], "access_rule"), f"{endpoint} has no access rule"


def test_every_method_of_every_route_is_in_the_table(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        method = EXPECTED[rule.endpoint][0]
        assert method in rule.methods, f"{rule.endpoint} does not answer {method}"


@pytest.fixture
def world(app, frozen_now):
    now = clock.now()
    cohort = make_cohort(name="Own cohort", applications_open_at=now - timedelta(days=1),
                         application_deadline_at=now + timedelta(days=30))
    other = make_cohort(name="Other cohort")
    people = {
        "applicant": make_user(name="Applicant"),
        "participant": make_participant(cohort, name="Participant"),
        "other_cohort": make_participant(other, name="Other participant"),
        "facilitator": make_facilitator(),
        "team": make_team(),
    }
    application = start_application(applicant=people["applicant"], cohort=cohort, now=now)
    resource = share_resource(actor=people["participant"], cohort=cohort, upload=None, now=now,
                              details=ResourceDetails(title="Private resource title", url="https://example.org/r"))
    thread = start_thread(actor=people["participant"], cohort=cohort, title="Private thread title",
                          body="Private post body", module_number=None, now=now)
    make_participant(cohort, name="Group partner")
    [group] = allocate_groups(actor=people["team"], cohort=cohort, size=5, seed=1, now=now)
    rota = group.rota[0]
    guest = invite_guest(actor=people["participant"], cohort=cohort, name="Private Guest",
                         email="private.guest@example.org", relationship="colleague", now=now)
    clinic = next(s for s in cohort.sessions if s.kind == "drop_in")
    application.cop_title = "Private community title"
    organisation = Organisation(name="Private organisation", kind="charity")  # added by an applicant, not accepted
    db.session.add(organisation)
    db.session.flush()
    session = cohort.sessions[-1]
    cancelled = cohort.sessions[-2]
    services.cancel_session(actor=people["team"], session=cancelled)
    queue_email(key="access-test", recipient="someone@example.org", subject="Private subject",
                body_text="Private body", due_at=clock.now())
    from app.notifications.models import OutboxMessage

    message = db.session.query(OutboxMessage).filter_by(key="access-test").one()
    ended = [s for s in cohort.sessions if s.ends_at < now][-1]
    partner = next(e.user for e in cohort.enrolments if e.user.name == "Group partner")
    feedback.give_feedback(actor=partner, session=ended, now=now, answers=feedback.Answers(
        worthwhile=5, recommend_yes=True, what_worked="Private feedback text"))
    feedback_key = db.session.scalar(select(FeedbackResponse.key))
    own_community = communities.save_community(actor=people["participant"], cohort=cohort, now=now,
                                               details=communities.CommunityDetails(title="Private community name"))
    people["convener"], people["member"], people["outsider"] = (
        make_user(name="Co-convener"), make_user(name="Member"), make_user(name="Other community's member"))
    add_membership(own_community, people["convener"], "convener", now=now)
    membership = add_membership(own_community, people["member"], "member", now=now)
    elsewhere = start_community(actor=people["team"], now=now, details=CommunityDetails(name="Another community"))
    add_membership(elsewhere, people["outsider"], "member", now=now)
    # The participant's community is in a programme of work; someone (not staff) is on its team.
    programme = programmes.create_programme(actor=people["team"], now=now, details=programmes.ProgrammeDetails(
        name="Private programme name"))
    programmes.add_community(actor=people["team"], programme=programme, community_id=own_community.id, now=now)
    people["programme_team"] = make_user(name="Programme of work lead")
    team_member = programmes.add_team_member(actor=people["team"], programme=programme,
                                             email=people["programme_team"].email, now=now)
    community_evidence = value.add_evidence(actor=people["participant"], community=own_community, kind="quote",
                                            text="Private community evidence", cycles=["applied"], now=now)
    community_story = value.save_story(actor=people["participant"], community=own_community, story=None, now=now,
                                       draft=value.StoryDraft(interviewee_name="Someone", questions=["Q?"],
                                                              answers=["Private story answer"]))
    planned = add_meeting(actor=people["participant"], community=own_community, now=now, details=MeetingDetails(
        meets_on=(now + timedelta(days=20)).date(), starts=time(14, 0), format="online", agenda="Private agenda"))
    meeting = communities.log_meeting(actor=people["participant"], cohort=cohort, today=ended.ends_at.date(), now=now,
                                      details=communities.MeetingDetails(held_on=ended.ends_at.date(), attendance=9))
    evidence = impact.add_evidence(actor=people["participant"], cohort=cohort, kind="reflection",
                                   text="Private evidence text", cycles=["applied"], consent=False)
    story = impact.save_story(actor=people["participant"], cohort=cohort, story=None, submit=True, now=now,
                              draft=impact.StoryDraft(title="Private story title", once_upon_a_time="a",
                                                      every_day="b", one_day="c", because_of_that=["d"],
                                                      until_finally="e", consent_to_publish=True))
    db.session.commit()
    ids = {"cohort": cohort.id, "session": session.id, "cancelled_session": cancelled.id, "message": message.id,
           "application": application.id, "resource": resource.id, "thread": thread.id,
           "post": thread.posts[0].id, "group": group.id, "rota": rota.id, "group_session": rota.session_id,
           "enrolment": group.memberships[0].enrolment_id, "guest": guest.id, "clinic": clinic.id,
           "ended_session": ended.id, "feedback": feedback_key, "meeting": meeting.id, "evidence": evidence.id,
           "story": story.id, "person": people["applicant"].id, "organisation": organisation.id,
           "community": own_community.id, "membership": membership.id, "community_meeting": planned.id,
           "programme": programme.id, "team_member": team_member.id, "community_evidence": community_evidence.id,
           "community_story": community_story.id}
    return people, ids, {"session": session.title, "message": "Private subject",
                         "application": "Private community title", "resource": "Private resource title",
                         "thread": "Private thread title", "post": "Private post body", "guest": "Private Guest",
                         "feedback": "Private feedback text", "community": "Private community name",
                         "evidence": "Private evidence text", "story": "Private story title",
                         "agenda": "Private agenda", "programme": "Private programme name",
                         "community_evidence": "Private community evidence", "community_story": "Private story answer"}


# The audit log records refusals and exports, which GET requests may cause; nothing else may change.
LOGGED = {"audit_events"}


def row_counts() -> dict[str, int]:
    """Every table's row count, in one query."""
    tables = [t for t in db.metadata.sorted_tables if t.name not in LOGGED]
    query = " UNION ALL ".join(f"SELECT '{t.name}', COUNT(*) FROM {t.name}" for t in tables)
    counts = dict(db.session.execute(text(query)).all())
    db.session.rollback()
    return counts


def check_headers(response, *, signed_in: bool, where: str) -> None:
    csp = response.headers.get("Content-Security-Policy", "")
    assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp and "default-src 'self'" in csp, where
    assert response.headers.get("X-Content-Type-Options") == "nosniff", where
    assert response.headers.get("Referrer-Policy") in ("same-origin", "no-referrer"), where
    if signed_in and response.status_code == 200:
        assert "no-store" in response.headers.get("Cache-Control", ""), where


def _token(client) -> str:
    page = client.get("/password/forgot").get_data(as_text=True)
    return re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)


@pytest.mark.parametrize("role", ROLES + COMMUNITY_ROLES)
def test_access_matrix(app, world, role, login_as):
    people, ids, secrets = world
    for method, path, expected_by_role in EXPECTED.values():
        if role not in expected_by_role:
            continue  # community people are checked on the rows that name them
        client = app.test_client()
        if role != "anonymous":
            sign_in_client(client, people[role])
        url = path.format(**ids)
        if method == "GET":
            before = row_counts()
            response = client.get(url)
            assert row_counts() == before, f"{role} GET {url} wrote to the database"
        else:
            response = client.post(url, data={"csrf_token": _token(client)})
        check_headers(response, signed_in=role != "anonymous", where=f"{role} {method} {url}")
        expected = expected_by_role[role]
        if expected == LOGIN:
            assert response.status_code == 302, f"{role} {method} {url}: {response.status_code}"
            assert response.headers["Location"].startswith("/sign-in"), f"{role} {url}"
        else:
            assert response.status_code == expected, f"{role} {method} {url}: {response.status_code}, wanted {expected}"
        if response.status_code in (403, 404):
            body = response.get_data(as_text=True)
            for secret in secrets.values():
                assert secret not in body, f"{role} {url} leaked {secret!r} in a denial"
        db.session.rollback()
