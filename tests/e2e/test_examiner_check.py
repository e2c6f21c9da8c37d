"""The examiner's check from outside (`scripts/examiner_check.py`): the export and the seals from the API, the
ledger's public key kept apart; it confirms a clean history and names the first bad position of each tampering."""

from __future__ import annotations

import itertools
import json
import os
import sqlite3
import subprocess
import sys
import uuid
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from domain.commands import RegisterAccountManager
from domain.values import Role
from infrastructure.bootstrap import System
from infrastructure.integrity import MerkleFrontier, Seal, fingerprint, rotation_message, seal_message
from infrastructure.verification import load_signing_key, public_key_pem, raw_public_key
from scripts.seed import SeedPlan, seed_ledger
from tests.conftest import audit_as
from tests.e2e.conftest import Tokens
from tests.e2e.test_audit_toolkit_cli import ledger
from tests.integration.tamper_support import Intruder, intruder

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "examiner_check.py"


@dataclass
class Sealed:
    """A seeded ledger sealed twice (a few events apart), with a short unsealed tail after."""

    system: System
    key: Ed25519PrivateKey
    first: Seal
    second: Seal
    folder: Path

    def streams(self) -> dict[uuid.UUID, list[int]]:
        streams: dict[uuid.UUID, list[int]] = {}
        for position, originator_id, *_ in self.system.integrity.records():
            streams.setdefault(originator_id, []).append(position)
        return streams


def register(system: System) -> int:
    return system.ledger.register_account_manager(
        audit_as(Role.MANAGER),
        RegisterAccountManager(name="Examined", email=f"examined.{uuid.uuid4().hex[:8]}@example.com"),
    ).position


@pytest.fixture
def sealed(system: System, tmp_path: Path) -> Sealed:
    seed_ledger(system.ledger, SeedPlan(managers=3, relationships=8, events=300, random_seed=5), progress=False)
    key = load_signing_key(str(tmp_path / "key.pem"))
    first = system.integrity.seal(key)
    for _ in range(3):
        register(system)
    second = system.integrity.seal(key)
    register(system)
    assert first is not None
    assert second is not None
    (tmp_path / "ledger.pub").write_text(public_key_pem(key))
    return Sealed(system, key, first, second, tmp_path)


def fetch_seals(client: TestClient, tokens: Tokens, folder: Path) -> list[str]:
    """Every page of GET /v1/audit/seals (two seals a page), each saved as the API sent it."""
    files: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/audit/seals", params=params, headers=tokens.auditor)
        assert page.status_code == 200, page.text
        path = folder / f"seals-{len(files)}.json"
        path.write_text(page.text)
        files.append(str(path))
        cursor = page.json()["next_cursor"]
        if cursor is None:
            return files


def export(client: TestClient, tokens: Tokens, folder: Path) -> str:
    response = client.get("/v1/audit/export", headers=tokens.auditor)
    assert response.status_code == 200
    path = folder / "events.jsonl"
    path.write_bytes(response.content)
    return str(path)


def check(events: str, seals: list[str], key: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), events, *seals, "--key", key],
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )


def test_the_seals_are_listed_with_everything_an_outside_verifier_needs_and_paged(
    client: TestClient, tokens: Tokens, sealed: Sealed
) -> None:
    files = fetch_seals(client, tokens, sealed.folder)
    items = [item for name in files for item in json.loads(Path(name).read_text())["items"]]
    assert [(item["kind"], item["position"], item["size"]) for item in items] == [
        ("seal", sealed.first.position, sealed.first.size),
        ("seal", sealed.second.position, sealed.second.size),
    ]
    public = raw_public_key(sealed.key)
    assert items[0] == {
        "kind": "seal",
        "position": sealed.first.position,
        "size": sealed.first.size,
        "root": sealed.first.root.hex(),
        "signature": sealed.first.signature.hex(),
        "public_key": public.hex(),
        "key_fingerprint": fingerprint(public),
        "sealed_at": sealed.first.sealed_at,
        "new_public_key": None,
        "new_key_fingerprint": None,
        "new_key_signature": None,
    }
    assert client.get("/v1/audit/seals", headers=tokens.manager).status_code == 403


def test_a_clean_history_is_confirmed_with_the_key_as_pem_or_hex_and_across_a_rotation(
    client: TestClient, tokens: Tokens, sealed: Sealed
) -> None:
    key_file = str(sealed.folder / "ledger.pub")
    done = check(export(client, tokens, sealed.folder), fetch_seals(client, tokens, sealed.folder), key_file)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"Confirmed: {sealed.second.position + 1} events")
    assert "1 events after it are not sealed yet" in done.stdout

    # A rotation, then a seal by the new key: confirmed under the first key or the new one.
    new_key = Ed25519PrivateKey.generate()
    assert sealed.system.integrity.seal(sealed.key, rotate_to=new_key) is not None
    register(sealed.system)
    assert sealed.system.integrity.seal(new_key) is not None
    events, seals = export(client, tokens, sealed.folder), fetch_seals(client, tokens, sealed.folder)
    for pinned in (raw_public_key(sealed.key).hex(), raw_public_key(new_key).hex()):
        done = check(events, seals, pinned)
        assert done.returncode == 0, done.stderr
        assert "(1 key rotations)" in done.stdout


def last_of_a_stream_before(sealed: Sealed, position: int) -> int:
    """The last event of some stream with more than one event, well before `position`."""
    return min(p[-1] for p in sealed.streams().values() if len(p) > 1 and p[-1] < position - 5)


def edited(sealed: Sealed, who: Intruder) -> int:
    position = sealed.first.position // 2
    who.edit_one_byte(position)
    return position


def rechained(sealed: Sealed, who: Intruder) -> int:
    who.rechain_edit(sealed.first.position // 2)
    return sealed.first.position


def deleted_in_the_middle(sealed: Sealed, who: Intruder) -> int:
    stream = max(sealed.streams().values(), key=len)
    who.delete_event(stream[1])
    return stream[2]  # its link to the deleted event breaks


def deleted_tail_after_a_seal(sealed: Sealed, who: Intruder) -> int:
    who.delete_after(sealed.first.position)
    return sealed.second.position


def inserted_with_a_correct_hash(sealed: Sealed, who: Intruder) -> int:
    stream_end = last_of_a_stream_before(sealed, sealed.first.position)
    who.insert_chained_event_at(stream_end + 3, stream_end)
    return sealed.first.position


def reordered(sealed: Sealed, who: Intruder) -> int:
    # Two events of one kind in one stream, told in the other order (so the export still reads them).
    pairs = (
        (one, other)
        for stream in sealed.streams().values()
        for one, other in itertools.pairwise(stream)
        if who.event(one).topic == who.event(other).topic and who.event(one).state != who.event(other).state
    )
    first, second = min(pairs)
    who.swap_states(first, second)
    return first


def foreign_seal(sealed: Sealed, who: Intruder) -> int:
    frontier = MerkleFrontier()
    for *_, stored in sealed.system.integrity.records():
        assert stored is not None
        frontier.add(bytes.fromhex(stored))
    position, root, intruders_key = (
        sealed.system.ledger.recorder.max_notification_id() or 0,
        frontier.root(),
        (Ed25519PrivateKey.generate()),
    )
    signature = intruders_key.sign(seal_message(position, root))
    who.insert_seal(Seal(position, frontier.size, root, signature, raw_public_key(intruders_key), "2026-01-01"))
    return position


def forged_rotation(sealed: Sealed, who: Intruder) -> int:
    second, intruders_key = sealed.second, Ed25519PrivateKey.generate()
    message = rotation_message(second.position, second.root, second.public_key, raw_public_key(intruders_key))
    who.insert_seal(
        Seal(
            second.position,
            second.size,
            second.root,
            intruders_key.sign(message),
            second.public_key,
            "2026-01-01",
            second.frontier,
            raw_public_key(intruders_key),
            intruders_key.sign(message),
        )
    )
    return second.position


TAMPERINGS: dict[str, tuple[Callable[[Sealed, Intruder], int], bool]] = {
    # name: (what the intruder does, returning the position to be named; whether the seals are read afterwards)
    "edited event": (edited, False),
    "re-chained edit": (rechained, False),
    "deleted event in the middle": (deleted_in_the_middle, False),
    "deleted tail after a seal": (deleted_tail_after_a_seal, False),
    "inserted event with a correct hash": (inserted_with_a_correct_hash, False),
    "reordered events": (reordered, False),
    "seal signed by a foreign key": (foreign_seal, True),
    "forged rotation": (forged_rotation, True),
}


@pytest.mark.parametrize("tampering", list(TAMPERINGS))
def test_each_kind_of_tampering_fails_the_check_naming_the_first_bad_position(
    client: TestClient, tokens: Tokens, sealed: Sealed, database_url: str, tampering: str
) -> None:
    tamper, seals_read_after = TAMPERINGS[tampering]
    kept = fetch_seals(client, tokens, sealed.folder)  # the examiner keeps the seals as they were published
    with intruder(database_url, sealed.system.ledger) as who:
        expected = tamper(sealed, who)
    seals = fetch_seals(client, tokens, sealed.folder / "after") if seals_read_after else kept
    done = check(export(client, tokens, sealed.folder), seals, str(sealed.folder / "ledger.pub"))

    assert done.returncode == 1, done.stdout
    assert done.stdout == ""
    assert done.stderr.startswith(f"NOT confirmed: first bad position {expected} "), done.stderr


@pytest.fixture(autouse=True)
def after_folder(tmp_path: Path) -> None:
    (tmp_path / "after").mkdir()


# -- the command line and /audit/verify hold seals to the ledger's own key ---------------------


def test_the_command_line_rotates_the_key_refuses_to_seal_a_forged_hash_and_verifies_against_the_local_key(
    tmp_path: Path,
) -> None:
    database = tmp_path / "ledger.sqlite3"
    env = {
        **os.environ,
        "LEDGER_DATABASE_URL": f"sqlite:///{database}",
        "LEDGER_SIGNING_KEY": str(tmp_path / "signing-key.pem"),
    }
    assert ledger(env, tmp_path, "seed", "--events", "300").returncode == 0
    assert ledger(env, tmp_path, "seal").returncode == 0
    old = ledger(env, tmp_path, "seal", "--public-key")
    (tmp_path / "first.pem").write_text(old.stdout)

    # A rotation: signed by the old key and the new; the new key then sits at LEDGER_SIGNING_KEY.
    rotated = ledger(env, tmp_path, "seal", "--rotate-key", str(tmp_path / "new-key.pem"))
    assert rotated.returncode == 0, rotated.stderr
    new = ledger(env, tmp_path, "seal", "--public-key")
    assert new.stdout != old.stdout
    assert new.stdout == public_key_pem(load_signing_key(str(tmp_path / "new-key.pem")))
    assert rotated.stdout.splitlines()[0].endswith(f"{new.stderr.split()[1]}, now at {tmp_path / 'signing-key.pem'}.")
    for args in ((), ("--public-key", str(tmp_path / "first.pem"))):
        verified = ledger(env, tmp_path, "verify", *args)
        assert verified.returncode == 0, verified.stderr
        assert "(1 rotations; confirmed by" in verified.stderr

    # An event slipped in after the last seal, with no hash: `ledger seal` refuses, and says where.
    with closing(sqlite3.connect(database, isolation_level=None)) as connection:
        connection.execute(
            "INSERT INTO stored_events (originator_id, originator_version, topic, state) "
            "SELECT originator_id, originator_version + 1, topic, state FROM stored_events ORDER BY rowid DESC LIMIT 1"
        )
        head = int(connection.execute("SELECT max(rowid) FROM stored_events").fetchone()[0])
    refused = ledger(env, tmp_path, "seal")
    assert refused.returncode == 1
    assert refused.stderr.splitlines()[-1].startswith(f"ledger: nothing sealed: position {head}: ")


def test_audit_verify_holds_replaced_seals_to_the_servers_own_key_and_shows_its_fingerprint(
    client: TestClient, tokens: Tokens, sealed: Sealed, database_url: str
) -> None:
    own = raw_public_key(sealed.key)
    object.__setattr__(sealed.system.settings, "signing_key_path", str(sealed.folder / "key.pem"))
    body = client.get("/v1/audit/verify", headers=tokens.auditor).json()
    assert (body["ok"], body["key_fingerprint"], body["current_key_fingerprint"], body["key_confirmed"]) == (
        True,
        fingerprint(own),
        fingerprint(own),
        True,
    )

    with intruder(database_url, sealed.system.ledger) as who:
        who.delete_seals()
        forged = foreign_seal(sealed, who)
    body = client.get("/v1/audit/verify", headers=tokens.auditor).json()
    assert (body["ok"], body["first_bad_position"], body["key_confirmed"]) == (False, forged, False)
