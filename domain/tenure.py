"""Who managed a relationship when: an account manager's stints on it and the contracts credited to them.

Worked out in one walk over the relationship's events (pure: it reads only the events it is given), for a
former manager's reads: what they may see of a relationship that is no longer theirs.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from uuid import UUID

from domain.model import LedgerEvent
from domain.relationship_corrections import (
    CORRECTABLE,
    CorrectionApproved,
    CorrectionRejected,
    CorrectionRequested,
    EntryCorrected,
)
from domain.relationship_events import AccountManagerAssigned, ContractSigned, Opened


@dataclass(frozen=True)
class Stint:
    """The versions during which one account manager managed the relationship."""

    first: int
    """The version of the event that made them its manager (`Opened` or `AccountManagerAssigned`)."""
    last: int | None
    """The last version before the event that assigned it to someone else; None while they still manage it."""
    last_recorded_at: datetime | None
    """When `last` was recorded."""

    def holds(self, version: int) -> bool:
        """Whether they managed the relationship at `version`."""
        return self.first <= version and (self.last is None or version <= self.last)

    def words(self) -> str:
        """ "versions 3 to 7" (or "version 3", "versions 3 onwards")."""
        if self.last is None:
            return f"versions {self.first} onwards"
        if self.last == self.first:
            return f"version {self.first}"
        return f"versions {self.first} to {self.last}"


@dataclass(frozen=True)
class Tenure:
    """One account manager's stints on a relationship, and what its events say about the contracts credited to them."""

    account_manager_id: UUID
    stints: tuple[Stint, ...]
    credited: frozenset[str]
    """The contracts (ids as text) credited to them as it stands now, after every correction."""
    about: Mapping[int, str]
    """For each version whose event is about a contract (or a correction request about one): that contract's id."""

    @property
    def managed(self) -> bool:
        """Whether they ever managed the relationship."""
        return bool(self.stints)

    @property
    def manages_now(self) -> bool:
        return bool(self.stints) and self.stints[-1].last is None

    @property
    def handed_over(self) -> int | None:
        """The last version of their last stint: the relationship as they handed it over (None if they still
        manage it, or never did)."""
        return self.stints[-1].last if self.stints else None

    def assigned_at(self, version: int) -> bool:
        """Whether they managed the relationship at `version`."""
        return any(stint.holds(version) for stint in self.stints)

    def may_read_event(self, version: int) -> bool:
        """Whether the event at `version` is theirs to read: recorded while they managed the relationship, or
        about a contract credited to them."""
        return self.assigned_at(version) or self.about.get(version) in self.credited

    def stints_in_words(self) -> str:
        """ "versions 1 to 4 and 9 to 12", naming when the last stint ended."""
        parts = [stint.words() for stint in self.stints]
        said = parts[0] if len(parts) == 1 else f"{', '.join(parts[:-1])} and {parts[-1]}"
        ended = self.stints[-1].last_recorded_at if self.stints else None
        return said if ended is None else f"{said} (the last recorded at {ended.isoformat()})"


def tenure_of(account_manager_id: UUID, events: Iterable[LedgerEvent]) -> Tenure:
    """The tenure of `account_manager_id` on the relationship whose events (every one, oldest first) are given."""
    stints: list[Stint] = []
    started: int | None = None  # the first version of the stint under way, if theirs
    previous: LedgerEvent | None = None
    credit_of: dict[str, UUID] = {}
    about: dict[int, str] = {}
    request_targets: dict[UUID, str] = {}
    for event in events:
        version = event.originator_version
        manager = _assigned_manager(event)
        if manager is not None:
            if started is None and manager == account_manager_id:
                started = version
            elif started is not None and manager != account_manager_id:
                assert previous is not None  # an assignment is never a relationship's first event
                stints.append(Stint(started, previous.originator_version, previous.recorded_at))
                started = None
        contract = _contract_of(event, request_targets)
        if contract is not None:
            about[version] = contract
        _move_credit(event, credit_of)
        previous = event
    if started is not None:
        stints.append(Stint(started, None, None))
    credited = frozenset(contract for contract, manager in credit_of.items() if manager == account_manager_id)
    return Tenure(account_manager_id, tuple(stints), credited, about)


def _assigned_manager(event: LedgerEvent) -> UUID | None:
    """The manager an event makes the relationship's own, if it is one that does."""
    if isinstance(event, Opened | AccountManagerAssigned):
        return event.account_manager_id
    return None


def _contract_of(event: LedgerEvent, request_targets: dict[UUID, str]) -> str | None:
    """The contract an event is about: its `contract_id`; for a correction (or a request for one) of a contract's
    event, its target; for the decision on a request, the request's contract."""
    contract_id = getattr(event, "contract_id", None)
    if isinstance(contract_id, UUID):
        return str(contract_id)
    if isinstance(event, EntryCorrected | CorrectionRequested):
        corrected = CORRECTABLE.get(event.corrected_type)
        if corrected is None or corrected.target_field != "contract_id" or event.target is None:
            return None
        if isinstance(event, CorrectionRequested):
            request_targets[event.request_id] = event.target
        return event.target
    if isinstance(event, CorrectionApproved | CorrectionRejected):
        return request_targets.get(event.request_id)
    return None


def _move_credit(event: LedgerEvent, credit_of: dict[str, UUID]) -> None:
    """Follows who each contract is credited to: its signing, and any correction of the signing's credit."""
    if isinstance(event, ContractSigned):
        credit_of[str(event.contract_id)] = event.credited_account_manager_id
    elif (
        isinstance(event, EntryCorrected)
        and event.corrected_type == ContractSigned.TOPIC
        and event.target is not None
        and "credited_account_manager_id" in event.changes
    ):
        credit_of[event.target] = UUID(str(event.changes["credited_account_manager_id"]))
