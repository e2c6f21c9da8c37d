"""Gifts and entertainment account managers received from clients."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, status

from api.deps import CreateDep, PageDep, PrincipalDep, ViewsDep
from api.problems import problems
from api.routes.common import money
from api.schemas.programme import ReceivedGiftCommandPublic, ReceivedGiftCreate, ReceivedGiftPublic
from api.schemas.responses import Page
from domain.commands import Giver
from domain.compliance_policy import CompliancePolicy
from domain.permissions import Read, own_book
from domain.values import EARLIEST, LATEST, ReceivedKind
from projections.gift_register import GiftRegisterReader
from projections.received_gifts import ReceivedGiftsReader, ReceivedRow

router = APIRouter(prefix="/received-gifts", tags=["gifts received"])


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=ReceivedGiftCommandPublic,
    responses=problems("forbidden", "not_found", "rule_violation", "version_conflict", "validation_error"),
)
async def record_received_gift(body: ReceivedGiftCreate, write: CreateDep) -> ReceivedGiftCommandPublic:
    """Records a gift or entertainment received from a client, valued per person; above the review threshold
    compliance reviews it (`review`), it is never refused."""
    result = await write.run(write.ledger.record_received_gift, body.command())
    return ReceivedGiftCommandPublic(
        id=result.id, version=result.version, position=result.position, value=money(result.value), review=result.review
    )


def _public(row: ReceivedRow, policy: CompliancePolicy) -> ReceivedGiftPublic:
    return ReceivedGiftPublic(
        received_gift_id=UUID(row.received_gift_id),
        relationship_id=UUID(row.relationship_id),
        account_manager_id=UUID(row.account_manager_id),
        kind=ReceivedKind(row.kind),
        giver=Giver(name=row.giver_name, employer=row.giver_employer),
        description=row.description,
        received_on=row.received_on,
        category=row.category,
        cost=money(row.cost),
        value=money(row.value),
        shared_by=row.shared_by,
        review=row.review(policy),
        recorded_at=row.recorded_at.isoformat(),
    )


@router.get(
    "",
    response_model=Page[ReceivedGiftPublic],
    responses=problems("forbidden", "projection_lagging", "validation_error"),
)
def list_received_gifts(
    principal: PrincipalDep,
    system: ViewsDep,
    page: PageDep,
    account_manager_id: UUID | None = None,
    year: Annotated[
        int | None, Query(ge=EARLIEST.year, le=LATEST.year, description="Only those received in this limit year.")
    ] = None,
) -> Page[ReceivedGiftPublic]:
    """Gifts and entertainment received, in the order recorded (an account manager: their own)."""
    receiver = own_book(principal, Read.RECEIVED_GIFTS, asked=account_manager_id)
    policy = system.ledger.gift_policy()
    window = None if year is None else GiftRegisterReader.window(policy.limit_year, year, system.ledger.today())
    rows = ReceivedGiftsReader(system.view).list(
        account_manager_id=None if receiver is None else str(receiver),
        start=None if window is None else window.start,
        end=None if window is None else window.end,
        after_position=page.after_int("position"),
        limit=page.limit + 1,
    )
    return page.of(rows, lambda row: _public(row, policy), lambda last: {"position": last.position})
