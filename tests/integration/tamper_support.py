"""What the tamper-evidence tests share: an intruder with a plain driver connection, and ledgers to tamper with.

The intruder goes around the ledger entirely: it opens the database file (SQLite)
or the schema (PostgreSQL) with the bare driver, drops the append-only triggers,
and edits, deletes, inserts and swaps rows as someone with write access to the
database could. Positions are the events' global positions (`rowid` on SQLite,
`notification_id` on PostgreSQL).
"""

from __future__ import annotations

import json
import sqlite3
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import psycopg
from psycopg import sql

from domain.application import Ledger
from infrastructure.bootstrap import build_ledger, build_view_store
from infrastructure.integrity import GENESIS, Seal, event_hash
from infrastructure.settings import Settings
from infrastructure.sql import ViewStore
from infrastructure.storage import library_env
from infrastructure.verification import Integrity
from scripts.seed import SeedPlan, seed_ledger


@dataclass(frozen=True)
class StoredEvent:
    """One row of the events table as the database holds it."""

    position: int
    originator_id: UUID
    version: int
    topic: str
    state: bytes


class Intruder:
    """A bare driver connection to a ledger's tables, with their append-only triggers dropped."""

    def __init__(self, database_url: str, ledger: Ledger) -> None:
        env = library_env(database_url)
        recorder: Any = ledger.recorder
        self.is_sqlite = env["PERSISTENCE_MODULE"] == "eventsourcing.sqlite"
        self.events_name: str = recorder.events_table_name
        self.hashes_name: str = recorder.hashes_table
        if self.is_sqlite:
            self.position_column = "rowid"
            self.events, self.hashes, self.seals = self.events_name, self.hashes_name, "ledger_seals"
            self.sqlite = sqlite3.connect(env["SQLITE_DBNAME"], isolation_level=None)
        else:
            self.position_column = "notification_id"
            self.schema = env["POSTGRES_SCHEMA"]
            self.events = sql.Identifier(self.schema, self.events_name).as_string()
            self.hashes = sql.Identifier(self.schema, self.hashes_name).as_string()
            self.seals = sql.Identifier(self.schema, "ledger_seals").as_string()
            self.postgres = psycopg.connect(
                dbname=env["POSTGRES_DBNAME"],
                host=env["POSTGRES_HOST"],
                port=env["POSTGRES_PORT"],
                user=env["POSTGRES_USER"],
                password=env["POSTGRES_PASSWORD"],
                autocommit=True,
            )

    def execute(self, statement: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        """Runs one statement (`%s` placeholders on either database) and returns its rows."""
        if self.is_sqlite:
            return self.sqlite.execute(statement.replace("%s", "?"), params).fetchall()
        with self.postgres.cursor() as cursor:
            cursor.execute(statement.encode(), params)
            return cursor.fetchall() if cursor.description else []

    def table(self, name: str) -> str:
        """A table of the ledger's, named as this connection must name it."""
        return name if self.is_sqlite else sql.Identifier(self.schema, name).as_string()

    def drop_guards(self) -> None:
        """Drops the triggers that refuse UPDATE and DELETE, as an intruder with the owner's rights would."""
        tables = (self.events_name, self.hashes_name, *SEAL_TABLES)
        if self.is_sqlite:
            for table in tables:
                for operation in ("update", "delete"):
                    self.execute(f"DROP TRIGGER IF EXISTS {table}_refuse_{operation}")
        else:
            for table in tables:
                trigger = sql.Identifier(f"{table}_append_only").as_string()
                self.execute(f"DROP TRIGGER IF EXISTS {trigger} ON {self.table(table)}")

    def _id_param(self, originator_id: UUID) -> Any:
        # SQLite stores the aggregate id as hex text, PostgreSQL as a native uuid.
        return originator_id.hex if self.is_sqlite else originator_id

    # -- reading --

    def event(self, position: int) -> StoredEvent:
        rows = self.execute(
            f"SELECT originator_id, originator_version, topic, state FROM {self.events} "
            f"WHERE {self.position_column} = %s",
            (position,),
        )
        assert len(rows) == 1, f"no event at position {position}"
        originator_id, version, topic, state = rows[0]
        return StoredEvent(position, UUID(str(originator_id)), int(version), str(topic), bytes(state))

    def stored_hash(self, position: int) -> str | None:
        rows = self.execute(f"SELECT hash FROM {self.hashes} WHERE position = %s", (position,))
        return str(rows[0][0]) if rows else None

    def count_events(self) -> int:
        return int(self.execute(f"SELECT count(*) FROM {self.events}")[0][0])

    # -- tampering --

    def set_state(self, position: int, state: bytes) -> None:
        self.execute(f"UPDATE {self.events} SET state = %s WHERE {self.position_column} = %s", (state, position))

    def edit_one_byte(self, position: int) -> StoredEvent:
        """Changes one byte of the event's stored state (its correlation id's first character); returns the event
        as it was."""
        before = self.event(position)
        self.set_state(position, one_byte_changed(before.state))
        return before

    def swap_states(self, first: int, second: int) -> None:
        """Swaps the stored states of two events: their histories told in the other order."""
        one, other = self.event(first), self.event(second)
        self.set_state(first, other.state)
        self.set_state(second, one.state)

    def delete_event(self, position: int, *, with_hash: bool = True) -> None:
        """Deletes the event at `position`, and (unless told otherwise) its hash row, leaving no trace."""
        self.execute(f"DELETE FROM {self.events} WHERE {self.position_column} = %s", (position,))
        if with_hash:
            self.execute(f"DELETE FROM {self.hashes} WHERE position = %s", (position,))

    def insert_event(self, originator_id: UUID, version: int, topic: str, state: bytes) -> int:
        """Appends an event row the way the library would, but with no hash row; returns its position."""
        self.execute(
            f"INSERT INTO {self.events} (originator_id, originator_version, topic, state) VALUES (%s, %s, %s, %s)",
            (self._id_param(originator_id), version, topic, state),
        )
        rows = self.execute(
            f"SELECT {self.position_column} FROM {self.events} WHERE originator_id = %s AND originator_version = %s",
            (self._id_param(originator_id), version),
        )
        return int(rows[0][0])

    def insert_hash(self, position: int, originator_id: UUID, version: int, digest: str) -> None:
        self.execute(
            f"INSERT INTO {self.hashes} (position, originator_id, originator_version, hash) VALUES (%s, %s, %s, %s)",
            (position, str(originator_id), version, digest),
        )

    def alter_seal_signature(self, position: int) -> None:
        """Changes one hex digit of a seal's signature (its append-only trigger already dropped)."""
        (signature,) = self.execute(f"SELECT signature FROM {self.seals} WHERE position = %s", (position,))[0]
        self.execute(
            f"UPDATE {self.seals} SET signature = %s WHERE position = %s", (one_hex_digit_changed(signature), position)
        )

    def set_hash(self, position: int, digest: str) -> None:
        self.execute(f"UPDATE {self.hashes} SET hash = %s WHERE position = %s", (digest, position))

    def rechain_edit(self, position: int) -> StoredEvent:
        """Changes one byte of the event at `position` and recomputes its hash and the hashes of its aggregate's
        later events, as an intruder who knows the published formula would; returns the event as it was."""
        before = self.edit_one_byte(position)
        id_param = self._id_param(before.originator_id)
        previous_rows = self.execute(
            f"SELECT hash FROM {self.hashes} WHERE originator_id = %s AND originator_version = %s",
            (str(before.originator_id), before.version - 1),
        )
        previous = bytes.fromhex(previous_rows[0][0]) if previous_rows else GENESIS
        later = self.execute(
            f"SELECT {self.position_column} FROM {self.events} WHERE originator_id = %s AND originator_version >= %s "
            f"ORDER BY originator_version",
            (id_param, before.version),
        )
        for (at,) in later:
            event = self.event(int(at))
            previous = event_hash(previous, event.originator_id, event.version, event.topic, event.state)
            self.set_hash(int(at), previous.hex())
        return before

    def append_chained_event(self, after_position: int) -> int:
        """Appends one more event to the aggregate of the event at `after_position` (its last), with a correctly
        chained hash row: an insertion nothing in the database can tell from a real one; returns its position."""
        latest = self.event(after_position)
        version = latest.version + 1
        forged = plausible_next_state(latest.state, version)
        inserted = self.insert_event(latest.originator_id, version, latest.topic, forged)
        previous = self.stored_hash(after_position)
        assert previous is not None
        digest = event_hash(bytes.fromhex(previous), latest.originator_id, version, latest.topic, forged).hex()
        self.insert_hash(inserted, latest.originator_id, version, digest)
        return inserted

    def insert_chained_event_at(self, position: int, stream_end: int) -> None:
        """Slips one more event of the aggregate whose last event is at `stream_end` into the log at `position`
        (moving every later event up by one, hash rows too), with a correctly chained hash row."""
        latest = self.event(stream_end)
        assert stream_end < position
        version = latest.version + 1
        forged = plausible_next_state(latest.state, version)
        for table, column in ((self.events, self.position_column), (self.hashes, "position")):
            # In two steps, so no row ever lands on a position still taken.
            self.execute(f"UPDATE {table} SET {column} = {column} + 1000000 WHERE {column} >= %s", (position,))
            self.execute(f"UPDATE {table} SET {column} = {column} - 999999 WHERE {column} >= 1000000")
        self.execute(
            f"INSERT INTO {self.events} ({self.position_column}, originator_id, originator_version, topic, state) "
            "VALUES (%s, %s, %s, %s, %s)",
            (position, self._id_param(latest.originator_id), version, latest.topic, forged),
        )
        previous = self.stored_hash(stream_end)
        assert previous is not None
        digest = event_hash(bytes.fromhex(previous), latest.originator_id, version, latest.topic, forged).hex()
        self.insert_hash(position, latest.originator_id, version, digest)

    def delete_after(self, position: int) -> int:
        """Deletes every event after `position` with its hash row (a deleted tail); returns how many went."""
        gone = self.execute(f"SELECT count(*) FROM {self.events} WHERE {self.position_column} > %s", (position,))
        self.execute(f"DELETE FROM {self.events} WHERE {self.position_column} > %s", (position,))
        self.execute(f"DELETE FROM {self.hashes} WHERE position > %s", (position,))
        return int(gone[0][0])

    def insert_seal(self, seal: Seal) -> None:
        """Writes a seal or rotation row straight into the database, as an intruder with their own key would."""
        fields = (seal.position, seal.size, seal.root.hex(), seal.signature.hex(), seal.public_key.hex())
        if seal.new_public_key is None:
            self.execute(
                f"INSERT INTO {self.seals} (position, size, root, signature, public_key, sealed_at, frontier) "
                "VALUES (%s, %s, %s, %s, %s, %s, %s)",
                (*fields, seal.sealed_at, seal.frontier),
            )
        else:
            self.execute(
                f"INSERT INTO {self.table('ledger_key_rotations')} (position, size, root, signature, public_key, "
                "sealed_at, frontier, new_public_key, new_key_signature) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                (
                    *fields,
                    seal.sealed_at,
                    seal.frontier,
                    seal.new_public_key.hex(),
                    (seal.new_key_signature or b"").hex(),
                ),
            )

    def delete_seals(self) -> None:
        """Deletes every seal, rotation and kept hash list: the intruder's seals will replace them."""
        for table in SEAL_TABLES:
            self.execute(f"DELETE FROM {self.table(table)}")

    def close(self) -> None:
        if self.is_sqlite:
            self.sqlite.close()
        else:
            self.postgres.close()


SEAL_TABLES = ("ledger_seals", "ledger_key_rotations", "ledger_seal_hashes")


@contextmanager
def intruder(database_url: str, ledger: Ledger) -> Iterator[Intruder]:
    """An intruder in the ledger's database, the append-only triggers already dropped."""
    who = Intruder(database_url, ledger)
    try:
        who.drop_guards()
        yield who
    finally:
        who.close()


# -- forging bytes ---------------------------------------------------------------------


def one_byte_changed(state: bytes) -> bytes:
    """The stored JSON with exactly one byte changed: the first character of its correlation id."""
    marker = b'"correlation_id":"'
    at = state.index(marker) + len(marker)
    replacement = b"X" if state[at : at + 1] != b"X" else b"Y"
    changed = state[:at] + replacement + state[at + 1 :]
    assert len(changed) == len(state)
    assert sum(a != b for a, b in zip(changed, state, strict=True)) == 1
    return changed


def one_hex_digit_changed(text: str) -> str:
    return ("1" if text[0] != "1" else "2") + text[1:]


def plausible_next_state(state: bytes, version: int) -> bytes:
    """The stored JSON of an event re-dated to now, as version `version`, under a new correlation id: what an
    intruder would write to slip in one more event that looks like the others."""
    data = json.loads(state)
    data["originator_version"] = version
    data["recorded_at"] = datetime.now(UTC).isoformat().replace("+00:00", "Z")
    data["correlation_id"] = f"forged-{uuid.uuid4().hex}"
    return json.dumps(data, separators=(",", ":")).encode()


# -- ledgers to tamper with ------------------------------------------------------------


@dataclass
class Store:
    """A seeded ledger with its view store and integrity checker, and the URL an intruder can open."""

    url: str
    ledger: Ledger
    view: ViewStore
    integrity: Integrity

    def streams(self) -> dict[UUID, list[int]]:
        """Each aggregate's event positions, in version order."""
        streams: dict[UUID, list[int]] = {}
        for position, originator_id, _version, _topic, _state, _hash in self.integrity.records():
            streams.setdefault(originator_id, []).append(position)
        return streams

    def longest_stream(self) -> list[int]:
        """The positions of the aggregate with the most events (the first such, in log order)."""
        return max(self.streams().values(), key=len)

    def head(self) -> int:
        return self.ledger.recorder.max_notification_id() or 0


@contextmanager
def seeded_store(database_url: str, *, events: int = 400, random_seed: int = 11) -> Iterator[Store]:
    """A ledger seeded with a realistic history of about `events` events, closed afterwards."""
    settings = Settings(database_url=database_url)
    ledger = build_ledger(settings)
    view = build_view_store(settings)
    try:
        seed_ledger(
            ledger,
            SeedPlan(managers=3, relationships=max(5, events // 40), events=events, random_seed=random_seed),
            progress=False,
        )
        yield Store(database_url, ledger, view, Integrity(ledger, view))
    finally:
        view.close()
        ledger.close()
