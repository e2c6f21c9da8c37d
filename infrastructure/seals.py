"""The seal chain: seals and key rotations as stored (append-only), and the keys a verification accepts.

Each seal signs the Merkle root over every event up to its position; a key
rotation is a seal signed by the old key and the new, after which only the new
key may seal. The hashes of the events each seal newly covers are kept beside
it, so that verification can name the first edited event.
"""

# Statements name the seal tables declared here; values always go in as parameters.
# ruff: noqa: S608

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from infrastructure.integrity import Seal, fingerprint
from infrastructure.sql import Table, ViewStore

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
ROTATIONS = Table(
    "ledger_key_rotations",
    (
        ("position", "int"),
        ("size", "int"),
        ("root", "text"),
        ("signature", "text"),
        ("public_key", "text"),
        ("new_public_key", "text"),
        ("new_key_signature", "text"),
        ("sealed_at", "text"),
        ("frontier", "text"),
    ),
    key=("new_public_key",),  # a key is brought in once: no rotation back to a retired key
)
SEAL_HASHES = Table("ledger_seal_hashes", (("position", "int"), ("hashes", "text")), key=("position",))
"""The event hashes each seal newly covers (hex, in log order): verify names an edited event with them."""


class SealStore:
    """The seals, key rotations and certified hashes of one database: made append-only, read in log order."""

    def __init__(self, view: ViewStore) -> None:
        self.view = view
        with view.transaction() as cursor:
            view.lock_schema(cursor)
            for table in (SEALS, ROTATIONS, SEAL_HASHES):
                view.create_view_table(cursor, table)
                view.guard_append_only(cursor, table.name)

    def seals(self) -> list[Seal]:
        """Every seal and key rotation, in log order (at one position, a seal before a rotation)."""
        with self.view.reading() as cursor:
            seals = cursor.execute(
                "SELECT position, size, root, signature, public_key, sealed_at, frontier FROM ledger_seals"
            ).fetchall()
            rotations = cursor.execute(
                "SELECT position, size, root, signature, public_key, sealed_at, frontier, new_public_key, "
                "new_key_signature FROM ledger_key_rotations"
            ).fetchall()
        found = [seal_from_row(row) for row in seals] + [seal_from_row(row) for row in rotations]
        return sorted(found, key=log_order)

    def seal_page(self, after: tuple[int, int, str] | None, limit: int) -> list[Seal]:
        """Up to `limit` seals and rotations after `after` (as `log_order` gives it), in log order."""
        position, kind, at = after or (-1, 1, "")
        with self.view.reading() as cursor:
            seals = cursor.execute(
                "SELECT position, size, root, signature, public_key, sealed_at, frontier FROM ledger_seals "
                f"WHERE position > ? ORDER BY position LIMIT {int(limit)}",
                (position,),
            ).fetchall()
            rotations = cursor.execute(
                "SELECT position, size, root, signature, public_key, sealed_at, frontier, new_public_key, "
                "new_key_signature FROM ledger_key_rotations WHERE position > ? OR (position = ? AND (? = 0 OR "
                f"sealed_at > ?)) ORDER BY position, sealed_at LIMIT {int(limit)}",
                (position, position, kind, at),
            ).fetchall()
        found = sorted([seal_from_row(row) for row in seals] + [seal_from_row(row) for row in rotations], key=log_order)
        return found[:limit]

    def latest_seal(self) -> Seal | None:
        """The last seal or rotation in log order."""
        with self.view.reading() as cursor:
            seal = cursor.execute(
                "SELECT position, size, root, signature, public_key, sealed_at, frontier FROM ledger_seals "
                "ORDER BY position DESC LIMIT 1"
            ).fetchone()
            rotation = cursor.execute(
                "SELECT position, size, root, signature, public_key, sealed_at, frontier, new_public_key, "
                "new_key_signature FROM ledger_key_rotations ORDER BY position DESC, sealed_at DESC LIMIT 1"
            ).fetchone()
        found = [seal_from_row(row) for row in (seal, rotation) if row is not None]
        return max(found, key=log_order) if found else None

    def has_signed(self, public_key: bytes) -> bool:
        """Whether the key ever signed a seal or a rotation (a retired key may not come back)."""
        with self.view.reading() as cursor:
            return any(
                cursor.execute(f"SELECT 1 FROM {table} WHERE public_key = ? LIMIT 1", (public_key.hex(),)).fetchone()
                for table in ("ledger_seals", "ledger_key_rotations")
            )

    def certified_hashes(self, position: int) -> list[bytes] | None:
        """The event hashes the seal at `position` newly covered, as it stored them (None for an older seal)."""
        with self.view.reading() as cursor:
            row = cursor.execute("SELECT hashes FROM ledger_seal_hashes WHERE position = ?", (position,)).fetchone()
        if row is None:
            return None
        text = str(row[0])
        return [bytes.fromhex(text[i : i + 64]) for i in range(0, len(text), 64)]

    def record(self, seal: Seal, digests: list[bytes]) -> None:
        """Stores a seal (or a rotation) with the event hashes it newly covers; a seal already at its position wins."""
        position = seal.position
        with self.view.transaction() as cursor:
            if seal.new_public_key is None:
                cursor.execute(
                    "INSERT INTO ledger_seals (position, size, root, signature, public_key, sealed_at, frontier) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (position) DO NOTHING",
                    (*_seal_fields(seal),),
                )
            else:
                assert seal.new_key_signature is not None
                cursor.execute(
                    "INSERT INTO ledger_key_rotations (position, size, root, signature, public_key, sealed_at, "
                    "frontier, new_public_key, new_key_signature) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (*_seal_fields(seal), seal.new_public_key.hex(), seal.new_key_signature.hex()),
                )
            if digests:
                cursor.execute(
                    "INSERT INTO ledger_seal_hashes (position, hashes) VALUES (?, ?) ON CONFLICT (position) DO NOTHING",
                    (position, b"".join(digests).hex()),
                )


class KeyChain:
    """The keys a verification accepts: the first seal's, then each one a valid rotation hands over to."""

    def __init__(self, fail: Callable[[int, str], None]) -> None:
        self.fail = fail
        """Reports a problem at a position (the verification's `fail`)."""
        self.first: bytes | None = None
        self.in_force: bytes | None = None
        self.known: list[bytes] = []

    def accepts(self, seal: Seal) -> bool:
        """Whether the seal is signed by the key in force (a rotation also by its new key); reports it if not."""
        if self.in_force is None:
            self.in_force = self.first = seal.public_key
            self.known.append(seal.public_key)
        if seal.public_key != self.in_force:
            self.fail(
                seal.position,
                f"the seal is signed by key {fingerprint(seal.public_key)}, not the ledger's key "
                f"{fingerprint(self.in_force)}: a foreign seal",
            )
            return False
        if not signature_holds(seal):
            what = "key rotation" if seal.is_rotation else "seal"
            self.fail(seal.position, f"the {what}'s signature does not verify: forged or altered")
            return False
        if seal.new_public_key is not None:
            self.in_force = seal.new_public_key
            self.known.append(seal.new_public_key)
        return True


def signature_holds(seal: Seal) -> bool:
    """Whether the seal's signature verifies under its key (and a rotation's under its new key too)."""
    message = seal.message()
    try:
        Ed25519PublicKey.from_public_bytes(seal.public_key).verify(seal.signature, message)
        if seal.new_public_key is not None:
            Ed25519PublicKey.from_public_bytes(seal.new_public_key).verify(seal.new_key_signature or b"", message)
    except (InvalidSignature, ValueError):
        return False
    return True


def key_in_force(seals: list[Seal]) -> bytes | None:
    """The key the next seal must be signed by: the last rotation's new key, or the last seal's key."""
    if not seals:
        return None
    last = seals[-1]
    return last.new_public_key or last.public_key


def seal_from_row(row: tuple[Any, ...]) -> Seal:
    """A seal or rotation from its row: position, size, root, signature, key, time, frontier (new key, its
    signature)."""
    position, size, root, signature, public_key, sealed_at, frontier, *rotation = row
    new_public_key, new_key_signature = rotation or (None, None)
    return Seal(
        position=int(position),
        size=int(size),
        root=bytes.fromhex(root),
        signature=bytes.fromhex(signature),
        public_key=bytes.fromhex(public_key),
        sealed_at=sealed_at,
        frontier=frontier,
        new_public_key=bytes.fromhex(new_public_key) if new_public_key else None,
        new_key_signature=bytes.fromhex(new_key_signature) if new_key_signature else None,
    )


def _seal_fields(seal: Seal) -> tuple[Any, ...]:
    return (
        seal.position,
        seal.size,
        seal.root.hex(),
        seal.signature.hex(),
        seal.public_key.hex(),
        seal.sealed_at,
        seal.frontier,
    )


def log_order(seal: Seal) -> tuple[int, int, str]:
    """Seals and rotations in the order they were made: by position, and at one position a seal first."""
    return (seal.position, 1 if seal.is_rotation else 0, seal.sealed_at if seal.is_rotation else "")
