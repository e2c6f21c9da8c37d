"""The seed's simulated clock: business time runs from `HISTORY_STARTS` to the plan's last day as the events are
written, so the history's dates follow the order it is written in."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from scripts.seed.cast import FIRM_TIME_ZONE
from scripts.seed.plan import HISTORY_STARTS


class SimulatedClock:
    """Where the history has got to: an instant, and the firm's business day at that instant."""

    def __init__(self, until: date, rng: random.Random) -> None:
        self.rng = rng
        self.start = datetime.combine(HISTORY_STARTS, time(), UTC)
        self.end = datetime.combine(until, time(), UTC)
        self.span = self.end - self.start
        self.progress = 0.0
        self.instant = self.start
        self.day = HISTORY_STARTS
        self.firm_tz = zone(FIRM_TIME_ZONE)

    def tick(self, progress: float) -> None:
        """Moves the clock to `progress` (0 to 1) of the way through the history."""
        self.progress = progress
        self.instant = self.start + self.span * progress
        self.day = max(HISTORY_STARTS, _weekday_on_or_before(self.instant.astimezone(self.firm_tz).date()))

    def now(self) -> datetime:
        return self.instant

    def today(self) -> date:
        """The firm's business day (a weekend counts as the Friday before)."""
        return self.day

    def moment(self, zone: tzinfo) -> datetime:
        """A time during business hours of the simulated day, in the client's time zone."""
        day = max(HISTORY_STARTS, _weekday_on_or_before(self.now().astimezone(zone).date()))
        moment = datetime.combine(day, time(self.rng.randint(8, 17), self.rng.randrange(0, 60, 5)), zone)
        return min(moment, self.end.astimezone(zone))

    def appointment(self, zone: tzinfo, after: datetime, days: tuple[int, int]) -> datetime:
        """A weekday appointment (on the hour or half past) some `days` after `after`, in the client's time zone."""
        day = _weekday_on_or_after(after.astimezone(zone).date() + timedelta(days=self.rng.randint(*days)))
        return datetime.combine(day, time(self.rng.randint(9, 16), self.rng.choice((0, 30))), zone)


def zone(name: str) -> tzinfo:
    """The named time zone, or where the system has no zone data, its standard offset."""
    try:
        return ZoneInfo(name)
    except ZoneInfoNotFoundError:
        offsets = {
            "America/New_York": -5,
            "America/Toronto": -5,
            "America/Chicago": -6,
            "America/Denver": -7,
            "America/Los_Angeles": -8,
            "Europe/London": 0,
            "Europe/Berlin": 1,
            "Asia/Singapore": 8,
        }
        return timezone(timedelta(hours=offsets[name]), name)


def _weekday_on_or_before(day: date) -> date:
    return day - timedelta(days=max(0, day.weekday() - 4))


def _weekday_on_or_after(day: date) -> date:
    return day + timedelta(days=(7 - day.weekday()) % 7 if day.weekday() > 4 else 0)
