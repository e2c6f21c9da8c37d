"""The ledger's application service: one typed method per command of DOMAIN.md, and the history reads."""

from __future__ import annotations

import contextlib
import logging
import random
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Annotated, Any, ClassVar, TypeVar
from uuid import UUID, uuid4, uuid5
from zoneinfo import ZoneInfo

from eventsourcing.application import AggregateNotFoundError, Application, ProcessingEvent, Repository
from eventsourcing.persistence import Notification, RecordConflictError, Recording, StoredEvent
from eventsourcing.utils import get_topic
from pydantic import Field, TypeAdapter, ValidationError, model_validator

from domain.account_manager import AccountManager, CompensationPlan
from domain.compliance_policy import POLICY_ID, CompliancePolicy
from domain.errors import (
    Candidate,
    Forbidden,
    InvalidInput,
    LikelySameRecipient,
    NotFound,
    PreconditionFailed,
    RuleViolation,
    VersionConflict,
)
from domain.gift_recipient import GiftRecipient, RecipientRegistered, Spelling
from domain.gift_rule import counted_value
from domain.mapper import PydanticMapper
from domain.model import LedgerAggregate, LedgerEvent, LedgerSnapshot, StaleSnapshotError, validation_failure
from domain.permissions import Action, check_allowed, check_may_correct_signing, needs_approval
from domain.recipient_index import INDEX_ID, IndexEntry, RecipientIndex
from domain.relationship import (
    ClientRelationship,
    ContactLogged,
    ContractSigned,
    EntertainmentProvided,
    GiftShare,
    Recipient,
    StaffMember,
    moves_pay,
)
from domain.values import (
    Audit,
    BusinessDate,
    Frozen,
    GiftCategory,
    IntroductionOutcome,
    LimitYearKind,
    Name,
    NonNegativeMoney,
    PositiveMoney,
    Principal,
    Role,
    Text,
    Tier,
    utc_now,
)

log = logging.getLogger(__name__)

TAggregate = TypeVar("TAggregate", bound=LedgerAggregate)
T = TypeVar("T")

FIRM_TIMEZONE: tzinfo = ZoneInfo("America/New_York")
"""The firm's time zone unless told otherwise (`LEDGER_FIRM_TIMEZONE`): a US broker-dealer's, as FINRA's."""
DATE_TOLERANCE = timedelta(days=1)
"""How far past today a gift, an entertainment or a signing may be dated: a day, for clocks and time zones."""

SYSTEM = Principal(id="system:ledger", role=Role.ADMIN)
"""The principal of what the ledger does by itself (establishing the default gift policy)."""


@dataclass(frozen=True)
class CommandResult:
    """What a command stored: the aggregate it changed, its new version, and the global position reached."""

    id: UUID
    version: int
    position: int


@dataclass(frozen=True)
class DemoScheduledResult(CommandResult):
    demo_id: UUID


@dataclass(frozen=True)
class ContractProposedResult(CommandResult):
    contract_id: UUID


@dataclass(frozen=True)
class CorrectionResult(CommandResult):
    request_id: UUID | None = None
    """Set when the correction was only stored as a request, awaiting a manager's approval."""


@dataclass(frozen=True)
class GiftResult(CommandResult):
    gift_id: UUID
    recipient_id: UUID
    counted_value: Decimal
    shared_recipient_ids: tuple[UUID, ...] = ()


class NamedRecipient(Frozen):
    """A person a gift names, as typed; optionally which known recipient they are, or which look-alikes they are not."""

    name: Name
    employer: Name
    recipient_id: UUID | None = None
    distinct_from: Annotated[list[UUID], Field(max_length=50)] = []


class GiftDetails(Frozen):
    """A gift as a command gives it, validated before it is valued."""

    recipient: NamedRecipient
    shared_with: Annotated[list[NamedRecipient], Field(max_length=99)] = []
    description: Text
    given_on: BusinessDate
    category: GiftCategory
    cost: PositiveMoney
    market_value: NonNegativeMoney | None = None
    face_value: NonNegativeMoney | None = None
    recipients_count: Annotated[int, Field(ge=1, le=100)] | None = None
    representative_attended: bool = False

    @model_validator(mode="after")
    def _everyone_named(self) -> GiftDetails:
        named = self.head_count
        if self.recipients_count is not None and self.recipients_count != named:
            msg = (
                f"recipients_count: {self.recipients_count} people share the gift, but {named} are named; "
                "name each person who shares it in shared_with"
            )
            raise ValueError(msg)
        return self

    @property
    def head_count(self) -> int:
        """How many people share the gift: the recipient and everyone in `shared_with`."""
        return 1 + len(self.shared_with)


class _RecipientFinder:
    """Finds the recipient a gift names, within one attempt of a command: by the id the caller gives, by identity
    key, or, for someone new, registers them after checking the index for look-alikes."""

    def __init__(self, ledger: Ledger, audit: Audit) -> None:
        self.ledger = ledger
        self.audit = audit
        self._index: RecipientIndex | None = None
        self._registered: dict[UUID, GiftRecipient] = {}

    def find(self, named: NamedRecipient) -> GiftRecipient:
        if named.recipient_id is not None:
            return self._current(named.recipient_id)
        with contextlib.suppress(NotFound):
            return self._current(GiftRecipient.id_for(named.name, named.employer))
        index = self.index()
        known = index.exact(named.name, named.employer)
        if known is not None:  # registered before identity keys, under another id
            return self._current(known)
        unknown = sorted(set(named.distinct_from) - {entry.recipient_id for entry in index.entries})
        if unknown:
            message = f"names no known recipient: {', '.join(map(str, unknown))}"
            raise InvalidInput.of_field("distinct_from", message)
        likely = index.likely(named.name, named.employer, except_for=named.distinct_from)
        if likely:
            names = "; ".join(f"{m.recipient.name} ({m.recipient.employer})" for m in likely[:5])
            msg = (
                f"{named.name} ({named.employer}) is not a known recipient, but closely resembles {names}. "
                "Send recipient_id to give to one of them, or distinct_from with their ids to record that this "
                "is someone else."
            )
            raise LikelySameRecipient(
                msg,
                [
                    Candidate(
                        str(m.recipient.recipient_id),
                        m.recipient.name,
                        m.recipient.employer,
                        round(min(m.name_score, m.employer_score)),
                    )
                    for m in likely[:10]
                ],
            )
        recipient = GiftRecipient.register(
            self.audit, name=named.name, employer=named.employer, distinct_from=named.distinct_from
        )
        index.add(
            self.audit,
            recipient_id=recipient.id,
            name=recipient.name,
            employer=recipient.employer,
            distinct_from=named.distinct_from,
        )
        self._registered[recipient.id] = recipient
        return recipient

    def _current(self, recipient_id: UUID) -> GiftRecipient:
        registered = self._registered.get(recipient_id)
        return registered if registered is not None else self.ledger.current_recipient(recipient_id)

    def index(self) -> RecipientIndex:
        if self._index is None:
            self._index = self.ledger.recipient_index(self.audit.correlation_id)
        return self._index

    def changed(self) -> list[RecipientIndex]:
        """The index, if this attempt registered anyone (saved with the gift, so registrations are serialised)."""
        return [self._index] if self._index is not None and self._index.pending_events else []


_POSITIVE_MONEY: TypeAdapter[Decimal] = TypeAdapter(PositiveMoney)


def _positive_amount(value: Decimal | str) -> Decimal:
    """An `amount` as a new fact may hold it, or the validation error naming the field."""
    try:
        return _POSITIVE_MONEY.validate_python(value)
    except ValidationError as error:
        message = error.errors(include_url=False)[0]["msg"].removeprefix("Value error, ")
        raise InvalidInput.of_field("amount", message) from None


def project(aggregate: Any, events: Iterable[Any]) -> Any:
    """Applies events to an aggregate in turn: the library's projector without its per-event assertion of a
    runtime-checkable protocol, which costs more than applying the event on Python 3.11."""
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


class LedgerRepository(Repository[UUID]):
    """The library's repository, replaying from the events alone when a snapshot has an older shape."""

    def _reconstruct_aggregate(self, aggregate_id: UUID, version: int | None, projector_func: Any) -> Any:
        try:
            return super()._reconstruct_aggregate(aggregate_id, version, projector_func)
        except StaleSnapshotError as stale:
            log.info("%s; replaying its events", stale)
            aggregate = projector_func(None, self.event_store.get(aggregate_id, lte=version))
            if aggregate is None:
                msg = f"Aggregate {aggregate_id!r} version {version!r} not found."
                raise AggregateNotFoundError(msg) from None
            return aggregate


class Ledger(Application[UUID]):
    """The event-sourced relationship ledger: commands in, audited events stored, history out."""

    name = "Ledger"
    env: ClassVar[dict[str, str]] = {"MAPPER_TOPIC": get_topic(PydanticMapper)}
    snapshot_class = LedgerSnapshot
    snapshotting_intervals: ClassVar = {
        ClientRelationship: 100,
        GiftRecipient: 100,
        AccountManager: 100,
        RecipientIndex: 100,
    }

    max_attempts = 12
    """How often a command that lost an optimistic-concurrency race is re-run before it gives up."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        firm_timezone: tzinfo = FIRM_TIMEZONE,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        super().__init__(env)
        self.on_saved: list[Callable[[int, int], None]] = []
        """Called after each save with the last position and the number of events stored."""
        self.firm_timezone = firm_timezone
        """Where the firm's days begin and end: "today" for the rule that nothing is dated after it."""
        self.clock = clock

    def today(self) -> date:
        """Today's date in the firm's time zone."""
        return self.clock().astimezone(self.firm_timezone).date()

    def check_not_after_today(self, field: str, day: date) -> None:
        """Refuses a business date after today in the firm's time zone, allowing one day for clocks and zones."""
        latest = self.today() + DATE_TOLERANCE
        if day > latest:
            message = f"cannot be after {latest} (today in the firm's time zone, with one day of tolerance)"
            raise InvalidInput.of_field(field, message)

    # -- account managers --

    def register_account_manager(self, audit: Audit, *, name: str, email: str) -> CommandResult:
        check_allowed(audit.principal, Action.MANAGE_ACCOUNT_MANAGERS)
        manager = AccountManager.register(audit, name=name, email=email)
        return self._result(manager, self.save(manager))

    def set_quota(
        self,
        audit: Audit,
        account_manager_id: UUID,
        *,
        year: int,
        amount: Decimal | str,
        expected_version: int | None = None,
    ) -> CommandResult:
        check_allowed(audit.principal, Action.MANAGE_ACCOUNT_MANAGERS)

        def attempt() -> CommandResult:
            manager = self._load(AccountManager, account_manager_id, expected_version)
            manager.set_quota(audit, year=year, amount=amount)
            return self._result(manager, self.save(manager))

        return self._retrying(attempt)

    def set_compensation_plan(
        self,
        audit: Audit,
        account_manager_id: UUID,
        *,
        year: int,
        plan: CompensationPlan | dict[str, Any],
        expected_version: int | None = None,
    ) -> CommandResult:
        check_allowed(audit.principal, Action.MANAGE_ACCOUNT_MANAGERS)
        terms = self._validated(CompensationPlan, plan)

        def attempt() -> CommandResult:
            manager = self._load(AccountManager, account_manager_id, expected_version)
            manager.set_compensation_plan(audit, year=year, plan=terms)
            return self._result(manager, self.save(manager))

        return self._retrying(attempt)

    def deactivate_account_manager(
        self, audit: Audit, account_manager_id: UUID, *, reason: str, expected_version: int | None = None
    ) -> CommandResult:
        check_allowed(audit.principal, Action.MANAGE_ACCOUNT_MANAGERS)

        def attempt() -> CommandResult:
            manager = self._load(AccountManager, account_manager_id, expected_version)
            manager.deactivate(audit, reason=reason)
            return self._result(manager, self.save(manager))

        return self._retrying(attempt)

    # -- relationships --

    def open_relationship(
        self,
        audit: Audit,
        *,
        client_name: str,
        client_kind: str,
        industry: str,
        tier: str,
        account_manager_id: UUID,
    ) -> CommandResult:
        self._check_may(audit, Action.OPEN_RELATIONSHIP, account_manager_id)
        manager = self._load(AccountManager, account_manager_id)
        relationship = ClientRelationship.open(
            audit,
            client_name=client_name,
            client_kind=client_kind,
            industry=industry,
            tier=tier,
            account_manager=manager,
        )
        return self._result(relationship, self.save(relationship))

    def assign_account_manager(
        self,
        audit: Audit,
        relationship_id: UUID,
        *,
        account_manager_id: UUID,
        reason: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        check_allowed(audit.principal, Action.ASSIGN)

        def attempt() -> CommandResult:
            relationship = self._load(ClientRelationship, relationship_id, expected_version)
            manager = self._load(AccountManager, account_manager_id)
            relationship.assign(audit, account_manager=manager, reason=reason)
            return self._result(relationship, self.save(relationship))

        return self._retrying(attempt)

    def change_tier(
        self, audit: Audit, relationship_id: UUID, *, tier: Tier | str, expected_version: int | None = None
    ) -> CommandResult:
        return self._on_relationship(
            audit, relationship_id, expected_version, lambda r: r.change_tier(audit, tier=tier)
        )

    def change_cadence(
        self, audit: Audit, relationship_id: UUID, *, days: int, expected_version: int | None = None
    ) -> CommandResult:
        return self._on_relationship(
            audit, relationship_id, expected_version, lambda r: r.change_cadence(audit, days=days)
        )

    def log_contact(
        self,
        audit: Audit,
        relationship_id: UUID,
        *,
        occurred_at: datetime,
        channel: str,
        summary: str,
        next_follow_up_on: date | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._on_relationship(
            audit,
            relationship_id,
            expected_version,
            lambda r: r.log_contact(
                audit, occurred_at=occurred_at, channel=channel, summary=summary, next_follow_up_on=next_follow_up_on
            ),
        )

    def introduce_product(
        self,
        audit: Audit,
        relationship_id: UUID,
        *,
        product: str,
        occurred_at: datetime,
        outcome: IntroductionOutcome | str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._on_relationship(
            audit,
            relationship_id,
            expected_version,
            lambda r: r.introduce_product(audit, product=product, occurred_at=occurred_at, outcome=outcome),
        )

    def schedule_demo(
        self,
        audit: Audit,
        relationship_id: UUID,
        *,
        product: str,
        scheduled_for: datetime,
        location: str,
        staff: list[StaffMember] | list[dict[str, Any]],
        expected_version: int | None = None,
    ) -> DemoScheduledResult:
        demo_ids: list[UUID] = []
        result = self._on_relationship(
            audit,
            relationship_id,
            expected_version,
            lambda r: demo_ids.append(
                r.schedule_demo(audit, product=product, scheduled_for=scheduled_for, location=location, staff=staff)
            ),
        )
        return DemoScheduledResult(**vars(result), demo_id=demo_ids[-1])

    def reschedule_demo(
        self,
        audit: Audit,
        relationship_id: UUID,
        demo_id: UUID,
        *,
        scheduled_for: datetime,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._on_relationship(
            audit,
            relationship_id,
            expected_version,
            lambda r: r.reschedule_demo(audit, demo_id=demo_id, scheduled_for=scheduled_for),
        )

    def complete_demo(
        self, audit: Audit, relationship_id: UUID, demo_id: UUID, *, outcome: str, expected_version: int | None = None
    ) -> CommandResult:
        return self._on_relationship(
            audit, relationship_id, expected_version, lambda r: r.complete_demo(audit, demo_id=demo_id, outcome=outcome)
        )

    def cancel_demo(
        self, audit: Audit, relationship_id: UUID, demo_id: UUID, *, reason: str, expected_version: int | None = None
    ) -> CommandResult:
        return self._on_relationship(
            audit, relationship_id, expected_version, lambda r: r.cancel_demo(audit, demo_id=demo_id, reason=reason)
        )

    def propose_contract(
        self,
        audit: Audit,
        relationship_id: UUID,
        *,
        title: str,
        value: Decimal | str,
        starts_on: date,
        ends_on: date,
        expected_version: int | None = None,
    ) -> ContractProposedResult:
        contract_ids: list[UUID] = []
        result = self._on_relationship(
            audit,
            relationship_id,
            expected_version,
            lambda r: contract_ids.append(
                r.propose_contract(audit, title=title, value=value, starts_on=starts_on, ends_on=ends_on)
            ),
        )
        return ContractProposedResult(**vars(result), contract_id=contract_ids[-1])

    def sign_contract(
        self,
        audit: Audit,
        relationship_id: UUID,
        contract_id: UUID,
        *,
        signed_on: date,
        expected_version: int | None = None,
    ) -> CommandResult:
        self.check_not_after_today("signed_on", signed_on)
        return self._on_relationship(
            audit,
            relationship_id,
            expected_version,
            lambda r: r.sign_contract(audit, contract_id=contract_id, signed_on=signed_on),
        )

    def terminate_contract(
        self,
        audit: Audit,
        relationship_id: UUID,
        contract_id: UUID,
        *,
        on: date,
        reason: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        return self._on_relationship(
            audit,
            relationship_id,
            expected_version,
            lambda r: r.terminate_contract(audit, contract_id=contract_id, on=on, reason=reason),
        )

    def give_gift(
        self,
        audit: Audit,
        relationship_id: UUID,
        *,
        recipient_name: str,
        recipient_employer: str,
        description: str,
        given_on: date,
        category: GiftCategory | str,
        cost: Decimal | str,
        market_value: Decimal | str | None = None,
        face_value: Decimal | str | None = None,
        recipients_count: int | None = None,
        representative_attended: bool = False,
        recipient_id: UUID | None = None,
        distinct_from: Sequence[UUID] = (),
        shared_with: Sequence[NamedRecipient | dict[str, Any]] = (),
        expected_version: int | None = None,
    ) -> GiftResult:
        """Values the gift, checks it against the limit of everyone who receives it, and stores every side in one
        transaction. A gift shared by several people names each of them (`shared_with`)."""
        gift = self._validated(
            GiftDetails,
            {
                "recipient": {
                    "name": recipient_name,
                    "employer": recipient_employer,
                    "recipient_id": recipient_id,
                    "distinct_from": list(distinct_from),
                },
                "shared_with": list(shared_with),
                "description": description,
                "given_on": given_on,
                "category": category,
                "cost": cost,
                "market_value": market_value,
                "face_value": face_value,
                "recipients_count": recipients_count,
                "representative_attended": representative_attended,
            },
        )
        self.check_not_after_today("given_on", gift.given_on)
        value = counted_value(
            category=gift.category,
            cost=gift.cost,
            market_value=gift.market_value,
            face_value=gift.face_value,
            recipients_count=gift.head_count,
            representative_attended=gift.representative_attended,
        )
        gift_id = uuid4()
        share_ids = [uuid5(gift_id, str(number)) for number in range(1, gift.head_count)]

        def attempt() -> GiftResult:
            relationship = self._load(ClientRelationship, relationship_id, expected_version)
            self._check_may(audit, Action.RECORD_ON_RELATIONSHIP, relationship.account_manager_id)
            relationship.check_open()
            policy = self.gift_policy()
            finder = _RecipientFinder(self, audit)
            people = [finder.find(named) for named in (gift.recipient, *gift.shared_with)]
            if len({person.id for person in people}) < len(people):
                message = "names one person twice: each person shares a gift once"
                raise InvalidInput.of_field("shared_with", message)
            for person, named, received_id in zip(
                people, (gift.recipient, *gift.shared_with), (gift_id, *share_ids), strict=True
            ):
                person.receive_gift(
                    audit,
                    gift_id=received_id,
                    relationship_id=relationship.id,
                    given_on=gift.given_on,
                    counted_value=value,
                    policy=policy,
                    spelled_as=Spelling(name=named.name, employer=named.employer),
                )
            relationship.give_gift(
                audit,
                gift_id=gift_id,
                recipient=Recipient(
                    recipient_id=people[0].id, name=gift.recipient.name, employer=gift.recipient.employer
                ),
                shared_with=[
                    GiftShare(
                        share_id=share_id,
                        recipient=Recipient(recipient_id=person.id, name=named.name, employer=named.employer),
                    )
                    for share_id, person, named in zip(share_ids, people[1:], gift.shared_with, strict=True)
                ],
                description=gift.description,
                given_on=gift.given_on,
                category=gift.category,
                cost=gift.cost,
                market_value=gift.market_value,
                face_value=gift.face_value,
                recipients_count=gift.head_count,
                representative_attended=gift.representative_attended,
                counted_value=value,
            )
            result = self._result(relationship, self.save(relationship, *people, policy, *finder.changed()))
            return GiftResult(
                **vars(result),
                gift_id=gift_id,
                recipient_id=people[0].id,
                counted_value=value,
                shared_recipient_ids=tuple(person.id for person in people[1:]),
            )

        return self._retrying(attempt)

    def merge_recipients(
        self, audit: Audit, survivor_id: UUID, *, absorbed_id: UUID, reason: str, expected_version: int | None = None
    ) -> CommandResult:
        """Counts the absorbed recipient's gifts as the survivor's from now on (compliance): the same person.

        No stored gift changes; a limit year the two together are over shows as a breach.
        """
        check_allowed(audit.principal, Action.CHANGE_GIFT_POLICY)

        def attempt() -> CommandResult:
            survivor = self._load(GiftRecipient, survivor_id, expected_version)
            absorbed = self._load(GiftRecipient, absorbed_id)
            survivor.absorb(audit, other=absorbed, reason=reason)
            return self._result(survivor, self.save(survivor, absorbed))

        return self._retrying(attempt)

    def provide_entertainment(
        self,
        audit: Audit,
        relationship_id: UUID,
        *,
        occurred_on: date,
        description: str,
        cost: Decimal | str,
        attendees: list[str],
        representative_attended: bool,
        expected_version: int | None = None,
    ) -> CommandResult:
        self.check_not_after_today("occurred_on", occurred_on)
        return self._on_relationship(
            audit,
            relationship_id,
            expected_version,
            lambda r: r.provide_entertainment(
                audit,
                occurred_on=occurred_on,
                description=description,
                cost=cost,
                attendees=attendees,
                representative_attended=representative_attended,
            ),
        )

    def correct_entry(
        self,
        audit: Audit,
        relationship_id: UUID,
        *,
        corrects_version: int,
        reason: str,
        changes: dict[str, Any],
        expected_version: int | None = None,
    ) -> CorrectionResult:
        """Applies a correction at once, or, for an account manager's that moves pay, stores it as a request."""
        request_ids: list[UUID | None] = []

        def correct(relationship: ClientRelationship) -> None:
            original = self._event_at(relationship, corrects_version)
            if isinstance(original, ContractSigned):
                check_may_correct_signing(audit.principal, original.credited_account_manager_id)
            self._check_corrected_dates(original, changes)
            if needs_approval(audit.principal, moves_pay=moves_pay(original, changes)):
                assert audit.principal.account_manager_id is not None  # checked by check_allowed
                request_ids.append(
                    relationship.request_correction(
                        audit,
                        original=original,
                        reason=reason,
                        changes=changes,
                        requested_by=audit.principal.account_manager_id,
                    )
                )
                return
            request_ids.append(None)
            history = self.history(relationship_id) if isinstance(original, ContactLogged) else ()
            relationship.correct_entry(audit, original=original, reason=reason, changes=changes, history=history)

        result = self._on_relationship(audit, relationship_id, expected_version, correct)
        return CorrectionResult(**vars(result), request_id=request_ids[-1])

    def approve_correction(
        self,
        audit: Audit,
        relationship_id: UUID,
        request_id: UUID,
        *,
        reason: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Applies a requested correction, checked again against the relationship as it is now (managers, admins)."""
        check_allowed(audit.principal, Action.DECIDE_CORRECTION)

        def approve(relationship: ClientRelationship) -> None:
            request = relationship.open_correction_request(request_id)
            original = self._event_at(relationship, request.corrects_version)
            relationship.approve_correction(
                audit, request_id=request_id, original=original, history=self.history(relationship_id), reason=reason
            )

        return self._on_relationship(audit, relationship_id, expected_version, approve)

    def reject_correction(
        self,
        audit: Audit,
        relationship_id: UUID,
        request_id: UUID,
        *,
        reason: str,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Closes a correction request without applying it (managers, admins)."""
        check_allowed(audit.principal, Action.DECIDE_CORRECTION)
        return self._on_relationship(
            audit,
            relationship_id,
            expected_version,
            lambda r: r.reject_correction(audit, request_id=request_id, reason=reason),
        )

    def _check_corrected_dates(self, original: LedgerEvent, changes: dict[str, Any]) -> None:
        """A correction may not date a signing or an entertainment after today either."""
        dated = {ContractSigned: "signed_on", EntertainmentProvided: "occurred_on"}.get(type(original))
        if dated is None or dated not in changes:
            return
        corrected = ClientRelationship.validated_changes(original, {dated: changes[dated]})
        self.check_not_after_today(f"changes.{dated}", date.fromisoformat(corrected[dated]))

    def close_relationship(
        self, audit: Audit, relationship_id: UUID, *, reason: str, expected_version: int | None = None
    ) -> CommandResult:
        return self._on_relationship(audit, relationship_id, expected_version, lambda r: r.close(audit, reason=reason))

    def reopen_relationship(
        self, audit: Audit, relationship_id: UUID, *, reason: str, expected_version: int | None = None
    ) -> CommandResult:
        return self._on_relationship(audit, relationship_id, expected_version, lambda r: r.reopen(audit, reason=reason))

    # -- compliance policy --

    def gift_policy(self) -> CompliancePolicy:
        """The firm's gift policy; until one is stored, FINRA's schedule with calendar years, not yet saved.

        Whoever changes the policy (or gives the first gift) saves its establishment
        in the same transaction, so reading it never writes anything.
        """
        try:
            return self._load(CompliancePolicy, POLICY_ID)
        except NotFound:
            return CompliancePolicy.establish(Audit(principal=SYSTEM, correlation_id="establish-gift-policy"))

    def establish_gift_policy(self) -> None:
        """Stores the default gift policy if none is stored yet (idempotent, safe to race)."""
        policy = self.gift_policy()
        if policy.pending_events:
            with contextlib.suppress(RecordConflictError):
                self.save(policy)

    def schedule_gift_limit(
        self,
        audit: Audit,
        *,
        effective_from: date,
        amount: Decimal | str,
        reason: str | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        """Sets the firm's gift limit from a date on: at most the regulatory limit, with a reason if in the past."""
        check_allowed(audit.principal, Action.CHANGE_GIFT_POLICY)
        amount = _positive_amount(amount)

        def attempt() -> CommandResult:
            policy = self._checked_version(self.gift_policy(), expected_version)
            policy.schedule_limit(
                audit, effective_from=effective_from, amount=amount, today=self.today(), reason=reason
            )
            return self._result(policy, self.save(policy))

        return self._retrying(attempt)

    def set_limit_year(
        self,
        audit: Audit,
        *,
        kind: LimitYearKind | str,
        start_month: int | None = None,
        expected_version: int | None = None,
    ) -> CommandResult:
        check_allowed(audit.principal, Action.CHANGE_GIFT_POLICY)

        def attempt() -> CommandResult:
            policy = self._checked_version(self.gift_policy(), expected_version)
            policy.set_limit_year(audit, kind=kind, start_month=start_month)
            return self._result(policy, self.save(policy))

        return self._retrying(attempt)

    def set_review_threshold(
        self, audit: Audit, *, amount: Decimal | str, expected_version: int | None = None
    ) -> CommandResult:
        """Sets the cost above which an uncounted gift (promotional, personal, …) is a review exception."""
        check_allowed(audit.principal, Action.CHANGE_GIFT_POLICY)
        threshold = _positive_amount(amount)

        def attempt() -> CommandResult:
            policy = self._checked_version(self.gift_policy(), expected_version)
            policy.set_review_threshold(audit, amount=threshold)
            return self._result(policy, self.save(policy))

        return self._retrying(attempt)

    # -- reads and history --

    def account_manager(self, account_manager_id: UUID) -> AccountManager:
        return self._load(AccountManager, account_manager_id)

    def relationship(self, relationship_id: UUID, *, version: int | None = None) -> ClientRelationship:
        """The relationship now, or as it stood at `version`."""
        if version is not None and version < 1:
            msg = f"Version {version} does not exist; versions start at 1."
            raise NotFound(msg)
        return self._load(ClientRelationship, relationship_id, version=version)

    def relationship_as_of(self, relationship_id: UUID, when: datetime) -> ClientRelationship:
        """The relationship as it was recorded at `when` (NotFound if it did not exist yet)."""
        version = self.version_as_of(relationship_id, when)
        if version is None:
            msg = f"Relationship {relationship_id} had not been opened by {when.isoformat()}."
            raise NotFound(msg)
        return self._load(ClientRelationship, relationship_id, version=version)

    def version_as_of(self, aggregate_id: UUID, when: datetime) -> int | None:
        """The last version recorded at or before `when`, by binary search over the aggregate's events.

        Within an aggregate `recorded_at` never goes backwards, so the search reads
        about log2(versions) events rather than all of them.
        """
        if when.tzinfo is None:
            msg = "must carry its offset; a naive time is ambiguous"
            raise InvalidInput.of_field("as_of", msg)
        latest = next(iter(self.events.get(aggregate_id, desc=True, limit=1)), None)
        if latest is None:
            msg = f"No aggregate {aggregate_id}."
            raise NotFound(msg)
        low, high, found = 1, latest.originator_version, None
        while low <= high:
            middle = (low + high) // 2
            if self._event_version(aggregate_id, middle).timestamp <= when:
                found, low = middle, middle + 1
            else:
                high = middle - 1
        return found

    def history(self, aggregate_id: UUID) -> Iterator[LedgerEvent]:
        """Every event of an aggregate, oldest first."""
        events = iter(self.events.get(aggregate_id))
        first = next(events, None)
        if first is None:
            msg = f"No aggregate {aggregate_id}."
            raise NotFound(msg)
        yield first  # type: ignore[misc]
        yield from events  # type: ignore[misc]

    def log_pages(self, page: int = 1_000) -> Iterator[Sequence[Notification]]:
        """The whole global log in position order, `page` stored records at a time (constant memory)."""
        start = 1
        while notifications := self.recorder.select_notifications(start=start, limit=page):
            yield notifications
            start = notifications[-1].id + 1

    def decode(self, stored: StoredEvent) -> LedgerEvent:
        """A stored record turned back into the ledger's event."""
        event = self.mapper.to_domain_event(stored)
        assert isinstance(event, LedgerEvent)
        return event

    def gift_recipient(self, recipient_id: UUID) -> GiftRecipient:
        return self._load(GiftRecipient, recipient_id)

    def current_recipient(self, recipient_id: UUID) -> GiftRecipient:
        """The recipient, or the one they were merged into (following merges to the end)."""
        recipient = self._load(GiftRecipient, recipient_id)
        for _ in range(100):
            if recipient.merged_into is None:
                return recipient
            recipient = self._load(GiftRecipient, recipient.merged_into)
        msg = f"Recipient {recipient_id} is merged in a loop."
        raise RuleViolation(msg)

    def recipient_index(self, correlation_id: str = "start-recipient-index") -> RecipientIndex:
        """The index of every recipient; if there is none, started (not yet saved) by the ledger itself, under the
        request's correlation id, from the recipients in the log."""
        try:
            return self._load(RecipientIndex, INDEX_ID)
        except NotFound:
            pass
        entries: list[IndexEntry] = []
        position = 0
        while True:
            found = self.recorder.select_notifications(
                start=position + 1, limit=1000, topics=[RecipientRegistered.TOPIC]
            )
            for notification in found:
                event = self.decode(notification)
                assert isinstance(event, RecipientRegistered)
                entries.append(IndexEntry.of(event.originator_id, event.name, event.employer))
            if len(found) < 1000:
                break
            position = found[-1].id
        return RecipientIndex.start(Audit(principal=SYSTEM, correlation_id=correlation_id), entries)

    # -- the machinery --

    def _on_relationship(
        self,
        audit: Audit,
        relationship_id: UUID,
        expected_version: int | None,
        command: Callable[[ClientRelationship], None],
    ) -> CommandResult:
        def attempt() -> CommandResult:
            relationship = self._load(ClientRelationship, relationship_id, expected_version)
            self._check_may(audit, Action.RECORD_ON_RELATIONSHIP, relationship.account_manager_id)
            command(relationship)
            return self._result(relationship, self.save(relationship))

        return self._retrying(attempt)

    def _check_may(self, audit: Audit, action: Action, account_manager_id: UUID) -> None:
        """The role table's check for an action on an account manager's book, and that an account manager acting
        is still active."""
        check_allowed(audit.principal, action, account_manager_id=account_manager_id)
        self._check_acting_manager_active(audit)

    def _check_acting_manager_active(self, audit: Audit) -> None:
        """Refuses a command by an account manager's principal once that account manager is deactivated (even
        if their token was still accepted a moment ago)."""
        manager_id = audit.principal.account_manager_id
        if audit.principal.role is not Role.ACCOUNT_MANAGER or manager_id is None:
            return
        try:
            active = self._load(AccountManager, manager_id).active
        except NotFound:
            active = False
        if not active:
            msg = f"Account manager {manager_id} is deactivated (or unknown): their principal can do nothing."
            raise Forbidden(msg)

    def _retrying(self, attempt: Callable[[], T]) -> T:
        # Optimistic concurrency: the loser of a race re-reads and re-checks every
        # rule, after a short randomised back-off so that racers spread out.
        for number in range(1, self.max_attempts + 1):
            try:
                return attempt()
            except RecordConflictError:
                if number == self.max_attempts:
                    break
                time.sleep(random.uniform(0, 0.002 * 2 ** min(number, 6)))  # noqa: S311
        msg = f"Concurrent writes kept winning the race; gave up after {self.max_attempts} attempts. Try again."
        raise VersionConflict(msg)

    def _load(
        self,
        cls: type[TAggregate],
        aggregate_id: UUID,
        expected_version: int | None = None,
        *,
        version: int | None = None,
    ) -> TAggregate:
        try:
            aggregate: object = self.repository.get(aggregate_id, version=version, projector_func=project)
        except AggregateNotFoundError:
            raise NotFound(
                f"No {_describe(cls)} {aggregate_id}" + (f" at version {version}." if version else ".")
            ) from None
        if not isinstance(aggregate, cls):
            msg = f"No {_describe(cls)} {aggregate_id}."
            raise NotFound(msg)
        if version is not None and aggregate.version != version:
            msg = f"{_describe(cls).capitalize()} {aggregate_id} has versions 1 to {aggregate.version}, not {version}."
            raise NotFound(msg)
        return self._checked_version(aggregate, expected_version)

    @staticmethod
    def _checked_version(aggregate: TAggregate, expected_version: int | None) -> TAggregate:
        if expected_version is not None and aggregate.version != expected_version:
            msg = (
                f"Expected version {expected_version}, but it is now at version {aggregate.version}: "
                "read it again before writing."
            )
            raise PreconditionFailed(msg, expected=expected_version, actual=aggregate.version)
        return aggregate

    def _event_version(self, aggregate_id: UUID, version: int) -> LedgerEvent:
        event = next(iter(self.events.get(aggregate_id, gt=version - 1, lte=version)), None)
        if event is None:
            msg = f"No version {version} of {aggregate_id}."
            raise NotFound(msg)
        return event  # type: ignore[return-value]

    def _event_at(self, relationship: ClientRelationship, version: int) -> LedgerEvent:
        if not 1 <= version <= relationship.version:
            msg = (
                f"The relationship has versions 1 to {relationship.version}; there is no version {version} to correct."
            )
            raise NotFound(msg)
        return self._event_version(relationship.id, version)

    @staticmethod
    def _validated(model: type[Frozen], value: Any) -> Any:
        if isinstance(value, model):
            return value
        try:
            return model.model_validate(value)
        except ValidationError as error:
            raise validation_failure(error) from None

    @staticmethod
    def _result(aggregate: LedgerAggregate, recordings: Sequence[Recording[UUID]]) -> CommandResult:
        position = max(recording.notification.id for recording in recordings)
        return CommandResult(id=aggregate.id, version=aggregate.version, position=position)

    def save(self, *objs: Any, **kwargs: Any) -> list[Recording[UUID]]:
        """Stores the pending events of the given aggregates in one transaction.

        For the ledger's own aggregates it collects their events directly: the
        library's general path checks each object against runtime protocols,
        which is slow on Python 3.11. Anything else takes the library's path.
        """
        if not all(isinstance(obj, LedgerAggregate) for obj in objs):
            return super().save(*objs, **kwargs)
        processing_event: ProcessingEvent[UUID] = ProcessingEvent()
        for aggregate in objs:
            processing_event.events.extend(aggregate.collect_events())
            processing_event.aggregates[aggregate.id] = aggregate
        processing_event.saved_kwargs.update(kwargs)
        recordings = self._record(processing_event)
        self._take_snapshots(processing_event)
        self._notify(recordings)
        return recordings

    def construct_repository(self) -> Repository[UUID]:
        base = super().construct_repository()
        return LedgerRepository(
            event_store=base.event_store,
            snapshot_store=base.snapshot_store,
            cache_maxsize=None,
            fastforward=base.fastforward,
            fastforward_skipping=base.fastforward_skipping,
            deepcopy_from_cache=base.deepcopy_from_cache,
        )

    def _notify(self, recordings: list[Recording[UUID]]) -> None:
        if recordings and self.on_saved:
            position = max(recording.notification.id for recording in recordings)
            for listener in list(self.on_saved):
                listener(position, len(recordings))

    def _take_snapshots(self, processing_event: ProcessingEvent[UUID]) -> None:
        # Snapshot from the aggregates in hand rather than re-reading them, all in
        # one write, and never let a failed snapshot fail a command whose events
        # are already stored.
        assert self.snapshots is not None
        versions_before = {e.originator_id: e.originator_version - 1 for e in reversed(processing_event.events)}
        snapshots = []
        for aggregate_id, aggregate in processing_event.aggregates.items():
            interval = self.snapshotting_intervals.get(type(aggregate))
            before = versions_before.get(aggregate_id)
            if interval and before is not None and aggregate.version // interval != before // interval:
                snapshots.append(LedgerSnapshot.take(aggregate))
        if snapshots:
            try:
                self.snapshots.put(snapshots)
            except Exception:  # a snapshot is an optimisation; the events are the record
                log.warning("Could not store %d snapshots", len(snapshots), exc_info=True)


def _describe(cls: type[LedgerAggregate]) -> str:
    return {
        ClientRelationship: "relationship",
        AccountManager: "account manager",
        GiftRecipient: "gift recipient",
        CompliancePolicy: "compliance policy",
    }.get(cls, cls.__name__)
