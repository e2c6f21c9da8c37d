"""The pre-clearance view row by row on SQLite and PostgreSQL: each request as requested and decided, statuses
worked out from the firm's date, the queue oldest first, and the review band's exceptions."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal

import pytest

from domain.commands import ApprovePreclearance, DenyPreclearance, GiveGift, WithdrawPreclearance
from domain.exception_kinds import ExceptionKind
from domain.gift_rule import LimitYear
from domain.values import PreclearanceStatus, Role
from infrastructure.bootstrap import build_ledger, build_projections
from infrastructure.settings import Settings
from projections.exception_rows import ExceptionContext
from projections.preclearance import PreclearanceReader, exception_rows
from projections.runner import Projections
from tests.conftest import audit_as
from tests.integration.preclearance_workers import TODAY, Clock, Firm, open_firm
from tests.integration.projection_support import dump_views


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def world(database_url: str, clock: Clock) -> Iterator[tuple[Firm, Projections]]:
    ledger = build_ledger(Settings(database_url=database_url), clock=clock)
    projections = build_projections(ledger, Settings(database_url=database_url))
    yield open_firm(ledger), projections
    projections.view.close()
    ledger.close()


def test_requests_show_as_requested_and_decided_with_statuses_by_the_firms_date(
    world: tuple[Firm, Projections], clock: Clock
) -> None:
    firm, projections = world
    compliance = audit_as(Role.COMPLIANCE)
    auto = firm.request("40.00")
    denied = firm.request("120.00", name="Carol Jones")
    firm.ledger.deny_preclearance(compliance, denied.id, DenyPreclearance(reason="Too lavish"))
    approved = firm.request("150.00", name="Dan Brown")
    firm.ledger.approve_preclearance(compliance, approved.id, ApprovePreclearance(reason="Client's anniversary"))
    withdrawn = firm.request("60.00", name="Eve Stone")
    firm.ledger.withdraw_preclearance(firm.account_manager, withdrawn.id, WithdrawPreclearance(reason="Cancelled"))
    used = firm.request("45.00", name="Fay Wu")
    gift = firm.ledger.give_gift(
        firm.account_manager,
        firm.relationship_id,
        GiveGift(
            recipient={"name": "Fay Wu", "employer": "Acme"},
            description="Dinner",
            given_on=TODAY,
            category="general",
            cost="45.00",
            preclearance_id=used.id,
        ),
    )
    pending = firm.request("200.00", name="Gus Hale")
    projections.catch_up()
    reader = PreclearanceReader(projections.view)

    rows = reader.requests(today=TODAY)
    assert [row.request_id for row in rows] == [str(r.id) for r in (auto, denied, approved, withdrawn, used, pending)]
    by_id = {row.request_id: row for row in rows}
    first = by_id[str(auto.id)]
    assert (first.status, first.band, first.counted_value, first.expires_on) == (
        PreclearanceStatus.APPROVED,
        "auto",
        Decimal("40.00"),
        TODAY + timedelta(days=30),
    )
    assert first.client_name == "Client"
    assert first.recipients[0].name == "Bob Smith"
    assert (by_id[str(denied.id)].status, by_id[str(denied.id)].decision_reason) == (
        PreclearanceStatus.DENIED,
        "Too lavish",
    )
    assert by_id[str(approved.id)].decided_by == compliance.principal.id
    assert by_id[str(withdrawn.id)].status is PreclearanceStatus.WITHDRAWN
    assert (by_id[str(used.id)].status, by_id[str(used.id)].gift_id) == (PreclearanceStatus.USED, str(gift.gift_id))
    assert [r.request_id for r in reader.requests(today=TODAY, status=PreclearanceStatus.PENDING)] == [str(pending.id)]
    assert reader.by_ids([str(auto.id), "nope"], TODAY).keys() == {str(auto.id)}

    later = TODAY + timedelta(days=31)
    expired = {r.request_id for r in reader.requests(today=later, status=PreclearanceStatus.EXPIRED)}
    assert expired == {str(auto.id), str(approved.id)}, "read as expired before any expiry is written"
    assert reader.requests(today=later, status=PreclearanceStatus.APPROVED) == []
    assert set(reader.expired_due(later)) == expired
    clock.day = later
    for request_id in (auto.id, approved.id):
        firm.ledger.expire_preclearance(audit_as(Role.ADMIN), request_id)
    projections.catch_up()
    assert reader.expired_due(later) == []
    assert {r.request_id for r in reader.requests(today=later, status=PreclearanceStatus.EXPIRED)} == expired

    incremental = dump_views(projections.view)
    projections.rebuild_from_scratch()
    assert dump_views(projections.view) == incremental, "rebuilt from the log, the view is the same row for row"
    assert len(incremental["pc_requests"]) == 6


def test_a_pending_request_planned_in_the_year_is_a_review_exception_until_decided(
    world: tuple[Firm, Projections],
) -> None:
    firm, projections = world
    pending = firm.request("120.00")
    firm.request("40.00", name="Carol Jones")  # approved at once: never an exception
    projections.catch_up()
    policy = firm.ledger.gift_policy()
    context = ExceptionContext(
        year=2026,
        window=LimitYear(TODAY.replace(month=1, day=1), TODAY.replace(month=12, day=31), "2026"),
        today=TODAY,
        now=Clock()(),
        zone=firm.ledger.firm_timezone,
        policy=policy,
    )
    (row,) = exception_rows(projections.view, context)
    assert (row.kind, row.key, row.request_id, row.amount, row.threshold) == (
        ExceptionKind.PRECLEARANCE_REVIEW,
        str(pending.id),
        str(pending.id),
        Decimal("120.00"),
        Decimal("50.00"),
    )
    assert row.occurred_on == TODAY
    next_year = LimitYear(TODAY.replace(year=2027, month=1, day=1), TODAY.replace(year=2027, month=12, day=31), "2027")
    assert exception_rows(projections.view, ExceptionContext(**{**vars(context), "window": next_year})) == []
    firm.ledger.approve_preclearance(audit_as(Role.COMPLIANCE), pending.id, ApprovePreclearance())
    projections.catch_up()
    assert exception_rows(projections.view, context) == []
