"""A token seen a moment ago is answered from the cache, on the event loop, without reading the store; a token
not seen within `fresh_for` is read again, so a revocation still takes effect within that bound."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from domain.values import Role
from infrastructure.bootstrap import System
from infrastructure.tokens import TokenRefused
from tests.e2e.conftest import Tokens, bearer


def test_a_fresh_token_is_answered_from_the_cache_without_a_read(
    system: System, client: TestClient, tokens: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    system.tokens.fresh_for = 3600  # the whole test within one freshness window, however slow the machine
    headers = tokens.of(Role.MANAGER)
    assert client.get("/v1/me", headers=headers).status_code == 200

    def no_reads(digest: str) -> object:
        raise AssertionError("the store was read for a token in the cache")

    monkeypatch.setattr(system.tokens, "_read", no_reads)
    for _ in range(3):
        assert client.get("/v1/me", headers=headers).json()["role"] == "manager"


def test_the_cache_says_nothing_of_a_token_not_seen_or_no_longer_fresh(system: System) -> None:
    issued = system.tokens.issue(role=Role.AUDITOR, name="cache-auditor")
    assert system.tokens.cached(issued.token) is None
    principal = system.tokens.authenticate(issued.token)
    system.tokens.fresh_for = 3600
    assert system.tokens.cached(issued.token) == principal
    system.tokens.fresh_for = 0
    assert system.tokens.cached(issued.token) is None


def test_a_refusal_in_the_cache_is_a_refusal_inline_and_a_revocation_is_read_once_stale(
    system: System, client: TestClient
) -> None:
    issued = system.tokens.issue(role=Role.COMPLIANCE, name="cache-compliance")
    system.tokens.fresh_for = 3600
    assert client.get("/v1/me", headers=bearer(issued.token)).status_code == 200
    system.tokens.revoke("cache-compliance", by="admin-test")
    # Within the window the cache still vouches for it (the documented bound); once stale it is read again.
    system.tokens.fresh_for = 0
    refused = client.get("/v1/me", headers=bearer(issued.token))
    assert refused.status_code == 401
    assert "revoked" in refused.json()["detail"]
    system.tokens.fresh_for = 3600
    with pytest.raises(TokenRefused, match="revoked"):
        system.tokens.cached(issued.token)
    assert client.get("/v1/me", headers=bearer(issued.token)).status_code == 401
