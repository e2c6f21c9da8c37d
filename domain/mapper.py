"""Maps the ledger's pydantic events to stored records and back, with pydantic's own JSON codec."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import pydantic_core
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper, MapperDeserialisationError, StoredEvent
from eventsourcing.utils import get_topic, resolve_topic
from pydantic import BaseModel

from domain.values import STORED


class PydanticMapper(Mapper[UUID]):
    """Stores a pydantic event as its JSON (validated once, on the way in); other events as the library does.

    The stored state holds the whole event, envelope included, so one call to
    `model_validate_json` turns a record back into an event. An event class at
    `class_version` N > 1 stores `"class_version": N`, and older records are
    upcast with the class's `upcast_vK_vK+1` methods before validation.
    """

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        if not isinstance(domain_event, BaseModel):
            return super().to_stored_event(domain_event)
        class_version = getattr(type(domain_event), "class_version", 1)
        if class_version == 1:
            state = domain_event.model_dump_json().encode()
        else:
            data = domain_event.model_dump(mode="json")
            data["class_version"] = class_version
            state = pydantic_core.to_json(data)
        if self.compressor:
            state = self.compressor.compress(state)
        if self.cipher:
            state = self.cipher.encrypt(state)
        return StoredEvent(
            originator_id=domain_event.originator_id,
            originator_version=domain_event.originator_version,
            topic=get_topic(type(domain_event)),
            state=state,
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        cls = resolve_topic(stored_event.topic)
        if not (isinstance(cls, type) and issubclass(cls, BaseModel)):
            return super().to_domain_event(stored_event)
        state = stored_event.state
        try:
            if self.cipher:
                state = self.cipher.decrypt(state)
            if self.compressor:
                state = self.compressor.decompress(state)
            if getattr(cls, "class_version", 1) == 1:
                event: Any = cls.model_validate_json(state, context=STORED)
            else:
                event = cls.model_validate(upcast(cls, pydantic_core.from_json(state)), context=STORED)
        except Exception as error:
            msg = (
                f"Failed to deserialise state of stored event with topic '{stored_event.topic}', "
                f"originator_id '{stored_event.originator_id}' and "
                f"originator_version {stored_event.originator_version}: {error}"
            )
            raise MapperDeserialisationError(msg) from error
        return event  # type: ignore[no-any-return]


def upcast(cls: type[Any], data: dict[str, Any]) -> dict[str, Any]:
    """Brings a stored event's data from the version it was written at to the class's current one."""
    from_version = data.pop("class_version", 1)
    while from_version < cls.class_version:
        getattr(cls, f"upcast_v{from_version}_v{from_version + 1}")(data)
        from_version += 1
    return data
