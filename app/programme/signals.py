"""What the schedule announces, for the domains above programme to react to.

Programme cannot import the domains built on it (celebration, evaluation, ...), so when a session
changes it sends `session_changed` and they subscribe at start-up (`app.register_signal_handlers`).
Receivers are called inside the same unit of work as the change: what they write commits or rolls
back with it.
"""

from blinker import Namespace

_signals = Namespace()

# sender: the ProgrammeSession; keyword arguments: now, was_starting_at (its start before the change).
session_changed = _signals.signal("session-changed")

# sender: the Cohort, already changed; keyword arguments: changes ({setting: (before, after)}), actor, now.
# A receiver refuses a change the cohort's applications or guests cannot take by raising a DomainError
# (the whole change is rolled back), and may write what the change means for them (emails).
cohort_settings_changed = _signals.signal("cohort-settings-changed")

# sender: the ProgrammeSession about to be cancelled, postponed or recorded as not having taken place;
# keyword arguments: status (the SessionStatus it would get), now. A receiver holding records that
# say it took place (a register) refuses by raising a DomainError.
session_calling_off = _signals.signal("session-calling-off")


# What other domains record about a person and a session that the programme's own pages show them
# (attendance: the apologies they sent). A provider takes (user, session ids) and returns
# {session id: a sentence}; domains register theirs at start-up.
_session_notes: list = []


def register_session_notes(provider) -> None:
    if provider not in _session_notes:
        _session_notes.append(provider)


def session_notes(user, session_ids: list[int]) -> dict[int, list[str]]:
    notes: dict[int, list[str]] = {}
    for provider in _session_notes:
        for session_id, note in provider(user, session_ids).items():
            notes.setdefault(session_id, []).append(note)
    return notes


# What deleting a session that has not happened means for the records other domains hold about it
# (materials tied to it, co-consulting turns, clinic sign-ups). A provider takes the session and returns
# sentences for the team's confirmation page; the rows themselves go with the session (foreign keys:
# materials are kept, untied; the rest are deleted with it).
_deletion_notes: list = []


def register_deletion_notes(provider) -> None:
    if provider not in _deletion_notes:
        _deletion_notes.append(provider)


def deletion_notes(session) -> list[str]:
    return [note for provider in _deletion_notes for note in provider(session)]
