"""Tamper evidence: every kind of change an intruder can make in the database is found, at the right position.

Each test seeds a small realistic history, goes around the ledger with a bare
driver connection (the append-only triggers dropped), and checks exactly what
`Integrity.verify()` reports: whether the log is intact, the first bad position
and the problems, one per line.
"""

from __future__ import annotations

import hashlib
import shutil
import sqlite3
import time
import uuid
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from domain.commands import RegisterAccountManager
from domain.values import Role
from infrastructure import verification
from infrastructure.bootstrap import build_ledger, build_view_store
from infrastructure.integrity import GENESIS, MerkleFrontier, Seal, event_hash, fingerprint, seal_message
from infrastructure.settings import Settings
from infrastructure.verification import Integrity, Verification
from scripts.seed import SeedPlan, seed_ledger
from tests.conftest import audit_as
from tests.integration.tamper_support import Store, intruder, plausible_next_state, seeded_store

BIG_LOG_EVENTS = 100_000


@pytest.fixture
def store(database_url: str) -> Iterator[Store]:
    """A ledger with a seeded history of about 400 events, once on SQLite and once on PostgreSQL."""
    with seeded_store(database_url) as seeded:
        yield seeded


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def raw_public_key(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def assert_intact(result: Verification, events: int, seals: int = 0) -> None:
    assert (result.ok, result.events_checked, result.seals_checked, result.first_bad_position, result.problems) == (
        True,
        events,
        seals,
        None,
        [],
    )


def register_someone(store: Store) -> int:
    """Stores one more event through the ledger; returns its position."""
    result = store.ledger.register_account_manager(
        audit_as(Role.MANAGER),
        RegisterAccountManager(name="Late Arrival", email=f"late.{uuid.uuid4().hex[:8]}@example.com"),
    )
    return result.position


# -- edited ------------------------------------------------------------------------------


def test_an_event_with_one_byte_of_its_state_changed_is_reported_at_its_own_position(
    store: Store, key: Ed25519PrivateKey
) -> None:
    seal = store.integrity.seal(key)
    assert seal is not None
    assert_intact(store.integrity.verify(), store.head(), seals=1)
    position = store.longest_stream()[1]

    with intruder(store.url, store.ledger) as who:
        before = who.edit_one_byte(position)
        assert who.event(position).state != before.state

    result = store.integrity.verify()
    assert result.ok is False
    assert result.first_bad_position == position
    assert result.events_checked == store.head()
    # The altered event is reported once (its stream's next link is to the hash as stored), and the
    # seal over it no longer matches: the recomputed leaf differs.
    assert result.problems == [
        f"position {position}: {before.originator_id} version {before.version} does not match its hash: altered",
        f"position {seal.position}: the log up to {seal.position} no longer matches its seal",
    ]


# -- deleted -------------------------------------------------------------------------------


def test_an_event_deleted_from_the_middle_of_its_stream_is_reported_at_the_next_event_of_that_stream(
    store: Store,
) -> None:
    stream = store.longest_stream()
    deleted, following = stream[1], stream[2]
    events = store.head()

    with intruder(store.url, store.ledger) as who:
        gone = who.event(deleted)
        who.delete_event(deleted)
        assert who.stored_hash(deleted) is None

    result = store.integrity.verify()
    assert result.ok is False
    assert result.first_bad_position == following
    assert result.events_checked == events - 1
    aggregate, version = gone.originator_id, gone.version
    assert result.problems == [
        f"position {following}: {aggregate} jumps from version {version - 1} to {version + 1}",
        f"position {following}: {aggregate} version {version + 1} does not match its hash: altered",
    ]


def test_an_event_deleted_without_its_hash_row_is_reported_at_its_own_position(store: Store) -> None:
    stream = store.longest_stream()
    deleted, following = stream[1], stream[2]

    with intruder(store.url, store.ledger) as who:
        gone = who.event(deleted)
        who.delete_event(deleted, with_hash=False)

    result = store.integrity.verify()
    assert result.first_bad_position == deleted
    aggregate, version = gone.originator_id, gone.version
    assert result.problems == [
        f"position {following}: {aggregate} jumps from version {version - 1} to {version + 1}",
        f"position {following}: {aggregate} version {version + 1} does not match its hash: altered",
        f"position {deleted}: a hash with no event: the event was deleted",
    ]


def last_events_of_streams(store: Store) -> list[int]:
    """The position of each aggregate's last event, for aggregates with more than one, oldest first."""
    return sorted(positions[-1] for positions in store.streams().values() if len(positions) > 1)


def test_an_event_deleted_from_the_end_of_its_stream_once_sealed_is_reported_at_the_seals_position(
    store: Store, key: Ed25519PrivateKey
) -> None:
    seal = store.integrity.seal(key)
    assert seal is not None
    assert seal.position == store.head()
    # The end of a stream well inside the log: no chain has a next link to break.
    deleted = last_events_of_streams(store)[0]
    assert deleted < seal.position

    with intruder(store.url, store.ledger) as who:
        who.delete_event(deleted)

    result = store.integrity.verify()
    assert result.ok is False
    # Nothing but the seal can tell, and it tells where it stands, not where the event was.
    assert result.first_bad_position == seal.position
    assert result.events_checked == seal.size - 1
    assert result.problems == [f"position {seal.position}: the log up to {seal.position} no longer matches its seal"]


def test_before_any_seal_an_event_deleted_from_the_end_of_its_stream_leaves_every_chain_intact(
    store: Store,
) -> None:
    # The limit that seals are for: every remaining chain still links up.
    deleted = last_events_of_streams(store)[0]
    events = store.head()

    with intruder(store.url, store.ledger) as who:
        who.delete_event(deleted)

    assert_intact(store.integrity.verify(), events - 1)


# -- inserted ------------------------------------------------------------------------------


def test_an_event_inserted_without_a_hash_row_is_reported_at_its_own_position(
    store: Store, key: Ed25519PrivateKey
) -> None:
    seal = store.integrity.seal(key)
    assert seal is not None
    last = store.longest_stream()[-1]

    with intruder(store.url, store.ledger) as who:
        latest = who.event(last)
        forged = plausible_next_state(latest.state, latest.version + 1)
        inserted = who.insert_event(latest.originator_id, latest.version + 1, latest.topic, forged)
        assert who.stored_hash(inserted) is None

    assert inserted == seal.position + 1
    result = store.integrity.verify()
    assert result.ok is False
    assert result.first_bad_position == inserted
    assert result.events_checked == seal.size + 1
    assert result.problems == [f"position {inserted}: an event with no hash: inserted behind the ledger's back"]


def test_an_event_inserted_with_a_hash_row_forged_off_the_chain_is_reported_at_its_own_position(
    store: Store,
) -> None:
    last = store.longest_stream()[-1]

    with intruder(store.url, store.ledger) as who:
        latest = who.event(last)
        version = latest.version + 1
        forged = plausible_next_state(latest.state, version)
        inserted = who.insert_event(latest.originator_id, version, latest.topic, forged)
        # The formula, but as if the event began its stream: not linked to the stream's last hash.
        digest = event_hash(GENESIS, latest.originator_id, version, latest.topic, forged).hex()
        who.insert_hash(inserted, latest.originator_id, version, digest)

    result = store.integrity.verify()
    assert result.ok is False
    assert result.first_bad_position == inserted
    assert result.problems == [
        f"position {inserted}: {latest.originator_id} version {version} does not match its hash: altered"
    ]


def test_an_event_appended_after_the_last_seal_with_a_correctly_chained_hash_is_beyond_what_verify_can_see(
    store: Store, key: Ed25519PrivateKey
) -> None:
    # The limit of a keyless hash chain: an intruder who knows the published formula, and appends after
    # the last seal, forges a link nothing can tell from a real one. Only seals kept outside the ledger,
    # compared with what the next seal covers, could.
    seal = store.integrity.seal(key)
    assert seal is not None
    last = store.longest_stream()[-1]

    with intruder(store.url, store.ledger) as who:
        latest = who.event(last)
        version = latest.version + 1
        forged = plausible_next_state(latest.state, version)
        inserted = who.insert_event(latest.originator_id, version, latest.topic, forged)
        previous = who.stored_hash(last)
        assert previous is not None
        digest = event_hash(bytes.fromhex(previous), latest.originator_id, version, latest.topic, forged).hex()
        who.insert_hash(inserted, latest.originator_id, version, digest)

    assert_intact(store.integrity.verify(), seal.size + 1, seals=1)


# -- reordered -----------------------------------------------------------------------------


def test_two_events_of_a_stream_with_their_states_swapped_are_reported_at_the_first_of_them(store: Store) -> None:
    stream = store.longest_stream()
    first, second = stream[1], stream[2]

    with intruder(store.url, store.ledger) as who:
        one, other = who.event(first), who.event(second)
        who.swap_states(first, second)

    result = store.integrity.verify()
    assert result.ok is False
    assert result.first_bad_position == first
    assert result.events_checked == store.head()
    aggregate = one.originator_id
    assert result.problems == [
        f"position {first}: {aggregate} version {one.version} does not match its hash: altered",
        f"position {second}: {aggregate} version {other.version} does not match its hash: altered",
    ]


def test_two_events_of_different_streams_with_their_states_swapped_are_reported_at_the_first_of_them(
    store: Store,
) -> None:
    streams = sorted(store.streams().values(), key=len, reverse=True)
    first, second = sorted((streams[0][1], streams[1][1]))

    with intruder(store.url, store.ledger) as who:
        one, other = who.event(first), who.event(second)
        who.swap_states(first, second)

    result = store.integrity.verify()
    assert result.first_bad_position == first
    assert result.problems == [
        f"position {first}: {one.originator_id} version {one.version} does not match its hash: altered",
        f"position {second}: {other.originator_id} version {other.version} does not match its hash: altered",
    ]


# -- seals ---------------------------------------------------------------------------------


def test_a_seal_whose_signature_was_altered_is_reported_at_the_seals_position(
    store: Store, key: Ed25519PrivateKey
) -> None:
    earlier = store.integrity.seal(key)
    register_someone(store)
    later = store.integrity.seal(key)
    assert earlier is not None
    assert later is not None
    assert_intact(store.integrity.verify(), store.head(), seals=2)

    with intruder(store.url, store.ledger) as who:
        who.alter_seal_signature(earlier.position)

    result = store.integrity.verify()
    assert result.ok is False
    assert result.first_bad_position == earlier.position
    assert result.seals_checked == 2
    assert result.problems == [f"position {earlier.position}: the seal's signature does not verify: forged or altered"]


def test_a_seal_signed_with_another_key_fails_whether_or_not_a_key_is_pinned(
    store: Store, key: Ed25519PrivateKey
) -> None:
    real = store.integrity.seal(key)
    register_someone(store)
    intruders_key = Ed25519PrivateKey.generate()
    # The ledger will not sign with a key that is not its own: the intruder writes the row.
    with pytest.raises(verification.SealRefused):
        store.integrity.seal(intruders_key)
    assert real is not None
    foreign = forged_seal(store, intruders_key)
    with intruder(store.url, store.ledger) as who:
        who.insert_seal(foreign)

    # The first seal's key is the ledger's: a seal by any other is foreign, pinned or not.
    problem = (
        f"position {foreign.position}: the seal is signed by key {fingerprint(raw_public_key(intruders_key))}, "
        f"not the ledger's key {fingerprint(raw_public_key(key))}: a foreign seal"
    )
    for pinned in (None, raw_public_key(key)):
        result = store.integrity.verify(public_key=pinned)
        assert (result.ok, result.first_bad_position, result.problems) == (False, foreign.position, [problem])
    pinned_to_the_intruder = store.integrity.verify(public_key=raw_public_key(intruders_key))
    assert pinned_to_the_intruder.first_bad_position == real.position
    assert pinned_to_the_intruder.key_confirmed is False


def forged_seal(store: Store, key: Ed25519PrivateKey) -> Seal:
    """A seal over the log as it stands, signed by `key`, as an intruder would compute it."""
    frontier = MerkleFrontier()
    for *_, stored in store.integrity.records():
        assert stored is not None
        frontier.add(bytes.fromhex(stored))
    position = store.head()
    root = frontier.root()
    signature = key.sign(seal_message(position, root))
    return Seal(position, frontier.size, root, signature, raw_public_key(key), "2026-01-01T00:00:00+00:00")


# -- progress ------------------------------------------------------------------------------


def test_verify_reports_progress_after_every_page_even_where_a_page_ends_with_an_altered_event(
    sqlite_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pages of 100 events, so a small log has several. (An altered event once skipped its page's report.)
    monkeypatch.setattr(verification, "PAGE", 100)
    with seeded_store(sqlite_url) as seeded:
        head = seeded.head()
        with intruder(seeded.url, seeded.ledger) as who:
            who.edit_one_byte(200)
        reported: list[tuple[int, int]] = []

        result = seeded.integrity.verify(lambda done, total: reported.append((done, total)))

    assert result.first_bad_position == 200
    assert reported == [(page * 100, head) for page in range(1, head // 100 + 1)] + [(head, head)]


# -- a large intact log --------------------------------------------------------------------


@pytest.fixture(scope="module")
def big_sqlite_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite ledger of 100,000 seeded events and one seal, written once for this module and closed."""
    path = tmp_path_factory.mktemp("big") / "ledger.sqlite3"
    settings = Settings(database_url=f"sqlite:///{path}")
    ledger = build_ledger(settings)
    view = build_view_store(settings)
    try:
        seed_ledger(
            ledger,
            SeedPlan(managers=12, relationships=400, events=BIG_LOG_EVENTS, random_seed=2026),
            progress=False,
        )
        assert Integrity(ledger, view).seal(Ed25519PrivateKey.generate()) is not None
    finally:
        view.close()
        ledger.close()
    return path


def count_rows(path: Path, table: str) -> int:
    with closing(sqlite3.connect(path)) as connection:
        return int(connection.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


def test_an_intact_sqlite_ledger_of_100000_events_verifies_clean_with_every_stored_event_checked(
    big_sqlite_log: Path,
) -> None:
    stored = count_rows(big_sqlite_log, "stored_events")
    assert stored >= BIG_LOG_EVENTS
    settings = Settings(database_url=f"sqlite:///{big_sqlite_log}")
    ledger = build_ledger(settings)
    view = build_view_store(settings)
    try:
        reported: list[tuple[int, int]] = []
        started = time.perf_counter()
        result = Integrity(ledger, view).verify(lambda done, total: reported.append((done, total)))
        elapsed = time.perf_counter() - started
    finally:
        view.close()
        ledger.close()

    assert_intact(result, stored, seals=1)
    # Progress after every page of 10,000 events, and once more at the end.
    assert reported == [(page * verification.PAGE, stored) for page in range(1, stored // verification.PAGE + 1)] + [
        (stored, stored)
    ]
    print(f"verified {stored:,} events in {elapsed:.2f} s: {stored / elapsed:,.0f} events/s")


def test_one_byte_changed_deep_in_a_100000_event_log_is_found_at_its_position(
    big_sqlite_log: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "copy.sqlite3"
    shutil.copyfile(big_sqlite_log, copy)
    url = f"sqlite:///{copy}"
    settings = Settings(database_url=url)
    ledger = build_ledger(settings)
    view = build_view_store(settings)
    try:
        integrity = Integrity(ledger, view)
        (seal,) = integrity.seals()
        position = 87_654
        with intruder(url, ledger) as who:
            before = who.edit_one_byte(position)

        result = integrity.verify()
    finally:
        view.close()
        ledger.close()

    assert result.first_bad_position == position
    assert result.problems == [
        f"position {position}: {before.originator_id} version {before.version} does not match its hash: altered",
        f"position {seal.position}: the log up to {seal.position} no longer matches its seal",
    ]


@pytest.mark.postgres
def test_an_intact_postgres_ledger_of_5000_events_verifies_clean_with_every_stored_event_checked(
    postgres_url: str, key: Ed25519PrivateKey
) -> None:
    with seeded_store(postgres_url, events=5_000) as seeded:
        assert seeded.integrity.seal(key) is not None
        with intruder(seeded.url, seeded.ledger) as who:
            stored = who.count_events()

        result = seeded.integrity.verify()

    assert stored >= 5_000
    assert_intact(result, stored, seals=1)


def test_the_hash_formula_is_sha256_over_the_previous_hash_and_the_stored_fields() -> None:
    # The published formula, computed by hand, so an auditor's own code agrees with the ledger's.
    aggregate = uuid.UUID("12345678-1234-5678-1234-567812345678")
    topic, state = "ledger:AccountManager.Registered", b'{"name":"Ann"}'
    expected = hashlib.sha256(
        bytes(32)
        + aggregate.bytes
        + (1).to_bytes(8, "big")
        + len(topic).to_bytes(4, "big")
        + topic.encode()
        + len(state).to_bytes(8, "big")
        + state
    ).digest()

    assert event_hash(GENESIS, aggregate, 1, topic, state) == expected
    assert event_hash(GENESIS, aggregate.bytes, 1, topic, state) == expected
