"""API tokens, for admins: issue one (shown once), list them (never a secret), revoke one by name."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, status

from api.deps import AdminDep, PageDep, SystemDep
from api.problems import Problem, problems
from api.schemas.requests import TokenCreate
from api.schemas.responses import Page, TokenIssuedPublic, TokenPublic
from infrastructure.tokens import TokenRecord

router = APIRouter(prefix="/tokens", tags=["tokens"])

TokenNameInPath = Annotated[
    str, Path(min_length=1, max_length=1000, description="The token's name (as issued; older names may be looser).")
]


def token_public(record: TokenRecord, now: datetime) -> TokenPublic:
    return TokenPublic(
        name=record.name,
        role=record.role,
        account_manager_id=record.account_manager_id,
        created_at=record.created_at,
        expires_at=record.expires_at,
        revoked_at=record.revoked_at,
        revoked_by=record.revoked_by,
        status=record.status(now),
    )


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TokenIssuedPublic,
    responses=problems("forbidden", "not_found", "rule_violation", "validation_error"),
)
def issue_token(
    body: TokenCreate,
    admin: AdminDep,
    system: SystemDep,
    idempotency_key: Annotated[
        str | None, Header(description="Refused here: the answer holds a secret, which is never stored.")
    ] = None,
) -> TokenIssuedPublic:
    """Issues a token under a name never used before (409 `rule_violation` otherwise); the token is in this answer
    only."""
    if idempotency_key is not None:
        # A replayed answer would have to be kept, secret and all; a retry after a lost answer gets a 409 for the
        # name instead, so no second token is ever issued by mistake.
        raise Problem(
            "validation_error",
            "POST /v1/tokens takes no Idempotency-Key: its answer holds the token, which the ledger never stores.",
            errors=[{"field": "Idempotency-Key", "message": "not accepted on this route"}],
        )
    issued = system.tokens.issue(
        role=body.role, name=body.name, account_manager_id=body.account_manager_id, expires_at=body.expires_at
    )
    return TokenIssuedPublic(
        name=issued.name,
        role=issued.principal.role.value,
        account_manager_id=issued.principal.account_manager_id,
        expires_at=issued.expires_at,
        token=issued.token,
    )


@router.get("", response_model=Page[TokenPublic], responses=problems("forbidden", "validation_error"))
def list_tokens(admin: AdminDep, system: SystemDep, page: PageDep) -> Page[TokenPublic]:
    """Lists tokens in the order they were issued, revoked and expired ones included: never a token or its hash."""
    after = (page.after_text("created_at"), page.after_text("name"))
    records = system.tokens.records(after=after, limit=page.limit + 1)
    now = datetime.now(UTC)
    return page.of(records, lambda record: token_public(record, now), _after_token)


def _after_token(last: TokenRecord) -> dict[str, Any]:
    return {"created_at": last.created_at.isoformat() if last.created_at else "", "name": last.name}


@router.post(
    "/{name}/revocation",
    response_model=TokenPublic,
    responses=problems("forbidden", "not_found", "rule_violation"),
)
def revoke_token(name: TokenNameInPath, admin: AdminDep, system: SystemDep) -> TokenPublic:
    """Revokes the token of this name: every request with it is refused (401) within a second; the row stays."""
    record = system.tokens.revoke(name, by=admin.id)
    return token_public(record, datetime.now(UTC))
