"""Every view that finds exceptions, in the order the exceptions list reads them."""

from __future__ import annotations

from projections import attestations, entertainment, gift_register, preclearance, received_gifts
from projections.exception_rows import ExceptionSource

SOURCES: tuple[ExceptionSource, ...] = (
    gift_register.exception_rows,
    preclearance.exception_rows,
    entertainment.exception_rows,
    received_gifts.exception_rows,
    attestations.exception_rows,
)
"""Each a function of a view store and an `ExceptionContext`, answering that view's `ExceptionRow`s."""
