"""Response bodies (`XPublic`): what the API answers, separate from the domain's events and the views' rows.

Money is a decimal string with two places ("1250.00"), times RFC 3339 text.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any, ClassVar, Generic, TypeVar
from uuid import UUID

from pydantic import BaseModel, Field, SerializerFunctionWrapHandler, model_serializer

from domain.account_manager import DEFAULT_CAPACITY

T = TypeVar("T")


class LeftOutWhenEmpty(BaseModel):
    """A body whose newer fields are left out while they say nothing, so that the body is the same as before they
    existed (as `gift_limit_exceeded` leaves out `reserved` when nothing is reserved)."""

    left_out_when: ClassVar[dict[str, object]] = {}
    """Each newer field with the value for which it is left out."""

    # No return annotation: pydantic would take it for the body's schema in the OpenAPI description.
    @model_serializer(mode="wrap")
    def _without_empty_fields(self, handler: SerializerFunctionWrapHandler):  # type: ignore[no-untyped-def]
        data = handler(self)
        for name, empty in self.left_out_when.items():
            if name in data and data[name] == empty:
                del data[name]
        return data


class CommandPublic(BaseModel):
    """What a command stored: the aggregate, its new version, and the global position of the last event."""

    id: UUID
    version: int
    position: int


class DemoCommandPublic(CommandPublic):
    demo_id: UUID


class ContractCommandPublic(CommandPublic):
    contract_id: UUID


class GiftCommandPublic(CommandPublic):
    gift_id: UUID
    recipient_id: UUID
    counted_value: str
    shared_with: list[UUID] = Field(
        default_factory=list, description="The recipient ids of the others who share the gift, in the order named."
    )


class Page(BaseModel, Generic[T]):
    """One page of a list; pass `next_cursor` back as `cursor` for the next (null on the last page)."""

    items: list[T]
    next_cursor: str | None


CAPACITY = (
    "The weighted load (key 4, major 2, standard 1) they can carry: the one their manager set, "
    f"or the default ({DEFAULT_CAPACITY})."
)
CAPACITY_IS_DEFAULT = "True while no capacity has been set for them, so the default applies."


class AccountManagerPublic(BaseModel):
    id: UUID
    name: str
    email: str
    active: bool
    version: int
    quotas: dict[str, str] = Field(description="Quota per year.")
    compensation_plans: dict[str, dict[str, str]] = Field(description="Plan per year.")
    capacity: int = Field(description=CAPACITY)
    capacity_is_default: bool = Field(description=CAPACITY_IS_DEFAULT)


class AccountManagerListItem(BaseModel):
    id: UUID
    name: str
    email: str
    active: bool


class WorkloadRowPublic(BaseModel):
    account_manager_id: UUID
    name: str
    active_relationships: int
    by_tier: dict[str, int]
    weighted_load: int
    upcoming_demos: int
    overdue_follow_ups: int
    open_proposals: int
    quota: str
    signed_value: str
    attainment: str | None
    capacity: int = Field(description=CAPACITY)
    capacity_is_default: bool = Field(description=CAPACITY_IS_DEFAULT)
    overloaded: bool = Field(description="Whether `weighted_load` is over `capacity` (at capacity is not over).")


class StaffPublic(BaseModel):
    name: str
    role: str


class DemoPublic(BaseModel):
    demo_id: UUID
    relationship_id: UUID
    client_name: str
    product: str
    scheduled_for: str
    location: str
    staff: list[StaffPublic]


class OverduePublic(BaseModel):
    relationship_id: UUID
    client_name: str
    tier: str
    last_contact_at: str | None
    contact_due: str


class ManagerWorkloadPublic(WorkloadRowPublic):
    demos: list[DemoPublic]
    overdue_relationships: list[OverduePublic]


class CreditedContractPublic(BaseModel):
    contract_id: UUID
    relationship_id: UUID
    signed_on: str
    value: str


class PayPublic(BaseModel):
    account_manager_id: UUID
    year: int
    signed_value: str
    quota: str
    attainment: str | None
    commission: str
    bonus: str
    base_salary: str
    total: str
    contracts: list[CreditedContractPublic]
    """The contracts signed in the year credited to the manager (what `signed_value` adds up), by signing date."""


class RelationshipListItem(BaseModel):
    id: UUID
    client_name: str
    client_kind: str
    industry: str
    tier: str
    status: str
    account_manager_id: UUID
    cadence_days: int
    last_contact_at: str | None
    next_follow_up_on: str | None
    version: int


class RelationshipPublic(BaseModel):
    """A relationship's state (now, or as recorded at a version or time)."""

    id: UUID
    version: int
    opened_at: str
    recorded_at: str = Field(description="When the state's last event was recorded.")
    client_name: str
    client_kind: str
    industry: str
    tier: str
    status: str
    account_manager_id: UUID
    cadence_days: int
    last_contact_at: str | None
    next_follow_up_on: str | None
    products: dict[str, str]
    demos: dict[str, dict[str, Any]]
    contracts: dict[str, dict[str, Any]]
    gifts_given: int


class EventPublic(BaseModel):
    position: int
    version: int
    type: str
    recorded_at: str
    occurred_at: str | None
    actor_id: str
    actor_role: str
    correlation_id: str
    data: dict[str, Any]


class AuditEventPublic(EventPublic):
    aggregate_type: str
    aggregate_id: UUID
    hash: str | None = Field(default=None, description="The event's tamper-evidence hash (see the auditors' section).")


class LimitChangePublic(BaseModel):
    effective_from: date
    amount: str


class LimitYearPublic(BaseModel):
    kind: str
    start_month: int | None = None


class ProgrammeRulesPublic(BaseModel):
    """The programme's rules as one change sets them (money as strings; a cap of null: no cap)."""

    preclearance_required: bool = Field(description="Gifts counting above the auto-approve band need an approval.")
    auto_approve_up_to: str = Field(description="A request counting at most this per person is approved at once.")
    approval_valid_days: int = Field(description="How many days an approval holds its reservation.")
    entertainment_cap_per_event: str | None = Field(description="Per attendee per event; null: no cap.")
    entertainment_cap_per_year: str | None = Field(description="Per attendee per limit year; null: no cap.")
    received_review_threshold: str = Field(description="A gift received worth more than this is reviewed.")
    attestations_required: bool = Field(description="Account managers attest each quarter.")
    attestation_due_days: int = Field(description="Days after the quarter's last day an attestation is due.")


class ProgrammeChangePublic(ProgrammeRulesPublic):
    """The programme's rules in force from `effective_from` until the next change."""

    effective_from: date


class ProgrammePublic(BaseModel):
    """The programme's dated rules (`GET /compliance/gift-policy/programme`)."""

    programme: list[ProgrammeChangePublic] = Field(
        description="The programme's dated rules, oldest first (the first, the defaults, from 1970-01-01)."
    )
    programme_in_force: ProgrammeRulesPublic = Field(description="The rules in force today (the firm's date).")


class GiftPolicyPublic(LeftOutWhenEmpty):
    left_out_when: ClassVar[dict[str, object]] = {"programme": None, "programme_in_force": None}

    limit_schedule: list[LimitChangePublic]
    limit_year: LimitYearPublic
    review_threshold: str = Field(description="An uncounted gift costing more than this is a `review` exception.")
    version: int
    programme: list[ProgrammeChangePublic] | None = Field(
        default=None,
        description="The programme's dated rules, oldest first (the first from 1970-01-01); left out while the "
        "firm never changed them (`GET /compliance/gift-policy/programme` always answers them).",
    )
    programme_in_force: ProgrammeRulesPublic | None = Field(
        default=None, description="The programme's rules in force today (the firm's date); left out with `programme`."
    )


class RegisteredGiftPublic(BaseModel):
    gift_id: UUID
    relationship_id: UUID | None
    account_manager_id: UUID | None
    given_on: date
    category: str | None
    description: str | None
    cost: str
    counted_value: str
    limit: str | None
    limit_year: str | None
    market_value: str | None = None
    face_value: str | None = None
    head_count: int | None = Field(default=None, description="How many people share the gift (null: not kept then).")
    preclearance_id: UUID | None = Field(default=None, description="The approved pre-clearance request it used.")


class ReservationPublic(BaseModel):
    """Headroom an approved pre-clearance request holds for the person until a gift uses it or it expires."""

    reservation_id: UUID
    request_id: UUID
    planned_on: date
    counted_value: str
    expires_on: date = Field(description="It counts through this day (the firm's date) and not after.")


class SpellingPublic(BaseModel):
    name: str
    employer: str


class RecipientYearPublic(LeftOutWhenEmpty):
    left_out_when: ClassVar[dict[str, object]] = {"reserved": "0.00", "reservations": []}

    recipient_id: UUID
    name: str
    employer: str
    limit_year: str
    counted_total: str
    limit: str
    headroom: str = Field(description="`limit - counted_total - reserved`, never below 0.00.")
    reserved: str = Field(
        default="0.00",
        description="What approved pre-clearance requests active today hold of the year (left out when nothing).",
    )
    status: str = Field(
        description="`breach` (a gift over the limit in force now), `near_limit` (past 80 % of it), or `ok`."
    )
    spellings: list[SpellingPublic] = Field(
        default_factory=list, description="Every name and employer gifts gave this person (merged ones included)."
    )
    absorbed: list[UUID] = Field(default_factory=list, description="Recipients merged into this one.")
    distinct_from: list[UUID] = Field(
        default_factory=list, description="Look-alike recipients a giver declared this person is not."
    )
    gifts: list[RegisteredGiftPublic]
    reservations: list[ReservationPublic] = Field(
        default_factory=list,
        description="The reservations active today in the year, oldest first (left out when there are none).",
    )


class ExceptionCasePublic(BaseModel):
    """Where the case about an exception stands."""

    status: str = Field(description="`open` or `resolved`.")
    assignee: str | None
    outcome: str | None


class GiftExceptionPublic(BaseModel):
    kind: str = Field(
        description="`breach`, `near_limit`, `split`, `review`, `preclearance_review`, `entertainment_event_cap`, "
        "`entertainment_year_cap`, `received_review` or `late_attestation`."
    )
    key: str = Field(description="Names the exception within its kind, the same on every reading.")
    case_id: UUID = Field(description="The id of the one case about it (`POST /compliance/cases` opens it).")
    case: ExceptionCasePublic | None = Field(description="The case about it, or null if none was opened.")
    occurred_on: date
    summary: str
    amount: str | None = Field(description="The figure that passed the threshold (a total, a share, a value).")
    threshold: str | None = Field(description="The limit, cap or threshold it passed.")
    recipient_id: UUID | None = Field(description="Null for kinds not about one given gift's recipient.")
    name: str | None
    employer: str | None
    account_manager_id: UUID | None
    relationship_id: UUID | None
    request_id: UUID | None
    received_gift_id: UUID | None
    quarter: str | None
    gift: RegisteredGiftPublic | None = Field(description="The given gift (null for kinds not about one).")
    counted_total: str | None = Field(description="The recipient's counted total (gift kinds; else null).")
    limit: str | None = Field(description="The limit in force (gift kinds; else null).")
    related_gift_ids: list[str] = Field(
        description="Gifts a `split` is with; for other kinds the other records it concerns."
    )


class AccessPublic(BaseModel):
    """One read by an auditor or compliance principal."""

    at: str
    correlation_id: str
    principal_id: str
    role: str
    method: str
    path: str
    query: str
    status: int


class SealPublic(BaseModel):
    """A seal: the log up to `position` (`size` events) signed at `sealed_at`."""

    position: int
    size: int
    sealed_at: str


class SealRecordPublic(BaseModel):
    """A seal or key rotation, with everything an outside verifier needs to check it."""

    kind: str = Field(description="`seal`, or `rotation` (a seal that hands over to a new key).")
    position: int = Field(description="The log is sealed up to this global position.")
    size: int = Field(description="How many events the log held up to `position`.")
    root: str = Field(description="RFC 6962 Merkle root (hex) over the event hashes up to `position`.")
    signature: str = Field(description="Ed25519 signature (hex) by `public_key`.")
    public_key: str = Field(description="The signer's raw 32-byte Ed25519 public key (hex).")
    key_fingerprint: str = Field(description="SHA-256 (hex) of `public_key`.")
    sealed_at: str
    new_public_key: str | None = Field(default=None, description="A rotation's new key (hex): it signs what follows.")
    new_key_fingerprint: str | None = None
    new_key_signature: str | None = Field(
        default=None, description="A rotation's signature (hex) by the new key, of the same message."
    )


class VerificationPublic(BaseModel):
    """The result of recomputing every chain and seal."""

    ok: bool
    events_checked: int
    seals_checked: int
    first_bad_position: int | None
    last_seal: SealPublic | None = Field(default=None, description="The latest seal, if the log was ever sealed.")
    problems: list[str] = Field(description="What is wrong where (the first 100).")
    rotations_checked: int = Field(default=0, description="Key rotations checked (each also a seal).")
    key_fingerprint: str | None = Field(
        default=None, description="SHA-256 (hex) of the first seal's public key: the key every seal is held to."
    )
    current_key_fingerprint: str | None = Field(
        default=None, description="The key in force after the last valid rotation (the first key if none)."
    )
    key_confirmed: bool = Field(
        default=False,
        description="Whether the server's own signing key is one of the seals' keys (false: the seals vouch only "
        "for themselves; check the fingerprint against the one you keep).",
    )


class MePublic(BaseModel):
    """The caller: the token's name (the `actor_id` on what it stores), its role, and its account manager."""

    name: str
    role: str
    account_manager_id: UUID | None


class HealthPublic(BaseModel):
    """The store and the views: `ok`, `degraded` while a view cannot apply an event, or `unavailable`."""

    status: str = Field(
        description="`ok`; `degraded` (503) while a view cannot apply an event; "
        "`unavailable` (503) when the store cannot be reached."
    )
    store: str
    projections: dict[str, int]
    lag: dict[str, int] = Field(default_factory=dict, description="Events each projection is behind the log.")
    failing: dict[str, dict[str, int | str]] = Field(
        default_factory=dict,
        description="Each view that cannot apply an event: `position` (where it stays), `event_position` "
        "(the event it cannot apply), `error`, `since` (RFC 3339) and `attempts`.",
    )


class TokenPublic(BaseModel):
    """A token as the ledger keeps it: never the secret or its hash."""

    name: str
    role: str
    account_manager_id: UUID | None
    created_at: datetime | None
    expires_at: datetime | None
    revoked_at: datetime | None
    revoked_by: str | None = Field(description="The name of the principal (or `cli:<user>`) that revoked it.")
    status: str = Field(description="`active`, `expired` or `revoked`.")


class TokenIssuedPublic(BaseModel):
    """A new token: `token` is shown in this answer only; the ledger keeps just its hash."""

    name: str
    role: str
    account_manager_id: UUID | None
    expires_at: datetime | None
    token: str


class CorrectionCommandPublic(CommandPublic):
    """A correction applied at once (`applied`), or stored as a request awaiting a manager (`requested`)."""

    status: str = Field(description="`applied` (201) or `requested` (202: nothing changes until approved).")
    request_id: UUID | None = Field(default=None, description="The request to approve or reject, when `requested`.")


class CorrectionRequestPublic(BaseModel):
    """A correction an account manager asked for, and what became of it."""

    request_id: UUID
    relationship_id: UUID
    client_name: str | None = None
    status: str = Field(description="`open`, `approved` or `rejected`.")
    corrects_version: int
    corrected_type: str
    target: str | None
    reason: str
    changes: dict[str, Any]
    requested_by: UUID = Field(description="The account manager who asked.")
    requester_id: str = Field(description="The actor id stored on the request.")
    requested_at: str
    requested_version: int
    decided_at: str | None
    decided_by: str | None = Field(description="The actor id of the manager or admin who decided.")
    decided_version: int | None
    decision_reason: str | None


class HeadroomPublic(LeftOutWhenEmpty):
    """What one person may still be given on a day (`GET /compliance/headroom`): totals only, never the gifts."""

    left_out_when: ClassVar[dict[str, object]] = {"reserved": "0.00"}

    recipient_id: UUID | None = Field(
        description="The recipient the name and employer identify (the survivor, if merged); null for someone never "
        "given a gift."
    )
    name: str = Field(description="As the register knows them, or as asked for someone never given a gift.")
    employer: str
    given_on: date = Field(description="The day asked about (default: today in the firm's time zone).")
    limit_year: str = Field(description="The limit year that day falls in (`2026`, or `2025-04-01/2026-03-31`).")
    limit: str = Field(description="The firm's limit in force on that day.")
    counted: str = Field(description="What already counts against the limit in that limit year.")
    headroom: str = Field(
        description="The most a gift given that day may count and still be accepted (never below 0.00), net of "
        "`reserved`; a later gift whose limit year includes the day can make it less than "
        "`limit - counted - reserved`."
    )
    reserved: str = Field(
        default="0.00",
        description="What approved pre-clearance requests active today hold of that limit year (not yet given); "
        "left out when nothing.",
    )


class CaseCommandPublic(CommandPublic):
    created: bool = Field(description="False when the case existed already: nothing was stored.")


class CasePublic(BaseModel):
    """A compliance case about one exception: what compliance saw when it opened it, and where it stands."""

    case_id: UUID
    kind: str
    key: str
    status: str = Field(description="`open` or `resolved`.")
    assignee: str | None
    outcome: str | None
    summary: str
    occurred_on: date | None
    recipient_id: UUID | None
    account_manager_id: UUID | None
    relationship_id: UUID | None
    gift_id: UUID | None
    request_id: UUID | None
    received_gift_id: UUID | None
    quarter: str | None
    amount: str | None
    threshold: str | None
    opened_at: datetime
    opened_by: str
    updated_at: datetime
    notes: int = Field(description="How many notes it has (the one given when opening included).")
    version: int
    position: int = Field(description="Where it was opened in the log (the list's order).")


class CaseDetailPublic(CasePublic):
    trail: list[EventPublic] = Field(description="Every event of the case, oldest first: who did what, and when.")
