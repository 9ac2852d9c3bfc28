"""Cohorts and their schedule: the rules for creating, changing and cancelling sessions, and the reads
the pages use. Callers import from here; the modules split the rules by what they are about."""

from app.programme.services.cohorts import (
    SETTING_LABELS,
    CohortSettings,
    change_cohort_settings,
    create_cohort,
    enrol,
    get_or_create_programme,
)
from app.programme.services.reads import (
    ParticipantYear,
    calendar_sessions,
    cohort_module,
    cohort_sessions,
    current_cohort,
    enrolment_counts,
    has_participants,
    list_cohorts,
    participant_year,
    session_history,
    sessions_by_module,
)
from app.programme.services.schedule import (
    KEEP_HINT,
    SessionDetails,
    add_session,
    cancel_session,
    delete_session,
    deletion_preview,
    mark_not_held,
    postpone_session,
    reinstate_session,
    reschedule_module,
    set_new_date,
    update_session,
)

__all__ = [
    "KEEP_HINT", "SETTING_LABELS", "CohortSettings", "ParticipantYear", "SessionDetails", "add_session",
    "calendar_sessions", "cancel_session", "change_cohort_settings", "cohort_module", "cohort_sessions",
    "create_cohort", "delete_session", "deletion_preview", "current_cohort", "enrol", "enrolment_counts", "get_or_create_programme", "has_participants",
    "list_cohorts", "mark_not_held", "participant_year", "postpone_session", "reinstate_session",
    "reschedule_module", "session_history", "sessions_by_module", "set_new_date", "update_session",
]
