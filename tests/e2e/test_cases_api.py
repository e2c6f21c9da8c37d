"""Compliance cases over HTTP, on SQLite and PostgreSQL: one case per exception, its whole life on the audit trail,
every gift kind of exception opens one, and only compliance and admins work them."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from fastapi.testclient import TestClient

from domain.exception_kinds import ExceptionKind, case_id_for
from domain.values import Role
from tests.e2e.conftest import Desk, Headers, Json, Tokens, assert_problem, gift_body, unique


def give(client: TestClient, desk: Desk, name: str, employer: str, cost: str, given_on: str, **more: Any) -> Json:
    response = client.post(
        f"/v1/relationships/{desk.relationship_id}/gifts",
        json=gift_body(name, employer, cost=cost, given_on=given_on, **more),
        headers=desk.manager,
    )
    assert response.status_code == 201, response.text
    body: Json = response.json()
    return body


def exceptions(client: TestClient, headers: Headers, position: int, **params: Any) -> list[Json]:
    response = client.get(
        "/v1/compliance/exceptions", params={"year": 2026, "min_position": position, **params}, headers=headers
    )
    assert response.status_code == 200, response.text
    items: list[Json] = response.json()["items"]
    return items


def open_case(client: TestClient, headers: Headers, position: int, kind: str, key: str, **body: Any) -> Any:
    return client.post(
        "/v1/compliance/cases",
        params={"min_position": position},
        json={"kind": kind, "key": key, "year": 2026, **body},
        headers={**headers, "Idempotency-Key": str(uuid.uuid4())},
    )


def near_limit(client: TestClient, desk: Desk) -> tuple[Json, Json]:
    """A person given $200 then $50 on 1 and 3 May 2026: the second is near the limit, both are split."""
    name, employer = unique("Nell Near"), unique("Initech")
    first = give(client, desk, name, employer, "200.00", "2026-05-01")
    second = give(client, desk, name, employer, "50.00", "2026-05-03")
    return first, second


def test_opening_an_exception_twice_is_one_case(client: TestClient, tokens: Tokens, desk: Desk) -> None:
    _, second = near_limit(client, desk)

    first_open = open_case(client, tokens.compliance, second["position"], "near_limit", second["gift_id"], note="Look")
    again = open_case(client, tokens.admin, second["position"], "near_limit", second["gift_id"])

    assert first_open.status_code == 201, first_open.text
    assert again.status_code == 200, again.text
    expected_id = str(case_id_for(ExceptionKind.NEAR_LIMIT, second["gift_id"]))
    assert first_open.json() == {**again.json(), "created": True}
    assert (again.json()["id"], again.json()["version"], again.json()["created"]) == (expected_id, 1, False)
    assert first_open.headers["ETag"] == '"1"'
    case = client.get(f"/v1/compliance/cases/{expected_id}", headers=tokens.auditor).json()
    assert [event["type"] for event in case["trail"]] == ["CaseOpened"]
    listed = exceptions(client, tokens.compliance, first_open.json()["position"], kind="near_limit")
    (item,) = [i for i in listed if i["key"] == second["gift_id"]]
    assert (item["case_id"], item["case"]) == (expected_id, {"status": "open", "assignee": None, "outcome": None})


def test_a_cases_whole_life_is_in_its_trail_and_in_the_audit_feed(
    client: TestClient, tokens: Tokens, desk: Desk
) -> None:
    _, second = near_limit(client, desk)
    dana = tokens.issue(Role.COMPLIANCE, name=unique("dana").replace(" ", "-"))
    erin = tokens.issue(Role.ADMIN, name=unique("erin").replace(" ", "-"))
    opened = open_case(client, tokens.compliance, second["position"], "near_limit", second["gift_id"], note="Look")
    case_id = opened.json()["id"]
    steps = [
        ("assignment", {"assignee": tokens.actor_id(dana)}, tokens.compliance, 200),
        ("assignment", {"assignee": tokens.actor_id(erin), "reason": "Dana is away"}, dana, 200),
        ("notes", {"note": "Called the account manager"}, erin, 201),
        ("resolution", {"outcome": "employee_reminded", "reason": "First time"}, erin, 200),
        ("reopening", {"reason": "A second gift came to light"}, tokens.compliance, 200),
        ("resolution", {"outcome": "gift_returned", "reason": "Returned"}, tokens.admin, 200),
    ]
    correlation_ids = []
    for version, (step, body, headers, code) in enumerate(steps, start=1):
        correlation_id = f"case-step-{uuid.uuid4().hex[:8]}"
        response = client.post(
            f"/v1/compliance/cases/{case_id}/{step}",
            json=body,
            headers={**headers, "If-Match": f'"{version}"', "X-Correlation-ID": correlation_id},
        )
        assert response.status_code == code, response.text
        assert response.json()["version"] == version + 1
        correlation_ids.append(correlation_id)

    case = client.get(f"/v1/compliance/cases/{case_id}", headers=tokens.auditor)

    assert case.status_code == 200
    assert case.headers["ETag"] == '"7"'
    body = case.json()
    assert (body["status"], body["outcome"], body["assignee"], body["notes"]) == (
        "resolved",
        "gift_returned",
        tokens.actor_id(erin),
        2,
    )
    trail = body["trail"]
    assert [event["type"] for event in trail] == [
        "CaseOpened",
        "CaseAssigned",
        "CaseAssigned",
        "CaseNoted",
        "CaseResolved",
        "CaseReopened",
        "CaseResolved",
    ]
    actors = [tokens.compliance, tokens.compliance, dana, erin, erin, tokens.compliance, tokens.admin]
    assert [event["actor_id"] for event in trail] == [tokens.actor_id(h) for h in actors]
    assert [event["correlation_id"] for event in trail[1:]] == correlation_ids
    assert trail[2]["data"]["previous"] == tokens.actor_id(dana)
    feed = client.get(
        "/v1/audit/events",
        params={"aggregate_id": case_id, "min_position": trail[-1]["position"]},
        headers=tokens.auditor,
    )
    assert feed.status_code == 200, feed.text
    audited = feed.json()["items"]
    assert [(e["type"], e["actor_id"], e["correlation_id"]) for e in audited] == [
        (e["type"], e["actor_id"], e["correlation_id"]) for e in trail
    ]
    assert {e["aggregate_type"] for e in audited} == {"ComplianceCase"}
    listed = client.get(
        "/v1/compliance/cases",
        params={"status": "resolved", "assignee": tokens.actor_id(erin), "min_position": trail[-1]["position"]},
        headers=tokens.compliance,
    ).json()["items"]
    assert [(c["case_id"], c["version"], c["notes"]) for c in listed] == [(case_id, 7, 2)]


def test_the_life_cycle_rules_answer_409_and_stale_versions_412(client: TestClient, tokens: Tokens, desk: Desk) -> None:
    _, second = near_limit(client, desk)
    case_id = open_case(client, tokens.compliance, second["position"], "near_limit", second["gift_id"]).json()["id"]
    path = f"/v1/compliance/cases/{case_id}"

    reopen_open = client.post(f"{path}/reopening", json={"reason": "Why"}, headers=tokens.compliance)
    resolved = client.post(
        f"{path}/resolution", json={"outcome": "no_issue", "reason": "Fine"}, headers=tokens.compliance
    )
    assign_resolved = client.post(
        f"{path}/assignment", json={"assignee": tokens.actor_id(tokens.compliance)}, headers=tokens.compliance
    )
    stale = client.post(f"{path}/notes", json={"note": "Late"}, headers={**tokens.compliance, "If-Match": '"1"'})
    note_resolved = client.post(f"{path}/notes", json={"note": "Still fine"}, headers=tokens.compliance)

    assert_problem(reopen_open, 409, "rule_violation")
    assert resolved.status_code == 200
    assert_problem(assign_resolved, 409, "rule_violation")
    assert_problem(stale, 412, "precondition_failed")
    assert note_resolved.status_code == 201


def test_an_assignee_must_be_an_active_compliance_or_admin_token(
    client: TestClient, tokens: Tokens, desk: Desk
) -> None:
    _, second = near_limit(client, desk)
    case_id = open_case(client, tokens.compliance, second["position"], "near_limit", second["gift_id"]).json()["id"]
    revoked = tokens.issue(Role.COMPLIANCE, name=unique("gone").replace(" ", "-"))
    tokens.system.tokens.revoke(tokens.actor_id(revoked), by="test")

    for assignee in ("nobody-at-all", tokens.actor_id(tokens.auditor), tokens.actor_id(revoked), "a b"):
        response = client.post(
            f"/v1/compliance/cases/{case_id}/assignment", json={"assignee": assignee}, headers=tokens.compliance
        )
        assert assert_problem(response, 422, "validation_error")["errors"][0]["field"].endswith("assignee")
    case = client.get(f"/v1/compliance/cases/{case_id}", headers=tokens.compliance).json()
    assert (case["version"], case["assignee"]) == (1, None)


def test_every_gift_kind_of_exception_opens_a_case(client: TestClient, tokens: Tokens, desk: Desk) -> None:
    _, second = near_limit(client, desk)
    review = give(client, desk, unique("Rita Review"), unique("Initech"), "150.00", "2026-05-02", category="personal")
    over_name, over_employer = unique("Bree Breach"), unique("Initech")
    over = give(client, desk, over_name, over_employer, "260.00", "2026-05-04")
    lowered = client.post(
        "/v1/compliance/gift-policy/limits",
        json={"effective_from": "2026-04-01", "amount": "250.00", "reason": "Board decision, applied from April"},
        headers=tokens.compliance,
    )
    assert lowered.status_code == 201, lowered.text
    position = lowered.json()["position"]
    listed = {(i["kind"], i["key"]) for i in exceptions(client, tokens.compliance, position)}
    wanted = [
        ("breach", over["gift_id"]),
        ("near_limit", second["gift_id"]),
        ("split", second["gift_id"]),
        ("review", review["gift_id"]),
    ]
    assert set(wanted) <= listed

    for kind, key in wanted:
        response = open_case(client, tokens.compliance, position, kind, key)
        assert response.status_code == 201, response.text
        assert response.json()["id"] == str(case_id_for(ExceptionKind(kind), key))
        case = client.get(f"/v1/compliance/cases/{response.json()['id']}", headers=tokens.compliance).json()
        assert (case["kind"], case["key"], case["gift_id"], case["status"]) == (kind, key, key, "open")
        assert case["summary"]

    breach = next(
        i for i in exceptions(client, tokens.compliance, position, case_status="open") if i["kind"] == "breach"
    )
    assert (breach["case"]["status"], breach["amount"], breach["threshold"]) == ("open", "260.00", "250.00")
    assert exceptions(client, tokens.compliance, position, kind="review", case_status="none") == []


def test_an_exception_not_listed_is_not_found_and_nothing_is_stored(
    client: TestClient, tokens: Tokens, desk: Desk
) -> None:
    _, second = near_limit(client, desk)

    unknown = open_case(client, tokens.compliance, second["position"], "near_limit", str(uuid.uuid4()))
    wrong_kind = open_case(client, tokens.compliance, second["position"], "breach", second["gift_id"])
    wrong_year = client.post(
        "/v1/compliance/cases",
        json={"kind": "near_limit", "key": second["gift_id"], "year": 2025},
        headers=tokens.compliance,
    )
    bad_key = client.post("/v1/compliance/cases", json={"kind": "breach", "key": "a b"}, headers=tokens.compliance)
    bad_kind = client.post("/v1/compliance/cases", json={"kind": "nope", "key": "a"}, headers=tokens.compliance)

    for response in (unknown, wrong_kind, wrong_year):
        assert_problem(response, 404, "not_found")
    assert_problem(bad_key, 422, "validation_error")
    assert_problem(bad_kind, 422, "validation_error")
    missing = client.get(
        f"/v1/compliance/cases/{case_id_for(ExceptionKind.BREACH, second['gift_id'])}", headers=tokens.compliance
    )
    assert_problem(missing, 404, "not_found")
    assert_problem(client.get(f"/v1/compliance/cases/{uuid.uuid4()}", headers=tokens.compliance), 404, "not_found")


@pytest.mark.parametrize("role", [Role.MANAGER, Role.AUDITOR, Role.ACCOUNT_MANAGER])
def test_only_compliance_and_admins_work_cases_and_account_managers_and_managers_read_none(
    client: TestClient, tokens: Tokens, desk: Desk, role: Role
) -> None:
    _, second = near_limit(client, desk)
    case_id = open_case(client, tokens.compliance, second["position"], "near_limit", second["gift_id"]).json()["id"]
    headers = tokens.account_manager(desk.account_manager_id) if role is Role.ACCOUNT_MANAGER else tokens.of(role)

    writes = [
        open_case(client, headers, second["position"], "split", second["gift_id"]),
        client.post(f"/v1/compliance/cases/{case_id}/notes", json={"note": "Me too"}, headers=headers),
        client.post(
            f"/v1/compliance/cases/{case_id}/assignment",
            json={"assignee": tokens.actor_id(tokens.compliance)},
            headers=headers,
        ),
        client.post(
            f"/v1/compliance/cases/{case_id}/resolution", json={"outcome": "no_issue", "reason": "x"}, headers=headers
        ),
        client.post(f"/v1/compliance/cases/{case_id}/reopening", json={"reason": "x"}, headers=headers),
    ]
    reads = [
        client.get("/v1/compliance/cases", headers=headers),
        client.get(f"/v1/compliance/cases/{case_id}", headers=headers),
        client.get("/v1/compliance/exceptions", headers=headers),
    ]

    for response in writes:
        assert_problem(response, 403, "forbidden")
    for response in reads:
        if role is Role.AUDITOR:
            assert response.status_code == 200, response.text
        else:
            assert_problem(response, 403, "forbidden")
    case = client.get(f"/v1/compliance/cases/{case_id}", headers=tokens.compliance).json()
    assert case["version"] == 1


def test_the_case_list_pages_oldest_first_and_filters_by_kind(client: TestClient, tokens: Tokens, desk: Desk) -> None:
    first, second = near_limit(client, desk)
    opened = [
        open_case(client, tokens.compliance, second["position"], kind, key).json()
        for kind, key in (("split", first["gift_id"]), ("near_limit", second["gift_id"]), ("split", second["gift_id"]))
    ]
    position = opened[-1]["position"]

    page_one = client.get(
        "/v1/compliance/cases", params={"limit": 2, "min_position": position}, headers=tokens.auditor
    ).json()
    page_two = client.get(
        "/v1/compliance/cases", params={"limit": 2, "cursor": page_one["next_cursor"]}, headers=tokens.auditor
    ).json()
    splits = client.get("/v1/compliance/cases", params={"kind": "split"}, headers=tokens.auditor).json()["items"]
    bad = client.get("/v1/compliance/cases", params={"status": "closed"}, headers=tokens.auditor)

    assert [c["case_id"] for c in page_one["items"] + page_two["items"]] == [o["id"] for o in opened]
    assert page_two["next_cursor"] is None
    assert [c["case_id"] for c in splits] == [opened[0]["id"], opened[2]["id"]]
    assert_problem(bad, 422, "validation_error")
