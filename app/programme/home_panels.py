"""What the domains above programme show on a participant's home page.

Programme cannot import the domains built on it, so each registers a provider at start-up
(`app.register_signal_handlers`), as with session notes in `app.programme.signals`. A provider takes
(user, cohort, now) and returns what its part of the page shows; the home view asks every provider
and passes the answers to its template under their names, so the template runs no queries of its own.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

HomePanelProvider = Callable[[Any, Any, datetime], Any]

_providers: dict[str, HomePanelProvider] = {}


def register_home_panel(name: str, provider: HomePanelProvider) -> None:
    """Registering the same name again replaces its provider (start-up may run more than once)."""
    _providers[name] = provider


def home_panels(user, cohort, now: datetime) -> dict[str, Any]:
    """{name: what its provider says} for this person's home in this cohort."""
    return {name: provider(user, cohort, now) for name, provider in _providers.items()}


# Where a signed-in person with no programme place goes from /home (before their applications): a domain
# registers a provider taking the user and returning a URL (their communities, say) or None.
_landings: list[Callable[[Any], str | None]] = []


def register_landing(provider: Callable[[Any], str | None]) -> None:
    if provider not in _landings:
        _landings.append(provider)


def landing_for(user) -> str | None:
    return next((url for url in (provider(user) for provider in _landings) if url), None)
