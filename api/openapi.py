"""The OpenAPI description as front-ends need it: what FastAPI's own generation cannot say by itself.

- A problem response is described under `application/problem+json`, the type it
  is sent with, and under no other.
- Every command (`POST` and `PUT` under `/v1`) takes the `Idempotency-Key`
  header, which a middleware reads (so no route declares it), and may answer
  its two 409s.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

from api.problems import PROBLEM_JSON

IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": (
        "Send the same key with the same body to have the first response replayed instead of the command run "
        "again (per token, 1 to 255 characters)."
    ),
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}
IDEMPOTENCY_CONFLICTS = ("idempotency_in_progress", "already_stored")
COMMAND_METHODS = ("post", "put")


class LedgerAPI(FastAPI):
    """FastAPI, its OpenAPI description (`app.openapi()`, `/openapi.json`) finished as front-ends need it."""

    def openapi(self) -> dict[str, Any]:
        if self.openapi_schema is None:
            self.openapi_schema = finish(super().openapi())
        return self.openapi_schema


def finish(schema: dict[str, Any]) -> dict[str, Any]:
    for path, operations in schema["paths"].items():
        for method, operation in operations.items():
            responses = operation.get("responses", {})
            for response in responses.values():
                _problem_json_only(response)
            if path.startswith("/v1/") and method in COMMAND_METHODS:
                _takes_idempotency_key(operation, responses)
    return schema


def _problem_json_only(response: dict[str, Any]) -> None:
    content = response.get("content", {})
    if PROBLEM_JSON in content and "application/json" in content:
        content[PROBLEM_JSON] = content.pop("application/json")


def _takes_idempotency_key(operation: dict[str, Any], responses: dict[str, Any]) -> None:
    operation.setdefault("parameters", []).append(IDEMPOTENCY_KEY)
    conflict = responses.setdefault("409", {"description": "", "content": responses["401"]["content"]})
    codes = [conflict["description"], *(f"`{code}`" for code in IDEMPOTENCY_CONFLICTS)]
    conflict["description"] = " or ".join(filter(None, codes))
