"""Compliance: the gift policy (FINRA Rule 3220), the gift register and its exceptions."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from api.deps import GiftRegisterDep, LedgerDep, PageDep, PrincipalDep, ReaderOfEverythingDep, ViewsDep, WriteDep
from api.problems import problems
from api.routes.cases import exception_context
from api.routes.common import money
from api.schemas.programme_rules import ProgrammeRulesCreate
from api.schemas.requests import GiftLimitCreate, LimitYearSet, RecipientMergeCreate, ReviewThresholdSet
from api.schemas.responses import (
    CommandPublic,
    ExceptionCasePublic,
    GiftExceptionPublic,
    GiftPolicyPublic,
    HeadroomPublic,
    LimitChangePublic,
    LimitYearPublic,
    Page,
    ProgrammeChangePublic,
    ProgrammePublic,
    ProgrammeRulesPublic,
    RecipientYearPublic,
    RegisteredGiftPublic,
    ReservationPublic,
    SpellingPublic,
)
from domain.compliance_policy import DEFAULT_PROGRAMME, CompliancePolicy, ProgrammeRules
from domain.errors import InvalidInput, RuleViolation
from domain.exception_kinds import ExceptionKind
from domain.permissions import Read, check_allowed
from domain.values import EARLIEST, LATEST, BusinessDate, Name
from projections.cases import CaseRow
from projections.exception_rows import ExceptionRow
from projections.exceptions import ExceptionsReader
from projections.gift_register import limit_shown
from projections.gift_register_rows import RecipientYear, RegisteredGift, RegisteredReservation

router = APIRouter(prefix="/compliance", tags=["compliance"])
YearQuery = Annotated[
    int | None, Query(ge=EARLIEST.year, le=LATEST.year, description="The limit year (default: this year).")
]


def _this_year(year: int | None) -> int:
    return year or datetime.now(UTC).year


def _gift(gift: RegisteredGift) -> RegisteredGiftPublic:
    return RegisteredGiftPublic(
        gift_id=gift.gift_id,
        relationship_id=gift.relationship_id,
        account_manager_id=gift.account_manager_id,
        given_on=gift.given_on,
        category=gift.category,
        description=gift.description,
        cost=money(gift.cost),
        counted_value=money(gift.counted_value),
        limit=None if gift.limit is None else money(gift.limit),
        limit_year=gift.limit_year,
        market_value=None if gift.market_value is None else money(gift.market_value),
        face_value=None if gift.face_value is None else money(gift.face_value),
        head_count=gift.head_count,
        preclearance_id=None if gift.preclearance_id is None else UUID(gift.preclearance_id),
    )


def _reservation(reservation: RegisteredReservation) -> ReservationPublic:
    return ReservationPublic(
        reservation_id=UUID(reservation.reservation_id),
        request_id=UUID(reservation.request_id),
        planned_on=reservation.planned_on,
        counted_value=money(reservation.counted_value),
        expires_on=reservation.expires_on,
    )


def _recipient(entry: RecipientYear) -> RecipientYearPublic:
    return RecipientYearPublic(
        recipient_id=entry.recipient_id,
        name=entry.name,
        employer=entry.employer,
        limit_year=entry.limit_year,
        counted_total=money(entry.counted_total),
        limit=money(entry.limit),
        headroom=money(entry.headroom),
        reserved=money(entry.reserved),
        status=entry.status,
        spellings=[SpellingPublic(name=name, employer=employer) for name, employer in entry.person.spellings],
        absorbed=[UUID(absorbed) for absorbed in entry.person.absorbed],
        distinct_from=[UUID(other) for other in entry.person.distinct_from],
        gifts=[_gift(gift) for gift in entry.gifts],
        reservations=[_reservation(reservation) for reservation in entry.reservations],
    )


def _optional_uuid(value: str | None) -> UUID | None:
    return None if value is None else UUID(value)


def _exception(joined: tuple[ExceptionRow, CaseRow | None]) -> GiftExceptionPublic:
    found, case = joined
    about_a_gift = found.gift is not None
    return GiftExceptionPublic(
        kind=found.kind.value,
        key=found.key,
        case_id=found.case_id,
        case=None
        if case is None
        else ExceptionCasePublic(status=case.status, assignee=case.assignee, outcome=case.outcome),
        occurred_on=found.occurred_on,
        summary=found.summary,
        amount=None if found.amount is None else money(found.amount),
        threshold=None if found.threshold is None else money(found.threshold),
        recipient_id=_optional_uuid(found.recipient_id),
        name=found.name,
        employer=found.employer,
        account_manager_id=_optional_uuid(found.account_manager_id),
        relationship_id=_optional_uuid(found.relationship_id),
        request_id=_optional_uuid(found.request_id),
        received_gift_id=_optional_uuid(found.received_gift_id),
        quarter=found.quarter,
        gift=None if found.gift is None else _gift(found.gift),
        counted_total=money(found.amount) if about_a_gift and found.amount is not None else None,
        limit=money(found.threshold) if about_a_gift and found.threshold is not None else None,
        related_gift_ids=list(found.related_ids),
    )


def _rules(rules: ProgrammeRules) -> dict[str, object]:
    def shown(amount: Decimal | None) -> str | None:
        return None if amount is None else money(amount)

    return {
        "preclearance_required": rules.preclearance_required,
        "auto_approve_up_to": money(rules.auto_approve_up_to),
        "approval_valid_days": rules.approval_valid_days,
        "entertainment_cap_per_event": shown(rules.entertainment_cap_per_event),
        "entertainment_cap_per_year": shown(rules.entertainment_cap_per_year),
        "received_review_threshold": money(rules.received_review_threshold),
        "attestations_required": rules.attestations_required,
        "attestation_due_days": rules.attestation_due_days,
    }


@router.get("/gift-policy", response_model=GiftPolicyPublic, responses=problems())
def get_gift_policy(principal: PrincipalDep, ledger: LedgerDep, response: Response) -> GiftPolicyPublic:
    """The firm's dated gift-limit schedule, how the limit year is drawn, and the programme's dated rules."""
    policy = ledger.gift_policy()
    response.headers["ETag"] = f'"{policy.version}"'
    return GiftPolicyPublic(
        limit_schedule=[
            LimitChangePublic(effective_from=c.effective_from, amount=money(c.amount)) for c in policy.limit_schedule
        ],
        limit_year=LimitYearPublic(kind=policy.limit_year.kind.value, start_month=policy.limit_year.start_month),
        review_threshold=money(policy.review_threshold),
        version=policy.version,
        **(vars(_programme(policy, ledger.today())) if tuple(policy.programme) != DEFAULT_PROGRAMME else {}),
    )


def _programme(policy: CompliancePolicy, today: date) -> ProgrammePublic:
    return ProgrammePublic(
        programme=[
            ProgrammeChangePublic(effective_from=change.effective_from, **_rules(change.rules))
            for change in policy.programme
        ],
        programme_in_force=ProgrammeRulesPublic(**_rules(policy.programme_on(today))),
    )


@router.get("/gift-policy/programme", response_model=ProgrammePublic, responses=problems())
def get_programme(principal: PrincipalDep, ledger: LedgerDep, response: Response) -> ProgrammePublic:
    """The programme's dated rules (pre-clearance, entertainment caps, gifts received, attestations) and those in
    force today; `ETag` is the policy's version (the `If-Match` of a change)."""
    policy = ledger.gift_policy()
    response.headers["ETag"] = f'"{policy.version}"'
    return _programme(policy, ledger.today())


@router.post(
    "/gift-policy/programme",
    status_code=status.HTTP_201_CREATED,
    response_model=CommandPublic,
    responses=problems("forbidden", "rule_violation", "precondition_failed", "version_conflict", "validation_error"),
)
async def schedule_programme_rules(body: ProgrammeRulesCreate, write: WriteDep) -> CommandPublic:
    """Sets the programme's rules from a date on (compliance, admins); a rule left out keeps its value then.

    Replaces any change on that same date; a date before today needs a `reason` (422).
    """
    return await write.answer(write.ledger.schedule_programme_rules, body.command())


@router.post(
    "/gift-policy/limits",
    status_code=status.HTTP_201_CREATED,
    response_model=CommandPublic,
    responses=problems("forbidden", "rule_violation", "precondition_failed", "version_conflict", "validation_error"),
)
async def schedule_gift_limit(body: GiftLimitCreate, write: WriteDep) -> CommandPublic:
    """Sets the firm's gift limit from a date on (compliance and admins), replacing any change on that same date.

    Never above the regulatory limit in force then (409); a date before today needs a `reason` (422).
    """
    return await write.answer(write.ledger.schedule_gift_limit, body.command())


@router.post(
    "/recipients/{recipient_id}/merges",
    status_code=status.HTTP_201_CREATED,
    response_model=CommandPublic,
    responses=problems(
        "forbidden", "not_found", "rule_violation", "precondition_failed", "version_conflict", "validation_error"
    ),
)
async def merge_recipients(recipient_id: UUID, body: RecipientMergeCreate, write: WriteDep) -> CommandPublic:
    """Records that another recipient is this same person (compliance): their gifts count together in every year
    from now on, and a year the two are over the limit shows as a breach. No stored gift changes."""
    return await write.answer(write.ledger.merge_recipients, recipient_id, body.command())


@router.put(
    "/gift-policy/review-threshold",
    response_model=CommandPublic,
    responses=problems("forbidden", "precondition_failed", "version_conflict", "validation_error"),
)
async def set_review_threshold(body: ReviewThresholdSet, write: WriteDep) -> CommandPublic:
    """Sets the cost above which a gift that counts nothing (promotional, personal, …) is a `review` exception."""
    return await write.answer(write.ledger.set_review_threshold, body.command())


@router.put(
    "/gift-policy/limit-year",
    response_model=CommandPublic,
    responses=problems("forbidden", "precondition_failed", "version_conflict", "validation_error"),
)
async def set_limit_year(body: LimitYearSet, write: WriteDep) -> CommandPublic:
    """Sets how the limit year is drawn: `calendar`, `fiscal` (with `start_month`) or `rolling_12_months`."""
    return await write.answer(write.ledger.set_limit_year, body.command())


@router.get(
    "/gift-register",
    response_model=Page[RecipientYearPublic],
    responses=problems("forbidden", "projection_lagging", "validation_error"),
)
def get_gift_register(
    principal: ReaderOfEverythingDep,
    ledger: LedgerDep,
    register: GiftRegisterDep,
    page: PageDep,
    year: YearQuery = None,
) -> Page[RecipientYearPublic]:
    """Each recipient's gifts in the limit year, with the counted total, the limit in force, what approved
    pre-clearance requests reserve, and the headroom net of it."""
    return page.by_offset(register.register(_this_year(year), ledger.today()), _recipient)


@router.get(
    "/recipients/{recipient_id}",
    response_model=RecipientYearPublic,
    responses=problems("forbidden", "not_found", "projection_lagging", "validation_error"),
)
def get_recipient(
    recipient_id: UUID,
    principal: ReaderOfEverythingDep,
    ledger: LedgerDep,
    register: GiftRegisterDep,
    response: Response,
    year: YearQuery = None,
) -> RecipientYearPublic:
    """One recipient's gifts in the limit year, against the limit; `ETag` is the recipient's version (the
    `If-Match` of a merge into them)."""
    recipient = ledger.gift_recipient(recipient_id)  # 404 for an unknown recipient
    response.headers["ETag"] = f'"{recipient.version}"'
    today = ledger.today()
    entries = register.register(_this_year(year), today, recipient_id=str(recipient_id))
    if entries:
        return _recipient(entries[0])
    schedule, policy = register.policy()
    window = register.window(policy, _this_year(year), today)
    limit = limit_shown(schedule, min(window.end, today))
    return RecipientYearPublic(
        recipient_id=recipient_id,
        name=recipient.name,
        employer=recipient.employer,
        limit_year=window.label,
        counted_total="0.00",
        limit=money(limit),
        headroom=money(limit),
        status="ok",
        gifts=[],
    )


@router.get(
    "/headroom",
    response_model=HeadroomPublic,
    responses=problems("forbidden", "projection_lagging", "validation_error"),
)
def get_headroom(
    principal: PrincipalDep,
    ledger: LedgerDep,
    register: GiftRegisterDep,
    name: Annotated[Name, Query(description="The recipient's name, as a gift would name them.")],
    employer: Annotated[Name, Query(description="The recipient's employer, as a gift would name it.")],
    given_on: Annotated[
        BusinessDate | None, Query(description="The day of the gift (default: today in the firm's time zone).")
    ] = None,
) -> HeadroomPublic:
    """The limit in force on a day, what the person named already has counted in that day's limit year, and the
    headroom left for a gift given that day, found as a gift finds its recipient (one identity for every spelling;
    a merged recipient counts as their survivor). Every role may ask, an account manager before giving: it shows
    these totals only, never anyone's gifts."""
    check_allowed(principal, Read.GIFT_HEADROOM, account_manager_id=principal.account_manager_id)
    day = given_on or ledger.today()
    ledger.check_not_after_today("given_on", day)
    try:
        found = register.headroom(name, employer, day, ledger.today())
    except RuleViolation as refused:  # a day before the limit schedule begins: no gift can be given then
        raise InvalidInput.of_field("given_on", str(refused)) from None
    return HeadroomPublic(
        recipient_id=None if found.recipient_id is None else UUID(found.recipient_id),
        name=found.name,
        employer=found.employer,
        given_on=found.given_on,
        limit_year=found.limit_year,
        limit=money(found.limit),
        counted=money(found.counted),
        headroom=money(found.headroom),
        reserved=money(found.reserved),
    )


CaseStatusQuery = Annotated[
    Literal["open", "resolved", "none"] | None,
    Query(description="Only exceptions whose case is `open` or `resolved`, or (`none`) that have no case."),
]


@router.get(
    "/exceptions",
    response_model=Page[GiftExceptionPublic],
    responses=problems("forbidden", "projection_lagging", "validation_error"),
)
def get_exceptions(
    principal: ReaderOfEverythingDep,
    views: ViewsDep,
    page: PageDep,
    year: YearQuery = None,
    kind: Annotated[ExceptionKind | None, Query(description="Only exceptions of this kind.")] = None,
    case_status: CaseStatusQuery = None,
) -> Page[GiftExceptionPublic]:
    """Every exception of the limit year, of every kind, each with its `key`, its `case_id` and its case if opened.

    Given gifts over the limit in force (`breach`), past 80 % of it (`near_limit`), within 7 days of another to
    the same person (`split`), uncounted but costly (`review`); pre-clearance requests waiting for review
    (`preclearance_review`); entertainment over a cap (`entertainment_event_cap`, `entertainment_year_cap`); gifts
    received above the threshold (`received_review`); attestations missing or late (`late_attestation`).
    """
    context = exception_context(views.ledger, _this_year(year))
    found = ExceptionsReader(views.view).rows(context, kind, case_status)
    return page.by_offset(found, _exception)
