"""Operations: health (no token) and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from api.deps import PrincipalDep, SystemDep
from api.problems import STORE_ERRORS, problems, store_unavailable
from api.schemas.responses import HealthPublic

router = APIRouter(tags=["operations"])


@router.get("/health", response_model=HealthPublic, responses={503: {"model": HealthPublic}})
def health(system: SystemDep) -> JSONResponse:
    """Whether the store can be reached and every view can follow the log, and where each is (no token needed)."""
    store = "postgresql" if "postgres" in system.settings.database_url else "sqlite"
    try:
        head = system.projections.head()
        positions = system.projections.positions()
        failures = system.projections.failures()
    except STORE_ERRORS as error:
        if not store_unavailable(error):
            raise  # a bug, not an outage: a 500 problem with its stack logged
        body = HealthPublic(status="unavailable", store=store, projections={}, lag={})
        return JSONResponse(body.model_dump(), status_code=503)
    lag = {name: max(0, head - position) for name, position in positions.items()}
    failing: dict[str, dict[str, int | str]] = {
        name: {
            "position": failure.position,
            "event_position": failure.event_position,
            "error": failure.error,
            "since": failure.since.isoformat(),
            "attempts": failure.attempts,
        }
        for name, failure in failures.items()
    }
    status = "degraded" if failing else "ok"
    body = HealthPublic(status=status, store=store, projections=positions, lag=lag, failing=failing)
    return JSONResponse(body.model_dump(), status_code=503 if failing else 200)


@router.get("/metrics", response_class=Response, responses=problems())
def metrics(request: Request, principal: PrincipalDep, system: SystemDep) -> Response:
    """Prometheus text: requests and latency by route, events appended, projection positions, lag and failures."""
    body = request.app.state.metrics.render(system)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")
