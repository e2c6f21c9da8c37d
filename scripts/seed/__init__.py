"""Fills an empty ledger with a synthetic but realistic history, the same for the same random seed.

The generator (`generator`, with `activity`, `gifts` and `standing`) chooses
every act from one `random.Random(random_seed)` over a simulated clock
(`simulated_time`) that runs from 2025-01-01 to the plan's last day; the writer
(`writer`) records each act through the domain's own commands and stores the
events in batches. Two runs with one seed store the same events in the same
order (only `recorded_at`, the server's clock, differs).
"""

from __future__ import annotations

from domain.application import Ledger
from domain.compliance_policy import POLICY_ID
from scripts.progress import events_progress
from scripts.seed.generator import HistoryGenerator
from scripts.seed.plan import HISTORY_STARTS, SeedPlan, SeedSummary

__all__ = ["HISTORY_STARTS", "LedgerNotEmptyError", "SeedPlan", "SeedSummary", "holds_no_history", "seed_ledger"]


class LedgerNotEmptyError(Exception):
    """The seed was pointed at a ledger that already holds events; it writes only into an empty one."""


def seed_ledger(ledger: Ledger, plan: SeedPlan, *, progress: bool) -> SeedSummary:
    """Writes the plan's history into an empty ledger; refuses, writing nothing, if it holds any history."""
    if not holds_no_history(ledger):
        msg = (
            f"The ledger already holds events (up to position {ledger.recorder.max_notification_id()}); "
            "seed only an empty ledger, e.g. point LEDGER_DATABASE_URL at a new database."
        )
        raise LedgerNotEmptyError(msg)
    if not progress:
        return HistoryGenerator(ledger, plan, on_flush=None).run()
    with events_progress("Seeding", plan.events) as update:
        return HistoryGenerator(ledger, plan, on_flush=lambda done: update(done, plan.events)).run()


def holds_no_history(ledger: Ledger) -> bool:
    """Whether the ledger is empty but for its gift policy (which `build_ledger` stores before anything else)."""
    return all(
        notification.originator_id == POLICY_ID
        for notifications in ledger.log_pages(100)
        for notification in notifications
    )
