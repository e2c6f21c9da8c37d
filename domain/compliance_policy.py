"""The CompliancePolicy aggregate: the firm's dated gift-limit schedule, its limit-year policy and its dated
gifts-and-entertainment programme rules."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Annotated
from uuid import NAMESPACE_URL, uuid5

from pydantic import AfterValidator, BaseModel, Field

from domain.commands import ScheduleGiftLimit, ScheduleProgrammeRules, SetLimitYear, SetReviewThreshold
from domain.errors import InvalidInput, RuleViolation
from domain.gift_rule import FINRA_SCHEDULE, REGULATORY_SCHEDULE, LimitChange, LimitYearPolicy, limit_in_force
from domain.model import LedgerAggregate, LedgerCreated, LedgerEvent
from domain.values import Audit, BusinessDate, Frozen, PositiveMoney, Reason, RecordedMoney

POLICY_ID = uuid5(NAMESPACE_URL, "urn:ledger:compliance-policy")
"""There is one policy per ledger, always under this id."""


def _with_change(schedule: list[LimitChange], change: LimitChange) -> list[LimitChange]:
    kept = [c for c in schedule if c.effective_from != change.effective_from]
    return sorted([*kept, change], key=lambda c: c.effective_from)


# -- the programme: dated rules for pre-clearance, entertainment caps, gifts received and attestations --
#
# Which day decides which rule: the pre-clearance bands and how long an approval
# lasts, the day of the request or approval; whether pre-clearance is required,
# the gift's `given_on`; the entertainment caps, its `occurred_on`; the review
# threshold of gifts received, `received_on`; whether attestations are required
# and when they are due, the quarter's last day.


def _not_negative(amount: Decimal) -> Decimal:
    if amount < 0:
        msg = "must not be negative"
        raise ValueError(msg)
    return amount


def _positive(amount: Decimal) -> Decimal:
    if amount <= 0:
        msg = "must be greater than zero"
        raise ValueError(msg)
    return amount


class ProgrammeRules(Frozen):
    """The programme's rules on one day. The defaults change nothing a firm did before it had a programme:
    pre-clearance and attestations are not required until the firm turns them on."""

    preclearance_required: bool = False
    """Whether a gift counting more than `auto_approve_up_to` per person needs an approved request."""
    auto_approve_up_to: Annotated[RecordedMoney, AfterValidator(_not_negative)] = Decimal("50.00")
    """A request counting at most this per person (and within everyone's headroom) is approved at once."""
    approval_valid_days: Annotated[int, Field(ge=1, le=365)] = 30
    """An approval may be used, and holds its reservation, up to this many days after it is given."""
    entertainment_cap_per_event: Annotated[RecordedMoney, AfterValidator(_positive)] | None = Decimal("250.00")
    """The most one event may cost per attendee; None: no cap."""
    entertainment_cap_per_year: Annotated[RecordedMoney, AfterValidator(_positive)] | None = Decimal("1000.00")
    """The most entertainment may cost per attendee in a limit year; None: no cap."""
    received_review_threshold: Annotated[RecordedMoney, AfterValidator(_not_negative)] = Decimal("100.00")
    """A gift or entertainment received worth more than this is reviewed by compliance."""
    attestations_required: bool = False
    """Whether every active account manager attests each quarter."""
    attestation_due_days: Annotated[int, Field(ge=0, le=90)] = 30
    """An attestation is due this many days after the quarter's last day."""


class ProgrammeChange(Frozen):
    """From `effective_from` on, the programme's rules are `rules`."""

    effective_from: date
    rules: ProgrammeRules


DEFAULT_PROGRAMME: tuple[ProgrammeChange, ...] = (
    ProgrammeChange(effective_from=date(1970, 1, 1), rules=ProgrammeRules()),
)
"""The programme every policy starts with (and every policy stored before programmes existed reads as)."""


def rules_on(programme: Sequence[ProgrammeChange], day: date) -> ProgrammeRules:
    """The rules in force on `day`: the latest change on or before it; before the first, the defaults."""
    in_force = [change for change in programme if change.effective_from <= day]
    if not in_force:
        return ProgrammeRules()
    return max(in_force, key=lambda change: change.effective_from).rules


def with_programme_change(programme: Sequence[ProgrammeChange], change: ProgrammeChange) -> list[ProgrammeChange]:
    """`programme` with `change` in date order, replacing a change on the same day."""
    kept = [c for c in programme if c.effective_from != change.effective_from]
    return sorted([*kept, change], key=lambda c: c.effective_from)


class PolicyEstablished(LedgerCreated):
    TOPIC = "ledger:CompliancePolicy.Established"
    limit_schedule: list[LimitChange]
    limit_year: LimitYearPolicy

    def apply(self, aggregate: CompliancePolicy) -> None:
        aggregate.limit_schedule = sorted(self.limit_schedule, key=lambda c: c.effective_from)
        aggregate.limit_year = self.limit_year
        aggregate.review_threshold = DEFAULT_REVIEW_THRESHOLD
        aggregate.programme = list(DEFAULT_PROGRAMME)


class GiftLimitScheduled(LedgerEvent):
    """From `effective_from` on, the limit is `amount` (replacing any change on that same day).

    The firm may only lower the limit: `amount` is at most the regulatory limit in force on `effective_from`
    (recorded beside it). A change effective before the day it was made (`retroactive`) carries its `reason`.
    """

    TOPIC = "ledger:CompliancePolicy.GiftLimitScheduled"
    effective_from: BusinessDate
    amount: PositiveMoney
    reason: Reason | None = None
    regulatory_limit: RecordedMoney | None = None
    retroactive: bool = False

    def apply(self, aggregate: CompliancePolicy) -> None:
        change = LimitChange(effective_from=self.effective_from, amount=self.amount)
        aggregate.limit_schedule = _with_change(aggregate.limit_schedule, change)


class LimitYearPolicyChanged(LedgerEvent):
    TOPIC = "ledger:CompliancePolicy.LimitYearPolicyChanged"
    limit_year: LimitYearPolicy

    def apply(self, aggregate: CompliancePolicy) -> None:
        aggregate.limit_year = self.limit_year


class ReviewThresholdSet(LedgerEvent):
    """Gifts that count nothing (promotional, personal, …) but cost more than `amount` are shown for review."""

    TOPIC = "ledger:CompliancePolicy.ReviewThresholdSet"
    amount: PositiveMoney

    def apply(self, aggregate: CompliancePolicy) -> None:
        aggregate.review_threshold = self.amount


class ProgrammeRulesScheduled(LedgerEvent):
    """From `effective_from` on, the programme's rules are `rules` (replacing any change on that same day). A change
    effective before the day it was made (`retroactive`) carries its `reason`."""

    TOPIC = "ledger:CompliancePolicy.ProgrammeRulesScheduled"
    effective_from: BusinessDate
    rules: ProgrammeRules
    reason: Reason | None = None
    retroactive: bool = False

    def apply(self, aggregate: CompliancePolicy) -> None:
        change = ProgrammeChange(effective_from=self.effective_from, rules=self.rules)
        aggregate.programme = with_programme_change(aggregate.programme, change)


DEFAULT_REVIEW_THRESHOLD = Decimal("100.00")
"""Until the firm sets its own, an uncounted gift costing more than this is a review exception."""


class CompliancePolicy(LedgerAggregate):
    """The gift-limit schedule, how a limit year is drawn, and when an uncounted gift is reviewed; each change is
    an audited event."""

    TOPIC = "ledger:CompliancePolicy"
    snapshot_version = 3  # 2: State gained review_threshold; 3: programme

    class State(BaseModel):
        limit_schedule: list[LimitChange]
        limit_year: LimitYearPolicy
        review_threshold: RecordedMoney
        programme: list[ProgrammeChange]

    if TYPE_CHECKING:  # the library turns class annotations into dataclass fields
        limit_schedule: list[LimitChange]
        limit_year: LimitYearPolicy
        review_threshold: Decimal
        programme: list[ProgrammeChange]

    @classmethod
    def establish(cls, audit: Audit) -> CompliancePolicy:
        """The policy every ledger starts with: FINRA's schedule and calendar years."""
        return cls._start(
            PolicyEstablished,
            audit,
            id=POLICY_ID,
            limit_schedule=list(FINRA_SCHEDULE),
            limit_year=LimitYearPolicy(),
        )

    def schedule_limit(self, audit: Audit, command: ScheduleGiftLimit, *, today: date) -> None:
        """Sets the firm's limit from a date on: never above the regulatory limit then, and with a reason if that
        date has passed (every recipient-year the change pushes over then shows as a breach)."""
        effective_from, reason = command.effective_from, command.reason
        begins = min(change.effective_from for change in REGULATORY_SCHEDULE)
        if effective_from < begins:
            message = f"must be on or after {begins}, when the regulatory gift limit begins"
            raise InvalidInput.of_field("effective_from", message)
        regulatory = limit_in_force(REGULATORY_SCHEDULE, effective_from)
        if command.amount > regulatory:
            msg = (
                f"The firm's gift limit cannot be above the regulatory limit in force on {effective_from} "
                f"(${regulatory}); the firm may only set a lower one."
            )
            raise RuleViolation(msg)
        retroactive = effective_from < today
        if retroactive and not (reason and reason.strip()):
            message = f"a change effective in the past ({effective_from}, before today {today}) needs a reason"
            raise InvalidInput.of_field("reason", message)
        self._record(GiftLimitScheduled, audit, **dict(command), regulatory_limit=regulatory, retroactive=retroactive)

    def programme_on(self, day: date) -> ProgrammeRules:
        """The programme rules in force on `day`: the latest change on or before it (the defaults before any)."""
        return rules_on(self.programme, day)

    def schedule_programme(self, audit: Audit, command: ScheduleProgrammeRules, *, today: date) -> None:
        """Sets the programme's rules from a date on (1970-01-01 or later, when the defaults begin); the rules the
        command leaves out are those in force on that date. A date before `today` needs a reason."""
        effective_from, reason = command.effective_from, command.reason
        begins = DEFAULT_PROGRAMME[0].effective_from
        if effective_from < begins:
            message = f"must be on or after {begins}, when the programme's rules begin"
            raise InvalidInput.of_field("effective_from", message)
        retroactive = effective_from < today
        if retroactive and not (reason and reason.strip()):
            message = f"a change effective in the past ({effective_from}, before today {today}) needs a reason"
            raise InvalidInput.of_field("reason", message)
        rules = self.programme_on(effective_from).model_copy(update=command.rule_changes())
        self._record(
            ProgrammeRulesScheduled,
            audit,
            effective_from=effective_from,
            rules=ProgrammeRules.model_validate(rules.model_dump()),
            reason=reason,
            retroactive=retroactive,
        )

    def set_review_threshold(self, audit: Audit, command: SetReviewThreshold) -> None:
        """Sets the cost above which a gift that counts nothing is shown to compliance for review."""
        self._record(ReviewThresholdSet, audit, **dict(command))

    def set_limit_year(self, audit: Audit, command: SetLimitYear) -> None:
        """Sets how the limit year is drawn (a fiscal year needs its start month, the others none)."""
        self._record(LimitYearPolicyChanged, audit, limit_year=dict(command))
