"""Views that cannot apply an event: what they are told, how long they wait, and what `/health` reads.

A view that cannot apply an event stays just before it; the runner notes the
failure here (in memory, for its back-off, and in the `projection_failures`
table, which every process reads for `/health` and the metrics) and forgets it
once the view goes past the event.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from infrastructure.sql import Table, ViewStore

log = logging.getLogger(__name__)


def one_line(error: BaseException) -> str:
    """An error as `Type: message` on one line (at most 500 characters)."""
    text = " ".join(f"{type(error).__name__}: {error}".split())
    return text if len(text) <= 500 else text[:499] + "…"


@dataclass(frozen=True)
class ViewFailure:
    """A view that cannot apply an event: it stays at `position`, just before the event at `event_position`."""

    view: str
    position: int
    event_position: int
    error: str
    since: datetime
    attempts: int

    def describe(self) -> str:
        return (
            f"the {self.view} view cannot apply the event at position {self.event_position}, "
            f"so it stays at position {self.position}: {self.error}"
        )


class ProjectionFailed(RuntimeError):
    """A view cannot apply an event; it stays just before it (a view never skips an event)."""

    def __init__(self, failure: ViewFailure, *, rebuilding: bool = False) -> None:
        described = failure.describe()
        if rebuilding:
            described = described.replace(" view ", " view's fresh tables (--from-scratch) ", 1)
        super().__init__(described[0].upper() + described[1:])
        self.failure = failure


class UnreadableEvent(Exception):
    """An event in the log could not be decoded: no view can go past it."""

    def __init__(self, position: int, error: BaseException) -> None:
        super().__init__(one_line(error))
        self.position = position
        self.error = error


@dataclass(frozen=True)
class Backoff:
    """How long a failing view waits before it is tried again: `first` seconds, doubling up to `most`."""

    first: float = 0.25
    most: float = 30.0

    def delay(self, attempts: int) -> float:
        return min(self.most, self.first * 2.0 ** min(attempts - 1, 64))


FAILURES = Table(
    "projection_failures",
    (
        ("name", "text"),
        ("position", "int"),
        ("event_position", "int"),
        ("error", "text"),
        ("since", "text"),
        ("attempts", "int"),
    ),
    key=("name",),
)
"""Views that cannot apply an event, as the runner of any process last saw them (made at the first failure)."""

Failed = dict[str, tuple[int, BaseException]]
"""Views that could not apply an event: name -> (the event's position, the error)."""


@dataclass
class _Failing:
    failure: ViewFailure
    retry_at: float


class ViewFailures:
    """The views failing now: this process's back-off for each, and the record every process reads."""

    def __init__(self, view: ViewStore) -> None:
        self.view = view
        self._lock = threading.Lock()
        self._failing: dict[str, _Failing] = {}
        self._table = False  # whether FAILURES is known to exist (made at the first failure)

    def __contains__(self, name: object) -> bool:
        """Whether this process's runner has a view of this name failing."""
        return name in self._failing

    def __bool__(self) -> bool:
        return bool(self._failing)

    def due(self, name: str, now: float) -> bool:
        """Whether a view is not failing, or its back-off has passed."""
        failing = self._failing.get(name)
        return failing is None or failing.retry_at <= now

    def recorded(self, names: Sequence[str]) -> dict[str, ViewFailure]:
        """The views among `names` that cannot apply an event now, as recorded by the runner of whichever process
        follows the log.

        A record whose view has since gone past the event (fixed and rebuilt, or
        restarted) is not a failure any more, whoever recorded it.
        """
        with self.view.reading() as cursor:
            if not self._table:
                if not self.view.table_exists(cursor, FAILURES.name):
                    return {}
                self._table = True
            rows = cursor.execute(
                f"SELECT {', '.join(FAILURES.column_names)} FROM {FAILURES.name} ORDER BY name"
            ).fetchall()
            marks = ", ".join("?" * len(names))
            tracked = cursor.execute(
                f"SELECT application_name, notification_id FROM {self.view.tracking_table} "
                f"WHERE application_name IN ({marks})",
                list(names),
            ).fetchall()
        positions = {str(name): int(position) for name, position in tracked}
        found: dict[str, ViewFailure] = {}
        for name, position, event_position, error, since, attempts in rows:
            if name in names and positions.get(name, 0) < int(event_position):
                found[name] = ViewFailure(
                    name, int(position), int(event_position), str(error), datetime.fromisoformat(since), int(attempts)
                )
        return found

    def note(
        self, name: str, position: int, event_position: int, error: BaseException, backoff: Backoff
    ) -> tuple[ViewFailure, bool]:
        """Notes a failed attempt of view `name` (at `position`) on the event at `event_position`, and records it
        for every process; returns the failure and whether it is new (not the same event and error as before)."""
        text = one_line(error)
        with self._lock:
            previous = self._failing.get(name)
            same = previous is not None and (previous.failure.event_position, previous.failure.error) == (
                event_position,
                text,
            )
            attempts = previous.failure.attempts + 1 if previous is not None and same else 1
            since = previous.failure.since if previous is not None and same else datetime.now(UTC)
            failure = ViewFailure(name, position, event_position, text, since, attempts)
            self._failing[name] = _Failing(failure, time.monotonic() + backoff.delay(attempts))
        try:
            with self.view.transaction() as cursor:
                if not self._table:
                    self.view.lock_schema(cursor)
                    self.view.create_view_table(cursor, FAILURES)
                row = (failure.view, position, event_position, text, since.isoformat(), attempts)
                cursor.execute(FAILURES.upsert_statement(), row)
            self._table = True
        except Exception as write_error:  # the in-memory record and the log still tell
            log.warning("Could not record the failure of projection %s: %s", failure.view, write_error)
        return failure, not same

    def recovered(self, names: Sequence[str]) -> list[ViewFailure]:
        """Forgets the failures of views that have just applied their batch; returns what they were."""
        with self._lock:
            recovered = [self._failing.pop(name).failure for name in names if name in self._failing]
        for failure in recovered:
            # A record left behind is ignored anyway once the view is past its event.
            with contextlib.suppress(Exception), self.view.transaction() as cursor:
                cursor.execute(FAILURES.delete_statement(), (failure.view,))
        return recovered
