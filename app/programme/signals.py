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
