"""Reads served ready-made: an answer's serialised body kept until what it was made from moves.

A body is kept under a key naming everything it depends on (the positions of
the views it was read from, the year, whose rows) and, where it is worked out
against the clock, only until the first moment the clock could change it (a
follow-up falling due, a demo entering or leaving the next 14 days). A request
whose key matches is answered from memory on the event loop, with no thread, no
query and no serialisation; with `If-None-Match` naming its `ETag`, with a 304.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Header, Response
from fastapi.concurrency import run_in_threadpool

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

    def get(self, key: Hashable, now: datetime) -> ReadyBody | None:
        body = self._bodies.get(key)
        return body if body is not None and body.holds_at(now) else None

    async def serve(self, key: Hashable, now: datetime, make: Callable[[], tuple[bytes, datetime | None]]) -> ReadyBody:
        """The body kept under `key`, or one `make` makes now in a worker thread (its content, and until when it
        holds against the clock), kept for the next reader."""
        body = self.get(key, now)
        if body is None:
            content, valid_until = await run_in_threadpool(make)
            body = self.put(key, content, valid_until)
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
        etag = etag or f'"{hashlib.blake2b(content, digest_size=12).hexdigest()}"'
        body = ReadyBody(content, etag, valid_until, about)
        with self._lock:
            if len(self._bodies) >= self.size:
                self._bodies.clear()
            self._bodies[key] = body
        return body
