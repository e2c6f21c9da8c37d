"""Seals and verification: the ledger proves its history intact, and says where it is not."""

from __future__ import annotations

import contextlib
import logging
import os
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from domain.application import Ledger
from infrastructure.integrity import GENESIS, MerkleFrontier, Seal, event_hash, fingerprint, seal_message
from infrastructure.seals import KeyChain, SealStore, key_in_force, signature_holds
from infrastructure.sql import ViewStore

PAGE = 10_000
log = logging.getLogger(__name__)


class SealRefused(RuntimeError):
    """Nothing was sealed: a stored hash does not match its event, or the key is not the ledger's."""


@dataclass
class Verification:
    """What `ledger verify` found: whether the log is intact, how much it checked, and the first bad position."""

    ok: bool = True
    events_checked: int = 0
    seals_checked: int = 0
    last_seal: Seal | None = None
    first_bad_position: int | None = None
    problems: list[str] = field(default_factory=list)
    rotations_checked: int = 0
    first_key: bytes | None = None
    """The key of the first seal: every later seal must be signed by it, or by a key it rotated to."""
    current_key: bytes | None = None
    """The key in force after the last valid rotation (the first key if none)."""
    key_confirmed: bool = False
    """Whether a key from outside the database (given, or the local signing key) is one of the seals' keys."""

    def fail(self, position: int, problem: str) -> None:
        self.ok = False
        self.problems.append(f"position {position}: {problem}")
        if self.first_bad_position is None or position < self.first_bad_position:
            self.first_bad_position = position


def load_signing_key(path: str) -> Ed25519PrivateKey:
    """The seal-signing key, created (readable by its owner only) the first time it is needed.

    Several processes may start at once: the key is written to a file of its own
    and linked into place, so each of them ends up with the one that won.
    """
    key_file = Path(path)
    if not key_file.exists():
        key = Ed25519PrivateKey.generate()
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        draft = key_file.with_name(f".{key_file.name}.{os.getpid()}.{secrets.token_hex(4)}")
        descriptor = os.open(draft, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as out:
                out.write(pem)
            with contextlib.suppress(FileExistsError):  # another process linked its key first
                os.link(draft, key_file)
        finally:
            draft.unlink()
    stored = serialization.load_pem_private_key(key_file.read_bytes(), password=None)
    assert isinstance(stored, Ed25519PrivateKey)
    return stored


def raw_public_key(key: Ed25519PrivateKey) -> bytes:
    """The raw 32 bytes of a signing key's public key, as seals store it."""
    return key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def local_public_key(path: str) -> bytes | None:
    """The public key of the signing key file at `path` if there is one (never creates it)."""
    if not Path(path).exists():
        return None
    return raw_public_key(load_signing_key(path))


def parse_public_key(text: str) -> bytes:
    """A public key given as PEM or as 64 hex digits, as its raw 32 bytes (ValueError if it is neither)."""
    text = text.strip()
    if text.startswith("-----BEGIN"):
        loaded = serialization.load_pem_public_key(text.encode())
        if not isinstance(loaded, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return loaded.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    raw = bytes.fromhex(text)
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes (64 hex digits)")
    return raw


def public_key_pem(key: Ed25519PrivateKey) -> str:
    return (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )


class Integrity:
    """Reads the stored events with their hashes, records seals, and verifies chains and seals."""

    def __init__(self, ledger: Ledger, view: ViewStore) -> None:
        self.ledger = ledger
        self.view = view
        recorder: Any = ledger.recorder
        self.events_table = recorder.events_table_name
        self.hashes_table = recorder.hashes_table
        self.position_column = "rowid" if view.dialect == "sqlite" else "notification_id"
        self.seal_store = SealStore(view)
        self._sealing = threading.Lock()
        # Each aggregate's last (version, hash) as of position `_heads_at`: the next seal
        # chains on from here instead of reading the predecessors back.
        self._heads: dict[bytes, tuple[int, bytes]] = {}
        self._heads_at = -1

    # -- reading --

    def records(
        self, after: int = 0, until: int | None = None
    ) -> Iterator[tuple[int, UUID, int, str, bytes, str | None]]:
        """(position, aggregate id, version, topic, state, stored hash) of every event, in position order."""
        for position, originator_id, version, topic, state, stored in self.raw_rows(after, until):
            yield position, _uuid(originator_id), version, topic, bytes(state), stored

    def raw_rows(self, after: int = 0, until: int | None = None) -> Iterator[tuple[Any, ...]]:
        """The same rows as the database gives them (the id as hex text on SQLite, a UUID on PostgreSQL)."""
        for rows in self._raw_pages(after, until):
            yield from rows

    def _raw_pages(self, after: int = 0, until: int | None = None) -> Iterator[list[tuple[Any, ...]]]:
        pos = self.position_column
        while True:
            statement = (
                f"SELECT e.{pos}, e.originator_id, e.originator_version, e.topic, e.state, h.hash "
                f"FROM {self.events_table} e LEFT JOIN {self.hashes_table} h ON h.position = e.{pos} "
                f"WHERE e.{pos} > ?"
                + ("" if until is None else f" AND e.{pos} <= {int(until)}")
                + f" ORDER BY e.{pos} LIMIT {PAGE}"
            )
            with self.view.reading() as cursor:
                rows = cursor.execute(statement, (after,)).fetchall()
            if rows:
                yield rows
            if len(rows) < PAGE:
                return
            after = rows[-1][0]

    def orphan_hashes(self, after: int = 0) -> list[int]:
        """Positions (after `after`) that have a hash but no event: events deleted behind the guard's back."""
        pos = self.position_column
        with self.view.reading() as cursor:
            rows = cursor.execute(
                f"SELECT h.position FROM {self.hashes_table} h LEFT JOIN {self.events_table} e ON e.{pos} = h.position "
                f"WHERE e.{pos} IS NULL AND h.position > ? ORDER BY h.position",
                (after,),
            ).fetchall()
        return [int(row[0]) for row in rows]

    def seals(self) -> list[Seal]:
        """Every seal and key rotation, in log order (at one position, a seal before a rotation)."""
        return self.seal_store.seals()

    def seal_page(self, after: tuple[int, int, str] | None, limit: int) -> list[Seal]:
        """Up to `limit` seals and rotations after `after` (as `log_order` gives it), in log order."""
        return self.seal_store.seal_page(after, limit)

    def latest_seal(self) -> Seal | None:
        """The last seal or rotation in log order."""
        return self.seal_store.latest_seal()

    def hashes_at(self, positions: list[int]) -> dict[int, str]:
        """The stored hash (hex) of the events at these positions."""
        if not positions:
            return {}
        marks = ", ".join("?" * len(positions))
        with self.view.reading() as cursor:
            rows = cursor.execute(
                f"SELECT position, hash FROM {self.hashes_table} WHERE position IN ({marks})", positions
            ).fetchall()
        return {int(position): str(digest) for position, digest in rows}

    def _stored_hashes(self, wanted: dict[bytes, int]) -> dict[bytes, tuple[int, bytes]]:
        """The stored hash of each aggregate's event at the version given, where there is one."""
        found: dict[bytes, tuple[int, bytes]] = {}
        items = list(wanted.items())
        for start in range(0, len(items), 200):
            chunk = items[start : start + 200]
            where = " OR ".join(["(originator_id = ? AND originator_version = ?)"] * len(chunk))
            params: list[Any] = []
            for originator_id, version in chunk:
                params += [str(UUID(bytes=originator_id)), version]
            with self.view.reading() as cursor:
                rows = cursor.execute(
                    f"SELECT originator_id, originator_version, hash FROM {self.hashes_table} WHERE {where}", params
                ).fetchall()
            for originator_id, version, digest in rows:
                found[UUID(str(originator_id)).bytes] = (int(version), bytes.fromhex(digest))
        return found

    # -- sealing --

    def seal(self, key: Ed25519PrivateKey, *, rotate_to: Ed25519PrivateKey | None = None) -> Seal | None:
        """Recomputes every hash since the last seal from the stored events, then signs the Merkle root up to the head.

        Returns None if there is nothing new to seal. With `rotate_to`, the seal is a key
        rotation: both keys sign it, and every later seal must be signed by the new key.
        Raises `SealRefused` (and logs it) when a stored hash does not match its event,
        when the chain is broken, or when `key` is not the key in force: a seal never
        certifies a forged hash, nor speaks for a key the ledger does not know.
        """
        with self._sealing:
            try:
                return self._seal(key, rotate_to)
            except SealRefused as refused:
                log.error("Refused to seal the log: %s", refused)
                raise

    def _seal(self, key: Ed25519PrivateKey, rotate_to: Ed25519PrivateKey | None) -> Seal | None:
        public = raw_public_key(key)
        base = self.latest_seal()  # one row, not every seal: sealing stays cheap as seals accumulate
        in_force = key_in_force([base] if base else [])
        if in_force is not None and public != in_force:
            raise SealRefused(
                f"the signing key {fingerprint(public)} is not the ledger's key {fingerprint(in_force)}; "
                "a seal by it would not verify (a new key comes in only by `ledger seal --rotate-key`)"
            )
        frontier = self._base_frontier(base)
        sealed_before = base.position if base else 0
        position, digests = self._recompute(sealed_before, frontier)
        if not digests and rotate_to is None:
            return None
        root = frontier.root()
        sealed_at = datetime.now(UTC).isoformat()
        if rotate_to is None:
            signature = key.sign(seal_message(position, root))
            seal = Seal(position, frontier.size, root, signature, public, sealed_at, frontier.dumps())
        else:
            new_public = raw_public_key(rotate_to)
            if new_public == public or self.seal_store.has_signed(new_public):
                raise SealRefused(f"the key {fingerprint(new_public)} has signed seals before; rotate to a new key")
            draft = Seal(position, frontier.size, root, b"", public, sealed_at, frontier.dumps(), new_public)
            message = draft.message()
            seal = Seal(
                position,
                frontier.size,
                root,
                key.sign(message),
                public,
                sealed_at,
                frontier.dumps(),
                new_public,
                rotate_to.sign(message),
            )
        self.seal_store.record(seal, digests)
        return seal

    def _base_frontier(self, base: Seal | None) -> MerkleFrontier:
        """The Merkle frontier at the last seal, checked against that seal's signed root."""
        if base is None:
            return MerkleFrontier()
        frontier = MerkleFrontier.loads(base.frontier)
        if frontier.size != base.size or frontier.root() != base.root or not signature_holds(base):
            raise SealRefused(
                f"position {base.position}: the last seal does not hold (its stored frontier, root or signature "
                "was altered); run `ledger verify`"
            )
        return frontier

    def _recompute(self, after: int, frontier: MerkleFrontier) -> tuple[int, list[bytes]]:
        """Recomputes the hash of every event after `after` and adds it to `frontier`; refuses a mismatch."""
        heads = self._heads if self._heads_at == after else {}
        position, digests = after, []
        for rows in self._raw_pages(after):
            # One query for the predecessors of the aggregates this page meets first.
            wanted: dict[bytes, int] = {}
            seen: set[bytes] = set()
            for _position, raw_id, version, *_ in rows:
                originator_id = _id_bytes(raw_id)
                if originator_id not in heads and originator_id not in seen and version > 1:
                    wanted[originator_id] = version - 1
                seen.add(originator_id)
            heads.update(self._stored_hashes(wanted))
            for row_position, raw_id, version, topic, state, stored in rows:
                originator_id = _id_bytes(raw_id)
                last_version, previous = heads.get(originator_id, (0, GENESIS))
                if version != last_version + 1:
                    raise SealRefused(
                        f"position {row_position}: {_uuid(raw_id)} jumps from version {last_version} to {version}"
                    )
                digest = event_hash(previous, originator_id, version, topic, bytes(state))
                if stored is None:
                    raise SealRefused(
                        f"position {row_position}: an event with no hash: inserted behind the ledger's back"
                    )
                if stored != digest.hex():
                    raise SealRefused(
                        f"position {row_position}: {_uuid(raw_id)} version {version} does not match its stored hash"
                    )
                heads[originator_id] = (version, digest)
                frontier.add(digest)
                digests.append(digest)
                position = int(row_position)
        orphans = self.orphan_hashes(after)
        if orphans:
            raise SealRefused(f"position {orphans[0]}: a hash with no event: the event was deleted")
        self._heads, self._heads_at = heads, position
        return position, digests

    # -- verifying --

    def verify(
        self, progress: Callable[[int, int], None] | None = None, public_key: bytes | None = None
    ) -> Verification:
        """Recomputes every chain and every seal's root and signature, holding every seal to the ledger's own key.

        The first seal's key is the ledger's; a later seal must be signed by it or by a key
        it handed over to in a rotation. `public_key`, a key from outside the database,
        must be one of those keys.
        """
        result = Verification()
        seals = self.seals()
        keys = KeyChain(result.fail)
        next_seal = 0
        frontier = MerkleFrontier()
        last: dict[bytes, tuple[int, bytes]] = {}
        head = self.ledger.recorder.max_notification_id() or 0
        previous_position = 0
        since_seal: list[tuple[int, bytes]] = []  # (position, hash) of the events since the last seal checked
        # The loop runs once per event: names are bound locally, and the next seal's
        # position is kept as a plain number to compare with.
        next_seal_at = seals[0].position if seals else None
        add_leaf, last_of, checked, remember = frontier.add, last.get, 0, since_seal.append
        for position, raw_id, version, topic, state, stored in self.raw_rows():
            while next_seal_at is not None and next_seal_at < position:
                self._check_seal(seals, next_seal, frontier, since_seal, result, keys)
                since_seal.clear()
                next_seal += 1
                next_seal_at = seals[next_seal].position if next_seal < len(seals) else None
            checked += 1
            originator_id = raw_id.bytes if isinstance(raw_id, UUID) else bytes.fromhex(raw_id)
            last_version, previous = last_of(originator_id, (0, GENESIS))
            if version != last_version + 1:
                result.fail(position, f"{_uuid(raw_id)} jumps from version {last_version} to {version}")
            digest = event_hash(
                previous, originator_id, version, topic, state if type(state) is bytes else bytes(state)
            )
            chain_link = digest
            if stored is None:
                result.fail(position, "an event with no hash: inserted behind the ledger's back")
            elif stored != digest.hex():
                result.fail(position, f"{_uuid(raw_id)} version {version} does not match its hash: altered")
                # The next event links to the hash as stored, so one altered event is
                # reported once, not with every event after it in its stream.
                chain_link = bytes.fromhex(stored)
            last[originator_id] = (version, chain_link)
            add_leaf(digest)
            remember((position, digest))
            previous_position = position
            if progress is not None and checked % PAGE == 0:
                progress(position, head)
        result.events_checked = checked
        while next_seal < len(seals):
            self._check_seal(seals, next_seal, frontier, since_seal, result, keys)
            since_seal.clear()
            next_seal += 1
        for position in self.orphan_hashes():
            result.fail(position, "a hash with no event: the event was deleted")
        _sum_up_seals(result, seals, keys, public_key)
        if progress is not None:
            progress(previous_position, head)
        return result

    def _check_seal(  # noqa: PLR0917 - called from the one loop above
        self,
        seals: list[Seal],
        index: int,
        frontier: MerkleFrontier,
        since_seal: list[tuple[int, bytes]],
        result: Verification,
        keys: KeyChain,
    ) -> None:
        seal = seals[index]
        if not keys.accepts(seal):
            return
        if frontier.size == seal.size and frontier.root() == seal.root:
            return
        # Events up to the seal were edited, deleted, inserted or reordered. If the seal kept
        # the hashes it covered, and they still add up to its signed root, the first event
        # whose hash differs from the kept one is where the log was edited, even when the
        # intruder recomputed that aggregate's chain; else the seal's position is the best
        # pointer there is.
        edited = self._first_uncertified(seals[index - 1] if index else None, seal, since_seal)
        if edited is not None and not any(p.startswith(f"position {edited}:") for p in result.problems):
            result.fail(
                edited,
                f"the event is not the one the seal at {seal.position} certified: altered, and its chain recomputed",
            )
        result.fail(seal.position, f"the log up to {seal.position} no longer matches its seal")

    def _first_uncertified(self, previous: Seal | None, seal: Seal, since_seal: list[tuple[int, bytes]]) -> int | None:
        certified = self.seal_store.certified_hashes(seal.position)
        if certified is None or len(certified) != len(since_seal):
            return None  # events went or came: positions no longer pair up with what was kept
        kept = MerkleFrontier.loads(previous.frontier) if previous else MerkleFrontier()
        if previous is not None and (kept.size != previous.size or kept.root() != previous.root):
            return None
        for digest in certified:
            kept.add(digest)
        if kept.size != seal.size or kept.root() != seal.root:
            return None  # the kept hashes were altered too: only the seal's own root is to be trusted
        return next(
            (position for (position, digest), was in zip(since_seal, certified, strict=True) if digest != was), None
        )


def _sum_up_seals(result: Verification, seals: list[Seal], keys: KeyChain, public_key: bytes | None) -> None:
    """What the seal chain adds to a verification: its keys, whether the pinned key is one of them, the counts."""
    result.first_key, result.current_key = keys.first, keys.in_force
    if public_key is not None and seals:
        result.key_confirmed = public_key in keys.known
        if not result.key_confirmed:
            result.fail(
                seals[0].position,
                f"the seals are signed by key {fingerprint(seals[0].public_key)}, not by the pinned key "
                f"{fingerprint(public_key)}: the seals were replaced, or the wrong key was given",
            )
    result.seals_checked = sum(1 for seal in seals if not seal.is_rotation)
    result.rotations_checked = len(seals) - result.seals_checked
    result.last_seal = next((seal for seal in reversed(seals) if not seal.is_rotation), None)


def _uuid(value: Any) -> UUID:
    if isinstance(value, UUID):
        return value
    return UUID(str(value))


def _id_bytes(value: Any) -> bytes:
    return value.bytes if isinstance(value, UUID) else bytes.fromhex(value)


class Sealer:
    """Seals the log as the projections follow it: every `every` events, and `interval` seconds after the oldest
    unsealed event was first seen (0 turns either off)."""

    def __init__(
        self,
        integrity: Integrity,
        key_path: str,
        every: int,
        interval: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.integrity = integrity
        self.key_path = key_path
        self.every = every
        self.interval = interval
        self.clock = clock
        self._sealed_up_to: int | None = None
        self._unsealed_since: float | None = None

    def seal_if_due(self) -> Seal | None:
        """Seals when either bound is reached; called after each batch and each idle poll of the runner."""
        if self.every <= 0 and self.interval <= 0:
            return None
        if self._sealed_up_to is None:
            latest = self.integrity.latest_seal()
            self._sealed_up_to = latest.position if latest else 0
        head = self.integrity.ledger.recorder.max_notification_id() or 0
        if head <= self._sealed_up_to:
            self._unsealed_since = None
            return None
        now = self.clock()
        if self._unsealed_since is None:
            self._unsealed_since = now
        by_count = self.every > 0 and head - self._sealed_up_to >= self.every
        by_time = self.interval > 0 and now - self._unsealed_since >= self.interval
        if not (by_count or by_time):
            return None
        try:
            seal = self.integrity.seal(load_signing_key(self.key_path))
        except SealRefused:  # logged as an error by `seal`; try again after another interval
            self._unsealed_since = now
            return None
        latest = seal or self.integrity.latest_seal()  # None: another process sealed first
        self._sealed_up_to = latest.position if latest else head
        self._unsealed_since = None if self._sealed_up_to >= head else now
        return seal
