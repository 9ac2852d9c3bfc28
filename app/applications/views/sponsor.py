"""The line manager's page. No account: the token in the emailed link is the permission."""

from __future__ import annotations

from flask import Response, redirect, render_template, url_for
from flask_login import current_user

from app import clock
from app.applications import services
from app.applications.forms import (
    SponsorDecisionForm,
)
from app.applications.views import bp
from app.errors import InvalidToken
from app.form_errors import attach_domain_error
from app.permissions import public
from app.unit_of_work import unit_of_work


@bp.route("/sponsor/<token>", methods=["GET", "POST"])
@public
def sponsor(token: str):
    now = clock.now()
    try:
        link = services.open_sponsor_link(token=token, now=now)
    except InvalidToken as error:
        return render_template("applications/sponsor_invalid.html", message=error.message), 404
    if current_user.is_authenticated and current_user.is_staff:
        # The link is the line manager's alone: the team records an answer on their behalf from the
        # application, with a reason, in the audit log, never by following the emailed link.
        return render_template("applications/sponsor_staff.html", application=link.approval.application), 403
    form = SponsorDecisionForm()
    if link.state == "pending" and form.validate_on_submit():
        with unit_of_work(flash_error=False) as work:
            services.record_sponsor_decision(token=token, approve=form.decision.data == "approve",
                                             confirms_release=bool(form.confirms_release.data),
                                             comment=form.comment.data or "", now=now)
        if not work.failed:
            return redirect(url_for("applications.sponsor", token=token))
        if not isinstance(work.error, InvalidToken):  # a link that died meanwhile shows its state below
            attach_domain_error(form, work.error)
            if work.error.status_code == 409:
                return redirect(url_for("applications.sponsor", token=token))
        link = services.open_sponsor_link(token=token, now=now)
    response = render_template("applications/sponsor.html", link=link, approval=link.approval,
                               application=link.approval.application, form=form, now=now,
                               form_errors=bool(form.errors or form.form_errors))
    return Response(response, headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})
