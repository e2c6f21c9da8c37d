"""The examiner's report of a limit year: every gift per recipient and per account manager, each with its
pre-clearance and its cases, the cases opened in the year, and the totals — tied to the log position it was drawn
from and the seal that covers it.

The gifts, the recipients' totals, limits and statuses are the gift register's own (`GiftRegisterReader.register`):
the report adds no arithmetic of its own beyond adding up what the register counted.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, tzinfo
from decimal import Decimal
from typing import Protocol

from infrastructure.integrity import Seal, fingerprint
from infrastructure.sql import ViewStore
from infrastructure.verification import Integrity, SealRefused, load_signing_key
from projections.gift_register import GiftRegisterReader
from projections.gift_register_rows import RecipientYear, RegisteredGift

log = logging.getLogger(__name__)

ZERO = Decimal("0.00")


class Approval(Protocol):
    """What the report shows of a pre-clearance request (a `PreclearanceReader` row)."""

    @property
    def request_id(self) -> str: ...
    @property
    def band(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def decided_by(self) -> str | None: ...
    @property
    def decided_at(self) -> datetime | None: ...


class Case(Protocol):
    """What the report shows of a compliance case (a `CasesReader` row)."""

    @property
    def case_id(self) -> str: ...
    @property
    def kind(self) -> str: ...
    @property
    def key(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def outcome(self) -> str | None: ...
    @property
    def assignee(self) -> str | None: ...
    @property
    def opened_at(self) -> datetime: ...


class ApprovalLookup(Protocol):
    """The pre-clearance requests of these ids, by id (`PreclearanceReader.by_ids`)."""

    def __call__(self, request_ids: Iterable[str], /) -> Mapping[str, Approval]: ...


class CaseLookup(Protocol):
    """The cases about given gifts, and those opened in a span of days (`CasesReader`)."""

    def for_gifts(self, gift_ids: Iterable[str], /) -> Mapping[str, Sequence[Case]]: ...

    def opened_between(self, start: date, end: date, zone: tzinfo = UTC, /) -> Sequence[Case]: ...


@dataclass(frozen=True)
class SealMark:
    """The seal a report points to: the log up to `position` has the Merkle root `root`, signed by `key`."""

    position: int
    root: str
    """Hex."""
    key: str
    """The signing key's fingerprint."""
    sealed_at: str


def seal_covering(integrity: Integrity, position: int, key_path: str) -> SealMark | None:
    """The latest seal if it covers `position`; else a seal made now (of the whole log, so covering it). None when
    sealing is refused (a stored hash that does not match, a key that is not the ledger's, no key to read)."""
    latest = integrity.latest_seal()
    if latest is not None and latest.position >= position:
        return _mark(latest)
    try:
        sealed = integrity.seal(load_signing_key(key_path))
    except (SealRefused, OSError, ValueError) as refused:
        log.error("The examiner's report is not sealed: %s", refused)
        return None
    latest = sealed or integrity.latest_seal()
    return _mark(latest) if latest is not None and latest.position >= position else None


def _mark(seal: Seal) -> SealMark:
    signer = seal.new_public_key if seal.new_public_key is not None else seal.public_key
    return SealMark(position=seal.position, root=seal.root.hex(), key=fingerprint(signer), sealed_at=seal.sealed_at)


@dataclass(frozen=True)
class ApprovalMark:
    request_id: str
    band: str
    status: str
    approved_by: str | None
    approved_at: datetime | None


@dataclass(frozen=True)
class CaseMark:
    case_id: str
    kind: str
    key: str
    status: str
    outcome: str | None
    assignee: str | None
    opened_at: datetime


@dataclass(frozen=True)
class ReportedGift:
    """One row of the register (a share of a shared gift is a row), with who gave it, under which approval, and
    the cases about it."""

    recipient_id: str
    recipient_name: str
    employer: str
    account_manager_id: str | None
    account_manager_name: str | None
    relationship_name: str | None
    gift: RegisteredGift
    approval: ApprovalMark | None
    cases: tuple[CaseMark, ...]


@dataclass(frozen=True)
class RecipientSection:
    recipient_id: str
    name: str
    employer: str
    limit_year: str
    limit: Decimal
    counted_total: Decimal
    reserved: Decimal
    status: str
    gifts: tuple[ReportedGift, ...]


@dataclass(frozen=True)
class ManagerSection:
    account_manager_id: str | None
    """None for gifts recorded on a relationship whose manager the register does not know."""
    name: str | None
    gifts: tuple[ReportedGift, ...]

    @property
    def counted_total(self) -> Decimal:
        return sum((reported.gift.counted_value for reported in self.gifts), ZERO)


@dataclass(frozen=True)
class ExaminerReport:
    year: int
    limit_year: str
    start: date
    end: date
    today: date
    position: int
    """The views' position the report was drawn at."""
    seal: SealMark | None
    """The seal covering `position` (None: sealing was refused, the log must be verified)."""
    recipients: tuple[RecipientSection, ...]
    managers: tuple[ManagerSection, ...]
    cases_opened: tuple[CaseMark, ...]
    grand_total: Decimal
    """The counted total of the year over every recipient, as the register counts it."""

    @property
    def gift_count(self) -> int:
        return sum(len(section.gifts) for section in self.recipients)


class ExaminerReportReader:
    """Draws up the examiner's report from the views."""

    def __init__(self, view: ViewStore) -> None:
        self.view = view
        self.register = GiftRegisterReader(view)

    def report(
        self,
        year: int,
        today: date,
        *,
        approvals: ApprovalLookup,
        cases: CaseLookup,
        seal: SealMark | None,
        position: int,
        zone: tzinfo = UTC,
    ) -> ExaminerReport:
        """The limit year called `year` as the register shows it on `today`, with approvals and cases."""
        schedule_policy = self.register.policy()[1]
        window = self.register.window(schedule_policy, year, today)
        entries = self.register.register(year, today)
        gifts = [gift for entry in entries for gift in entry.gifts]
        found_approvals = approvals(sorted({g.preclearance_id for g in gifts if g.preclearance_id}))
        found_cases = cases.for_gifts([g.gift_id for g in gifts])
        managers, relationships = self._names()

        def reported(entry: RecipientYear, gift: RegisteredGift) -> ReportedGift:
            approval = found_approvals.get(gift.preclearance_id) if gift.preclearance_id else None
            return ReportedGift(
                recipient_id=entry.recipient_id,
                recipient_name=entry.name,
                employer=entry.employer,
                account_manager_id=gift.account_manager_id,
                account_manager_name=managers.get(gift.account_manager_id or ""),
                relationship_name=relationships.get(gift.relationship_id or ""),
                gift=gift,
                approval=_approval(approval) if approval is not None else None,
                cases=tuple(_case(case) for case in found_cases.get(gift.gift_id, ())),
            )

        sections = tuple(
            RecipientSection(
                recipient_id=entry.recipient_id,
                name=entry.name,
                employer=entry.employer,
                limit_year=entry.limit_year,
                limit=entry.limit,
                counted_total=entry.counted_total,
                reserved=entry.reserved,
                status=entry.status,
                gifts=tuple(reported(entry, gift) for gift in entry.gifts),
            )
            for entry in entries
        )
        return ExaminerReport(
            year=year,
            limit_year=window.label,
            start=window.start,
            end=window.end,
            today=today,
            position=position,
            seal=seal,
            recipients=sections,
            managers=_by_manager(sections),
            cases_opened=tuple(_case(case) for case in cases.opened_between(window.start, window.end, zone)),
            grand_total=sum((entry.counted_total for entry in entries), ZERO),
        )

    def _names(self) -> tuple[dict[str, str], dict[str, str]]:
        """Account managers' names and relationships' client names, by id."""
        with self.view.reading() as cursor:
            managers = cursor.execute("SELECT account_manager_id, name FROM wl_managers").fetchall()
            relationships = cursor.execute("SELECT relationship_id, client_name FROM wl_relationships").fetchall()
        return {row[0]: row[1] for row in managers}, {row[0]: row[1] for row in relationships}


def _by_manager(sections: Sequence[RecipientSection]) -> tuple[ManagerSection, ...]:
    """The same gifts per account manager (by name, then id; the unknown manager last), each in date order."""
    grouped: dict[str | None, list[ReportedGift]] = {}
    for section in sections:
        for reported in section.gifts:
            grouped.setdefault(reported.account_manager_id, []).append(reported)
    found = [
        ManagerSection(
            account_manager_id=manager_id,
            name=gifts[0].account_manager_name,
            gifts=tuple(sorted(gifts, key=lambda r: (r.gift.given_on, r.gift.position or 0, r.gift.gift_id))),
        )
        for manager_id, gifts in grouped.items()
    ]
    return tuple(sorted(found, key=lambda m: (m.account_manager_id is None, m.name or "", m.account_manager_id or "")))


def _approval(found: Approval) -> ApprovalMark:
    return ApprovalMark(
        request_id=found.request_id,
        band=str(found.band),
        status=str(found.status),
        approved_by=found.decided_by,
        approved_at=found.decided_at,
    )


def _case(found: Case) -> CaseMark:
    return CaseMark(
        case_id=found.case_id,
        kind=str(found.kind),
        key=found.key,
        status=str(found.status),
        outcome=None if found.outcome is None else str(found.outcome),
        assignee=found.assignee,
        opened_at=found.opened_at,
    )
