"""Domain errors: every refused command raises one of these, and nothing is stored."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any


class DomainError(Exception):
    """A command was refused by a rule of the domain; the message says what to do instead."""

    code = "rule_violation"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def details(self) -> dict[str, Any]:
        """Extra machine-readable fields for the caller (empty by default)."""
        return {}


class RuleViolation(DomainError):
    """A domain rule refuses the command (closed relationship, contract already signed, ...)."""


class InvalidInput(DomainError):
    """A value given to a command is malformed (naive time, float money, unknown choice, ...)."""

    code = "validation_error"

    def __init__(self, message: str, errors: list[dict[str, str]] | None = None) -> None:
        super().__init__(message)
        self.errors = errors or [{"field": "", "message": message}]

    @classmethod
    def of_field(cls, field: str, message: str) -> InvalidInput:
        """The error for one field: `field: message`, and the same as its one entry of `errors`."""
        return cls(f"Invalid input: {field}: {message}", [{"field": field, "message": message}])

    def details(self) -> dict[str, Any]:
        return {"errors": self.errors}


class NotFound(DomainError):
    """The command or query names an aggregate that does not exist (yet)."""

    code = "not_found"


class Forbidden(DomainError):
    """The acting principal's role or assignment does not allow the command."""

    code = "forbidden"


class VersionConflict(DomainError):
    """A concurrent write won the race and retrying did not help."""

    code = "version_conflict"


class PreconditionFailed(DomainError):
    """The caller expected the aggregate at a version that is no longer current."""

    code = "precondition_failed"

    def __init__(self, message: str, *, expected: int, actual: int) -> None:
        super().__init__(message)
        self.expected = expected
        self.actual = actual

    def details(self) -> dict[str, Any]:
        return {"expected_version": self.expected, "current_version": self.actual}


@dataclass(frozen=True)
class GiftRefusal:
    """The figures behind a refused gift: the limit, what is already counted, what approved requests hold, what is
    left."""

    limit: Decimal
    counted_this_year: Decimal
    headroom: Decimal
    limit_year: str
    reserved: Decimal = Decimal("0.00")
    """What approved pre-clearance requests hold of the limit year (not yet given); `headroom` is net of it."""


class GiftLimitExceeded(DomainError):
    """The gift would take the recipient's counted total for the limit year past the limit."""

    code = "gift_limit_exceeded"

    def __init__(self, message: str, refusal: GiftRefusal) -> None:
        super().__init__(message)
        self.refusal = refusal

    def details(self) -> dict[str, Any]:
        """The figures; `reserved` only when approved pre-clearance requests hold part of the year (the body a
        refusal without reservations had before pre-clearance existed is unchanged)."""
        figures = {
            "limit": str(self.refusal.limit),
            "counted_this_year": str(self.refusal.counted_this_year),
            "headroom": str(self.refusal.headroom),
            "limit_year": self.refusal.limit_year,
        }
        if self.refusal.reserved:
            figures["reserved"] = str(self.refusal.reserved)
        return figures


class PreclearanceRequired(DomainError):
    """The rules in force on the gift's day require pre-clearance for a gift counting more than the auto-approve
    band, and the gift names no approval."""

    code = "preclearance_required"

    def __init__(self, message: str, *, counted_value: Decimal, auto_approve_up_to: Decimal) -> None:
        super().__init__(message)
        self.counted_value = counted_value
        self.auto_approve_up_to = auto_approve_up_to

    def details(self) -> dict[str, Any]:
        return {"counted_value": str(self.counted_value), "auto_approve_up_to": str(self.auto_approve_up_to)}


@dataclass(frozen=True)
class Candidate:
    """An existing recipient a new one closely resembles."""

    recipient_id: str
    name: str
    employer: str
    similarity: int


class LikelySameRecipient(DomainError):
    """A gift names someone new who closely resembles recipients already known: the caller must say which one it
    is (`recipient_id`) or that it is someone else (`distinct_from`)."""

    code = "likely_same_recipient"

    def __init__(self, message: str, candidates: list[Candidate]) -> None:
        super().__init__(message)
        self.candidates = candidates

    def details(self) -> dict[str, Any]:
        return {"candidates": [vars(candidate) for candidate in self.candidates]}
