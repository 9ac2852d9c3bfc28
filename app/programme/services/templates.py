"""Programme templates: the shapes of year the team can create cohorts from, and previews of them.

The HIN year is the default template (`default_template` makes it when a database has none). A template
changed later changes only cohorts created after; each cohort remembers the template it came from.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, time

from sqlalchemy import func, select

from app import audit
from app.auth.models import User
from app.db import db
from app.errors import Conflict, FieldErrors, PermissionDenied
from app.programme.models import Cohort, ProgrammeTemplate
from app.programme.template import (
    HIN_YEAR,
    MAX_DAYS_PER_MODULE,
    MAX_MODULES,
    PlannedSession,
    YearShape,
    plan_year,
)

DEFAULT_NAME = "HIN year: welcome, five two-day modules, clinics, co-consulting and a celebration"
DEFAULT_DESCRIPTION = (
    "The Communities of Practice Leadership Programme as first run: a welcome half-day, five modules of two "
    "half-days about nine weeks apart, a drop-in clinic between each pair of modules, a co-consulting session three "
    "weeks after each module and a celebration twelve weeks after the last.")


@dataclass
class TemplateDetails:
    """What the team types for a template (times as UK wall-clock times, gaps in weeks)."""

    name: str
    description: str = ""
    has_welcome: bool = True
    welcome_starts: time | None = time(9, 30)
    welcome_ends: time | None = time(12, 30)
    module_count: int | None = 5
    days_per_module: int | None = 2
    module_starts: time | None = time(9, 30)
    module_ends: time | None = time(12, 30)
    first_module_weeks: int | None = 2
    module_interval_weeks: int | None = 9
    has_clinics: bool = True
    clinic_starts: time | None = time(13, 0)
    clinic_ends: time | None = time(14, 0)
    has_co_consulting: bool = True
    co_consulting_weeks: int | None = 3
    co_consulting_starts: time | None = time(14, 0)
    co_consulting_ends: time | None = time(15, 0)
    has_celebration: bool = True
    celebration_weeks: int | None = 12
    celebration_starts: time | None = time(10, 0)
    celebration_ends: time | None = time(16, 0)

    @classmethod
    def of(cls, template: ProgrammeTemplate) -> TemplateDetails:
        return cls(**{f.name: getattr(template, f.name) for f in fields(cls)})


def shape_of(template: ProgrammeTemplate) -> YearShape:
    return YearShape(
        has_welcome=template.has_welcome, welcome=(template.welcome_starts, template.welcome_ends),
        module_count=template.module_count, days_per_module=template.days_per_module,
        module_times=(template.module_starts, template.module_ends), first_module_weeks=template.first_module_weeks,
        module_interval_weeks=template.module_interval_weeks, has_clinics=template.has_clinics,
        clinic_times=(template.clinic_starts, template.clinic_ends), has_co_consulting=template.has_co_consulting,
        co_consulting_weeks=template.co_consulting_weeks,
        co_consulting_times=(template.co_consulting_starts, template.co_consulting_ends),
        has_celebration=template.has_celebration, celebration_weeks=template.celebration_weeks,
        celebration_times=(template.celebration_starts, template.celebration_ends))


def hin_details() -> TemplateDetails:
    """The HIN year (the default template) as the template form holds it."""
    shape = HIN_YEAR
    return TemplateDetails(
        name=DEFAULT_NAME, description=DEFAULT_DESCRIPTION, has_welcome=shape.has_welcome,
        welcome_starts=shape.welcome[0], welcome_ends=shape.welcome[1], module_count=shape.module_count,
        days_per_module=shape.days_per_module, module_starts=shape.module_times[0], module_ends=shape.module_times[1],
        first_module_weeks=shape.first_module_weeks, module_interval_weeks=shape.module_interval_weeks,
        has_clinics=shape.has_clinics, clinic_starts=shape.clinic_times[0], clinic_ends=shape.clinic_times[1],
        has_co_consulting=shape.has_co_consulting, co_consulting_weeks=shape.co_consulting_weeks,
        co_consulting_starts=shape.co_consulting_times[0], co_consulting_ends=shape.co_consulting_times[1],
        has_celebration=shape.has_celebration, celebration_weeks=shape.celebration_weeks,
        celebration_starts=shape.celebration_times[0], celebration_ends=shape.celebration_times[1])


def default_template() -> ProgrammeTemplate:
    """The default template (the HIN year), made when the database has none."""
    template = db.session.scalar(select(ProgrammeTemplate).where(ProgrammeTemplate.is_default.is_(True)))
    if template is None:
        template = ProgrammeTemplate(is_default=True, **vars(hin_details()))
        db.session.add(template)
        db.session.flush()
    return template


def list_templates() -> list[tuple[ProgrammeTemplate, int]]:
    """Every template, the default first, with how many cohorts were planned from it."""
    default_template()
    counts = dict(db.session.execute(select(Cohort.template_id, func.count()).group_by(Cohort.template_id)).all())
    templates = db.session.scalars(select(ProgrammeTemplate).order_by(ProgrammeTemplate.is_default.desc(),
                                                                      ProgrammeTemplate.name)).all()
    return [(t, counts.get(t.id, 0)) for t in templates]


def _checked(details: TemplateDetails, module_pages: int) -> TemplateDetails:
    """Every answer checked at once: {field: message} for all that is wrong."""
    errors: dict[str, str] = {}
    name = " ".join((details.name or "").split())
    if not name:
        errors["name"] = "Give the template a name."
    most = min(MAX_MODULES, module_pages)

    def whole(field: str, low: int, high: int, what: str) -> None:
        value = getattr(details, field)
        if value is None or not low <= value <= high:
            errors[field] = f"Enter {what} from {low} to {high}."

    whole("module_count", 1, most, "how many modules,")
    whole("days_per_module", 1, MAX_DAYS_PER_MODULE, "how many half-days each module has,")
    whole("first_module_weeks", 0, 26, "the weeks before the first module")
    whole("module_interval_weeks", 1, 26, "the weeks between modules")
    if details.has_co_consulting:
        whole("co_consulting_weeks", 0, 12, "the weeks after each module")
    if details.has_celebration:
        whole("celebration_weeks", 0, 52, "the weeks after the last module")
    parts = [("welcome", details.has_welcome, "welcome"), ("module", True, "module half-day"),
             ("clinic", details.has_clinics, "clinic"), ("co_consulting", details.has_co_consulting, "co-consulting"),
             ("celebration", details.has_celebration, "celebration")]
    for prefix, wanted, what in parts:
        starts, ends = getattr(details, f"{prefix}_starts"), getattr(details, f"{prefix}_ends")
        if not wanted:
            continue
        if starts is None:
            errors[f"{prefix}_starts"] = f"Enter when the {what} starts, like 09:30."
        if ends is None:
            errors[f"{prefix}_ends"] = f"Enter when the {what} ends, like 12:30."
        elif starts is not None and ends <= starts:
            errors[f"{prefix}_ends"] = f"The {what} must end after it starts."
    if (not errors and details.days_per_module and details.module_interval_weeks is not None
            and details.module_interval_weeks * 7 <= details.days_per_module):
        errors["module_interval_weeks"] = "Modules must be further apart than they are long."
    if errors:
        raise FieldErrors(errors)
    # Times of parts the year does not have keep a sensible value, so turning the part on later starts from it.
    kept = {f"{prefix}_{end}": getattr(details, f"{prefix}_{end}") or getattr(hin_details(), f"{prefix}_{end}")
            for prefix, *_ in parts for end in ("starts", "ends")}
    return TemplateDetails(**{**vars(details), **kept, "name": name[:120],
                              "description": (details.description or "").strip(),
                              "co_consulting_weeks": details.co_consulting_weeks or 0,
                              "celebration_weeks": details.celebration_weeks or 0})


def _require_team(actor: User) -> None:
    if not actor.is_team:
        raise PermissionDenied("Only the programme team can change programme templates.")


def _unique(name: str, template: ProgrammeTemplate | None) -> None:
    other = db.session.scalar(select(ProgrammeTemplate.id).where(func.lower(ProgrammeTemplate.name) == name.lower()))
    if other is not None and (template is None or other != template.id):
        raise Conflict(f"There is already a template called {name}.", field="name")


def create_template(*, actor: User, details: TemplateDetails, module_pages: int, now: datetime) -> ProgrammeTemplate:
    _require_team(actor)
    details = _checked(details, module_pages)
    _unique(details.name, None)
    template = ProgrammeTemplate(is_default=False, created_by_id=actor.id, **vars(details))
    db.session.add(template)
    db.session.flush()
    audit.record(actor=actor, action="template_created", target_type="programme_template", target_id=template.id,
                 detail={"name": template.name}, now=now)
    return template


def update_template(*, actor: User, template: ProgrammeTemplate, details: TemplateDetails, module_pages: int,
                    now: datetime) -> None:
    """Change a template: cohorts already created from it keep their schedule."""
    _require_team(actor)
    details = _checked(details, module_pages)
    _unique(details.name, template)
    before = TemplateDetails.of(template)
    for name, value in vars(details).items():
        setattr(template, name, value)
    changed = {f.name: (str(getattr(before, f.name)), str(getattr(details, f.name))) for f in fields(TemplateDetails)
               if getattr(before, f.name) != getattr(details, f.name)}
    audit.record(actor=actor, action="template_changed", target_type="programme_template", target_id=template.id,
                 detail={"changed": changed}, now=now)
    db.session.flush()


def delete_template(*, actor: User, template: ProgrammeTemplate, now: datetime) -> None:
    """Delete a template no cohort was planned from; the default stays."""
    _require_team(actor)
    if template.is_default:
        raise Conflict("The default template cannot be deleted.")
    used = db.session.scalar(select(func.count()).select_from(Cohort).where(Cohort.template_id == template.id))
    if used:
        raise Conflict(f"{used} cohort{'s were' if used != 1 else ' was'} planned from this template, so it stays "
                       "as the record of how.")
    audit.record(actor=actor, action="template_deleted", target_type="programme_template", target_id=template.id,
                 detail={"name": template.name}, now=now)
    db.session.delete(template)
    db.session.flush()


def preview_year(template: ProgrammeTemplate, starts_on: date, region: str) -> list[PlannedSession]:
    """The sessions a cohort starting on this date would get (nothing is saved)."""
    return plan_year(starts_on, region, shape_of(template))


def summary(template: ProgrammeTemplate) -> str:
    """The shape in one sentence, as the list and the cohort form say it."""
    days = "half-day" if template.days_per_module == 1 else f"{template.days_per_module} half-days"
    parts = []
    if template.has_welcome:
        parts.append("a welcome")
    parts.append(f"{template.module_count} module{'s' if template.module_count != 1 else ''} of {days} "
                 f"({template.module_starts:%H:%M}-{template.module_ends:%H:%M}), "
                 f"{template.module_interval_weeks} weeks apart")
    if template.has_clinics and template.module_count > 1:
        parts.append(f"{template.module_count - 1} drop-in clinic{'s' if template.module_count > 2 else ''}")
    if template.has_co_consulting:
        parts.append(f"{template.module_count} co-consulting session{'s' if template.module_count != 1 else ''}")
    if template.has_celebration:
        parts.append("a celebration")
    return (", ".join(parts[:-1]) + " and " + parts[-1] if len(parts) > 1 else parts[0]).capitalize() + "."

