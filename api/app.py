"""The FastAPI application: built from a `System` (or settings), with its middleware and routers."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from api import dashboard, docs, problems
from api.deps import MIN_POSITION_WAIT
from api.metrics import Metrics
from api.middleware import (
    AccessLogging,
    Authentication,
    CorrelationId,
    IdempotencyKeys,
    RequestBodies,
    RequestMetrics,
    UnexpectedErrors,
)
from api.openapi import LedgerAPI
from api.ready_made import ReadyMade
from api.routes import (
    account_managers,
    attestations,
    audit,
    cases,
    compliance,
    corrections,
    me,
    operations,
    preclearance,
    received_gifts,
    relationships,
    reports,
    tokens,
    workload,
)
from api.security_headers import SecurityHeaders
from infrastructure.bootstrap import STARTUP_PATIENCE, System, build_system
from infrastructure.settings import Settings
from projections.workload_query import WorkloadFactsCache

DESCRIPTION = """
The relationship ledger's public contract (see API.md): JSON in and out, money as
decimal strings (`"250.00"`), times in RFC 3339 with an offset. Every request but
`GET /health` needs `Authorization: Bearer <token>`. Errors are
`application/problem+json` with a stable `code`.
"""


def create_app(
    system: System | None = None,
    *,
    settings: Settings | None = None,
    run_projections: bool = True,
    min_position_wait: float = MIN_POSITION_WAIT,
    freeze_start_up_heap: bool = False,
) -> FastAPI:
    """The API on a given system, or on one built from settings when the app starts (and closed when it stops).

    A served app freezes its start-up heap (`freeze_start_up_heap`): everything alive once it has started (the
    modules, the app, the system, a demo's seed) is moved out of the garbage collector's sight, so that no full
    collection walks it again. Such a collection stalled the event loop for 73 to 83 ms, most of the p99 latency.
    Tests, which make many apps in one process, leave it off: a frozen object is never collected.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = None
        if getattr(app.state, "system", None) is None:
            owned = app.state.system = build_system(
                settings, run_projections=run_projections, patience=STARTUP_PATIENCE
            )
        app.state.system.ledger.on_saved.append(app.state.metrics.count_appended)
        if freeze_start_up_heap:
            gc.collect()
            gc.freeze()
        try:
            yield
        finally:
            app.state.system.ledger.on_saved.remove(app.state.metrics.count_appended)
            if owned is not None:
                owned.close()

    app = LedgerAPI(
        title="Relationship ledger",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,  # served by `docs` from installed files, never from a CDN
        redoc_url=None,
    )
    app.state.system = system
    app.state.metrics = Metrics()
    app.state.min_position_wait = min_position_wait
    app.state.workload_facts = WorkloadFactsCache()
    app.state.ready_made = ReadyMade()
    problems.install(app)
    for router in (
        account_managers.router,
        workload.router,
        relationships.router,
        corrections.router,
        compliance.router,
        audit.router,
        me.router,
        tokens.router,
        preclearance.router,
        received_gifts.router,
        attestations.router,
        cases.router,
        reports.router,
    ):
        app.include_router(router, prefix="/v1")
    app.include_router(operations.router)
    dashboard.install(app)  # `/` and `/dashboard/`: not in the schema, no token needed to load the page
    docs.install(app)  # `/docs`, `/redoc` and their files: not in the schema, no token needed
    # Outermost last: the correlation id wraps everything; the security headers and metrics see every answer,
    # the 401s of Authentication included.
    app.add_middleware(IdempotencyKeys)
    app.add_middleware(AccessLogging)
    app.add_middleware(RequestBodies)  # after the token is checked: nothing about the body is looked at before
    app.add_middleware(Authentication)
    app.add_middleware(RequestMetrics, metrics=app.state.metrics)
    app.add_middleware(UnexpectedErrors)
    app.add_middleware(SecurityHeaders)
    app.add_middleware(CorrelationId)
    return app


def app_from_environment() -> FastAPI:
    """The app as one of several uvicorn worker processes builds it: everything from the environment.

    Each worker owns its system (closed when the worker stops) and runs the
    projections unless `ledger serve --no-projections` said otherwise.
    """
    settings = Settings.from_env()
    return create_app(settings=settings, run_projections=settings.serve_projections, freeze_start_up_heap=True)
