"""Who is asking: the token's name, role and (for an account manager) the manager it stands for."""

from __future__ import annotations

from fastapi import APIRouter

from api.deps import PrincipalDep
from api.problems import problems
from api.schemas.responses import MePublic

router = APIRouter(tags=["me"])


@router.get("/me", response_model=MePublic, responses=problems())
async def get_me(principal: PrincipalDep) -> MePublic:
    """The caller's own identity, so a front-end can show only what its role may see."""
    return MePublic(name=principal.id, role=principal.role.value, account_manager_id=principal.account_manager_id)
