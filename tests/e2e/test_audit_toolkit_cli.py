"""The auditor's toolkit from the outside: `ledger seal`, `verify`, `replay` as processes, and the audit endpoints.

The command-line scenario is the one the issue describes, step by step on a
temporary SQLite file; the HTTP tests run on both stores.
"""

from __future__ import annotations

import hashlib
import os
import re
import sqlite3
import subprocess
import uuid
from contextlib import closing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi.testclient import TestClient

from domain.values import Role
from infrastructure.access_log import AccessLog
from infrastructure.bootstrap import System
from infrastructure.integrity import seal_message
from tests.conftest import LEDGER
from tests.e2e.conftest import Desk, Headers, Json, Tokens, assert_problem, contact_body, head_position
from tests.integration.tamper_support import intruder, one_byte_changed

# -- the command line ----------------------------------------------------------------------


def ledger(env: dict[str, str], cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    """Runs one `ledger` command to completion."""
    return subprocess.run(  # noqa: PLW1510 - callers check the status themselves
        [str(LEDGER), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=120
    )


def reasons(done: subprocess.CompletedProcess[str]) -> list[str]:
    """The lines of stderr but the progress bar's."""
    return [line for line in done.stderr.splitlines() if not line.startswith(("Verifying", "Replaying"))]


def test_the_auditors_command_line_seals_verifies_names_a_tampered_position_and_refuses_a_foreign_key(
    tmp_path: Path,
) -> None:
    database = tmp_path / "ledger.sqlite3"
    env = {
        **os.environ,
        "LEDGER_DATABASE_URL": f"sqlite:///{database}",
        "LEDGER_SIGNING_KEY": str(tmp_path / "signing-key.pem"),
    }

    # A realistic history of 3,000 events.
    seeded = ledger(env, tmp_path, "seed", "--events", "3000")
    assert seeded.returncode == 0, seeded.stderr
    with closing(sqlite3.connect(database)) as connection:
        head = int(connection.execute("SELECT max(rowid) FROM stored_events").fetchone()[0])
        assert int(connection.execute("SELECT count(*) FROM stored_events").fetchone()[0]) == head
    assert head >= 3_000

    # Sealed: position, root and signature printed, the key created for its owner alone.
    sealed = ledger(env, tmp_path, "seal")
    assert sealed.returncode == 0, sealed.stderr
    first, position, root, signature = sealed.stdout.splitlines()
    assert first == f"Sealed {head:,} events up to position {head}."
    assert position == f"position {head}"
    assert re.fullmatch(r"root [0-9a-f]{64}", root)
    assert re.fullmatch(r"signature [0-9a-f]{128}", signature)
    assert (tmp_path / "signing-key.pem").stat().st_mode & 0o777 == 0o600

    # Intact.
    verified = ledger(env, tmp_path, "verify")
    assert (verified.returncode, verified.stdout) == (0, f"Intact: {head:,} events and 1 seals verified.\n")

    # The seals' public key, as PEM; the printed seal verifies under it.
    public = ledger(env, tmp_path, "seal", "--public-key")
    assert public.returncode == 0, public.stderr
    assert public.stdout.startswith("-----BEGIN PUBLIC KEY-----\n")
    assert public.stdout.endswith("-----END PUBLIC KEY-----\n")
    key = serialization.load_pem_public_key(public.stdout.encode())
    assert isinstance(key, Ed25519PublicKey)
    key.verify(bytes.fromhex(signature.split()[1]), seal_message(head, bytes.fromhex(root.split()[1])))
    (tmp_path / "real.pem").write_text(public.stdout)
    pinned = ledger(env, tmp_path, "verify", "--public-key", str(tmp_path / "real.pem"))
    assert (pinned.returncode, pinned.stdout) == (0, f"Intact: {head:,} events and 1 seals verified.\n")

    # Another key (made by the same command) does not vouch for the seal.
    other = ledger({**env, "LEDGER_SIGNING_KEY": str(tmp_path / "other-key.pem")}, tmp_path, "seal", "--public-key")
    assert other.returncode == 0, other.stderr
    assert other.stdout != public.stdout
    (tmp_path / "other.pem").write_text(other.stdout)
    foreign = ledger(env, tmp_path, "verify", "--public-key", str(tmp_path / "other.pem"))
    assert foreign.returncode == 1
    assert foreign.stdout == ""
    fingerprints = [
        hashlib.sha256(pem_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)).hexdigest()
        for pem_key in (key, serialization.load_pem_public_key(other.stdout.encode()))
        if isinstance(pem_key, Ed25519PublicKey)
    ]
    assert public.stderr == f"fingerprint {fingerprints[0]}\n"
    assert reasons(foreign) == [
        f"position {head}: the seals are signed by key {fingerprints[0]}, not by the pinned key {fingerprints[1]}: "
        "the seals were replaced, or the wrong key was given",
        f"ledger: NOT intact: first bad position {head} ({head:,} events checked)",
    ]

    # The views as they stood after sealing, into a new file; never over an existing one.
    as_of = datetime.now(UTC).isoformat()
    views = tmp_path / "views.sqlite3"
    replayed = ledger(env, tmp_path, "replay", "--as-of", as_of, "--out", str(views))
    assert replayed.returncode == 0, replayed.stderr
    assert replayed.stdout == f"{head:,} events recorded up to {as_of} replayed into {views}\n"
    with closing(sqlite3.connect(views)) as connection:
        assert connection.execute("SELECT as_of, events, last_position FROM replay").fetchall() == [(as_of, head, head)]
    again = ledger(env, tmp_path, "replay", "--as-of", as_of, "--out", str(views))
    assert again.returncode == 1
    assert reasons(again) == [f"ledger: {views} exists already; replay writes only to a new file"]

    # An intruder drops the update trigger and changes one byte of one event's stored state.
    tampered = head // 2
    with closing(sqlite3.connect(database, isolation_level=None)) as connection:
        originator_id, version, state = connection.execute(
            "SELECT originator_id, originator_version, state FROM stored_events WHERE rowid = ?", (tampered,)
        ).fetchone()
        connection.execute("DROP TRIGGER stored_events_refuse_update")
        connection.execute(
            "UPDATE stored_events SET state = ? WHERE rowid = ?", (one_byte_changed(bytes(state)), tampered)
        )

    caught = ledger(env, tmp_path, "verify")
    assert caught.returncode == 1
    assert caught.stdout == ""
    assert reasons(caught) == [
        f"position {tampered}: {UUID(originator_id)} version {version} does not match its hash: altered",
        f"position {head}: the log up to {head} no longer matches its seal",
        f"ledger: NOT intact: first bad position {tampered} ({head:,} events checked)",
    ]


# -- GET /v1/audit/verify ------------------------------------------------------------------


NO_SEAL_KEYS = {
    "rotations_checked": 0,
    "key_fingerprint": None,
    "current_key_fingerprint": None,
    "key_confirmed": False,
}


def test_get_audit_verify_answers_ok_on_an_intact_ledger_and_the_first_bad_position_once_tampered(
    client: TestClient, tokens: Tokens, desk: Desk, system: System, database_url: str
) -> None:
    logged = client.post(
        f"/v1/relationships/{desk.relationship_id}/contacts", json=contact_body(), headers=desk.manager
    )
    assert logged.status_code == 201
    head = head_position(system)

    intact = client.get("/v1/audit/verify", headers=tokens.auditor)
    assert intact.status_code == 200
    assert intact.json() == {
        "ok": True,
        "events_checked": head,
        "seals_checked": 0,
        "first_bad_position": None,
        "problems": [],
        "last_seal": None,
        **NO_SEAL_KEYS,
    }

    with intruder(database_url, system.ledger) as who:
        who.edit_one_byte(desk.position)

    tampered = client.get("/v1/audit/verify", headers=tokens.compliance)
    assert tampered.status_code == 200
    assert tampered.json() == {
        "ok": False,
        "events_checked": head,
        "seals_checked": 0,
        "first_bad_position": desk.position,
        "problems": [f"position {desk.position}: {desk.relationship_id} version 1 does not match its hash: altered"],
        "last_seal": None,
        **NO_SEAL_KEYS,
    }
    assert_problem(client.get("/v1/audit/verify", headers=tokens.manager), 403, "forbidden")


def test_get_audit_verify_names_the_last_seal(client: TestClient, tokens: Tokens, desk: Desk, system: System) -> None:
    key = Ed25519PrivateKey.generate()
    first = system.integrity.seal(key)
    client.post(f"/v1/relationships/{desk.relationship_id}/contacts", json=contact_body(), headers=desk.manager)
    last = system.integrity.seal(key)
    assert first is not None
    assert last is not None
    assert last.position > first.position

    verified = client.get("/v1/audit/verify", headers=tokens.auditor).json()

    assert verified["last_seal"] == {"position": last.position, "size": last.size, "sealed_at": last.sealed_at}


# -- the access log ------------------------------------------------------------------------


def access_log_items(client: TestClient, admin: Headers, **params: Any) -> Json:
    response = client.get("/v1/audit/access-log", params=params, headers=admin)
    assert response.status_code == 200, response.text
    body: Json = response.json()
    return body


def test_every_get_by_an_auditor_or_compliance_token_is_logged_with_who_path_and_status_and_a_managers_is_not(
    client: TestClient, tokens: Tokens, desk: Desk
) -> None:
    auditor_name, compliance_name = f"auditor-{uuid.uuid4().hex[:8]}", f"compliance-{uuid.uuid4().hex[:8]}"
    auditor = tokens.issue(Role.AUDITOR, name=auditor_name)
    compliance = tokens.issue(Role.COMPLIANCE, name=compliance_name)
    reads = [
        (auditor, "/v1/audit/events", {"limit": "5"}),
        (compliance, "/v1/compliance/gift-policy", {}),
        (auditor, "/v1/audit/access-log", {}),  # refused, and logged as refused
        (compliance, f"/v1/relationships/{desk.relationship_id}", {}),
        (auditor, f"/v1/relationships/{uuid.uuid4()}", {}),
    ]
    answered = []
    for headers, path, params in reads:
        response = client.get(path, params=params, headers=headers)
        answered.append((response.status_code, response.headers["X-Correlation-ID"]))
    # Not logged: a manager's reads, an auditor's write, a read without a token.
    assert client.get("/v1/account-managers", headers=tokens.manager).status_code == 200
    assert client.get(f"/v1/relationships/{desk.relationship_id}", headers=desk.manager).status_code == 200
    assert (
        client.post("/v1/account-managers", json={"name": "X", "email": "x@example.com"}, headers=auditor).status_code
        == 403
    )
    assert client.get("/v1/audit/events").status_code == 401

    body = access_log_items(client, tokens.admin, limit=500)

    assert [status for status, _ in answered] == [200, 200, 403, 200, 404]
    assert body["next_cursor"] is None
    assert [
        (item["principal_id"], item["role"], item["method"], item["path"], item["query"], item["status"])
        for item in body["items"]
    ] == [
        (auditor_name, "auditor", "GET", "/v1/audit/events", "limit=5", 200),
        (compliance_name, "compliance", "GET", "/v1/compliance/gift-policy", "", 200),
        (auditor_name, "auditor", "GET", "/v1/audit/access-log", "", 403),
        (compliance_name, "compliance", "GET", f"/v1/relationships/{desk.relationship_id}", "", 200),
        (auditor_name, "auditor", "GET", reads[4][1], "", 404),
    ]
    assert [item["correlation_id"] for item in body["items"]] == [correlation for _, correlation in answered]
    moments = [datetime.fromisoformat(item["at"]) for item in body["items"]]
    assert moments == sorted(moments)
    assert all(moment.tzinfo is not None for moment in moments)


def test_the_access_log_is_listed_for_admins_only(client: TestClient, tokens: Tokens, desk: Desk) -> None:
    for headers in (tokens.auditor, tokens.compliance, tokens.manager, tokens.account_manager(desk.account_manager_id)):
        assert_problem(client.get("/v1/audit/access-log", headers=headers), 403, "forbidden")

    body = access_log_items(client, tokens.admin)

    # The auditor's and compliance's refused reads are there; the managers' are not.
    assert [(item["role"], item["status"]) for item in body["items"]] == [("auditor", 403), ("compliance", 403)]


def test_the_access_log_pages_by_cursor_in_the_order_the_reads_happened(client: TestClient, tokens: Tokens) -> None:
    for number in range(5):
        assert client.get("/v1/audit/events", params={"after": number}, headers=tokens.auditor).status_code == 200

    first = access_log_items(client, tokens.admin, limit=2)
    second = access_log_items(client, tokens.admin, limit=2, cursor=first["next_cursor"])
    third = access_log_items(client, tokens.admin, limit=2, cursor=second["next_cursor"])

    pages = [first["items"], second["items"], third["items"]]
    assert [[item["query"] for item in page] for page in pages] == [
        ["after=0", "after=1"],
        ["after=2", "after=3"],
        ["after=4"],
    ]
    assert third["next_cursor"] is None


def test_two_reads_logged_in_the_same_microsecond_are_both_listed_across_pages(
    client: TestClient, tokens: Tokens, system: System
) -> None:
    auditor = system.tokens.principal(tokens.auditor["Authorization"].removeprefix("Bearer "))
    assert auditor is not None
    # A clock that stands still: two reads logged within the same microsecond.
    frozen = AccessLog(system.view, clock=lambda: datetime(2026, 5, 4, 9, 30, 0, 123456, tzinfo=UTC))
    for correlation_id in ("read-a", "read-b"):
        frozen.record(
            auditor, method="GET", path="/v1/audit/events", query="", status=200, correlation_id=correlation_id
        )

    # The cursor carries the correlation id too: paging on `at` alone once lost the second read.
    first = access_log_items(client, tokens.admin, limit=1)
    second = access_log_items(client, tokens.admin, limit=1, cursor=first["next_cursor"])

    assert [item["correlation_id"] for item in first["items"] + second["items"]] == ["read-a", "read-b"]
