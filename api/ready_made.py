"""Reads served ready-made: an answer's serialised body kept until what it was made from moves.

A body is kept under a key naming everything it depends on (the positions of
the views it was read from, the year, whose rows) and, where it is worked out
against the clock, only until the first moment the clock could change it (a
follow-up falling due, a demo entering or leaving the next 14 days). A request
whose key matches is answered from memory on the event loop, with no thread, no
query and no serialisation; with `If-None-Match` naming its `ETag`, with a 304.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Header, Response
from fastapi.concurrency import run_in_threadpool

Positions = tuple[int, ...]
"""The positions of the views a body is read from, in an order fixed by its kind."""

IfNoneMatch = Annotated[str | None, Header(description="The `ETag` of the body you hold: 304 if it is still current.")]

NOT_MODIFIED: dict[int | str, dict[str, Any]] = {
    304: {"description": "Not Modified: the `ETag` sent in `If-None-Match` is still current."}
}
"""What a ready-made read adds to its documented responses."""


@dataclass(frozen=True)
class ReadyBody:
    content: bytes
    etag: str
    valid_until: datetime | None
    """The last moment the body holds against the clock (None: it does not depend on the clock)."""
    about: Any = None
    """What a request must be checked against before it is given the body (whose it is, say)."""

    def holds_at(self, now: datetime) -> bool:
        return self.valid_until is None or now < self.valid_until

    def response(self, if_none_match: str | None, headers: Mapping[str, str]) -> Response:
        """200 with the body, or 304 when the client holds this very body already."""
        if if_none_match is not None and self.etag in (tag.strip() for tag in if_none_match.split(",")):
            return Response(status_code=304, headers={"ETag": self.etag, **headers})
        return Response(self.content, media_type="application/json", headers={"ETag": self.etag, **headers})


class ReadyMade:
    """Bodies by key, at most `size` of them (all forgotten when full: the views have moved on by then anyway)."""

    def __init__(self, size: int = 1_024) -> None:
        self.size = size
        self._bodies: dict[Hashable, ReadyBody] = {}
        self._lock = threading.Lock()
        self._latest: dict[Hashable, tuple[Positions, ReadyBody]] = {}
        self._making: dict[Hashable, tuple[Positions, asyncio.Future[ReadyBody]]] = {}
        """What is being made, by kind, with the positions it is made at (on the event loop only)."""

    def get(self, key: Hashable, now: datetime) -> ReadyBody | None:
        body = self._bodies.get(key)
        return body if body is not None and body.holds_at(now) else None

    async def serve(
        self, kind: Hashable, positions: Positions, now: datetime, make: Callable[[], tuple[bytes, datetime | None]]
    ) -> ReadyBody:
        """A body of this kind made at `positions` (the views' positions the request read) or later, and holding
        at `now`: the one kept, or the one being made for another request, or one `make` makes now in a worker
        thread (its content, and until when it holds against the clock), kept for the next readers.

        Under a stream of writes the views move every few milliseconds, and each request reads new positions:
        requests that arrive while a body at their positions is being made wait for it instead of each reading
        the views again.
        """
        latest = self._latest.get(kind)
        if latest is not None and _covers(latest[0], positions) and latest[1].holds_at(now):
            return latest[1]
        making = self._making.get(kind)
        if making is not None and _covers(making[0], positions):
            body = await asyncio.shield(making[1])
            if body.holds_at(now):
                return body
        future = asyncio.ensure_future(self._make(kind, positions, make))
        self._making[kind] = (positions, future)
        try:
            return await asyncio.shield(future)
        finally:
            if self._making.get(kind, (None, None))[1] is future:
                del self._making[kind]

    async def _make(
        self, kind: Hashable, positions: Positions, make: Callable[[], tuple[bytes, datetime | None]]
    ) -> ReadyBody:
        content, valid_until = await run_in_threadpool(make)
        body = ReadyBody(content, _etag(content), valid_until)
        latest = self._latest.get(kind)
        if latest is None or _covers(positions, latest[0]):
            if len(self._latest) >= self.size:
                self._latest.clear()
            self._latest[kind] = (positions, body)
        return body

    def put(
        self,
        key: Hashable,
        content: bytes,
        valid_until: datetime | None,
        *,
        etag: str | None = None,
        about: Any = None,
    ) -> ReadyBody:
        """Keeps a body; its `ETag` is `etag` if given (a version, say), else a hash of the body."""
        etag = etag or _etag(content)
        body = ReadyBody(content, etag, valid_until, about)
        with self._lock:
            if len(self._bodies) >= self.size:
                self._bodies.clear()
            self._bodies[key] = body
        return body


def _etag(content: bytes) -> str:
    return f'"{hashlib.blake2b(content, digest_size=12).hexdigest()}"'


def _covers(made_at: Positions, asked_at: Positions) -> bool:
    """Whether a body made at `made_at` is at least as new as a reader at `asked_at` needs (view by view)."""
    return all(made >= asked for made, asked in zip(made_at, asked_at, strict=True))
