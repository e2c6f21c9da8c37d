"""Issue 13, findings 8-10: seals are held to the ledger's own key, sealing recomputes what it signs, the
unsealed window is bounded by time, and a re-chained edit is named at the edited event. On both stores."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain.commands import RegisterAccountManager
from domain.values import Role
from infrastructure.bootstrap import build_system
from infrastructure.integrity import GENESIS, MerkleFrontier, Seal, event_hash, fingerprint, rotation_message
from infrastructure.settings import Settings
from infrastructure.verification import Sealer, SealRefused, load_signing_key, raw_public_key
from tests.conftest import audit_as
from tests.integration.tamper_support import Store, intruder, seeded_store


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    with seeded_store(database_url) as seeded:
        yield seeded


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def register_someone(store: Store) -> int:
    result = store.ledger.register_account_manager(
        audit_as(Role.MANAGER),
        RegisterAccountManager(name="Late Arrival", email=f"late.{uuid.uuid4().hex[:8]}@example.com"),
    )
    return result.position


def intruders_seal(store: Store, key: Ed25519PrivateKey) -> Seal:
    """A seal over the log as it now stands, as an intruder computes it from the stored events."""
    frontier, last = MerkleFrontier(), dict[uuid.UUID, bytes]()
    for _position, originator_id, version, topic, state, _stored in store.integrity.records():
        digest = event_hash(last.get(originator_id, GENESIS), originator_id, version, topic, state)
        last[originator_id] = digest
        frontier.add(digest)
    position, root = store.head(), frontier.root()
    signature = key.sign(b"ledger-seal-v1" + position.to_bytes(8, "big") + root)
    return Seal(position, frontier.size, root, signature, raw_public_key(key), "2026-01-01T00:00:00+00:00")


def wait_until(condition: object, timeout: float = 10.0) -> bool:
    """Polls `condition` (a callable) until it holds or `timeout` passes."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


# -- finding 8: the ledger's own key ---------------------------------------------------------


def test_a_seal_by_another_key_added_after_a_rechained_edit_fails_verification_with_no_key_given(
    store: Store, key: Ed25519PrivateKey
) -> None:
    real = store.integrity.seal(key)
    assert real is not None
    edited = store.longest_stream()[2]
    register_someone(store)

    # The intruder edits, re-chains the aggregate, and seals the result with their own key.
    with intruder(store.url, store.ledger) as who:
        who.rechain_edit(edited)
        who.insert_seal(intruders_seal(store, Ed25519PrivateKey.generate()))

    result = store.integrity.verify()
    assert result.ok is False
    assert result.first_bad_position == edited
    assert any("a foreign seal" in problem for problem in result.problems)


def test_seals_all_replaced_by_an_intruders_own_fail_against_the_ledgers_key(
    store: Store, key: Ed25519PrivateKey
) -> None:
    assert store.integrity.seal(key) is not None
    edited = store.longest_stream()[1]
    with intruder(store.url, store.ledger) as who:
        who.rechain_edit(edited)
        who.delete_seals()
        forged = intruders_seal(store, Ed25519PrivateKey.generate())
        who.insert_seal(forged)

    # On their own word the replaced seals hold: only a key from outside the database can tell.
    assert store.integrity.verify().ok is True
    result = store.integrity.verify(public_key=raw_public_key(key))
    assert (result.ok, result.first_bad_position, result.key_confirmed) == (False, forged.position, False)
    assert result.problems == [
        f"position {forged.position}: the seals are signed by key {fingerprint(forged.public_key)}, not by the "
        f"pinned key {fingerprint(raw_public_key(key))}: the seals were replaced, or the wrong key was given"
    ]


def test_after_a_rotation_seals_by_the_new_key_verify_and_the_old_key_may_no_longer_seal(
    store: Store, key: Ed25519PrivateKey
) -> None:
    first = store.integrity.seal(key)
    register_someone(store)
    new_key = Ed25519PrivateKey.generate()
    rotation = store.integrity.seal(key, rotate_to=new_key)
    register_someone(store)
    with pytest.raises(SealRefused, match="is not the ledger's key"):
        store.integrity.seal(key)
    later = store.integrity.seal(new_key)
    assert first is not None
    assert rotation is not None
    assert later is not None
    assert rotation.new_public_key == raw_public_key(new_key)

    for pinned in (raw_public_key(key), raw_public_key(new_key)):
        result = store.integrity.verify(public_key=pinned)
        assert (result.ok, result.problems, result.seals_checked, result.rotations_checked) == (True, [], 2, 1)
        assert (result.first_key, result.current_key, result.key_confirmed) == (
            raw_public_key(key),
            raw_public_key(new_key),
            True,
        )


def test_a_rotation_forged_with_the_intruders_key_alone_is_reported_at_its_position(
    store: Store, key: Ed25519PrivateKey
) -> None:
    sealed = store.integrity.seal(key)
    assert sealed is not None
    register_someone(store)
    intruders_key = Ed25519PrivateKey.generate()
    # A rotation that claims the ledger's key handed over, both signatures made by the intruder's key.
    message = rotation_message(sealed.position, sealed.root, sealed.public_key, raw_public_key(intruders_key))
    forged = Seal(
        sealed.position,
        sealed.size,
        sealed.root,
        intruders_key.sign(message),
        sealed.public_key,
        "2026-01-02T00:00:00+00:00",
        sealed.frontier,
        raw_public_key(intruders_key),
        intruders_key.sign(message),
    )
    with intruder(store.url, store.ledger) as who:
        who.insert_seal(forged)
        who.insert_seal(intruders_seal(store, intruders_key))

    result = store.integrity.verify()
    assert result.ok is False
    assert result.first_bad_position == sealed.position
    assert (
        result.problems[0]
        == f"position {sealed.position}: the key rotation's signature does not verify: forged or altered"
    )
    assert "a foreign seal" in result.problems[1]


# -- finding 9: sealing recomputes, and the unsealed window is bounded by time -----------------


def test_sealing_refuses_an_event_whose_stored_hash_no_longer_matches_and_seals_nothing(
    store: Store, key: Ed25519PrivateKey
) -> None:
    sealed = store.integrity.seal(key)
    assert sealed is not None
    position = register_someone(store)
    with intruder(store.url, store.ledger) as who:
        who.edit_one_byte(position)

    with pytest.raises(SealRefused, match=f"position {position}: .* does not match its stored hash"):
        store.integrity.seal(key)
    assert store.integrity.seals() == [sealed]


def test_sealing_refuses_an_event_inserted_without_a_hash_and_a_hash_left_without_its_event(
    store: Store, key: Ed25519PrivateKey
) -> None:
    assert store.integrity.seal(key) is not None
    last = store.longest_stream()[-1]
    with intruder(store.url, store.ledger) as who:
        latest = who.event(last)
        inserted = who.insert_event(latest.originator_id, latest.version + 1, latest.topic, latest.state)
    with pytest.raises(SealRefused, match=f"position {inserted}: an event with no hash"):
        store.integrity.seal(key)

    with intruder(store.url, store.ledger) as who:
        who.delete_event(inserted, with_hash=False)
        position = register_someone(store)
        who.delete_event(position, with_hash=False)
    with pytest.raises(SealRefused, match=f"position {position}: a hash with no event"):
        store.integrity.seal(key)


def test_a_later_seal_still_chains_on_from_a_sealing_in_the_same_process_and_in_a_fresh_one(
    store: Store, key: Ed25519PrivateKey
) -> None:
    assert store.integrity.seal(key) is not None
    for _ in range(3):
        register_someone(store)
        assert store.integrity.seal(key) is not None
    fresh = type(store.integrity)(store.ledger, store.view)  # no heads kept: predecessors read back
    register_someone(store)
    assert fresh.seal(key) is not None
    result = store.integrity.verify(public_key=raw_public_key(key))
    assert (result.ok, result.seals_checked, result.events_checked) == (True, 5, store.head())


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_sealer_seals_a_few_events_once_the_interval_has_passed_since_the_first_was_seen(
    store: Store, tmp_path: Path
) -> None:
    clock = Clock()
    sealer = Sealer(store.integrity, str(tmp_path / "key.pem"), every=10_000, interval=60, clock=clock)
    assert sealer.seal_if_due() is None  # the seeded history is first seen now
    clock.now += 59
    assert sealer.seal_if_due() is None
    clock.now += 1
    sealed = sealer.seal_if_due()
    assert sealed is not None
    assert sealed.position == store.head()
    assert sealer.seal_if_due() is None  # nothing new
    register_someone(store)
    assert sealer.seal_if_due() is None
    clock.now += 60
    assert sealer.seal_if_due() is not None


def test_a_running_ledger_seals_within_the_interval_so_a_deleted_tail_is_then_caught(
    database_url: str, tmp_path: Path
) -> None:
    key_path = str(tmp_path / "key.pem")
    settings = Settings(database_url=database_url, signing_key_path=key_path, seal_interval=0.3)
    system = build_system(settings, run_projections=True, poll_interval=0.05)
    try:
        positions = []
        for _ in range(3):  # far fewer events than LEDGER_SEAL_EVERY
            positions.append(
                system.ledger.register_account_manager(
                    audit_as(Role.MANAGER),
                    RegisterAccountManager(name="Tail", email=f"tail.{uuid.uuid4().hex[:8]}@example.com"),
                ).position
            )

        def sealed_to_the_end() -> bool:
            seals = system.integrity.seals()
            return bool(seals) and seals[-1].position >= positions[-1]

        assert wait_until(sealed_to_the_end), "no seal within the interval"
        store_ledger = system.ledger
        with intruder(database_url, store_ledger) as who:
            assert who.delete_after(positions[0]) == 2
        result = system.integrity.verify(public_key=raw_public_key(load_signing_key(key_path)))
        assert result.ok is False
        assert result.first_bad_position == system.integrity.seals()[-1].position
    finally:
        system.close()


def test_a_running_ledger_with_no_interval_leaves_a_short_tail_unsealed(database_url: str, tmp_path: Path) -> None:
    settings = Settings(database_url=database_url, signing_key_path=str(tmp_path / "key.pem"), seal_interval=0)
    system = build_system(settings, run_projections=True, poll_interval=0.05)
    try:
        position = system.ledger.register_account_manager(
            audit_as(Role.MANAGER),
            RegisterAccountManager(name="Tail", email=f"tail.{uuid.uuid4().hex[:8]}@example.com"),
        ).position
        assert system.runner is not None
        assert system.runner.wait(position, timeout=5)
        done = threading.Event()
        done.wait(0.3)  # a few idle polls: nothing may seal
        assert system.integrity.seals() == []
    finally:
        system.close()


# -- finding 10: a re-chained edit is named where it was made ----------------------------------


def test_an_edit_before_a_seal_with_its_aggregates_chain_recomputed_is_reported_at_the_edited_event(
    store: Store, key: Ed25519PrivateKey
) -> None:
    stream = store.longest_stream()
    edited = stream[1]
    sealed = store.integrity.seal(key)
    assert sealed is not None
    assert edited < stream[-1] <= sealed.position

    with intruder(store.url, store.ledger) as who:
        who.rechain_edit(edited)

    result = store.integrity.verify(public_key=raw_public_key(key))
    assert result.ok is False
    assert result.first_bad_position == edited
    assert result.problems == [
        f"position {edited}: the event is not the one the seal at {sealed.position} certified: altered, and its "
        "chain recomputed",
        f"position {sealed.position}: the log up to {sealed.position} no longer matches its seal",
    ]


def test_a_rechained_edit_between_two_seals_is_named_at_the_edited_event(store: Store, key: Ed25519PrivateKey) -> None:
    assert store.integrity.seal(key) is not None
    position = register_someone(store)
    register_someone(store)
    later = store.integrity.seal(key)
    assert later is not None
    with intruder(store.url, store.ledger) as who:
        who.rechain_edit(position)

    result = store.integrity.verify()
    assert (result.ok, result.first_bad_position) == (False, position)
