"""Every error as application/problem+json (RFC 9457) with a stable `code`, mapped in this one place."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from domain.errors import DomainError
from projections.availability import STORE_ERRORS, store_unavailable

__all__ = ["STORE_ERRORS", "Problem", "install", "problem_body", "problem_response", "problems", "store_unavailable"]

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

STATUS_OF_CODE = {
    "unauthenticated": 401,
    "forbidden": 403,
    "not_found": 404,
    "rule_violation": 409,
    "gift_limit_exceeded": 409,
    "likely_same_recipient": 409,
    "preclearance_required": 409,
    "version_conflict": 409,
    "idempotency_in_progress": 409,
    "already_stored": 409,
    "precondition_failed": 412,
    "payload_too_large": 413,
    "validation_error": 422,
    "internal_error": 500,
    "unavailable": 503,
    "projection_lagging": 503,
}
TITLES = {
    "unauthenticated": "No valid token",
    "forbidden": "Not allowed",
    "not_found": "Not found",
    "rule_violation": "Refused by a rule of the ledger",
    "gift_limit_exceeded": "Gift limit exceeded",
    "likely_same_recipient": "The recipient looks like someone already known",
    "preclearance_required": "The gift needs an approved pre-clearance request",
    "version_conflict": "A concurrent write won",
    "idempotency_in_progress": "A request with this Idempotency-Key is still running",
    "already_stored": "A request with this Idempotency-Key was stored; its answer was lost",
    "precondition_failed": "The version has moved on",
    "payload_too_large": "The request body is too large",
    "validation_error": "Invalid input",
    "internal_error": "The ledger failed to answer",
    "unavailable": "The store cannot be reached",
    "projection_lagging": "The views have not caught up yet",
}


class FieldError(BaseModel):
    field: str
    message: str


class CandidatePublic(BaseModel):
    recipient_id: str
    name: str
    employer: str
    similarity: int = Field(description="How alike the names and employers are, 0-100.")


class ProblemPublic(BaseModel):
    """An error (RFC 9457): `code` is stable; some codes add fields (`errors`, the gift figures)."""

    type: str = "about:blank"
    title: str
    status: int
    code: str
    detail: str
    errors: list[FieldError] | None = Field(default=None, description="With `validation_error`: what is wrong where.")
    limit: str | None = Field(default=None, description="With `gift_limit_exceeded`: the limit in force.")
    counted_this_year: str | None = Field(default=None, description="With `gift_limit_exceeded`.")
    headroom: str | None = Field(default=None, description="With `gift_limit_exceeded`.")
    limit_year: str | None = Field(default=None, description="With `gift_limit_exceeded`.")
    reserved: str | None = Field(
        default=None,
        description="With `gift_limit_exceeded`, when approved pre-clearance requests hold part of the limit year: "
        "what they hold (`headroom` is net of it).",
    )
    counted_value: str | None = Field(
        default=None, description="With `preclearance_required`: what the gift counts for each person."
    )
    auto_approve_up_to: str | None = Field(
        default=None,
        description="With `preclearance_required`: the most a gift may count per person without an approval.",
    )
    candidates: list[CandidatePublic] | None = Field(
        default=None,
        description="With `likely_same_recipient`: the known recipients this one resembles, closest first.",
    )
    position: int | None = Field(
        default=None, description="With `already_stored`: the position the first request's events were stored up to."
    )


class Problem(Exception):
    """Raised anywhere in the API to answer with a problem response."""

    def __init__(self, code: str, detail: str, **extra: Any) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.extra = extra


def problem_body(code: str, detail: str, **extra: Any) -> dict[str, Any]:
    """The RFC 9457 body of a problem with a stable `code` (and the fields some codes add)."""
    status = STATUS_OF_CODE[code]
    return {"type": "about:blank", "title": TITLES[code], "status": status, "code": code, "detail": detail, **extra}


def problem_response(code: str, detail: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    return JSONResponse(
        problem_body(code, detail, **extra), status_code=STATUS_OF_CODE[code], media_type=PROBLEM_JSON, headers=headers
    )


def problems(*codes: str) -> dict[int | str, dict[str, Any]]:
    """OpenAPI descriptions of the problem responses a route can give."""
    described: dict[int | str, dict[str, Any]] = {}
    for code in dict.fromkeys(("unauthenticated", "validation_error", "unavailable", *codes)):
        status = STATUS_OF_CODE[code]
        entry = described.setdefault(status, {"model": ProblemPublic, "content": {PROBLEM_JSON: {}}, "description": ""})
        entry["description"] = " or ".join(filter(None, [entry["description"], f"`{code}`"]))
    return described


def install(app: FastAPI) -> None:
    """Maps every error the API can meet to its problem response."""

    @app.exception_handler(Problem)
    async def on_problem(request: Request, error: Problem) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if error.code == "unauthenticated" else None
        return problem_response(error.code, error.detail, headers, **error.extra)

    @app.exception_handler(DomainError)
    async def on_domain_error(request: Request, error: DomainError) -> JSONResponse:
        return problem_response(error.code, error.message, **error.details())

    @app.exception_handler(RequestValidationError)
    async def on_validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "field": "body"
                if item["type"] == "json_invalid"
                else ".".join(str(part) for part in item["loc"] if part not in ("body", "query", "path", "header")),
                "message": str(item["msg"]).removeprefix("Value error, "),
            }
            for item in error.errors()
        ]
        detail = "; ".join(f"{e['field']}: {e['message']}" if e["field"] else e["message"] for e in errors)
        return problem_response("validation_error", f"Invalid input: {detail}", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def on_http_error(request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {401: "unauthenticated", 403: "forbidden", 404: "not_found"}.get(error.status_code)
        if code is None:
            body = {
                "type": "about:blank",
                "title": str(error.detail),
                "status": error.status_code,
                "code": "http_error",
                "detail": str(error.detail),
            }
            return JSONResponse(body, status_code=error.status_code, media_type=PROBLEM_JSON)
        return problem_response(code, str(error.detail))

    for error_class in STORE_ERRORS:
        app.add_exception_handler(error_class, on_store_error)


UNAVAILABLE_DETAIL = "The store cannot be reached right now; nothing was written. Try again."


async def on_store_error(request: Request, error: Exception) -> JSONResponse:
    """A database error: 503 when the store is away (worth retrying), else a 500 (a bug or bad data: never retried)."""
    if store_unavailable(error):
        log.warning("Store unavailable during %s %s: %s", request.method, request.url.path, error)
        return problem_response("unavailable", UNAVAILABLE_DETAIL)
    raise error  # answered as a 500 problem, with its stack logged, by `UnexpectedErrors`


def internal_error_body(correlation_id: str) -> dict[str, Any]:
    """The problem of an unexpected failure: nothing about it but the id under which it was logged."""
    return problem_body(
        "internal_error",
        f"The ledger failed to answer this request; it was logged under correlation id {correlation_id}.",
    )
