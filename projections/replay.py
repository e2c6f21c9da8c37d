"""Point-in-time replay: every view as it stood at a moment, built into a new SQLite file."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from domain.application import Ledger
from infrastructure.sql import Table
from infrastructure.view_store import SQLiteViewStore
from projections.runner import Progress, Projections

REPLAY = Table(
    "replay",
    (("as_of", "text"), ("events", "int"), ("last_position", "int"), ("built_at", "text"), ("source", "text")),
    key=("as_of",),
)


class ReplayTargetExists(FileExistsError):
    """Replay writes only to a new file, so an auditor's earlier replay is never overwritten."""


def replay(ledger: Ledger, out: Path, as_of: datetime, source: str, progress: Progress | None = None) -> int:
    """Builds every projection from the events recorded up to `as_of` into the new SQLite file `out`.

    Returns how many events went in. Events are applied in log order; those
    recorded after `as_of` are left out.
    """
    if out.exists():
        msg = f"{out} exists already; replay writes only to a new file"
        raise ReplayTargetExists(msg)
    view = SQLiteViewStore(str(out))
    try:
        projections = Projections(ledger, view)
        head = projections.head()
        included = last = 0
        for notifications in ledger.log_pages(projections.batch_size):
            items = [(n.id, event) for n in notifications if (event := ledger.decode(n)).recorded_at <= as_of]
            if items:
                projections.apply(items)  # ProjectionFailed names the view, the event and the error
                included += len(items)
                last = items[-1][0]
            if progress is not None:
                progress(notifications[-1].id, head)
        with view.transaction() as cursor:
            view.create_view_table(cursor, REPLAY)
            cursor.execute(
                "INSERT INTO replay (as_of, events, last_position, built_at, source) VALUES (?, ?, ?, ?, ?)",
                (as_of.isoformat(), included, last, datetime.now(UTC).isoformat(), source),
            )
        return included
    finally:
        view.close()
