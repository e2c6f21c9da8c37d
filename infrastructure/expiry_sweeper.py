"""Writes the expiry of approved pre-clearance requests that passed their `expires_on` unused, for the trail.

Counting never waits for it: a reservation stops counting the day after it
expires whether or not its expiry is written (`domain.gift_recipient`). The
sweeper only records `GiftPreclearanceExpired` and the `ReservationReleased`
beside it; `Ledger.expire_preclearance` writes them once, however many
processes notice the same expiry.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from uuid import UUID, uuid4

from domain.application import Ledger
from domain.errors import VersionConflict
from domain.ledger_queries import SYSTEM
from domain.values import Audit
from infrastructure.sql import ViewStore
from projections.preclearance import PreclearanceReader

log = logging.getLogger(__name__)


class ExpirySweeper:
    """Expires the requests the pre-clearance view shows past their `expires_on`, at most every `interval`
    seconds (called after every batch and idle poll of the projection runner)."""

    def __init__(
        self,
        ledger: Ledger,
        view: ViewStore,
        interval: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ledger = ledger
        self.reader = PreclearanceReader(view)
        self.interval = interval
        self.clock = clock
        self._last: float | None = None

    def sweep_if_due(self) -> int:
        """Sweeps when `interval` has passed since the last sweep; answers how many expiries it wrote."""
        now = self.clock()
        if self._last is not None and now - self._last < self.interval:
            return 0
        self._last = now
        return self.sweep()

    def sweep(self) -> int:
        """Writes the expiry of every request due; answers how many it wrote (another process may write some)."""
        written = 0
        for request_id in self.reader.expired_due(self.ledger.today()):
            audit = Audit(principal=SYSTEM, correlation_id=f"expire-preclearance-{uuid4()}")
            try:
                if self.ledger.expire_preclearance(audit, UUID(request_id)) is not None:
                    written += 1
            except VersionConflict:
                log.warning(
                    "Expiring pre-clearance request %s kept losing races; the next sweep tries again.", request_id
                )
        return written
