"""A served app moves its start-up heap out of the garbage collector's sight; a test's app does not."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from infrastructure.bootstrap import System


@pytest.fixture
def unfrozen() -> Iterator[None]:
    gc.unfreeze()
    try:
        yield
    finally:
        gc.unfreeze()  # what this test froze goes back to the collector


@pytest.mark.usefixtures("unfrozen")
def test_a_served_app_freezes_what_start_up_made(system: System) -> None:
    with TestClient(create_app(system, freeze_start_up_heap=True)) as client:
        frozen = gc.get_freeze_count()
        assert client.get("/health").status_code == 200
    assert frozen > 10_000  # the modules, the app and the system: far more than a handful of objects


@pytest.mark.usefixtures("unfrozen")
def test_an_app_made_by_tests_freezes_nothing(system: System) -> None:
    with TestClient(create_app(system)) as client:
        assert client.get("/health").status_code == 200
        assert gc.get_freeze_count() == 0
