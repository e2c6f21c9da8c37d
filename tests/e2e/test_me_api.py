"""GET /v1/me: who the token stands for, so a front-end shows only what its role may see."""

from __future__ import annotations

from fastapi.testclient import TestClient

from domain.values import Role
from tests.e2e.conftest import Tokens, assert_problem, register_manager


def test_me_names_the_tokens_principal_role_and_account_manager(client: TestClient, tokens: Tokens) -> None:
    manager_id = register_manager(client, tokens.manager)
    own = tokens.account_manager(manager_id)

    as_account_manager = client.get("/v1/me", headers=own)
    as_auditor = client.get("/v1/me", headers=tokens.auditor)

    assert as_account_manager.status_code == 200
    assert as_account_manager.json() == {
        "name": tokens.actor_id(own),
        "role": Role.ACCOUNT_MANAGER.value,
        "account_manager_id": manager_id,
    }
    assert as_auditor.json() == {"name": tokens.actor_id(tokens.auditor), "role": "auditor", "account_manager_id": None}


def test_me_without_a_known_token_is_unauthenticated(client: TestClient) -> None:
    assert_problem(client.get("/v1/me"), 401, "unauthenticated")
    assert_problem(client.get("/v1/me", headers={"Authorization": "Bearer ldg_unknown"}), 401, "unauthenticated")
