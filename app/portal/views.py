"""Module pages, the library, resources and downloads, discussion, the people directory."""

from __future__ import annotations

from datetime import time
from pathlib import Path

from flask import Blueprint, abort, current_app, redirect, render_template, request, send_file, url_for
from flask_login import current_user
from wtforms.fields.choices import SelectChoice

from app import clock
from app.content import render_markdown
from app.db import db
from app.form_errors import attach_domain_error
from app.permissions import signed_in, staff_required
from app.portal import discussion, progress, services
from app.portal.forms import (
    DirectoryForm,
    FollowForm,
    HideForm,
    PostForm,
    ReplaceFileForm,
    ResourceForm,
    SwitchForm,
    ThreadForm,
)
from app.portal.models import KIND_LABELS, Post, Resource, ResourceKind, Thread
from app.portal.uploads import CheckedUpload, UploadRejected, check_upload, path_for
from app.programme.access import active_enrolment, is_participant_of, viewable_cohort_or_404
from app.programme.models import Cohort
from app.programme.services import cohort_module, cohort_sessions
from app.unit_of_work import unit_of_work

bp = Blueprint("portal", __name__, template_folder="templates")


@bp.app_template_filter("markdown")
def _markdown(text: str):
    return render_markdown(text)


@bp.get("/cohorts/<int:cohort_id>/modules/<int:number>")
@signed_in
def module(cohort_id: int, number: int):
    cohort = viewable_cohort_or_404(cohort_id)
    content = current_app.extensions["convene_content"]
    if number not in content.modules or cohort_module(cohort, number) is None:  # not in this cohort's year
        abort(404)
    now = clock.now()
    sessions = services.module_sessions(cohort, number)
    resources, total = services.module_resources(current_user, cohort, number, now)
    checklist = is_participant_of(current_user, cohort.id)
    return render_template("portal/module.html", cohort=cohort, page=content.module(number), sessions=sessions,
                           resources=resources, total=total, now=now, checklist=checklist,
                           done=progress.done_ids(current_user, (r.id for r in resources)) if checklist else set(),
                           progress=progress.module_progress(current_user, cohort, now).get(number)
                           if checklist else None, switch=SwitchForm(formdata=None))


@bp.get("/cohorts/<int:cohort_id>/library")
@signed_in
def library(cohort_id: int):
    cohort = viewable_cohort_or_404(cohort_id)
    now = clock.now()
    module = request.args.get("module", type=int)
    kind = request.args.get("kind") if request.args.get("kind") in {k.value for k in ResourceKind} else None
    filters = services.LibraryFilters(q=(request.args.get("q") or "").strip()[:100],
                                      module=module if module in range(1, 6) else None, kind=kind)
    page = request.args.get("page", 1, type=int)
    rows, total = services.library_page(current_user, cohort, filters, max(page, 1), now)
    pages = services.page_count(total)
    if page < 1 or page > pages:
        abort(404)
    args = {k: v for k, v in request.args.items() if k != "page" and v}
    return render_template("portal/library.html", cohort=cohort, rows=rows, total=total, page=page, pages=pages,
                           filters=filters, kinds=KIND_LABELS, args=args, now=now)


def _resource(resource_id: int) -> Resource:
    resource = db.get_or_404(Resource, resource_id)
    if not services.can_see_resource(current_user, resource, clock.now()):
        abort(404)
    return resource


def _resource_form(cohort: Cohort, resource: Resource | None = None) -> ResourceForm:
    if request.method == "POST" or resource is None:
        form = ResourceForm()
    else:
        form = ResourceForm(data={
            "title": resource.title, "description": resource.description, "kind": resource.kind,
            "module_number": str(resource.module_number or ""), "tags": resource.tags, "url": resource.url,
            "session_id": str(resource.session_id or ""), "all_cohorts": resource.cohort_id is None,
            "release_on": clock.to_local(resource.release_at, cohort.timezone).date() if resource.release_at else None})
    form.session_id.choices = [SelectChoice("", "Not about one session")] + [
        SelectChoice(str(s.id), s.title) for s in cohort_sessions(cohort.id)]
    return form


def _details(form: ResourceForm, cohort: Cohort) -> services.ResourceDetails:
    release = (clock.local_instant(form.release_on.data, time(0, 0), cohort.timezone)
               if form.release_on.data else None)
    return services.ResourceDetails(
        title=form.title.data or "", description=form.description.data or "", tags=form.tags.data or "",
        kind=form.kind.data or "", url=form.url.data or "",
        module_number=int(form.module_number.data) if form.module_number.data else None,
        session_id=int(form.session_id.data) if form.session_id.data else None, release_at=release,
        all_cohorts=bool(form.all_cohorts.data))


@bp.route("/cohorts/<int:cohort_id>/library/new", methods=["GET", "POST"])
@signed_in
def share(cohort_id: int):
    cohort = viewable_cohort_or_404(cohort_id)
    form = _resource_form(cohort)
    if not form.is_submitted() and request.args.get("module", type=int) in range(1, 6):
        form.module_number.data = str(request.args.get("module", type=int))
    if form.validate_on_submit():
        with unit_of_work(flash_error=False) as work:
            upload = _checked_upload(form.file.data)
            resource = services.share_resource(actor=current_user, cohort=cohort, details=_details(form, cohort),
                                               upload=upload, now=clock.now())
            work.success = f"{resource.title} is in the library."
        if not work.failed:
            return redirect(url_for("portal.resource", resource_id=resource.id))
        attach_domain_error(form, work.error)
    return render_template("portal/resource_form.html", form=form, cohort=cohort, resource=None,
                           form_errors=bool(form.errors or form.form_errors))


def _checked_upload(file) -> CheckedUpload | None:
    """The chosen file, read (up to one byte past the limit) and checked; None when no file was chosen."""
    if not (file and file.filename):
        return None
    data = file.read(current_app.config["MAX_UPLOAD_BYTES"] + 1)
    return check_upload(file.filename, data, current_app.config["MAX_UPLOAD_BYTES"])


@bp.get("/resources/<int:resource_id>")
@signed_in
def resource(resource_id: int):
    item = _resource(resource_id)
    cohort = db.session.get(Cohort, item.cohort_id) if item.cohort_id else None
    cohort = cohort or _home_cohort()
    checklist = cohort is not None and is_participant_of(current_user, cohort.id)
    return render_template("portal/resource.html", resource=item, cohort=cohort, now=clock.now(),
                           can_change=services.can_change_resource(current_user, item), checklist=checklist,
                           is_done=checklist and item.id in progress.done_ids(current_user, [item.id]),
                           switch=SwitchForm(formdata=None))


@bp.post("/resources/<int:resource_id>/done")
@signed_in
def mark_done(resource_id: int):
    item = _resource(resource_id)
    cohort = db.session.get(Cohort, item.cohort_id) if item.cohort_id else _home_cohort()
    if cohort is None:
        abort(404)
    form = SwitchForm()
    back = request.args.get("back") == "module" and item.module_number
    if form.validate_on_submit():
        message = (f"{item.title} is marked done." if form.turned_on else f"{item.title} is no longer marked done.")
        with unit_of_work(message):
            progress.set_done(actor=current_user, resource=item, cohort=cohort, done=form.turned_on, now=clock.now())
    if back:
        return redirect(url_for("portal.module", cohort_id=cohort.id, number=item.module_number,
                                _anchor=f"resource-{item.id}"))
    return redirect(url_for("portal.resource", resource_id=item.id))


def _home_cohort() -> Cohort | None:
    enrolment = active_enrolment(current_user)
    return enrolment.cohort if enrolment else None


@bp.get("/resources/<int:resource_id>/download")
@signed_in
def download(resource_id: int):
    item = _resource(resource_id)
    if not item.is_file:
        return redirect(item.url)
    try:
        path = path_for(Path(current_app.config["UPLOAD_DIR"]), item.stored_name)
    except ValueError:
        abort(404)
    if not path.exists():
        abort(404)
    response = send_file(path, mimetype=item.mimetype or "application/octet-stream", as_attachment=True,
                         download_name=item.original_name or "download", max_age=0)
    # Never rendered by the browser: a download, no scripts, no sniffing.
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/resources/<int:resource_id>/edit", methods=["GET", "POST"])
@signed_in
def edit_resource(resource_id: int):
    item = _resource(resource_id)
    if not services.can_change_resource(current_user, item):
        abort(403)
    cohort = db.session.get(Cohort, item.cohort_id) if item.cohort_id else _home_cohort()
    if cohort is None:
        abort(404)
    form = _resource_form(cohort, item)
    if form.validate_on_submit():
        with unit_of_work("Changes saved.", flash_error=False) as work:
            services.update_resource(actor=current_user, resource=item, cohort=cohort, details=_details(form, cohort))
        if not work.failed:
            return redirect(url_for("portal.resource", resource_id=item.id))
        attach_domain_error(form, work.error)
    return render_template("portal/resource_form.html", form=form, cohort=cohort, resource=item,
                           form_errors=bool(form.errors or form.form_errors))


@bp.route("/resources/<int:resource_id>/replace", methods=["GET", "POST"])
@signed_in
def replace_file(resource_id: int):
    item = _resource(resource_id)
    if not services.can_change_resource(current_user, item):
        abort(403)
    if not item.is_file:
        abort(404)
    cohort = db.session.get(Cohort, item.cohort_id) if item.cohort_id else _home_cohort()
    form = ReplaceFileForm()
    if form.validate_on_submit():
        old_stored_name = None
        with unit_of_work(flash_error=False) as work:
            upload = _checked_upload(form.file.data)
            if upload is None:
                raise UploadRejected("Choose the new file.")
            old_stored_name = services.replace_resource_file(actor=current_user, resource=item, upload=upload,
                                                             now=clock.now())
            work.success = f"The file of {item.title} is replaced."
        if not work.failed:
            services.remove_stored_file(old_stored_name)  # only now: a rolled-back change still has its file
            return redirect(url_for("portal.resource", resource_id=item.id))
        attach_domain_error(form, work.error)
    return render_template("portal/replace_form.html", form=form, resource=item, cohort=cohort,
                           form_errors=bool(form.errors or form.form_errors))


@bp.post("/resources/<int:resource_id>/delete")
@signed_in
def delete_resource(resource_id: int):
    item = _resource(resource_id)
    if not services.can_change_resource(current_user, item):
        abort(403)
    home = _home_cohort()
    cohort_id = item.cohort_id or (home.id if home else None)
    with unit_of_work("The resource has been deleted.") as work:
        stored_name = services.delete_resource(actor=current_user, resource=item)
    if not work.failed:
        services.remove_stored_file(stored_name)  # only now: a rolled-back delete still has its file
    return redirect(url_for("portal.library", cohort_id=cohort_id) if cohort_id else url_for("programme.home"))


# -- discussion ------------------------------------------------------------------------------

@bp.get("/cohorts/<int:cohort_id>/discussion", endpoint="discussion")
@signed_in
def discussion_list(cohort_id: int):
    cohort = viewable_cohort_or_404(cohort_id)
    return render_template("portal/discussion.html", cohort=cohort, threads=discussion.threads_of(cohort))


@bp.route("/cohorts/<int:cohort_id>/discussion/new", methods=["GET", "POST"])
@signed_in
def new_thread(cohort_id: int):
    cohort = viewable_cohort_or_404(cohort_id)
    form = ThreadForm()
    if form.validate_on_submit():
        with unit_of_work(flash_error=False) as work:
            thread = discussion.start_thread(
                actor=current_user, cohort=cohort, title=form.title.data, body=form.body.data, now=clock.now(),
                module_number=int(form.module_number.data) if form.module_number.data else None)
        if not work.failed:
            return redirect(url_for("portal.thread", thread_id=thread.id))
        attach_domain_error(form, work.error)
    return render_template("portal/thread_form.html", form=form, cohort=cohort,
                           form_errors=bool(form.errors or form.form_errors))


def _thread(thread_id: int) -> Thread:
    thread = db.get_or_404(Thread, thread_id)
    viewable_cohort_or_404(thread.cohort_id)
    return thread


@bp.route("/threads/<int:thread_id>", methods=["GET", "POST"])
@signed_in
def thread(thread_id: int):
    item = _thread(thread_id)
    form = PostForm()
    if form.validate_on_submit():
        with unit_of_work(flash_error=False) as work:
            post = discussion.add_post(actor=current_user, thread=item, body=form.body.data, now=clock.now())
        if not work.failed:
            return redirect(url_for("portal.thread", thread_id=item.id, _anchor=f"post-{post.id}"))
        attach_domain_error(form, work.error)
    follow_form = FollowForm(formdata=None, state=discussion.subscription_of(current_user, item) or "")
    return render_template("portal/thread.html", thread=item, cohort=db.session.get(Cohort, item.cohort_id),
                           form=form, now=clock.now(), post_edit_refusal=discussion.post_edit_refusal,
                           follow_form=follow_form, switch=SwitchForm(formdata=None),
                           hearing=discussion.is_hearing(current_user, item),
                           form_errors=bool(form.errors or form.form_errors))


@bp.post("/threads/<int:thread_id>/following")
@signed_in
def follow_thread(thread_id: int):
    item = _thread(thread_id)
    form = FollowForm()
    if form.validate_on_submit():
        state = form.state.data or None
        message = {"following": "You are following this discussion: you will be emailed about new posts.",
                   "muted": "This discussion is muted: you will not be emailed about it."}.get(
            state or "", "You will be emailed about new posts once you have posted here.")
        with unit_of_work(message):
            discussion.choose_subscription(actor=current_user, thread=item, state=state, now=clock.now())
    return redirect(url_for("portal.thread", thread_id=item.id, _anchor="following"))


@bp.post("/threads/<int:thread_id>/lock")
@staff_required
def lock_thread(thread_id: int):
    item = _thread(thread_id)
    form = SwitchForm()
    if form.validate_on_submit():
        message = ("The discussion is locked: it takes no new posts." if form.turned_on
                   else "The discussion is open for posts again.")
        with unit_of_work(message):
            discussion.set_locked(actor=current_user, thread=item, locked=form.turned_on, now=clock.now())
    return redirect(url_for("portal.thread", thread_id=item.id))


@bp.post("/threads/<int:thread_id>/pin")
@staff_required
def pin_thread(thread_id: int):
    item = _thread(thread_id)
    form = SwitchForm()
    if form.validate_on_submit():
        message = ("The discussion is pinned to the top of the list." if form.turned_on
                   else "The discussion is no longer pinned.")
        with unit_of_work(message):
            discussion.set_pinned(actor=current_user, thread=item, pinned=form.turned_on, now=clock.now())
    return redirect(url_for("portal.thread", thread_id=item.id))


@bp.route("/posts/<int:post_id>/edit", methods=["GET", "POST"])
@signed_in
def edit_post(post_id: int):
    post = db.get_or_404(Post, post_id)
    _thread(post.thread_id)
    if post.author_id != current_user.id:
        abort(403)
    refusal = discussion.post_edit_refusal(current_user, post, clock.now())
    if refusal:  # said before anything is typed, by the rule the service applies
        return render_template("portal/post_form.html", form=None, post=post, refusal=refusal)
    form = PostForm()
    if not form.is_submitted():
        form.body.data = post.body
    elif form.validate():
        with unit_of_work(flash_error=False) as work:
            discussion.edit_post(actor=current_user, post=post, body=form.body.data, now=clock.now())
        if not work.failed:
            return redirect(url_for("portal.thread", thread_id=post.thread_id, _anchor=f"post-{post.id}"))
        attach_domain_error(form, work.error)
    return render_template("portal/post_form.html", form=form, post=post, refusal=None,
                           form_errors=bool(form.errors or form.form_errors))


@bp.route("/posts/<int:post_id>/hide", methods=["GET", "POST"])
@staff_required
def hide_post(post_id: int):
    post = db.get_or_404(Post, post_id)
    _thread(post.thread_id)
    form = HideForm()
    if form.validate_on_submit():
        with unit_of_work("The post is hidden from participants. The audit log records who hid it and why.",
                          flash_error=False) as work:
            discussion.hide_post(actor=current_user, post=post, reason=form.reason.data, now=clock.now())
        if not work.failed:
            return redirect(url_for("portal.thread", thread_id=post.thread_id, _anchor=f"post-{post.id}"))
        attach_domain_error(form, work.error)
    return render_template("portal/hide_form.html", form=form, post=post,
                           form_errors=bool(form.errors or form.form_errors))


@bp.post("/posts/<int:post_id>/unhide")
@staff_required
def unhide_post(post_id: int):
    post = db.get_or_404(Post, post_id)
    _thread(post.thread_id)
    if SwitchForm().validate_on_submit():
        with unit_of_work("The post is shown to participants again."):
            discussion.unhide_post(actor=current_user, post=post, now=clock.now())
    return redirect(url_for("portal.thread", thread_id=post.thread_id, _anchor=f"post-{post.id}"))


# -- people ----------------------------------------------------------------------------------

@bp.get("/cohorts/<int:cohort_id>/people")
@signed_in
def people(cohort_id: int):
    cohort = viewable_cohort_or_404(cohort_id)
    return render_template("portal/people.html", cohort=cohort, directory=services.directory(cohort))


@bp.route("/settings/directory", methods=["GET", "POST"])
@signed_in
def directory_settings():
    enrolment = active_enrolment(current_user)
    if enrolment is None:
        abort(404)
    form = DirectoryForm(obj=services.directory_choices(enrolment)) if request.method == "GET" else DirectoryForm()
    if form.validate_on_submit():
        with unit_of_work("Your directory choices are saved."):
            services.save_directory_choices(
                enrolment=enrolment, is_listed=form.is_listed.data, show_role=form.show_role.data,
                show_organisation=form.show_organisation.data, show_cop=form.show_cop.data,
                show_email=form.show_email.data)
        return redirect(url_for("portal.people", cohort_id=enrolment.cohort_id))
    return render_template("portal/directory_form.html", form=form, cohort=enrolment.cohort)
