"""Seals and verification: the ledger proves its history intact, and says where it is not."""

from __future__ import annotations

import contextlib
import os
import secrets
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from domain.application import Ledger
from infrastructure.integrity import GENESIS, MerkleFrontier, Seal, event_hash, seal_message
from projections.store import Table, ViewStore

SEALS = Table(
    "ledger_seals",
    (
        ("position", "int"),
        ("size", "int"),
        ("root", "text"),
        ("signature", "text"),
        ("public_key", "text"),
        ("sealed_at", "text"),
        ("frontier", "text"),
    ),
    key=("position",),
)
PAGE = 10_000


@dataclass
class Verification:
    """What `ledger verify` found: whether the log is intact, how much it checked, and the first bad position."""

    ok: bool = True
    events_checked: int = 0
    seals_checked: int = 0
    last_seal: Seal | None = None
    first_bad_position: int | None = None
    problems: list[str] = field(default_factory=list)

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
        with view.transaction() as cursor:
            view.lock_schema(cursor)
            view.create_view_table(cursor, SEALS)
            view.guard_append_only(cursor, SEALS.name)

    # -- reading --

    def records(
        self, after: int = 0, until: int | None = None
    ) -> Iterator[tuple[int, UUID, int, str, bytes, str | None]]:
        """(position, aggregate id, version, topic, state, stored hash) of every event, in position order."""
        for position, originator_id, version, topic, state, stored in self.raw_rows(after, until):
            yield position, _uuid(originator_id), version, topic, bytes(state), stored

    def raw_rows(self, after: int = 0, until: int | None = None) -> Iterator[tuple[Any, ...]]:
        """The same rows as the database gives them (the id as hex text on SQLite, a UUID on PostgreSQL)."""
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
            yield from rows
            if len(rows) < PAGE:
                return
            after = rows[-1][0]

    def orphan_hashes(self) -> list[int]:
        """Positions that have a hash but no event: events deleted behind the guard's back."""
        pos = self.position_column
        with self.view.reading() as cursor:
            rows = cursor.execute(
                f"SELECT h.position FROM {self.hashes_table} h LEFT JOIN {self.events_table} e ON e.{pos} = h.position "
                f"WHERE e.{pos} IS NULL ORDER BY h.position"
            ).fetchall()
        return [int(row[0]) for row in rows]

    def seals(self) -> list[Seal]:
        with self.view.reading() as cursor:
            rows = cursor.execute(
                "SELECT position, size, root, signature, public_key, sealed_at, frontier FROM ledger_seals "
                "ORDER BY position"
            ).fetchall()
        return [
            Seal(
                position=p,
                size=n,
                root=bytes.fromhex(r),
                signature=bytes.fromhex(s),
                public_key=bytes.fromhex(k),
                sealed_at=t,
                frontier=f,
            )
            for p, n, r, s, k, t, f in rows
        ]

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

    # -- sealing --

    def seal(self, key: Ed25519PrivateKey) -> Seal | None:
        """Signs the Merkle root over every stored event hash up to the head (None if nothing new to seal).

        It carries on from the last seal's frontier, so each seal hashes only the
        events since; verification recomputes everything from the events themselves.
        """
        existing = self.seals()
        frontier = MerkleFrontier.loads(existing[-1].frontier) if existing else MerkleFrontier()
        sealed_before = position = existing[-1].position if existing else 0
        while True:
            with self.view.reading() as cursor:
                rows = cursor.execute(
                    f"SELECT position, hash FROM {self.hashes_table} WHERE position > ? ORDER BY position LIMIT {PAGE}",
                    (position,),
                ).fetchall()
            for row_position, digest in rows:
                frontier.add(bytes.fromhex(digest))
                position = int(row_position)
            if len(rows) < PAGE:
                break
        if position == sealed_before:
            return None
        root = frontier.root()
        seal = Seal(
            position=position,
            size=frontier.size,
            root=root,
            signature=key.sign(seal_message(position, root)),
            public_key=key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw),
            sealed_at=datetime.now(UTC).isoformat(),
            frontier=frontier.dumps(),
        )
        with self.view.transaction() as cursor:
            cursor.execute(
                "INSERT INTO ledger_seals (position, size, root, signature, public_key, sealed_at, frontier) "
                "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (position) DO NOTHING",
                (
                    seal.position,
                    seal.size,
                    seal.root.hex(),
                    seal.signature.hex(),
                    seal.public_key.hex(),
                    seal.sealed_at,
                    seal.frontier,
                ),
            )
        return seal

    # -- verifying --

    def verify(
        self, progress: Callable[[int, int], None] | None = None, public_key: bytes | None = None
    ) -> Verification:
        """Recomputes every chain and every seal's root and signature; `public_key` pins the seals' signer."""
        result = Verification()
        seals = self.seals()
        next_seal = 0
        frontier = MerkleFrontier()
        last: dict[bytes, tuple[int, bytes]] = {}
        head = self.ledger.recorder.max_notification_id() or 0
        previous_position = 0
        # The loop runs once per event: names are bound locally, and the next seal's
        # position is kept as a plain number to compare with.
        next_seal_at = seals[0].position if seals else None
        add_leaf, last_of, checked = frontier.add, last.get, 0
        for position, raw_id, version, topic, state, stored in self.raw_rows():
            while next_seal_at is not None and next_seal_at < position:
                self._check_seal(seals[next_seal], frontier, previous_position, result, public_key)
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
            previous_position = position
            if progress is not None and checked % PAGE == 0:
                progress(position, head)
        result.events_checked = checked
        for seal in seals[next_seal:]:
            self._check_seal(seal, frontier, previous_position, result, public_key)
        for position in self.orphan_hashes():
            result.fail(position, "a hash with no event: the event was deleted")
        result.seals_checked = len(seals)
        result.last_seal = seals[-1] if seals else None
        if progress is not None:
            progress(previous_position, head)
        return result

    def _check_seal(
        self, seal: Seal, frontier: MerkleFrontier, last_position: int, result: Verification, public_key: bytes | None
    ) -> None:
        signer = public_key or seal.public_key
        try:
            Ed25519PublicKey.from_public_bytes(signer).verify(seal.signature, seal_message(seal.position, seal.root))
        except (InvalidSignature, ValueError):
            result.fail(seal.position, "the seal's signature does not verify: forged or altered")
            return
        if frontier.size != seal.size or frontier.root() != seal.root:
            # Events up to the seal were deleted, inserted or reordered. Where the chains
            # could not tell, a missing position is the best pointer to what went.
            result.fail(seal.position, f"the log up to {seal.position} no longer matches its seal")


def _uuid(value: Any) -> UUID:
    if isinstance(value, UUID):
        return value
    return UUID(str(value))


class Sealer:
    """Seals the log every `every` events, as the projections follow it (and on demand)."""

    def __init__(self, integrity: Integrity, key_path: str, every: int) -> None:
        self.integrity = integrity
        self.key_path = key_path
        self.every = every
        self._sealed_up_to: int | None = None

    def seal_if_due(self) -> Seal | None:
        if self.every <= 0:
            return None
        if self._sealed_up_to is None:
            seals = self.integrity.seals()
            self._sealed_up_to = seals[-1].position if seals else 0
        head = self.integrity.ledger.recorder.max_notification_id() or 0
        if head - self._sealed_up_to < self.every:
            return None
        seal = self.integrity.seal(load_signing_key(self.key_path))
        self._sealed_up_to = seal.position if seal else head
        return seal
