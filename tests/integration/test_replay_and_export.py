"""Point-in-time replay and exports: the views as they stood at a moment, and every event recorded up to it."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import random
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi.testclient import TestClient

from api.app import create_app
from domain.commands import RegisterAccountManager
from domain.values import Role
from infrastructure.bootstrap import System, build_ledger, build_system, build_view_store
from infrastructure.integrity import seal_message
from infrastructure.settings import Settings
from projections.export import CSV_COLUMNS
from projections.replay import ReplayTargetExists, replay
from projections.runner import PROJECTIONS, Projections
from scripts.seed import SeedPlan, seed_ledger
from tests.conftest import LEDGER, audit_as
from tests.e2e.conftest import EXPORT_FIELDS
from tests.integration.projection_support import VIEW_TABLES, Dump, LedgerDriver, dump_views

# -- replay --------------------------------------------------------------------------------


def dump_replay_file(path: Path) -> Dump:
    """Every row of every view table in a replay file, read with the bare sqlite3 module as an auditor would."""
    dump: Dump = {}
    with closing(sqlite3.connect(path)) as connection:
        for table in VIEW_TABLES:
            statement = f"SELECT {', '.join(table.column_names)} FROM {table.name} ORDER BY {', '.join(table.key)}"
            dump[table.name] = [tuple(row) for row in connection.execute(statement).fetchall()]
    return dump


def replay_rows(path: Path, statement: str) -> list[tuple[Any, ...]]:
    with closing(sqlite3.connect(path)) as connection:
        return [tuple(row) for row in connection.execute(statement).fetchall()]


@dataclass(frozen=True)
class Moment:
    """The live views as they stood at a moment, with the last position written by then."""

    at: datetime
    views: Dump
    head: int


def test_a_replay_as_of_each_moment_holds_exactly_the_views_as_they_stood_then(
    database_url: str, tmp_path: Path
) -> None:
    settings = Settings(database_url=database_url)
    ledger = build_ledger(settings)
    view = build_view_store(settings)
    try:
        projections = Projections(ledger, view)
        driver = LedgerDriver(ledger)
        rng = random.Random(3220)
        moments: list[Moment] = []

        def note_the_moment() -> None:
            projections.catch_up()
            views = dump_views(view)
            moments.append(Moment(datetime.now(UTC), views, projections.head()))

        # A moment with nothing but the gift policy, then three moments between rounds of commands.
        note_the_moment()
        for kind in ("register", "register", "register", "open_relationship", "open_relationship"):
            assert driver.run(kind, rng.randrange(1_000), rng.randrange(1_000_000))
        for _ in range(3):
            for _ in range(60):
                driver.run(rng.choice(LedgerDriver.KINDS), rng.randrange(1_000), rng.randrange(1_000_000))
            note_the_moment()
        # Events after the last moment, which no replay may show.
        for _ in range(20):
            driver.run(rng.choice(LedgerDriver.KINDS), rng.randrange(1_000), rng.randrange(1_000_000))
        assert projections.head() > moments[-1].head
        assert [moment.head for moment in moments] == sorted({moment.head for moment in moments})
        assert all(any(moment.views[table.name] for table in VIEW_TABLES) for moment in moments[1:])

        for number, moment in enumerate(moments):
            out = tmp_path / f"replay-{number}.sqlite3"

            included = replay(ledger, out, moment.at, database_url)

            assert included == moment.head  # every position up to the moment, and none after
            assert dump_replay_file(out) == moment.views
            assert replay_rows(out, "SELECT as_of, events, last_position, source FROM replay") == [
                (moment.at.isoformat(), moment.head, moment.head, database_url)
            ]
            # Each view's tracking stops at the last event replayed (the library's own `__migration__` row aside).
            tracked = dict(replay_rows(out, "SELECT application_name, notification_id FROM tracking"))
            assert {projection.name: tracked[projection.name] for projection in PROJECTIONS} == {
                projection.name: moment.head for projection in PROJECTIONS
            }
    finally:
        view.close()
        ledger.close()


def test_a_replay_file_holds_the_view_tables_the_tracking_and_the_replay_record_and_nothing_else(
    sqlite_url: str, tmp_path: Path
) -> None:
    ledger = build_ledger(Settings(database_url=sqlite_url))
    try:
        out = tmp_path / "replay.sqlite3"
        replay(ledger, out, datetime.now(UTC), sqlite_url)
    finally:
        ledger.close()

    tables = {row[0] for row in replay_rows(out, "SELECT name FROM sqlite_master WHERE type = 'table'")}
    assert tables == {table.name for table in VIEW_TABLES} | {"tracking", "replay"}


def test_a_replay_refuses_an_existing_output_file_and_leaves_it_as_it_was(sqlite_url: str, tmp_path: Path) -> None:
    ledger = build_ledger(Settings(database_url=sqlite_url))
    existing = tmp_path / "earlier-replay.sqlite3"
    existing.write_bytes(b"an auditor's earlier replay")
    try:
        with pytest.raises(ReplayTargetExists, match="exists already; replay writes only to a new file"):
            replay(ledger, existing, datetime.now(UTC), sqlite_url)
    finally:
        ledger.close()

    assert existing.read_bytes() == b"an auditor's earlier replay"
    assert issubclass(ReplayTargetExists, FileExistsError)


# -- export --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Exported:
    """A ledger with history on both sides of a moment, sealed at that moment, served in process."""

    url: str
    system: System
    client: TestClient
    auditor: dict[str, str]
    as_of: datetime
    positions: list[int]
    """The positions of every event recorded up to `as_of`."""
    key: Ed25519PrivateKey
    tmp_path: Path


@pytest.fixture
def exported(database_url: str, tmp_path: Path) -> Iterator[Exported]:
    """About 300 seeded events sealed at `as_of`, three more after it, and an auditor's token, on each store."""
    key_path = tmp_path / "signing-key.pem"
    system = build_system(Settings(database_url=database_url, signing_key_path=str(key_path)), run_projections=False)
    try:
        seed_ledger(system.ledger, SeedPlan(managers=3, relationships=8, events=300, random_seed=17), progress=False)
        key = Ed25519PrivateKey.generate()
        assert system.integrity.seal(key) is not None
        as_of = datetime.now(UTC)
        positions = [record[0] for record in system.integrity.records()]
        # Written after the moment: no export as of it may hold these.
        for number in range(3):
            system.ledger.register_account_manager(
                audit_as(Role.MANAGER),
                RegisterAccountManager(name=f"Late {number}", email=f"late.{uuid.uuid4().hex[:8]}@example.com"),
            )
        issued = system.tokens.issue(role=Role.AUDITOR, name=f"auditor-{uuid.uuid4().hex[:8]}")
        with TestClient(create_app(system)) as client:
            yield Exported(
                database_url,
                system,
                client,
                {"Authorization": f"Bearer {issued.token}"},
                as_of,
                positions,
                key,
                tmp_path,
            )
    finally:
        system.close()


def run_ledger(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LEDGER_DATABASE_URL": url}
    return subprocess.run(  # noqa: PLW1510 - callers check the status themselves
        [str(LEDGER), *args], env=env, capture_output=True, text=True, timeout=60
    )


def independent_root(leaves: list[bytes]) -> bytes:
    """The RFC 6962 Merkle root, written out as README's "Verifying independently" gives it."""
    if len(leaves) == 1:
        return leaves[0]
    split = 1
    while split * 2 < len(leaves):
        split *= 2
    return hashlib.sha256(b"\x01" + independent_root(leaves[:split]) + independent_root(leaves[split:])).digest()


def test_the_jsonl_export_holds_every_event_recorded_up_to_as_of_once_in_order_with_its_stored_hash(
    exported: Exported,
) -> None:
    system = exported.system
    response = exported.client.get(
        "/v1/audit/export", params={"as_of": exported.as_of.isoformat(), "format": "jsonl"}, headers=exported.auditor
    )

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/x-ndjson")
    rows = [json.loads(line) for line in response.text.splitlines()]
    assert [row["position"] for row in rows] == exported.positions
    assert all(set(row) == EXPORT_FIELDS for row in rows)
    assert all(datetime.fromisoformat(row["recorded_at"]) <= exported.as_of for row in rows)
    assert {row["position"]: row["hash"] for row in rows} == system.integrity.hashes_at(exported.positions)
    stored = {
        position: (str(originator_id), version, topic, state.decode())
        for position, originator_id, version, topic, state, _ in system.integrity.records(until=exported.positions[-1])
    }
    assert {
        row["position"]: (row["aggregate_id"], row["version"], row["topic"], row["stored_state"]) for row in rows
    } == stored
    assert all(json.loads(row["stored_state"])["correlation_id"] == row["correlation_id"] for row in rows)
    verification = system.integrity.verify()
    assert (verification.ok, verification.first_bad_position) == (True, None)


def test_the_exported_lines_alone_recompute_every_hash_and_the_root_the_seal_signed(exported: Exported) -> None:
    response = exported.client.get(
        "/v1/audit/export", params={"as_of": exported.as_of.isoformat()}, headers=exported.auditor
    )
    (seal,) = exported.system.integrity.seals()

    # README's independent check, with nothing but hashlib over the exported fields.
    last: dict[uuid.UUID, bytes] = {}
    leaves: list[bytes] = []
    for line in response.text.splitlines():
        row = json.loads(line)
        aggregate = uuid.UUID(row["aggregate_id"])
        topic, state = row["topic"].encode(), row["stored_state"].encode()
        digest = hashlib.sha256(
            last.get(aggregate, bytes(32))
            + aggregate.bytes
            + row["version"].to_bytes(8, "big")
            + len(topic).to_bytes(4, "big")
            + topic
            + len(state).to_bytes(8, "big")
            + state
        ).digest()
        assert digest.hex() == row["hash"], f"position {row['position']}"
        last[aggregate] = digest
        leaves.append(hashlib.sha256(b"\x00" + digest).digest())

    assert (seal.position, seal.size) == (exported.positions[-1], len(leaves))
    assert independent_root(leaves) == seal.root
    Ed25519PublicKey.from_public_bytes(seal.public_key).verify(seal.signature, seal_message(seal.position, seal.root))
    assert seal.public_key == exported.key.public_key().public_bytes_raw()


def test_ledger_export_writes_the_same_jsonl_as_the_api_for_the_same_moment(exported: Exported) -> None:
    as_of = exported.as_of.isoformat()
    out = exported.tmp_path / "events.jsonl"
    response = exported.client.get("/v1/audit/export", params={"as_of": as_of}, headers=exported.auditor)

    done = run_ledger(exported.url, "export", "--as-of", as_of, "--format", "jsonl", "--out", str(out))

    assert done.returncode == 0, done.stderr
    count = len(exported.positions)
    assert done.stdout == f"{count:,} events recorded up to {as_of} written to {out}\n"
    assert out.read_bytes() == response.content
    assert len(out.read_bytes().splitlines()) == count


def csv_rows(text: str) -> tuple[list[str], list[dict[str, str]]]:
    reader = csv.DictReader(io.StringIO(text, newline=""))
    rows = list(reader)
    return list(reader.fieldnames or []), rows


def test_the_csv_export_has_a_header_and_one_row_per_event_through_the_api_and_the_command(
    exported: Exported,
) -> None:
    as_of = exported.as_of.isoformat()
    out = exported.tmp_path / "events.csv"
    response = exported.client.get(
        "/v1/audit/export", params={"as_of": as_of, "format": "csv"}, headers=exported.auditor
    )
    jsonl = exported.client.get("/v1/audit/export", params={"as_of": as_of}, headers=exported.auditor)

    done = run_ledger(exported.url, "export", "--as-of", as_of, "--format", "csv", "--out", str(out))

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    header, rows = csv_rows(response.text)
    assert header == list(CSV_COLUMNS)
    assert [int(row["position"]) for row in rows] == exported.positions
    hashes = exported.system.integrity.hashes_at(exported.positions)
    assert [row["hash"] for row in rows] == [hashes[position] for position in exported.positions]
    # Each row says what the JSON line says, the event's data as one JSON cell.
    for row, line in zip(rows, jsonl.text.splitlines(), strict=True):
        expected = json.loads(line)
        parsed = {**row, "position": int(row["position"]), "version": int(row["version"])}
        parsed["data"] = json.loads(row["data"])
        # CSV has no null: an event without a business time has an empty cell.
        assert parsed == {column: "" if expected[column] is None else expected[column] for column in CSV_COLUMNS}
    assert done.returncode == 0, done.stderr
    assert done.stdout == f"{len(exported.positions):,} events recorded up to {as_of} written to {out}\n"
    with out.open(newline="") as written:
        assert csv_rows(written.read()) == (header, rows)
