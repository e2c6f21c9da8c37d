"""What a seed is asked to write (`SeedPlan`) and what it wrote (`SeedSummary`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

HISTORY_STARTS = date(2025, 1, 1)
"""The first business day of every seeded history."""


@dataclass(frozen=True)
class SeedPlan:
    """How much history to write, and the random seed that decides all of it."""

    managers: int = 12
    relationships: int = 200
    events: int = 10_000
    random_seed: int = 2026
    until: date | None = None
    """The last day of the history (today, UTC, when None); give it to repeat a history on another day."""
    batch_size: int = 2_000
    """Events stored per transaction (a logical command's events are never split)."""

    def __post_init__(self) -> None:
        for name in ("managers", "relationships", "events", "batch_size"):
            if getattr(self, name) < 1:
                msg = f"{name} must be at least 1, not {getattr(self, name)}"
                raise ValueError(msg)
        if self.until is not None and self.until <= HISTORY_STARTS + timedelta(days=7):
            msg = f"until must be after {HISTORY_STARTS + timedelta(days=7)}: the history starts on {HISTORY_STARTS}"
            raise ValueError(msg)


@dataclass
class SeedSummary:
    """What a seed wrote, and how fast."""

    managers: int = 0
    relationships: int = 0
    events: int = 0
    gifts_accepted: int = 0
    gifts_refused: int = 0
    contracts_proposed: int = 0
    contracts_signed: int = 0
    contracts_terminated: int = 0
    demos_scheduled: int = 0
    demos_completed: int = 0
    demos_cancelled: int = 0
    reassignments: int = 0
    deactivations: int = 0
    corrections: int = 0
    closures: int = 0
    reopenings: int = 0
    first_day: date = HISTORY_STARTS
    last_day: date = HISTORY_STARTS
    elapsed_seconds: float = 0.0

    @property
    def events_per_second(self) -> float:
        return self.events / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0

    def describe(self) -> str:
        """A few lines for a person: what was written, over which dates, and how fast."""
        return "\n".join(
            [
                f"Seeded {self.events:,} events in {self.elapsed_seconds:.1f} s "
                f"({self.events_per_second:,.0f} events/s), business dates {self.first_day} to {self.last_day}.",
                f"{_count(self.managers, 'account manager')} ({self.deactivations} deactivated), "
                f"{_count(self.relationships, 'relationship')} ({self.closures} closed, {self.reopenings} reopened), "
                f"{_count(self.reassignments, 'reassignment')}.",
                f"{self.demos_scheduled:,} demos scheduled ({self.demos_completed:,} completed, "
                f"{self.demos_cancelled:,} cancelled); {self.contracts_signed:,} contracts signed of "
                f"{self.contracts_proposed:,} proposed ({self.contracts_terminated:,} terminated); "
                f"{self.corrections:,} corrections.",
                f"Gifts: {self.gifts_accepted:,} accepted, "
                f"{self.gifts_refused:,} refused at the FINRA Rule 3220 limit.",
            ]
        )


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" if number == 1 else f"{number:,} {noun}s"
