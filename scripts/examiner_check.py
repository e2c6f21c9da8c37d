"""An examiner's check of the ledger from outside: nothing but the standard library and `cryptography`.

    python examiner_check.py events.jsonl seals.json --key ledger-public-key.pem

`events.jsonl` is the export (`ledger export`, or `GET /v1/audit/export`); `seals.json`
the body of `GET /v1/audit/seals` (several pages may be given, or one JSON list of their
items); `--key` the ledger's public key as you kept it (a PEM file, or its 64 hex digits,
as text or in a file). It recomputes every event's hash from its stored topic and state,
every seal's Merkle root over those hashes and every signature, and follows key rotations
from the first seal's key. Exit 0 with a summary when the history is confirmed, 1 naming
the first bad position when not, 2 when an input cannot be read.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import uuid
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

SEAL_CONTEXT = b"ledger-seal-v1"
ROTATION_CONTEXT = b"ledger-key-rotation-v1"


def sha256(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def event_hash(previous: bytes, aggregate: uuid.UUID, version: int, topic: bytes, state: bytes) -> bytes:
    """h(n) = SHA-256(h(n-1) || id || version || len(topic) || topic || len(state) || state)."""
    return sha256(
        previous
        + aggregate.bytes
        + version.to_bytes(8, "big")
        + len(topic).to_bytes(4, "big")
        + topic
        + len(state).to_bytes(8, "big")
        + state
    )


class Frontier:
    """The RFC 6962 Merkle root of a growing list of event hashes, kept as its perfect subtrees' roots."""

    def __init__(self) -> None:
        self.size = 0
        self.subtrees: list[tuple[int, bytes]] = []

    def add(self, digest: bytes) -> None:
        height, node = 0, sha256(b"\x00" + digest)
        while self.subtrees and self.subtrees[-1][0] == height:
            height, node = height + 1, sha256(b"\x01" + self.subtrees.pop()[1] + node)
        self.subtrees.append((height, node))
        self.size += 1

    def root(self) -> bytes:
        if not self.subtrees:
            return sha256(b"")
        node = self.subtrees[-1][1]
        for _, left in reversed(self.subtrees[:-1]):
            node = sha256(b"\x01" + left + node)
        return node


class NotConfirmed(Exception):
    """The history is not what the ledger sealed: `position` is the first bad one."""

    def __init__(self, position: int, reason: str) -> None:
        super().__init__(f"position {position}: {reason}")
        self.position = position


def fingerprint(key: bytes) -> str:
    return hashlib.sha256(key).hexdigest()


def read_key(given: str) -> bytes:
    """The raw 32-byte public key from a PEM file, a file holding hex, or hex itself."""
    path = Path(given)
    text = path.read_text() if path.is_file() else given
    text = text.strip()
    if text.startswith("-----BEGIN"):
        key = serialization.load_pem_public_key(text.encode())
        if not isinstance(key, Ed25519PublicKey):
            raise ValueError("not an Ed25519 public key")
        return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    raw = bytes.fromhex(text)
    if len(raw) != 32:
        raise ValueError("an Ed25519 public key is 32 bytes (64 hex digits)")
    return raw


def read_seals(paths: list[str]) -> list[dict[str, Any]]:
    """Every seal in the files (API pages or lists), in log order: at one position, a seal before a rotation."""
    seals: list[dict[str, Any]] = []
    for name in paths:
        body = json.loads(Path(name).read_text())
        seals += body["items"] if isinstance(body, dict) else body
    return sorted(seals, key=lambda s: (s["position"], s["kind"] == "rotation", s["sealed_at"]))


def signed(key: bytes, signature_hex: str | None, message: bytes) -> bool:
    try:
        Ed25519PublicKey.from_public_bytes(key).verify(bytes.fromhex(signature_hex or ""), message)
    except (InvalidSignature, ValueError):
        return False
    return True


def check_seal(seal: dict[str, Any], frontier: Frontier, keys: list[bytes]) -> None:
    """Holds one seal to the key in force (the last of `keys`) and to the recomputed log; a rotation adds its key."""
    position, root = int(seal["position"]), bytes.fromhex(seal["root"])
    signer = bytes.fromhex(seal["public_key"])
    if signer != keys[-1]:
        raise NotConfirmed(position, f"signed by key {fingerprint(signer)}, not {fingerprint(keys[-1])}: foreign")
    if seal["kind"] == "rotation":
        new_key = bytes.fromhex(seal["new_public_key"])
        message = ROTATION_CONTEXT + position.to_bytes(8, "big") + root + signer + new_key
        if not (signed(signer, seal["signature"], message) and signed(new_key, seal["new_key_signature"], message)):
            raise NotConfirmed(position, "the key rotation's signatures do not verify: forged")
    elif not signed(signer, seal["signature"], SEAL_CONTEXT + position.to_bytes(8, "big") + root):
        raise NotConfirmed(position, "the seal's signature does not verify: forged or altered")
    if frontier.size != int(seal["size"]) or frontier.root() != root:
        raise NotConfirmed(
            position, f"the {frontier.size} events up to here are not the {seal['size']} the seal certified"
        )
    if seal["kind"] == "rotation":
        keys.append(new_key)


def confirm(events_path: str, seals: list[dict[str, Any]], pinned: bytes) -> str:
    """Checks everything; returns the summary, or raises NotConfirmed at the first bad position."""
    if not seals:
        raise NotConfirmed(0, "no seals: nothing vouches for the history")
    keys = [bytes.fromhex(seals[0]["public_key"])]
    last: dict[uuid.UUID, tuple[int, bytes]] = {}
    frontier, upcoming, position, events = Frontier(), list(seals), 0, 0
    with open(events_path, "rb") as lines:
        for line in lines:
            row = json.loads(line)
            while upcoming and int(upcoming[0]["position"]) < int(row["position"]):
                check_seal(upcoming.pop(0), frontier, keys)
            if int(row["position"]) <= position:
                raise NotConfirmed(int(row["position"]), "out of order in the export")
            position, events = int(row["position"]), events + 1
            aggregate, version = uuid.UUID(row["aggregate_id"]), int(row["version"])
            last_version, previous = last.get(aggregate, (0, bytes(32)))
            if version != last_version + 1:
                raise NotConfirmed(position, f"{aggregate} jumps from version {last_version} to {version}")
            digest = event_hash(previous, aggregate, version, row["topic"].encode(), row["stored_state"].encode())
            if row.get("hash") != digest.hex():
                raise NotConfirmed(position, f"{aggregate} version {version} does not match its hash: altered")
            last[aggregate] = (version, digest)
            frontier.add(digest)
    for seal in upcoming:
        check_seal(seal, frontier, keys)
    if pinned not in keys:
        raise NotConfirmed(
            int(seals[0]["position"]),
            f"the seals are signed by key {fingerprint(keys[0])}, not by the pinned key {fingerprint(pinned)}",
        )
    sealed_to = int(seals[-1]["position"])
    unsealed = (
        f"; {frontier.size - int(seals[-1]['size'])} events after it are not sealed yet" if position > sealed_to else ""
    )
    return (
        f"Confirmed: {events} events up to position {position}, {len(seals)} seals "
        f"({len(keys) - 1} key rotations), the last at position {sealed_to}{unsealed}. "
        f"Key {fingerprint(keys[-1])} (pinned {fingerprint(pinned)})."
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("events", help="the JSON Lines export")
    parser.add_argument("seals", nargs="+", help="GET /v1/audit/seals bodies (pages), or one JSON list")
    parser.add_argument("--key", required=True, help="the ledger's public key: PEM file, or 64 hex digits")
    args = parser.parse_args(argv)
    try:
        pinned = read_key(args.key)
        seals = read_seals(args.seals)
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"examiner_check: cannot read the input: {error}", file=sys.stderr)
        return 2
    try:
        print(confirm(args.events, seals, pinned))
    except NotConfirmed as bad:
        print(f"NOT confirmed: first bad position {bad.position} ({bad})", file=sys.stderr)
        return 1
    except (OSError, ValueError, KeyError, TypeError) as error:
        print(f"examiner_check: cannot read the export: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
