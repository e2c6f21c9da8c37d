"""`Projections.recent_positions`: readers close together share one read of the views' positions; a batch applied
in this process, or a reader that needs a later position, makes the next read fresh."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest

from domain.values import Audit
from infrastructure.bootstrap import System, build_system
from infrastructure.settings import Settings
from tests.integration.test_writer_group_commit import _open


@pytest.fixture
def system(database_url: str) -> Iterator[System]:
    built = build_system(Settings(database_url=database_url), run_projections=False)
    try:
        yield built
    finally:
        built.close()


def test_readers_share_a_read_until_the_views_move_or_a_later_position_is_needed(
    system: System, manager: Audit, monkeypatch: pytest.MonkeyPatch
) -> None:
    projections = system.projections
    reads: list[dict[str, int]] = []
    real = projections.positions

    def counted() -> dict[str, int]:
        reads.append(real())
        return reads[-1]

    monkeypatch.setattr(projections, "positions", counted)

    async def many(at_least: int = 0) -> list[dict[str, int]]:
        return await asyncio.gather(*(projections.recent_positions(at_least) for _ in range(20)))

    relationship_id = _open(system, manager)
    assert relationship_id
    first = asyncio.run(many())
    assert len(reads) == 1  # the twenty readers share the read in flight
    assert all(positions == reads[0] for positions in first)
    before = len(reads)

    projections.run_once()  # this process applies the events: the views moved
    after = asyncio.run(projections.recent_positions())
    assert len(reads) == before + 1
    head = projections.head()
    assert min(after.values()) == head

    # Needing a position the shared read does not reach reads again, whatever its age.
    projections._positions_seen = (float("inf"), dict.fromkeys(after, 0))
    fresh = asyncio.run(projections.recent_positions(at_least=head))
    assert min(fresh.values()) == head
    assert len(reads) == before + 2
