"""Operations: health (no token) and Prometheus metrics."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from api.deps import PrincipalDep, SystemDep
from api.problems import STORE_ERRORS, problems
from api.schemas import HealthPublic

router = APIRouter(tags=["operations"])


@router.get("/health", response_model=HealthPublic, responses={503: {"model": HealthPublic}})
def health(system: SystemDep) -> JSONResponse:
    """Whether the store can be reached, and where each projection is (no token needed)."""
    store = "postgresql" if "postgres" in system.settings.database_url else "sqlite"
    try:
        head = system.projections.head()
        positions = system.projections.positions()
    except STORE_ERRORS:
        body = HealthPublic(status="unavailable", store=store, projections={}, lag={})
        return JSONResponse(body.model_dump(), status_code=503)
    lag = {name: max(0, head - position) for name, position in positions.items()}
    return JSONResponse(HealthPublic(status="ok", store=store, projections=positions, lag=lag).model_dump())


@router.get("/metrics", response_class=Response, responses=problems())
def metrics(request: Request, principal: PrincipalDep, system: SystemDep) -> Response:
    """Prometheus text: requests and latency by route, events appended, projection positions and lag."""
    body = request.app.state.metrics.render(system)
    return Response(body, media_type="text/plain; version=0.0.4; charset=utf-8")
