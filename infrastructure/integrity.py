"""Tamper evidence: a hash chain per aggregate, Merkle roots over the whole log, signed seals, verification.

An auditor can check everything here with the formulas alone (README, "For auditors"):

- event hash  h(n) = SHA-256( h(n-1) || id(16 bytes) || version(8, big-endian)
                              || len(topic)(4) || topic(UTF-8) || len(state)(8) || state )
  where h(n-1) is the hash of the aggregate's previous event (32 zero bytes for its first) and
  `state` is the stored JSON of the event (it holds `recorded_at`);
- the Merkle root over the event hashes in position order, as RFC 6962 (Certificate
  Transparency) defines it: leaf = SHA-256(0x00 || h), node = SHA-256(0x01 || left || right);
- a seal signs, with Ed25519, the message  b"ledger-seal-v1" || position(8, big-endian) || root;
- a key rotation is a seal that hands over to a new key: the old key and the new key both sign
  b"ledger-key-rotation-v1" || position(8) || root || old public key(32) || new public key(32);
- a key's fingerprint is the SHA-256 of its raw 32 bytes, in hex.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from uuid import UUID

GENESIS = bytes(32)
_sha256 = hashlib.sha256
SEAL_CONTEXT = b"ledger-seal-v1"
ROTATION_CONTEXT = b"ledger-key-rotation-v1"


def event_hash(previous: bytes, originator_id: UUID | bytes, version: int, topic: str, state: bytes) -> bytes:
    """The hash of one stored event, chained to its aggregate's previous event (the id as a UUID or its 16 bytes)."""
    return _sha256(
        b"".join(
            (
                previous,
                originator_id if isinstance(originator_id, bytes) else originator_id.bytes,
                version.to_bytes(8, "big"),
                _topic_field(topic),
                len(state).to_bytes(8, "big"),
                state,
            )
        )
    ).digest()


@lru_cache(maxsize=1024)
def _topic_field(topic: str) -> bytes:
    encoded = topic.encode()
    return len(encoded).to_bytes(4, "big") + encoded


def _leaf(event_digest: bytes) -> bytes:
    return _sha256(b"\x00" + event_digest).digest()


def _node(left: bytes, right: bytes) -> bytes:
    return _sha256(b"\x01" + left + right).digest()


class MerkleFrontier:
    """The Merkle tree of a growing log, kept as the roots of its perfect subtrees (at most log2 n of them)."""

    def __init__(self) -> None:
        self.size = 0
        self._subtrees: list[tuple[int, bytes]] = []  # (height, root), tallest first

    def dumps(self) -> str:
        return json.dumps({"size": self.size, "subtrees": [[h, r.hex()] for h, r in self._subtrees]})

    @classmethod
    def loads(cls, text: str) -> MerkleFrontier:
        frontier = cls()
        data: dict[str, Any] = json.loads(text) if text and text != "[]" else {"size": 0, "subtrees": []}
        frontier.size = int(data["size"])
        frontier._subtrees = [(int(height), bytes.fromhex(root)) for height, root in data["subtrees"]]
        return frontier

    def add(self, event_digest: bytes) -> None:
        height, root = 0, _leaf(event_digest)
        while self._subtrees and self._subtrees[-1][0] == height:
            _, left = self._subtrees.pop()
            height, root = height + 1, _node(left, root)
        self._subtrees.append((height, root))
        self.size += 1

    def root(self) -> bytes:
        """The RFC 6962 root over every event added so far (SHA-256 of nothing for an empty log)."""
        if not self._subtrees:
            return hashlib.sha256(b"").digest()
        root = self._subtrees[-1][1]
        for _, left in reversed(self._subtrees[:-1]):
            root = _node(left, root)
        return root


def seal_message(position: int, root: bytes) -> bytes:
    """What a seal signs: the context, the position sealed up to, and the Merkle root there."""
    return SEAL_CONTEXT + position.to_bytes(8, "big") + root


def rotation_message(position: int, root: bytes, old_key: bytes, new_key: bytes) -> bytes:
    """What both keys of a rotation sign: the seal's fields, then the raw old and new public keys."""
    return ROTATION_CONTEXT + position.to_bytes(8, "big") + root + old_key + new_key


def fingerprint(public_key: bytes) -> str:
    """A public key's fingerprint: the SHA-256 of its raw 32 bytes, in hex."""
    return _sha256(public_key).hexdigest()


@dataclass(frozen=True)
class Seal:
    """A signed statement: the log up to `position` holds `size` events whose Merkle root is `root`."""

    position: int
    size: int
    root: bytes
    signature: bytes
    public_key: bytes
    sealed_at: str
    frontier: str = "[]"
    """The Merkle frontier there (JSON), so the next seal hashes only the events after this one."""
    new_public_key: bytes | None = None
    """Set on a key rotation: the key that signs every seal after this one."""
    new_key_signature: bytes | None = None
    """Set on a key rotation: the new key's signature of the same rotation message."""

    @property
    def is_rotation(self) -> bool:
        return self.new_public_key is not None

    def message(self) -> bytes:
        """The bytes this seal's signature (and, for a rotation, the new key's) covers."""
        if self.new_public_key is None:
            return seal_message(self.position, self.root)
        return rotation_message(self.position, self.root, self.public_key, self.new_public_key)


def chained_rows(
    stored_events: Iterable[tuple[UUID, int, str, bytes]],
    positions: Iterable[int],
    last_hash: dict[UUID, bytes],
    fetch_last_hash: Callable[[UUID], str | None],
) -> list[tuple[int, str, int, str]]:
    """The hash rows (position, aggregate id, version, hex hash) of newly stored events, chained in order.

    `last_hash` caches each aggregate's latest hash during one insert; `fetch_last_hash`
    reads it from the table (None for a new aggregate) the first time it is needed.
    """
    rows = []
    for (originator_id, version, topic, state), position in zip(stored_events, positions, strict=True):
        previous = last_hash.get(originator_id)
        if previous is None:
            found = fetch_last_hash(originator_id)
            previous = bytes.fromhex(found) if found else GENESIS
        digest = event_hash(previous, originator_id, version, topic, state)
        last_hash[originator_id] = digest
        rows.append((position, str(originator_id), version, digest.hex()))
    return rows
