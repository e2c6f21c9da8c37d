"""The API's dependencies, as `Annotated` aliases: the system, who is asking, and the protocol headers.

They are `async` so that FastAPI runs them on the event loop: a plain `def`
dependency would cost a hop to the thread pool on every request. The few that
touch the database hand that work to the thread pool themselves.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, TypeVar

import orjson
from fastapi import Depends, Header, Query, Request, Response
from fastapi.concurrency import run_in_threadpool

from api.problems import Problem
from api.schemas.responses import CommandPublic, Page
from domain.application import CommandResult, Ledger
from domain.permissions import Read, check_allowed
from domain.values import Audit, Principal
from infrastructure.bootstrap import System
from infrastructure.writer import Writer
from projections.audit_index import AuditIndexReader
from projections.gift_register import GiftRegisterReader
from projections.pay import PayReader
from projections.workload import WorkloadReader

MIN_POSITION_WAIT = 5.0
"""Seconds a query with `min_position` waits for the views before answering `projection_lagging` (API.md)."""


async def get_system(request: Request) -> System:
    system: System = request.app.state.system
    return system


SystemDep = Annotated[System, Depends(get_system)]


async def get_ledger(system: SystemDep) -> Ledger:
    return system.ledger


LedgerDep = Annotated[Ledger, Depends(get_ledger)]


Authorization = Annotated[str | None, Header(description="`Bearer <token>`")]
"""Declared for the OpenAPI description; the authentication middleware has read it already."""


def principal_of(request: Request) -> Principal:
    """The principal behind the request's bearer token, found by the authentication middleware (401 without)."""
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        raise Problem("unauthenticated", "Send Authorization: Bearer <token>; `ledger tokens add` creates one.")
    return principal


def audit_of(request: Request) -> Audit:
    """Who asks, under which request, and the Idempotency-Key the middleware reserved for it (if any)."""
    key: str | None = getattr(request.state, "idempotency_key", None)
    return Audit(principal=principal_of(request), correlation_id=request.state.correlation_id, idempotency_key=key)


async def get_principal(request: Request, authorization: Authorization = None) -> Principal:
    return principal_of(request)


PrincipalDep = Annotated[Principal, Depends(get_principal)]


def allowed_to(read: Read) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency admitting only the principals the role table lets read this (403 otherwise)."""

    async def check(principal: PrincipalDep) -> Principal:
        check_allowed(principal, read)
        return principal

    return check


ReaderOfEverythingDep = Annotated[Principal, Depends(allowed_to(Read.COMPLIANCE_RECORDS))]
"""Compliance, auditors and admins: the gift register, the exceptions and the audit trail."""
AdminDep = Annotated[Principal, Depends(allowed_to(Read.ADMINISTRATION))]

_ETAG = re.compile(r'(?:W/)?"?([0-9]{1,18})"?')
"""A version as `ETag` gives it: ASCII digits, short enough to be a version at all (a longer one is a 422)."""

LARGEST_INTEGER = 2**63 - 1
"""No version, position or count the ledger gives out is larger: both stores keep them in 64-bit integers."""


IfMatch = Annotated[
    str | None, Header(description='Write only if the aggregate is still at this version: `"<version>"`.')
]


def expected_version(if_match: str | None) -> int | None:
    """The version `If-Match` names (None for none, or `*`); a malformed one is a 422."""
    if if_match is None or if_match.strip() == "*":
        return None
    match = _ETAG.fullmatch(if_match.strip())
    if match is None:
        raise Problem(
            "validation_error",
            'If-Match must be a version as returned in ETag, such as "3".',
            errors=[{"field": "If-Match", "message": 'must look like "3"'}],
        )
    return int(match.group(1))


Result = TypeVar("Result", bound=CommandResult)


@dataclass(frozen=True)
class Write:
    """What a command route needs besides its body and path: who asks, the ledger, the version expected, and the
    process's writer, which runs the command."""

    audit: Audit
    ledger: Ledger
    response: Response
    writer: Writer
    expected: int | None = None
    creates: bool = False
    """The command makes a new aggregate: there is no version to expect."""

    async def run(self, command: Callable[..., Result], /, *args: Any) -> Result:
        """`command(audit, *args, expected_version=…)` (a `Ledger` method) on the writer; its result, with the
        aggregate's new version as the answer's `ETag`."""
        if self.creates:
            result = await self.writer.run(command, self.audit, *args)
        else:
            result = await self.writer.run(command, self.audit, *args, expected_version=self.expected)
        self.response.headers["ETag"] = f'"{result.version}"'
        return result

    async def answer(self, command: Callable[..., CommandResult], /, *args: Any) -> CommandPublic:
        """Runs the command (see `run`): the answer says what it stored."""
        result = await self.run(command, *args)
        return CommandPublic(id=result.id, version=result.version, position=result.position)


# A command's one dependency: FastAPI solves each dependency on the event loop (a tenth of a millisecond or so
# apiece), and a command needs nothing from them that the request does not already hold.


async def get_write(
    request: Request, response: Response, authorization: Authorization = None, if_match: IfMatch = None
) -> Write:
    system: System = request.app.state.system
    return Write(audit_of(request), system.ledger, response, system.writer, expected_version(if_match))


async def get_creation(request: Request, response: Response, authorization: Authorization = None) -> Write:
    system: System = request.app.state.system
    return Write(audit_of(request), system.ledger, response, system.writer, creates=True)


WriteDep = Annotated[Write, Depends(get_write)]
"""A command on an existing aggregate: `If-Match` may name the version it expects."""
CreateDep = Annotated[Write, Depends(get_creation)]
"""A command that makes a new aggregate (no `If-Match`)."""


async def get_consistent_views(
    request: Request,
    system: SystemDep,
    response: Response,
    min_position: Annotated[
        int | None,
        Query(ge=0, description="Wait (up to 5 s) until the views have processed this position: read your writes."),
    ] = None,
) -> System:
    """Waits for the views to reach `min_position`, and says where they are in `X-Projection-Position`.

    A position beyond the head of the log is refused at once (422); the wait
    itself is on the event loop, so waiting readers hold no worker thread.
    """
    projections = system.projections
    wait: float = request.app.state.min_position_wait
    if min_position is not None:
        head = await run_in_threadpool(projections.head)
        if min_position > head:
            message = f"the log only reaches position {head}"
            raise Problem(
                "validation_error",
                f"min_position {min_position} is beyond the end of the log: {message}. "
                "Pass a position a write returned.",
                errors=[{"field": "min_position", "message": message}],
            )
        if not await projections.wait_async(min_position, wait):
            failures = await run_in_threadpool(projections.failures)
            stuck = "; ".join(f.describe() for f in failures.values() if f.position < min_position)
            raise Problem(
                "projection_lagging",
                f"The views have not reached position {min_position} within {wait:g} s"
                + (f": {stuck}. /health says more." if stuck else "; try again."),
            )
    # Every view's position (one read shared by the readers of the last 10 ms, at or past `min_position`): the
    # lowest is the header, and a ready-made read keys its body on them.
    positions = await projections.recent_positions(at_least=min_position or 0)
    request.state.view_positions = positions
    response.headers["X-Projection-Position"] = str(min(positions.values(), default=0))
    return system


def view_positions(request: Request) -> dict[str, int]:
    """Where each view was when `ViewsDep` looked (after any `min_position` wait)."""
    positions: dict[str, int] = request.state.view_positions
    return positions


ViewsDep = Annotated[System, Depends(get_consistent_views)]


async def workload_reader(system: ViewsDep) -> WorkloadReader:
    return WorkloadReader(system.view)


async def pay_reader(system: ViewsDep) -> PayReader:
    return PayReader(system.view)


async def gift_register_reader(system: ViewsDep) -> GiftRegisterReader:
    return GiftRegisterReader(system.view)


async def audit_index_reader(system: ViewsDep) -> AuditIndexReader:
    return AuditIndexReader(system.view)


WorkloadDep = Annotated[WorkloadReader, Depends(workload_reader)]
PayDep = Annotated[PayReader, Depends(pay_reader)]
GiftRegisterDep = Annotated[GiftRegisterReader, Depends(gift_register_reader)]
AuditIndexDep = Annotated[AuditIndexReader, Depends(audit_index_reader)]


Item = TypeVar("Item")
Shown = TypeVar("Shown")


def _not_a_cursor() -> Problem:
    return Problem(
        "validation_error",
        "cursor is not one this API gave out; pass next_cursor back unchanged.",
        errors=[{"field": "cursor", "message": "not a cursor from this API"}],
    )


class PageRequest:
    """`limit` (1-500, default 50) and the opaque `cursor` from the previous page."""

    def __init__(self, limit: int, cursor: str | None) -> None:
        self.limit = limit
        self.after: dict[str, Any] = decode_cursor(cursor) if cursor else {}

    def after_int(self, name: str, default: int = 0) -> int:
        """A whole number from the cursor (a cursor altered by hand is a 422, never a 500)."""
        value = self.after.get(name, default)
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= LARGEST_INTEGER:
            raise _not_a_cursor()
        return value

    def after_text(self, name: str) -> str:
        value = self.after.get(name, "")
        if not isinstance(value, str):
            raise _not_a_cursor()
        return value

    def next_cursor(self, has_more: bool, **after: Any) -> str | None:
        return encode_cursor(after) if has_more else None

    def of(
        self,
        found: Sequence[Item],
        shown: Callable[[Item], Shown],
        after: Callable[[Item], dict[str, Any]],
    ) -> Page[Shown]:
        """The page of what was read after the cursor (one more than the limit, to tell whether another page
        follows): the first `limit` items, each `shown`, and where the next page starts, `after` the last."""
        items = found[: self.limit]
        more = len(found) > self.limit
        return Page(
            items=[shown(item) for item in items], next_cursor=encode_cursor(after(items[-1])) if more else None
        )

    def by_offset(self, found: Sequence[Item], shown: Callable[[Item], Shown]) -> Page[Shown]:
        """The page of a list read whole, from the offset in the cursor."""
        offset = self.after_int("offset")
        items = found[offset : offset + self.limit]
        return Page(
            items=[shown(item) for item in items],
            next_cursor=self.next_cursor(offset + self.limit < len(found), offset=offset + self.limit),
        )


def encode_cursor(after: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(orjson.dumps(after)).decode().rstrip("=")


def decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        value = orjson.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, orjson.JSONDecodeError, ValueError):
        value = None
    if not isinstance(value, dict):
        raise _not_a_cursor()
    return value


async def get_page(
    limit: Annotated[int, Query(ge=1, le=500, description="Items per page (at most 500).")] = 50,
    cursor: Annotated[str | None, Query(description="`next_cursor` of the previous page.")] = None,
) -> PageRequest:
    return PageRequest(limit, cursor)


PageDep = Annotated[PageRequest, Depends(get_page)]
