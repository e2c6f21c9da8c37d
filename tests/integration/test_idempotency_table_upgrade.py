"""A database made before keys were marked stored gains the column, and its old reservations still work."""

from __future__ import annotations

from datetime import UTC, datetime

from infrastructure.bootstrap import build_view_store
from infrastructure.idempotency import KEYS, IdempotencyStore, StoredResponse
from infrastructure.settings import Settings

OLD_COLUMNS = "principal_id TEXT, idempotency_key TEXT, request_hash TEXT, status BIGINT, headers TEXT, body TEXT"


def test_an_idempotency_table_from_an_earlier_version_is_upgraded_in_place(database_url: str) -> None:
    view = build_view_store(Settings(database_url=database_url))
    try:
        with view.transaction() as cursor:
            cursor.execute(
                f"CREATE TABLE {KEYS.name} ({OLD_COLUMNS}, created_at TEXT, "
                "PRIMARY KEY (principal_id, idempotency_key))"
            )
            cursor.execute(
                f"INSERT INTO {KEYS.name} VALUES (?, ?, ?, NULL, NULL, NULL, ?)",
                ("manager-1", "old-key", "fingerprint", datetime.now(UTC).isoformat()),
            )

        store = IdempotencyStore(view)

        with view.reading() as cursor:
            assert "stored_position" in view.column_names(cursor, KEYS.name)
        assert store.reserve("manager-1", "old-key", "fingerprint").in_progress, "the old reservation is kept"
        store.complete("manager-1", "old-key", StoredResponse(201, {"etag": '"1"'}, b"{}"))
        assert store.reserve("manager-1", "old-key", "fingerprint").replay == StoredResponse(
            201, {"etag": '"1"'}, b"{}"
        )
        IdempotencyStore(view)  # a second start finds nothing to add
    finally:
        view.close()
