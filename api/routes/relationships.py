"""Client relationships: opening, assignment, contacts, demos, contracts, gifts, corrections, history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from api.deps import LARGEST_INTEGER, CreateDep, LedgerDep, PageDep, PrincipalDep, WorkloadDep, WriteDep
from api.problems import Problem, problems
from api.ready_made import NOT_MODIFIED, IfNoneMatch, ReadyBody, ReadyMade
from api.routes.common import WRITE_PROBLEMS, money, visible_relationship, with_positions
from api.routes.events import event_public
from api.schemas.requests import (
    AssignmentCreate,
    CadenceSet,
    ContactCreate,
    ContractCreate,
    ContractSignature,
    ContractTermination,
    CorrectionCreate,
    DemoCompletion,
    DemoCreate,
    DemoReschedule,
    EntertainmentCreate,
    GiftCreate,
    ProductIntroductionCreate,
    Reasoned,
    RelationshipCreate,
    TierSet,
)
from api.schemas.responses import (
    CommandPublic,
    ContractCommandPublic,
    CorrectionCommandPublic,
    DemoCommandPublic,
    EventPublic,
    GiftCommandPublic,
    Page,
    RelationshipListItem,
    RelationshipPublic,
)
from domain.application import Ledger
from domain.commands import CancelDemo, CloseRelationship, ReopenRelationship
from domain.errors import Forbidden
from domain.permissions import Read, RelationshipReach, check_allowed, own_book
from domain.relationship import ClientRelationship
from domain.values import Principal, ReadingMoment, RelationshipStatus, Tier, clamped
from projections.workload import RelationshipFacts

router = APIRouter(prefix="/relationships", tags=["relationships"])


def relationship_public(relationship: ClientRelationship) -> RelationshipPublic:
    return RelationshipPublic(
        id=relationship.id,
        version=relationship.version,
        opened_at=relationship.created_on.isoformat(),
        recorded_at=relationship.modified_on.isoformat(),
        client_name=relationship.client_name,
        client_kind=relationship.client_kind.value,
        industry=relationship.industry.value,
        tier=relationship.tier.value,
        status=relationship.status.value,
        account_manager_id=relationship.account_manager_id,
        cadence_days=relationship.cadence_days or relationship.tier.default_cadence_days,
        last_contact_at=relationship.last_contact_at.isoformat() if relationship.last_contact_at else None,
        next_follow_up_on=relationship.next_follow_up_on.isoformat() if relationship.next_follow_up_on else None,
        products={product: outcome.value for product, outcome in relationship.products.items()},
        demos={str(i): demo.model_dump(mode="json") for i, demo in relationship.demos.items()},
        contracts={str(i): contract.model_dump(mode="json") for i, contract in relationship.contracts.items()},
        gifts_given=relationship.gifts_given,
    )


def _list_item(facts: RelationshipFacts) -> RelationshipListItem:
    return RelationshipListItem(
        id=facts.relationship_id,
        client_name=facts.client_name,
        client_kind=facts.client_kind,
        industry=facts.industry,
        tier=facts.tier.value,
        status=facts.status,
        account_manager_id=facts.account_manager_id,
        cadence_days=facts.cadence,
        last_contact_at=facts.last_contact_at.isoformat() if facts.last_contact_at else None,
        next_follow_up_on=facts.next_follow_up_on.isoformat() if facts.next_follow_up_on else None,
        version=facts.version,
    )


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CommandPublic, responses=WRITE_PROBLEMS)
async def open_relationship(body: RelationshipCreate, write: CreateDep) -> CommandPublic:
    """Opens a relationship with a client, assigned to an active account manager (an account manager: themself)."""
    return await write.answer(write.ledger.open_relationship, body.command())


@router.get(
    "",
    response_model=Page[RelationshipListItem],
    responses=problems("forbidden", "projection_lagging", "validation_error"),
)
def list_relationships(
    principal: PrincipalDep,
    workload: WorkloadDep,
    page: PageDep,
    account_manager_id: UUID | None = None,
    tier: Tier | None = None,
    status: RelationshipStatus | None = None,
) -> Page[RelationshipListItem]:
    """Relationships in the order they were opened, filtered by manager, tier and status."""
    account_manager_id = own_book(principal, Read.RELATIONSHIP_LIST, asked=account_manager_id)
    facts = workload.relationships(
        account_manager_id=str(account_manager_id) if account_manager_id else None,
        tier=tier.value if tier else None,
        status=status.value if status else None,
        after_position=page.after_int("position"),
        limit=page.limit + 1,
    )
    return page.of(facts, _list_item, lambda last: {"position": last.position})


@router.get(
    "/{relationship_id}",
    response_model=RelationshipPublic,
    responses={**problems("forbidden", "not_found", "validation_error"), **NOT_MODIFIED},
)
async def get_relationship(
    request: Request,
    relationship_id: UUID,
    principal: PrincipalDep,
    ledger: LedgerDep,
    version: Annotated[
        int | None, Query(ge=1, le=LARGEST_INTEGER, description="The state as it was at this version.")
    ] = None,
    as_of: Annotated[
        ReadingMoment | None, Query(description="The state as recorded at this time (with an offset).")
    ] = None,
    if_none_match: IfNoneMatch = None,
) -> Response:
    """A relationship now, or as it stood at a version or as recorded at a time (404 if it did not exist yet).

    Its former account manager reads it as they handed it over (`Content-Location` names that version), and any
    version or time within their stints; another outside them is 403, saying which they may read. The state now
    is served ready-made while its version stands (`If-None-Match` with its `ETag` answers 304).
    """
    if version is not None and as_of is not None:
        raise Problem(
            "validation_error",
            "Ask for a version or a time (as_of), not both.",
            errors=[{"field": "as_of", "message": "not together with version"}],
        )
    ready: ReadyMade = request.app.state.ready_made
    now_asked = version is None and as_of is None
    if now_asked:
        current = await run_in_threadpool(ledger.current_version, relationship_id)
        body = ready.get(("relationship", relationship_id, current), datetime.now(UTC))
        if body is not None and may_read_whole(principal, body.about):
            return body.response(if_none_match, {})
    relationship, reach = await run_in_threadpool(
        _relationship_seen, principal, ledger, relationship_id, version, clamped(as_of) if as_of is not None else None
    )
    content = relationship_public(relationship).model_dump_json(by_alias=True).encode()
    etag = f'"{relationship.version}"'
    if now_asked and reach.handed_over is not None:
        headers = {"Content-Location": f"/v1/relationships/{relationship_id}?version={relationship.version}"}
        return ReadyBody(content, etag, None).response(if_none_match, headers)
    if now_asked:
        key = ("relationship", relationship_id, relationship.version)
        return ready.put(key, content, None, etag=etag, about=relationship.account_manager_id).response(
            if_none_match, {}
        )
    return ReadyBody(content, etag, None).response(if_none_match, {})


def may_read_whole(principal: Principal, account_manager_id: UUID) -> bool:
    """Whether the principal may read the whole of a relationship whose account manager is this one."""
    try:
        check_allowed(principal, Read.RELATIONSHIP, account_manager_id=account_manager_id)
    except Forbidden:
        return False
    return True


def _relationship_seen(
    principal: Principal, ledger: Ledger, relationship_id: UUID, version: int | None, as_of: datetime | None
) -> tuple[ClientRelationship, RelationshipReach]:
    # Loaded once now: who may see it depends on its manager now; a past state is read only when asked for.
    now, reach = visible_relationship(principal, ledger, relationship_id)
    return ledger.relationship_seen(now, reach, version=version, as_of=as_of), reach


@router.get(
    "/{relationship_id}/events",
    response_model=Page[EventPublic],
    responses=problems("forbidden", "not_found", "validation_error"),
)
def list_relationship_events(
    relationship_id: UUID, principal: PrincipalDep, ledger: LedgerDep, page: PageDep
) -> Page[EventPublic]:
    """The relationship's events in order, each with its position and the four audit fields.

    Its former account manager sees those recorded while they managed it and those about contracts credited to them.
    """
    _, reach = visible_relationship(principal, ledger, relationship_id)
    after = page.after_int("version")
    readable = ledger.readable_events(relationship_id, reach, after_version=after, limit=page.limit + 1)
    return page.of(
        with_positions(ledger, relationship_id, readable),
        event_public,
        lambda last: {"version": last.event.originator_version},
    )


@router.post(
    "/{relationship_id}/assignments",
    status_code=status.HTTP_201_CREATED,
    response_model=CommandPublic,
    responses=WRITE_PROBLEMS,
)
async def assign(relationship_id: UUID, body: AssignmentCreate, write: WriteDep) -> CommandPublic:
    """Assigns the relationship to another active account manager (managers and admins)."""
    return await write.answer(write.ledger.assign_account_manager, relationship_id, body.command())


@router.put("/{relationship_id}/tier", response_model=CommandPublic, responses=WRITE_PROBLEMS)
async def change_tier(relationship_id: UUID, body: TierSet, write: WriteDep) -> CommandPublic:
    """Changes the relationship's tier (key, major or standard)."""
    return await write.answer(write.ledger.change_tier, relationship_id, body.command())


@router.put("/{relationship_id}/cadence", response_model=CommandPublic, responses=WRITE_PROBLEMS)
async def change_cadence(relationship_id: UUID, body: CadenceSet, write: WriteDep) -> CommandPublic:
    """Sets how many days may pass between contacts before the relationship is overdue."""
    return await write.answer(write.ledger.change_cadence, relationship_id, body.command())


@router.post(
    "/{relationship_id}/contacts",
    status_code=status.HTTP_201_CREATED,
    response_model=CommandPublic,
    responses=WRITE_PROBLEMS,
)
async def log_contact(relationship_id: UUID, body: ContactCreate, write: WriteDep) -> CommandPublic:
    """Logs a contact with the client, and optionally when to follow up."""
    return await write.answer(write.ledger.log_contact, relationship_id, body.command())


@router.post(
    "/{relationship_id}/product-introductions",
    status_code=status.HTTP_201_CREATED,
    response_model=CommandPublic,
    responses=WRITE_PROBLEMS,
)
async def introduce_product(relationship_id: UUID, body: ProductIntroductionCreate, write: WriteDep) -> CommandPublic:
    """Records a product introduced to the client, and how it was received."""
    return await write.answer(write.ledger.introduce_product, relationship_id, body.command())


@router.post(
    "/{relationship_id}/demos",
    status_code=status.HTTP_201_CREATED,
    response_model=DemoCommandPublic,
    responses=WRITE_PROBLEMS,
)
async def schedule_demo(relationship_id: UUID, body: DemoCreate, write: WriteDep) -> DemoCommandPublic:
    """Schedules a demo and the staff (technical, design, support) it sends to the client."""
    result = await write.run(write.ledger.schedule_demo, relationship_id, body.command())
    return DemoCommandPublic(id=result.id, version=result.version, position=result.position, demo_id=result.demo_id)


@router.post("/{relationship_id}/demos/{demo_id}/reschedule", response_model=CommandPublic, responses=WRITE_PROBLEMS)
async def reschedule_demo(relationship_id: UUID, demo_id: UUID, body: DemoReschedule, write: WriteDep) -> CommandPublic:
    """Moves a scheduled demo to another time."""
    return await write.answer(write.ledger.reschedule_demo, relationship_id, demo_id, body.command())


@router.post("/{relationship_id}/demos/{demo_id}/completion", response_model=CommandPublic, responses=WRITE_PROBLEMS)
async def complete_demo(relationship_id: UUID, demo_id: UUID, body: DemoCompletion, write: WriteDep) -> CommandPublic:
    """Records that a scheduled demo took place, and its outcome."""
    return await write.answer(write.ledger.complete_demo, relationship_id, demo_id, body.command())


@router.post("/{relationship_id}/demos/{demo_id}/cancellation", response_model=CommandPublic, responses=WRITE_PROBLEMS)
async def cancel_demo(relationship_id: UUID, demo_id: UUID, body: Reasoned, write: WriteDep) -> CommandPublic:
    """Cancels a scheduled demo."""
    return await write.answer(write.ledger.cancel_demo, relationship_id, demo_id, body.command(CancelDemo))


@router.post(
    "/{relationship_id}/contracts",
    status_code=status.HTTP_201_CREATED,
    response_model=ContractCommandPublic,
    responses=WRITE_PROBLEMS,
)
async def propose_contract(relationship_id: UUID, body: ContractCreate, write: WriteDep) -> ContractCommandPublic:
    """Proposes a contract to the client (its value a positive amount; it ends after it starts)."""
    result = await write.run(write.ledger.propose_contract, relationship_id, body.command())
    return ContractCommandPublic(
        id=result.id, version=result.version, position=result.position, contract_id=result.contract_id
    )


@router.post(
    "/{relationship_id}/contracts/{contract_id}/signature", response_model=CommandPublic, responses=WRITE_PROBLEMS
)
async def sign_contract(
    relationship_id: UUID, contract_id: UUID, body: ContractSignature, write: WriteDep
) -> CommandPublic:
    """Records the signature of a proposed contract; the manager assigned now is credited with it."""
    return await write.answer(write.ledger.sign_contract, relationship_id, contract_id, body.command())


@router.post(
    "/{relationship_id}/contracts/{contract_id}/termination", response_model=CommandPublic, responses=WRITE_PROBLEMS
)
async def terminate_contract(
    relationship_id: UUID, contract_id: UUID, body: ContractTermination, write: WriteDep
) -> CommandPublic:
    """Terminates a signed contract."""
    return await write.answer(write.ledger.terminate_contract, relationship_id, contract_id, body.command())


@router.post(
    "/{relationship_id}/gifts",
    status_code=status.HTTP_201_CREATED,
    response_model=GiftCommandPublic,
    responses=problems(
        "forbidden",
        "not_found",
        "rule_violation",
        "gift_limit_exceeded",
        "likely_same_recipient",
        "preclearance_required",
        "version_conflict",
        "precondition_failed",
        "validation_error",
    ),
)
async def give_gift(relationship_id: UUID, body: GiftCreate, write: WriteDep) -> GiftCommandPublic:
    """Records a gift under FINRA Rule 3220; over the limit: `gift_limit_exceeded` with limit, counted and headroom.

    A new recipient who looks like a known one: `likely_same_recipient` with the candidates.
    """
    result = await write.run(write.ledger.give_gift, relationship_id, body.command())
    return GiftCommandPublic(
        id=result.id,
        version=result.version,
        position=result.position,
        gift_id=result.gift_id,
        recipient_id=result.recipient_id,
        counted_value=money(result.counted_value),
        shared_with=list(result.shared_recipient_ids),
    )


@router.post(
    "/{relationship_id}/entertainment",
    status_code=status.HTTP_201_CREATED,
    response_model=CommandPublic,
    responses=WRITE_PROBLEMS,
)
async def provide_entertainment(relationship_id: UUID, body: EntertainmentCreate, write: WriteDep) -> CommandPublic:
    """Records entertainment the representative attends (not counted as a gift)."""
    return await write.answer(write.ledger.provide_entertainment, relationship_id, body.command())


@router.post(
    "/{relationship_id}/corrections",
    status_code=status.HTTP_201_CREATED,
    response_model=CorrectionCommandPublic,
    responses={
        status.HTTP_202_ACCEPTED: {
            "model": CorrectionCommandPublic,
            "description": "An account manager's correction that moves pay, stored as a request for a manager.",
        },
        **WRITE_PROBLEMS,
    },
)
async def correct_entry(relationship_id: UUID, body: CorrectionCreate, write: WriteDep) -> CorrectionCommandPublic:
    """Corrects fields of an earlier event, named by its version: the only way to fix a mistake.

    An account manager's correction of a signing (its value or date) is a request (202), applied only when a
    manager approves it; a signing credited to another manager is not theirs to correct (403).
    """
    result = await write.run(write.ledger.correct_entry, relationship_id, body.command())
    if result.request_id is not None:
        write.response.status_code = status.HTTP_202_ACCEPTED
        write.response.headers["Location"] = (
            f"/v1/relationships/{relationship_id}/correction-requests/{result.request_id}"
        )
        state = "requested"
    else:
        state = "applied"
    return CorrectionCommandPublic(
        id=result.id, version=result.version, position=result.position, status=state, request_id=result.request_id
    )


@router.post("/{relationship_id}/closure", response_model=CommandPublic, responses=WRITE_PROBLEMS)
async def close_relationship(relationship_id: UUID, body: Reasoned, write: WriteDep) -> CommandPublic:
    """Closes the relationship: nothing more is recorded on it until it is reopened."""
    return await write.answer(write.ledger.close_relationship, relationship_id, body.command(CloseRelationship))


@router.post("/{relationship_id}/reopening", response_model=CommandPublic, responses=WRITE_PROBLEMS)
async def reopen_relationship(relationship_id: UUID, body: Reasoned, write: WriteDep) -> CommandPublic:
    """Reopens a closed relationship."""
    return await write.answer(write.ledger.reopen_relationship, relationship_id, body.command(ReopenRelationship))
