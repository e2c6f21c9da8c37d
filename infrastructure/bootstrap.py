"""One function builds the ledger from settings; tests pass their own."""

from __future__ import annotations

from domain.application import Ledger
from infrastructure.settings import Settings
from infrastructure.storage import library_env


def build_ledger(settings: Settings | None = None) -> Ledger:
    """The application service on the store that the settings name, its tables created if missing."""
    settings = settings or Settings.from_env()
    ledger = Ledger(env=library_env(settings.database_url))
    ledger.establish_gift_policy()
    return ledger
