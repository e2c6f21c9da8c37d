"""ASGI middleware, outermost first: the correlation id in and out, a problem for any unexpected failure,
request metrics, authentication, the request body's size and keys, the access log of auditors' and
compliance's reads, and Idempotency-Key replay."""

from __future__ import annotations

import asyncio
import functools
import itertools
import json
import logging
import os
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

import anyio.to_thread
import orjson
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import Metrics
from api.problems import (
    PROBLEM_JSON,
    STATUS_OF_CODE,
    STORE_ERRORS,
    UNAVAILABLE_DETAIL,
    internal_error_body,
    problem_body,
    store_unavailable,
)
from infrastructure.idempotency import COMPLETION_ATTEMPTS, COMPLETION_WAIT, StoredResponse, request_hash
from infrastructure.tokens import TokenRefused

log = logging.getLogger(__name__)

CORRELATION_HEADER = b"x-correlation-id"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._:/@+-]{1,128}$")


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


class _CorrelationIds:
    """Fresh correlation ids, 32 hex digits like a UUID's: this process's random half and a counter.

    A `uuid4()` per request read the system's random source each time, a system call that gave the event loop's
    thread away to the writer's and waited to get it back: 7 % of the loop's time under load.
    """

    def __init__(self) -> None:
        self._restart()
        os.register_at_fork(after_in_child=self._restart)  # a forked worker must not repeat its parent's ids

    def _restart(self) -> None:
        self._prefix = secrets.token_hex(8)
        self._counter = itertools.count(1)

    def next(self) -> str:
        return f"{self._prefix}{next(self._counter):016x}"


_correlation_ids = _CorrelationIds()


class CorrelationId:
    """Gives every request a correlation id (its own `X-Correlation-ID` if it sent a usable one) and echoes it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = _header(scope, CORRELATION_HEADER)
        correlation_id = given if given and _SAFE_ID.match(given) else _correlation_ids.next()
        scope.setdefault("state", {})["correlation_id"] = correlation_id

        async def send_with_id(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k != CORRELATION_HEADER]
                headers.append((CORRELATION_HEADER, correlation_id.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_id)


_ANSWERED: Any = object()
"""What `_from_store` returns when the store was away and the 503 has been sent."""


Run = Callable[..., Awaitable[Any]]
"""Runs a function of the store off the event loop: `anyio.to_thread.run_sync`, or a writer's `run`."""


def _runner(system: Any) -> Run:
    """Where the Idempotency-Key's writes run: on the writer, in its groups (SQLite), or in a worker thread."""
    run: Run = system.writer.run if system.idempotency.on_writer else anyio.to_thread.run_sync
    return run


async def _from_store(send: Send, run: Run, read: Callable[..., Any], *args: Any) -> Any:
    """`read(*args)` run by `run`; if the store is away, answers 503 and returns `_ANSWERED` instead."""
    try:
        return await run(read, *args)
    except STORE_ERRORS as error:
        if not store_unavailable(error):
            raise
        await _send_problem(send, "unavailable", UNAVAILABLE_DETAIL)
        return _ANSWERED


class UnexpectedErrors:
    """Answers any error nothing else handled with a 500 problem (inside the correlation id, so the answer carries
    it), and logs it as an error with its stack under that id."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception:
            correlation_id = scope.get("state", {}).get("correlation_id", "")
            log.exception(
                "Unexpected error in %s %s (correlation id %s)", scope["method"], scope["path"], correlation_id
            )
            if started:  # part of the answer has gone out (a stream): the connection is closed instead
                raise
            body = orjson.dumps(internal_error_body(correlation_id))
            await _send_stored(send, StoredResponse(500, {"content-type": PROBLEM_JSON}, body))


class RequestMetrics:
    """Counts requests and times them, by method, route template and status."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, record_status)
        finally:
            self.metrics.in_flight.dec()
            elapsed = time.perf_counter() - started
            self.metrics.observe_request(scope["method"], self._route_label(scope), status, elapsed)

    @staticmethod
    def _route_label(scope: Scope) -> str:
        """The matched route's template; for a request answered before routing (a 401), its path if that is a
        fixed route's, else `unmatched` (a label per id would be unbounded)."""
        route = scope.get("route")
        if route is None:
            static = {path for path in scope["app"].openapi()["paths"] if "{" not in path}
            return str(scope["path"]) if scope["path"] in static else "unmatched"
        template = str(getattr(route, "path", "unmatched"))
        if scope["path"].startswith("/v1/") and not template.startswith("/v1"):
            template = "/v1" + template  # routes under the /v1 router keep their own, unprefixed path
        return template


PROTECTED_PREFIXES = ("/v1/", "/metrics")
_BEARER = re.compile(r"^Bearer\s+(\S+)$", re.IGNORECASE)


class Authentication:
    """Every request but /health, /docs and /openapi.json needs a bearer token that can act: 401 otherwise (its
    detail says whether the token is unknown, revoked, expired or its account manager deactivated), before anything
    else about the request (its body included) is looked at. The principal goes in the request's state."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(PROTECTED_PREFIXES):
            await self.app(scope, receive, send)
            return
        match = _BEARER.match(_header(scope, b"authorization") or "")
        if match is None:
            await _send_problem(
                send,
                "unauthenticated",
                "Send Authorization: Bearer <token>; `ledger tokens add` creates one.",
                headers={"www-authenticate": "Bearer"},
            )
            return
        system = scope["app"].state.system
        try:
            # A token seen within the last moment is answered on the loop; only a read goes to a thread.
            principal = system.tokens.cached(match.group(1)) or await _from_store(
                send, anyio.to_thread.run_sync, system.tokens.authenticate, match.group(1)
            )
        except TokenRefused as refused:  # unknown, revoked, expired, or its account manager deactivated
            await _send_problem(send, "unauthenticated", refused.detail, headers={"www-authenticate": "Bearer"})
            return
        if principal is _ANSWERED:
            return
        scope.setdefault("state", {})["principal"] = principal
        await self.app(scope, receive, send)


MAX_BODY_BYTES = 256 * 1024
"""The largest request body taken (256 KiB): a demo's fifty staff or a correction with long texts fit a hundred
times over. A larger one is refused with 413 before it is parsed."""


class RequestBodies:
    """A request body is read whole before anything parses it: at most `MAX_BODY_BYTES` (413 beyond), and, where it
    is JSON, with each key once per object and no `NaN` or `Infinity` (422), since a duplicated key would otherwise
    silently keep its last value."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared[:12]) > MAX_BODY_BYTES):
            await _too_large(send)
            return
        body = await _read_body_within(receive, MAX_BODY_BYTES)
        if body is None:
            await _too_large(send)
            return
        if body and "json" in (_header(scope, b"content-type") or "").lower():
            problem = _json_problem(body)
            if problem is not None:
                await _send_problem(
                    send,
                    "validation_error",
                    f"Invalid input: {problem}",
                    errors=[{"field": "body", "message": problem}],
                )
                return
        await self.app(scope, _replaying(body), send)


async def _too_large(send: Send) -> None:
    await _send_problem(send, "payload_too_large", f"A request body may be at most {MAX_BODY_BYTES} bytes.")


class _DuplicateKey(ValueError):
    pass


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise _DuplicateKey(key)
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def _json_problem(body: bytes) -> str | None:
    """What makes a JSON body unacceptable beyond its syntax (FastAPI reports malformed JSON itself), or None."""
    try:
        json.loads(body, object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except _DuplicateKey as duplicate:
        return f"the key {str(duplicate)!r} appears twice in one object"
    except RecursionError:
        return "nested too deeply"
    except ValueError as error:
        if isinstance(error, (json.JSONDecodeError, UnicodeDecodeError)):
            return None
        return f"{error} is not a JSON number; send numbers as digits"
    return None


IDEMPOTENT_METHODS = ("POST", "PUT")
"""The commands that honour `Idempotency-Key`. A PUT too: sent again after a lost answer, a tier already set
would otherwise be refused as no change, though the first PUT was stored."""


class IdempotencyKeys:
    """A POST or PUT with `Idempotency-Key`: the first response is stored; the same key and body replay it.

    The same key with another body is refused (422); a key whose first request
    is still running answers 409 `idempotency_in_progress`. Keys are per principal.
    Responses of 500 and above are not stored, so such a request can be retried.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = _header(scope, b"idempotency-key") if scope["type"] == "http" else None
        if key is None or scope["method"] not in IDEMPOTENT_METHODS:
            await self.app(scope, receive, send)
            return
        system = scope["app"].state.system
        body = await _read_body(receive)
        replay_receive = _replaying(body)
        principal = scope.get("state", {}).get("principal")
        if principal is None:  # not an API route: nothing to keep
            await self.app(scope, replay_receive, send)
            return
        if not 1 <= len(key) <= 255:
            await _send_problem(
                send,
                "validation_error",
                "Idempotency-Key must be 1 to 255 characters.",
                errors=[{"field": "Idempotency-Key", "message": "1 to 255 characters"}],
            )
            return
        fingerprint = request_hash(scope["method"], scope["path"], body)
        reservation = await _from_store(
            send, _runner(system), system.idempotency.reserve, principal.id, key, fingerprint
        )
        if reservation is _ANSWERED:
            return
        if reservation.mismatch:
            await _send_problem(
                send,
                "validation_error",
                "This Idempotency-Key was used with another request body; use a new key for a new request.",
                errors=[{"field": "Idempotency-Key", "message": "already used with another body"}],
            )
            return
        if reservation.in_progress:
            await _send_problem(send, "idempotency_in_progress", "The first request with this key is still running.")
            return
        if reservation.replay is not None:
            await _send_stored(send, reservation.replay)
            return
        if reservation.stored_at is not None:
            await _send_problem(
                send,
                "already_stored",
                f"The first request with this Idempotency-Key was stored (up to position {reservation.stored_at}), "
                "but its answer was lost; nothing was stored again. Read the resource to see the result.",
                position=reservation.stored_at,
            )
            return
        captured = _Capture(send)
        # The Audit dependency hands the key to the ledger, which marks it in the transaction storing the events.
        scope.setdefault("state", {})["idempotency_key"] = key
        try:
            await self.app(scope, replay_receive, captured.send)
        finally:
            await self._finish(system, principal.id, key, captured.response())

    @staticmethod
    async def _finish(system: Any, principal_id: str, key: str, response: StoredResponse | None) -> None:
        """Keeps the answer for replay, or frees the key after a failure so the request can be sent again. Tried
        again while the store is away (a connection a server restart cut, say), waiting on the loop."""
        run = _runner(system)
        try:
            for attempt in range(1, COMPLETION_ATTEMPTS + 1):
                try:
                    if response is not None and response.status < 500:
                        await run(system.idempotency.complete, principal_id, key, response)
                    else:
                        await run(system.idempotency.release, principal_id, key)
                    return
                except STORE_ERRORS as error:
                    if attempt == COMPLETION_ATTEMPTS or not store_unavailable(error):
                        raise
                    await asyncio.sleep(COMPLETION_WAIT)
        except STORE_ERRORS as error:  # the answer has gone out; the key waits to be abandoned
            if not store_unavailable(error):
                log.exception("Idempotency-Key %r could not be completed; it is in progress until abandoned", key)
                return
            log.warning("Idempotency-Key %r could not be completed (%s); it is in progress until abandoned", key, error)


class _Capture:
    """Passes a response on while keeping a copy of it."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self.status: int | None = None
        self.headers: dict[str, str] = {}
        self.chunks: list[bytes] = []

    async def send(self, message: Message) -> None:
        if message["type"] == "http.response.start":
            self.status = message["status"]
            self.headers = {
                k.decode("latin-1"): v.decode("latin-1")
                for k, v in message.get("headers", [])
                if k.lower() not in (CORRELATION_HEADER, b"content-length")
            }
        elif message["type"] == "http.response.body":
            self.chunks.append(message.get("body", b""))
        await self._send(message)

    def response(self) -> StoredResponse | None:
        if self.status is None:
            return None
        return StoredResponse(self.status, self.headers, b"".join(self.chunks))


async def _read_body(receive: Receive) -> bytes:
    return await _read_body_within(receive, None) or b""


async def _read_body_within(receive: Receive, limit: int | None) -> bytes | None:
    """The whole body, or None as soon as it is longer than `limit`."""
    chunks = []
    size = 0
    while True:
        message = await receive()
        chunk = message.get("body", b"")
        size += len(chunk)
        if limit is not None and size > limit:
            return None
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def _replaying(body: bytes) -> Receive:
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    return receive


async def _send_problem(
    send: Send, code: str, detail: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> None:
    body = orjson.dumps(problem_body(code, detail, **extra))
    await _send_stored(
        send, StoredResponse(STATUS_OF_CODE[code], {"content-type": PROBLEM_JSON, **(headers or {})}, body)
    )


async def _send_stored(send: Send, response: StoredResponse) -> None:
    headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()]
    headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


class AccessLogging:
    """Records every read (GET) by an auditor or compliance principal: who, what, when, and the answer."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        status = 500

        async def record_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        await self.app(scope, receive, record_status)
        state = scope.get("state", {})
        principal = state.get("principal")
        if principal is None:
            return
        system = scope["app"].state.system
        if not system.access_log.is_logged(principal):
            return
        query = scope.get("query_string", b"").decode("latin-1")
        try:
            await anyio.to_thread.run_sync(
                functools.partial(
                    system.access_log.record,
                    principal,
                    method=scope["method"],
                    path=scope["path"],
                    query=query,
                    status=status,
                    correlation_id=state.get("correlation_id", ""),
                )
            )
        except STORE_ERRORS as error:  # the read was answered; its record waits for the store like everything else
            if not store_unavailable(error):
                log.exception("The access log could not record %s %s", scope["method"], scope["path"])
            return
