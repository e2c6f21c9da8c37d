"""Who a gift names: a known recipient, by the id the caller gives or by identity key, or someone new."""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING
from uuid import UUID

from domain.commands import NamedRecipient
from domain.errors import Candidate, InvalidInput, LikelySameRecipient, NotFound
from domain.gift_recipient import GiftRecipient
from domain.recipient_index import RecipientIndex
from domain.values import Audit

if TYPE_CHECKING:
    from domain.ledger_queries import LedgerQueries


class RecipientFinder:
    """Finds the recipient a gift names, within one attempt of a command: by the id the caller gives, by identity
    key, or, for someone new, registers them after checking the index for look-alikes."""

    def __init__(self, ledger: LedgerQueries, audit: Audit) -> None:
        self.ledger = ledger
        self.audit = audit
        self._index: RecipientIndex | None = None
        self._registered: dict[UUID, GiftRecipient] = {}

    def find(self, named: NamedRecipient) -> GiftRecipient:
        """The recipient `named` is; someone new is registered (not yet saved) unless they resemble someone known."""
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
        self._refuse_look_alikes(index, named)
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

    def index(self) -> RecipientIndex:
        """The recipient index, read once per attempt."""
        if self._index is None:
            self._index = self.ledger.recipient_index(self.audit.correlation_id)
        return self._index

    def changed(self) -> list[RecipientIndex]:
        """The index, if this attempt registered anyone (saved with the gift, so registrations are serialised)."""
        return [self._index] if self._index is not None and self._index.pending_events else []

    def _current(self, recipient_id: UUID) -> GiftRecipient:
        registered = self._registered.get(recipient_id)
        return registered if registered is not None else self.ledger.current_recipient(recipient_id)

    @staticmethod
    def _refuse_look_alikes(index: RecipientIndex, named: NamedRecipient) -> None:
        likely = index.likely(named.name, named.employer, except_for=named.distinct_from)
        if not likely:
            return
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
