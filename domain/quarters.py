"""Calendar quarters in the firm's time zone: what an attestation covers, when it is due, and when it is late."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from domain.values import QUARTER_LABEL


@dataclass(frozen=True, order=True)
class Quarter:
    """One calendar quarter: `number` 1 (January to March) to 4 (October to December) of `year`."""

    year: int
    number: int

    def __post_init__(self) -> None:
        if not 1 <= self.number <= 4:
            msg = f"a quarter is numbered 1 to 4, not {self.number}"
            raise ValueError(msg)

    @property
    def start(self) -> date:
        """The quarter's first day."""
        return date(self.year, 3 * self.number - 2, 1)

    @property
    def end(self) -> date:
        """The quarter's last day."""
        if self.number == 4:
            return date(self.year, 12, 31)
        return date(self.year, 3 * self.number + 1, 1) - timedelta(days=1)

    @property
    def label(self) -> str:
        """The quarter written `YYYY-Qn`."""
        return f"{self.year:04d}-Q{self.number}"

    @classmethod
    def of(cls, day: date) -> Quarter:
        """The quarter `day` falls in."""
        return cls(day.year, (day.month - 1) // 3 + 1)

    @classmethod
    def parse(cls, label: str) -> Quarter:
        """The quarter a `YYYY-Qn` label names (a malformed label is a `ValueError`)."""
        if not QUARTER_LABEL.fullmatch(label):
            msg = f"{label[:40]!r} is not a quarter written YYYY-Qn (n from 1 to 4), such as 2026-Q1"
            raise ValueError(msg)
        return cls(int(label[:4]), int(label[-1]))

    def due_on(self, due_days: int) -> date:
        """The last day an attestation of this quarter is on time: `due_days` after the quarter's last day."""
        return self.end + timedelta(days=due_days)

    def previous(self) -> Quarter:
        """The quarter before this one."""
        return Quarter(self.year - 1, 4) if self.number == 1 else Quarter(self.year, self.number - 1)


def late(submitted_at: datetime | None, due_on: date, zone: tzinfo, now: datetime) -> bool:
    """Whether an attestation due on `due_on` (a day in the firm's zone `zone`) is late: submitted on a later
    day there, or, not submitted, still missing once that day has passed there at `now`."""
    moment = submitted_at if submitted_at is not None else now
    return moment.astimezone(zone).date() > due_on
