"""The base classes every event, aggregate and snapshot of the ledger is built on.

Events are frozen pydantic models that the `eventsourcing` library can apply to
aggregates; each carries the audit fields an examiner asks for first.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar, Self
from uuid import UUID

from eventsourcing.domain import (
    BaseAggregate,
    CanInitAggregate,
    CanMutateAggregate,
    CanSnapshotAggregate,
)
from eventsourcing.utils import get_topic, register_topic, resolve_topic
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError

from domain.errors import InvalidInput
from domain.values import STORED, Audit, Role, utc_now

# Every stored class names itself by an explicit `TOPIC` ("ledger:ContactLogged"),
# the library's own mechanism for stable topics, so moving or renaming a module
# never orphans stored history.


class LedgerEvent(BaseModel, CanMutateAggregate[UUID]):
    """A fact recorded on an aggregate, stamped with who recorded it, when and under which request."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )

    TOPIC: ClassVar[str]
    class_version: ClassVar[int] = 1
    business_time_field: ClassVar[str | None] = None
    """The field holding when the fact happened in business terms, where that differs."""
    correctable_fields: ClassVar[frozenset[str]] = frozenset()
    """The fields an `EntryCorrected` may change on an event of this type."""

    originator_id: UUID
    originator_version: int
    timestamp: AwareDatetime = Field(alias="recorded_at")
    actor_id: str = Field(min_length=1)
    actor_role: Role
    correlation_id: str = Field(min_length=1)

    @classmethod
    def __pydantic_init_subclass__(cls, **kwargs: Any) -> None:
        super().__pydantic_init_subclass__(**kwargs)
        if "TOPIC" in cls.__dict__:
            register_topic(cls.TOPIC, cls)

    @property
    def recorded_at(self) -> datetime:
        """When the server recorded the event (UTC)."""
        return self.timestamp

    @property
    def business_time(self) -> Any:
        """When the fact happened in business terms, or None where that is when it was recorded."""
        return getattr(self, self.business_time_field) if self.business_time_field else None

    def data(self) -> dict[str, Any]:
        """The event's own fields as JSON-ready values, without the envelope and audit fields."""
        return self.model_dump(mode="json", exclude=_ENVELOPE_FIELDS)

    def apply(self, aggregate: Any) -> None:
        """Evolves the aggregate's state; each event type says how."""


_ENVELOPE_FIELDS = {
    "originator_id",
    "originator_version",
    "timestamp",
    "actor_id",
    "actor_role",
    "correlation_id",
    "originator_topic",
}


class LedgerCreated(LedgerEvent, CanInitAggregate[UUID]):
    """The first event of an aggregate: it names the aggregate's class by its stable topic."""

    originator_topic: str


def validation_failure(error: ValidationError) -> InvalidInput:
    """Turns pydantic's report on a malformed value into the domain's validation error."""
    errors = [
        {
            "field": ".".join(str(part) for part in item["loc"]),
            "message": item["msg"].removeprefix("Value error, "),
        }
        for item in error.errors(include_url=False)
    ]
    summary = "; ".join(f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors)
    return InvalidInput(f"Invalid input: {summary}", errors)


class LedgerAggregate(BaseAggregate[UUID]):
    """An aggregate whose events are stamped with audit fields and a monotonic `recorded_at`."""

    TOPIC: ClassVar[str]
    snapshot_version: ClassVar[int] = 1
    """Raised whenever `State` changes shape, so that older snapshots are passed over, not misread."""

    class State(BaseModel):
        """The aggregate's attributes, as a snapshot stores them."""

    def __init__(self) -> None:
        """State is set by the created event's `apply`."""

    @classmethod
    def _start(cls, event_class: type[LedgerCreated], audit: Audit, *, id: UUID, **data: Any) -> Self:  # noqa: A002
        try:
            return cls._create(event_class, id=id, timestamp=utc_now(), **audit.event_fields(), **data)
        except ValidationError as error:
            raise validation_failure(error) from None

    def _record(self, event_class: type[LedgerEvent], audit: Audit, **data: Any) -> None:
        # Within one aggregate, recorded times never go backwards, even if the
        # server's clock does: "as recorded at T" then has one answer.
        recorded_at = max(utc_now(), self.modified_on)
        try:
            self.trigger_event(event_class, timestamp=recorded_at, **audit.event_fields(), **data)
        except ValidationError as error:
            raise validation_failure(error) from None

    def snapshot_state(self) -> dict[str, Any]:
        """The aggregate's own attributes, keyed as in its `State` model."""
        return {name: getattr(self, name) for name in type(self).State.model_fields}


class StaleSnapshotError(Exception):
    """A stored snapshot was taken of an older shape of the aggregate; the events must be replayed instead."""

    def __init__(self, aggregate_id: UUID, version: int) -> None:
        super().__init__(f"The snapshot of {aggregate_id} at version {version} has an older shape")


class LedgerSnapshot(BaseModel, CanSnapshotAggregate[UUID]):
    """The state of an aggregate at a version, so reading it need not replay every event."""

    model_config = ConfigDict(
        frozen=True,
        extra="forbid",
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )

    originator_id: UUID
    originator_version: int
    timestamp: AwareDatetime = Field(alias="recorded_at")
    topic: str
    created_on: AwareDatetime
    modified_on: AwareDatetime
    state_version: int = 1
    state: dict[str, Any]

    TOPIC: ClassVar[str] = "ledger:Snapshot"

    @classmethod
    def take(cls, aggregate: Any) -> Self:
        assert isinstance(aggregate, LedgerAggregate)
        state_model = type(aggregate).State.model_validate(aggregate.snapshot_state())
        return cls(
            originator_id=aggregate.id,
            originator_version=aggregate.version,
            timestamp=utc_now(),
            topic=get_topic(type(aggregate)),
            created_on=aggregate.created_on,
            modified_on=aggregate.modified_on,
            state_version=type(aggregate).snapshot_version,
            state=state_model.model_dump(mode="json"),
        )

    def mutate(self, _: None) -> Any:
        aggregate_class = resolve_topic(self.topic)
        if self.state_version != aggregate_class.snapshot_version:
            raise StaleSnapshotError(self.originator_id, self.originator_version)
        try:
            state = aggregate_class.State.model_validate(self.state, context=STORED)
        except ValidationError:
            raise StaleSnapshotError(self.originator_id, self.originator_version) from None
        aggregate = object.__new__(aggregate_class)
        aggregate.__base_init__(self.originator_id, self.originator_version, self.created_on)
        aggregate.modified_on = self.modified_on
        for name in aggregate_class.State.model_fields:
            setattr(aggregate, name, getattr(state, name))
        return aggregate


register_topic(LedgerSnapshot.TOPIC, LedgerSnapshot)
