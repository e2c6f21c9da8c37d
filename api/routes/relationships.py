"""Client relationships: opening, assignment, contacts, demos, contracts, gifts, corrections, history."""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from api.deps import LARGEST_INTEGER, AuditDep, ExpectedVersionDep, LedgerDep, PageDep, PrincipalDep, WorkloadDep
from api.problems import Problem, problems
from api.routes.common import check_sees_relationship, command_done, money
from api.routes.events import event_public
from api.schemas import (
    AssignmentCreate,
    CadenceSet,
    CommandPublic,
    ContactCreate,
    ContractCommandPublic,
    ContractCreate,
    ContractSignature,
    ContractTermination,
    CorrectionCommandPublic,
    CorrectionCreate,
    DemoCommandPublic,
    DemoCompletion,
    DemoCreate,
    DemoReschedule,
    EntertainmentCreate,
    EventPublic,
    GiftCommandPublic,
    GiftCreate,
    Page,
    ProductIntroductionCreate,
    Reasoned,
    RelationshipCreate,
    RelationshipListItem,
    RelationshipPublic,
    TierSet,
)
from domain.application import CommandResult, NamedRecipient
from domain.relationship import ClientRelationship
from domain.values import ReadingMoment, RelationshipStatus, Role, Tier, clamped

router = APIRouter(prefix="/relationships", tags=["relationships"])

WRITE_PROBLEMS = problems(
    "forbidden", "not_found", "rule_violation", "version_conflict", "precondition_failed", "validation_error"
)


def _command(response: Response, result: CommandResult) -> CommandPublic:
    command_done(response, result)
    return CommandPublic(id=result.id, version=result.version, position=result.position)


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


@router.post("", status_code=status.HTTP_201_CREATED, response_model=CommandPublic, responses=WRITE_PROBLEMS)
def open_relationship(
    body: RelationshipCreate, audit: AuditDep, ledger: LedgerDep, response: Response
) -> CommandPublic:
    """Opens a relationship with a client, assigned to an active account manager (an account manager: themself)."""
    result = ledger.open_relationship(
        audit,
        client_name=body.client_name,
        client_kind=body.client_kind,
        industry=body.industry,
        tier=body.tier,
        account_manager_id=body.account_manager_id,
    )
    return _command(response, result)


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
    if principal.role is Role.ACCOUNT_MANAGER:
        if account_manager_id is not None and account_manager_id != principal.account_manager_id:
            raise Problem("forbidden", "An account manager may list only relationships assigned to them.")
        account_manager_id = principal.account_manager_id
    facts = workload.relationships(
        account_manager_id=str(account_manager_id) if account_manager_id else None,
        tier=tier.value if tier else None,
        status=status.value if status else None,
        after_position=page.after_int("position"),
        limit=page.limit + 1,
    )
    items = facts[: page.limit]
    return Page(
        items=[
            RelationshipListItem(
                id=f.relationship_id,
                client_name=f.client_name,
                client_kind=f.client_kind,
                industry=f.industry,
                tier=f.tier.value,
                status=f.status,
                account_manager_id=f.account_manager_id,
                cadence_days=f.cadence,
                last_contact_at=f.last_contact_at.isoformat() if f.last_contact_at else None,
                next_follow_up_on=f.next_follow_up_on.isoformat() if f.next_follow_up_on else None,
                version=f.version,
            )
            for f in items
        ],
        next_cursor=page.next_cursor(len(facts) > page.limit, position=items[-1].position if items else 0),
    )


@router.get(
    "/{relationship_id}",
    response_model=RelationshipPublic,
    responses=problems("forbidden", "not_found", "validation_error"),
)
def get_relationship(
    relationship_id: UUID,
    principal: PrincipalDep,
    ledger: LedgerDep,
    response: Response,
    version: Annotated[
        int | None, Query(ge=1, le=LARGEST_INTEGER, description="The state as it was at this version.")
    ] = None,
    as_of: Annotated[
        ReadingMoment | None, Query(description="The state as recorded at this time (with an offset).")
    ] = None,
) -> RelationshipPublic:
    """A relationship now, or as it stood at a version or as recorded at a time (404 if it did not exist yet)."""
    if version is not None and as_of is not None:
        raise Problem(
            "validation_error",
            "Ask for a version or a time (as_of), not both.",
            errors=[{"field": "as_of", "message": "not together with version"}],
        )
    check_sees_relationship(principal, ledger.relationship(relationship_id).account_manager_id)
    if as_of is not None:
        relationship = ledger.relationship_as_of(relationship_id, clamped(as_of))
    else:
        relationship = ledger.relationship(relationship_id, version=version)
    response.headers["ETag"] = f'"{relationship.version}"'
    return relationship_public(relationship)


@router.get(
    "/{relationship_id}/events",
    response_model=Page[EventPublic],
    responses=problems("forbidden", "not_found", "validation_error"),
)
def list_relationship_events(
    relationship_id: UUID, principal: PrincipalDep, ledger: LedgerDep, page: PageDep
) -> Page[EventPublic]:
    """The relationship's events in order, each with its position and the four audit fields."""
    check_sees_relationship(principal, ledger.relationship(relationship_id).account_manager_id)
    after = page.after_int("version")
    events = list(ledger.events.get(relationship_id, gt=after, limit=page.limit + 1))
    positions = ledger.recorder.select_positions(relationship_id)  # type: ignore[attr-defined]
    items = events[: page.limit]
    return Page(
        items=[event_public(e, positions[e.originator_version]) for e in items],  # type: ignore[arg-type]
        next_cursor=page.next_cursor(len(events) > page.limit, version=items[-1].originator_version if items else 0),
    )


@router.post(
    "/{relationship_id}/assignments",
    status_code=status.HTTP_201_CREATED,
    response_model=CommandPublic,
    responses=WRITE_PROBLEMS,
)
def assign(
    relationship_id: UUID,
    body: AssignmentCreate,
    audit: AuditDep,
    ledger: LedgerDep,
    expected_version: ExpectedVersionDep,
    response: Response,
) -> CommandPublic:
    """Assigns the relationship to another active account manager (managers and admins)."""
    result = ledger.assign_account_manager(
        audit,
        relationship_id,
        account_manager_id=body.account_manager_id,
        reason=body.reason,
        expected_version=expected_version,
    )
    return _command(response, result)


@router.put("/{relationship_id}/tier", response_model=CommandPublic, responses=WRITE_PROBLEMS)
def change_tier(
    relationship_id: UUID,
    body: TierSet,
    audit: AuditDep,
    ledger: LedgerDep,
    expected_version: ExpectedVersionDep,
    response: Response,
) -> CommandPublic:
    """Changes the relationship's tier (key, major or standard)."""
    return _command(
        response, ledger.change_tier(audit, relationship_id, tier=body.tier, expected_version=expected_version)
    )


@router.put("/{relationship_id}/cadence", response_model=CommandPublic, responses=WRITE_PROBLEMS)
def change_cadence(
    relationship_id: UUID,
    body: CadenceSet,
    audit: AuditDep,
    ledger: LedgerDep,
    expected_version: ExpectedVersionDep,
    response: Response,
) -> CommandPublic:
    """Sets how many days may pass between contacts before the relationship is overdue."""
    return _command(
        response, ledger.change_cadence(audit, relationship_id, days=body.days, expected_version=expected_version)
    )


@router.post(
    "/{relationship_id}/contacts",
    status_code=status.HTTP_201_CREATED,
    response_model=CommandPublic,
    responses=WRITE_PROBLEMS,
)
def log_contact(
    relationship_id: UUID,
    body: ContactCreate,
    audit: AuditDep,
    ledger: LedgerDep,
    expected_version: ExpectedVersionDep,
    response: Response,
) -> CommandPublic:
    """Logs a contact with the client, and optionally when to follow up."""
    result = ledger.log_contact(
        audit,
        relationship_id,
        occurred_at=body.occurred_at,
        channel=body.channel,
        summary=body.summary,
        next_follow_up_on=body.next_follow_up_on,
        expected_version=expected_version,
    )
    return _command(response, result)


@router.post(
    "/{relationship_id}/product-introductions",
    status_code=status.HTTP_201_CREATED,
    response_model=CommandPublic,
    responses=WRITE_PROBLEMS,
)
def introduce_product(
    relationship_id: UUID,
    body: ProductIntroductionCreate,
    audit: AuditDep,
    ledger: LedgerDep,
    expected_version: ExpectedVersionDep,
    response: Response,
) -> CommandPublic:
    """Records a product introduced to the client, and how it was received."""
    result = ledger.introduce_product(
        audit,
        relationship_id,
        product=body.product,
        occurred_at=body.occurred_at,
        outcome=body.outcome,
        expected_version=expected_version,
    )
    return _command(response, result)


@router.post(
    "/{relationship_id}/demos",
    status_code=status.HTTP_201_CREATED,
    response_model=DemoCommandPublic,
    responses=WRITE_PROBLEMS,
)
def schedule_demo(
    relationship_id: UUID,
    body: DemoCreate,
    audit: AuditDep,
    ledger: LedgerDep,
    expected_version: ExpectedVersionDep,
    response: Response,
) -> DemoCommandPublic:
    """Schedules a demo and the staff (technical, design, support) it sends to the client."""
    result = ledger.schedule_demo(
        audit,
        relationship_id,
        product=body.product,
        scheduled_for=body.scheduled_for,
        location=body.location,
        staff=[member.model_dump() for member in body.staff],
        expected_version=expected_version,
    )
    command_done(response, result)
    return DemoCommandPublic(id=result.id, version=result.version, position=result.position, demo_id=result.demo_id)


@router.post("/{relationship_id}/demos/{demo_id}/reschedule", response_model=CommandPublic, responses=WRITE_PROBLEMS)
def reschedule_demo(
    relationship_id: UUID,
    demo_id: UUID,
    body: DemoReschedule,
    audit: AuditDep,
    ledger: LedgerDep,
    expected_version: ExpectedVersionDep,
    response: Response,
) -> CommandPublic:
    """Moves a scheduled demo to another time."""
    result = ledger.reschedule_demo(
        audit, relationship_id, demo_id, scheduled_for=body.scheduled_for, expected_version=expected_version
    )
    return _command(response, result)


@router.post("/{relationship_id}/demos/{demo_id}/completion", response_model=CommandPublic, responses=WRITE_PROBLEMS)
def complete_demo(
    relationship_id: UUID,
    demo_id: UUID,
    body: DemoCompletion,
    audit: AuditDep,
    ledger: LedgerDep,
    expected_version: ExpectedVersionDep,
    response: Response,
) -> CommandPublic:
    """Records that a scheduled demo took place, and its outcome."""
    result = ledger.complete_demo(
        audit, relationship_id, demo_id, outcome=body.outcome, expected_version=expected_version
    )
    return _command(response, result)


@router.post("/{relationship_id}/demos/{demo_id}/cancellation", response_model=CommandPublic, responses=WRITE_PROBLEMS)
def cancel_demo(
    relationship_id: UUID,
    demo_id: UUID,
    body: Reasoned,
    audit: AuditDep,
    ledger: LedgerDep,
    expected_version: ExpectedVersionDep,
    response: Response,
) -> CommandPublic:
    """Cancels a scheduled demo."""
    result = ledger.cancel_demo(audit, relationship_id, demo_id, reason=body.reason, expected_version=expected_version)
    return _command(response, result)


@router.post(
    "/{relationship_id}/contracts",
    status_code=status.HTTP_201_CREATED,
    response_model=ContractCommandPublic,
    responses=WRITE_PROBLEMS,
)
def propose_contract(
    relationship_id: UUID,
    body: ContractCreate,
    audit: AuditDep,
    ledger: LedgerDep,
    expected_version: ExpectedVersionDep,
    response: Response,
) -> ContractCommandPublic:
    """Proposes a contract to the client (its value a positive amount; it ends after it starts)."""
    result = ledger.propose_contract(
        audit,
        relationship_id,
        title=body.title,
        value=body.value,
        starts_on=body.starts_on,
        ends_on=body.ends_on,
        expected_version=expected_version,
    )
    command_done(response, result)
    return ContractCommandPublic(
        id=result.id, version=result.version, position=result.position, contract_id=result.contract_id
    )


@router.post(
    "/{relationship_id}/contracts/{contract_id}/signature", response_model=CommandPublic, responses=WRITE_PROBLEMS
)
def sign_contract(
    relationship_id: UUID,
    contract_id: UUID,
    body: ContractSignature,
    audit: AuditDep,
    ledger: LedgerDep,
    expected_version: ExpectedVersionDep,
    response: Response,
) -> CommandPublic:
    """Records the signature of a proposed contract; the manager assigned now is credited with it."""
    result = ledger.sign_contract(
        audit, relationship_id, contract_id, signed_on=body.signed_on, expected_version=expected_version
    )
    return _command(response, result)


@router.post(
    "/{relationship_id}/contracts/{contract_id}/termination", response_model=CommandPublic, responses=WRITE_PROBLEMS
)
def terminate_contract(
    relationship_id: UUID,
    contract_id: UUID,
    body: ContractTermination,
    audit: AuditDep,
    ledger: LedgerDep,
    expected_version: ExpectedVersionDep,
    response: Response,
) -> CommandPublic:
    """Terminates a signed contract."""
    result = ledger.terminate_contract(
        audit, relationship_id, contract_id, on=body.on, reason=body.reason, expected_version=expected_version
    )
    return _command(response, result)


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
        "version_conflict",
        "precondition_failed",
        "validation_error",
    ),
)
def give_gift(
    relationship_id: UUID,
    body: GiftCreate,
    audit: AuditDep,
    ledger: LedgerDep,
    expected_version: ExpectedVersionDep,
    response: Response,
) -> GiftCommandPublic:
    """Records a gift under FINRA Rule 3220; over the limit: `gift_limit_exceeded` with limit, counted and headroom.

    A new recipient who looks like a known one: `likely_same_recipient` with the candidates.
    """
    result = ledger.give_gift(
        audit,
        relationship_id,
        recipient_name=body.recipient.name,
        recipient_employer=body.recipient.employer,
        recipient_id=body.recipient.recipient_id,
        distinct_from=body.recipient.distinct_from,
        shared_with=[NamedRecipient.model_validate(other.model_dump()) for other in body.shared_with],
        description=body.description,
        given_on=body.given_on,
        category=body.category,
        cost=body.cost,
        market_value=body.market_value,
        face_value=body.face_value,
        recipients_count=body.recipients_count,
        representative_attended=body.representative_attended,
        expected_version=expected_version,
    )
    command_done(response, result)
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
def provide_entertainment(
    relationship_id: UUID,
    body: EntertainmentCreate,
    audit: AuditDep,
    ledger: LedgerDep,
    expected_version: ExpectedVersionDep,
    response: Response,
) -> CommandPublic:
    """Records entertainment the representative attends (not counted as a gift)."""
    result = ledger.provide_entertainment(
        audit,
        relationship_id,
        occurred_on=body.occurred_on,
        description=body.description,
        cost=body.cost,
        attendees=body.attendees,
        representative_attended=body.representative_attended,
        expected_version=expected_version,
    )
    return _command(response, result)


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
def correct_entry(
    relationship_id: UUID,
    body: CorrectionCreate,
    audit: AuditDep,
    ledger: LedgerDep,
    expected_version: ExpectedVersionDep,
    response: Response,
) -> CorrectionCommandPublic:
    """Corrects fields of an earlier event, named by its version: the only way to fix a mistake.

    An account manager's correction of a signing (its value or date) is a request (202), applied only when a
    manager approves it; a signing credited to another manager is not theirs to correct (403).
    """
    result = ledger.correct_entry(
        audit,
        relationship_id,
        corrects_version=body.corrects_version,
        reason=body.reason,
        changes=body.changes,
        expected_version=expected_version,
    )
    command_done(response, result)
    if result.request_id is not None:
        response.status_code = status.HTTP_202_ACCEPTED
        response.headers["Location"] = f"/v1/relationships/{relationship_id}/correction-requests/{result.request_id}"
        state = "requested"
    else:
        state = "applied"
    return CorrectionCommandPublic(
        id=result.id, version=result.version, position=result.position, status=state, request_id=result.request_id
    )


@router.post("/{relationship_id}/closure", response_model=CommandPublic, responses=WRITE_PROBLEMS)
def close_relationship(
    relationship_id: UUID,
    body: Reasoned,
    audit: AuditDep,
    ledger: LedgerDep,
    expected_version: ExpectedVersionDep,
    response: Response,
) -> CommandPublic:
    """Closes the relationship: nothing more is recorded on it until it is reopened."""
    return _command(
        response,
        ledger.close_relationship(audit, relationship_id, reason=body.reason, expected_version=expected_version),
    )


@router.post("/{relationship_id}/reopening", response_model=CommandPublic, responses=WRITE_PROBLEMS)
def reopen_relationship(
    relationship_id: UUID,
    body: Reasoned,
    audit: AuditDep,
    ledger: LedgerDep,
    expected_version: ExpectedVersionDep,
    response: Response,
) -> CommandPublic:
    """Reopens a closed relationship."""
    return _command(
        response,
        ledger.reopen_relationship(audit, relationship_id, reason=body.reason, expected_version=expected_version),
    )
