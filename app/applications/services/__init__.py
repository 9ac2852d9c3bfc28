"""The application journey, one module per stage. Import services from here."""

from app.applications.services.applying import (  # noqa: F401
    ANSWER_COLUMNS,
    WITHDRAWABLE,
    Answers,
    IncompleteApplication,
    application_for,
    applications_of,
    change_sponsor,
    cohort_taking_applications,
    missing_answers,
    resend_sponsor_request,
    save_draft,
    start_application,
    submit_application,
    withdraw_application,
)
from app.applications.services.listing import (  # noqa: F401
    LIST_OPTIONS,
    PAGE_SIZE,
    SPONSOR_STATES,
    Filters,
    filtered_query,
    list_applications,
    mix,
    regions,
    selection_pool,
    status_counts,
)
from app.applications.services.selection import (  # noqa: F401
    next_on_waitlist,
    offer_to_next,
    places_taken,
    release_outcomes,
    respond_to_offer,
    score_application,
    set_decision,
)
from app.applications.services.sign_off import (  # noqa: F401
    SponsorLink,
    open_sponsor_link,
    record_sponsor_decision,
    record_sponsor_decision_for,
)
