"""Corrections that move pay over HTTP (issue 13, finding 6): an account manager's are requests a manager decides."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient

from tests.e2e.conftest import (
    Desk,
    Headers,
    Json,
    Tokens,
    assert_problem,
    events_of,
    open_relationship,
    register_manager,
)


@dataclass(frozen=True)
class Signing:
    """A contract signed on a desk's relationship while its account manager held it."""

    desk: Desk
    own: Headers
    contract_id: str
    signed_version: int
    position: int

    @property
    def base(self) -> str:
        return f"/v1/relationships/{self.desk.relationship_id}"


def sign(client: TestClient, tokens: Tokens, desk: Desk, value: str = "1200.00") -> Signing:
    own = tokens.account_manager(desk.account_manager_id)
    base = f"/v1/relationships/{desk.relationship_id}"
    proposed = client.post(
        f"{base}/contracts",
        json={"title": "Retainer", "value": value, "starts_on": "2026-06-01", "ends_on": "2027-05-31"},
        headers=own,
    )
    assert proposed.status_code == 201, proposed.text
    contract_id = proposed.json()["contract_id"]
    signed = client.post(f"{base}/contracts/{contract_id}/signature", json={"signed_on": "2026-05-20"}, headers=own)
    assert signed.status_code == 200, signed.text
    return Signing(desk, own, contract_id, signed.json()["version"], signed.json()["position"])


def correct(client: TestClient, signing: Signing, headers: Headers, **changes: Any) -> Any:
    return client.post(
        f"{signing.base}/corrections",
        json={"corrects_version": signing.signed_version, "reason": "Typo in the value", "changes": changes},
        headers=headers,
    )


def signed_value(client: TestClient, headers: Headers, account_manager_id: str, position: int) -> str:
    response = client.get(
        f"/v1/account-managers/{account_manager_id}/pay/2026", params={"min_position": position}, headers=headers
    )
    assert response.status_code == 200, response.text
    value: str = response.json()["signed_value"]
    return value


def contract_value(client: TestClient, signing: Signing) -> str:
    contract: Json = client.get(signing.base, headers=signing.desk.manager).json()["contracts"][signing.contract_id]
    value: str = contract["value"]
    return value


def queue(client: TestClient, headers: Headers, position: int, **params: Any) -> list[Json]:
    response = client.get(
        "/v1/correction-requests", params={"min_position": position, "limit": 500, **params}, headers=headers
    )
    assert response.status_code == 200, response.text
    items: list[Json] = response.json()["items"]
    return items


def test_an_account_managers_correction_of_a_signed_value_is_a_request_that_leaves_pay_unchanged(
    client: TestClient, tokens: Tokens, desk: Desk
) -> None:
    signing = sign(client, tokens, desk)

    response = correct(client, signing, signing.own, value="9000000.00")

    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "requested"
    assert body["request_id"]
    assert response.headers["ETag"] == f'"{body["version"]}"'
    assert response.headers["Location"] == f"{signing.base}/correction-requests/{body['request_id']}"
    assert signed_value(client, desk.manager, desk.account_manager_id, body["position"]) == "1200.00"
    assert contract_value(client, signing) == "1200.00"
    requested = events_of(client, desk.manager, desk.relationship_id)[-1]
    assert requested["type"] == "CorrectionRequested"
    assert requested["actor_role"] == "account_manager"
    assert requested["data"]["request_id"] == body["request_id"]
    assert requested["data"]["corrects_version"] == signing.signed_version
    assert requested["data"]["changes"] == {"value": "9000000.00"}
    assert requested["data"]["requested_by"] == desk.account_manager_id


def test_a_manager_approves_a_request_and_pay_moves(client: TestClient, tokens: Tokens, desk: Desk) -> None:
    signing = sign(client, tokens, desk)
    request_id = correct(client, signing, signing.own, value="1500.00").json()["request_id"]

    approved = client.post(
        f"{signing.base}/correction-requests/{request_id}/approval",
        json={"reason": "Checked against the signed copy"},
        headers=tokens.manager,
    )

    assert approved.status_code == 200, approved.text
    assert signed_value(client, desk.manager, desk.account_manager_id, approved.json()["position"]) == "1500.00"
    assert contract_value(client, signing) == "1500.00"
    approval, correction = events_of(client, desk.manager, desk.relationship_id)[-2:]
    assert approval["type"] == "CorrectionApproved"
    assert approval["data"] == {"request_id": request_id, "reason": "Checked against the signed copy"}
    assert correction["type"] == "EntryCorrected"
    assert correction["actor_id"] == tokens.actor_id(tokens.manager)
    assert correction["data"]["changes"] == {"value": "1500.00"}
    assert correction["version"] == approved.json()["version"]
    request = client.get(f"{signing.base}/correction-requests/{request_id}", headers=desk.manager).json()
    assert request["status"] == "approved"
    assert request["decided_by"] == tokens.actor_id(tokens.manager)
    assert request["decision_reason"] == "Checked against the signed copy"


def test_an_approval_needs_no_body(client: TestClient, tokens: Tokens, desk: Desk) -> None:
    signing = sign(client, tokens, desk)
    request_id = correct(client, signing, signing.own, value="1500.00").json()["request_id"]

    approved = client.post(f"{signing.base}/correction-requests/{request_id}/approval", headers=tokens.admin)

    assert approved.status_code == 200, approved.text
    assert contract_value(client, signing) == "1500.00"


def test_a_manager_rejects_a_request_and_nothing_changes(client: TestClient, tokens: Tokens, desk: Desk) -> None:
    signing = sign(client, tokens, desk)
    request_id = correct(client, signing, signing.own, value="9000000.00").json()["request_id"]

    rejected = client.post(
        f"{signing.base}/correction-requests/{request_id}/rejection",
        json={"reason": "The contract says 1200"},
        headers=tokens.manager,
    )

    assert rejected.status_code == 200, rejected.text
    assert signed_value(client, desk.manager, desk.account_manager_id, rejected.json()["position"]) == "1200.00"
    assert contract_value(client, signing) == "1200.00"
    assert events_of(client, desk.manager, desk.relationship_id)[-1]["type"] == "CorrectionRejected"
    request = client.get(f"{signing.base}/correction-requests/{request_id}", headers=signing.own).json()
    assert (request["status"], request["decision_reason"]) == ("rejected", "The contract says 1200")


def test_a_request_cannot_be_decided_twice(client: TestClient, tokens: Tokens, desk: Desk) -> None:
    signing = sign(client, tokens, desk)
    request_id = correct(client, signing, signing.own, value="1500.00").json()["request_id"]
    decide = f"{signing.base}/correction-requests/{request_id}"
    assert client.post(f"{decide}/approval", json={}, headers=tokens.manager).status_code == 200

    again = client.post(f"{decide}/approval", json={}, headers=tokens.manager)
    reversed_ = client.post(f"{decide}/rejection", json={"reason": "Changed my mind"}, headers=tokens.admin)

    assert_problem(again, 409, "rule_violation")
    assert_problem(reversed_, 409, "rule_violation")
    assert [e["type"] for e in events_of(client, desk.manager, desk.relationship_id)].count("EntryCorrected") == 1


def test_an_account_manager_cannot_touch_a_signing_credited_to_another_manager_after_a_reassignment(
    client: TestClient, tokens: Tokens, desk: Desk
) -> None:
    signing = sign(client, tokens, desk)
    successor = register_manager(client, tokens.manager)
    reassigned = client.post(
        f"{signing.base}/assignments", json={"account_manager_id": successor, "reason": "Cover"}, headers=desk.manager
    )
    assert reassigned.status_code == 201, reassigned.text
    theirs = tokens.account_manager(successor)

    lowered = correct(client, signing, theirs, value="1.00")
    raised = correct(client, signing, theirs, value="9000000.00")
    moved = correct(client, signing, theirs, signed_on="2025-01-02")

    for response in (lowered, raised, moved):
        assert_problem(response, 403, "forbidden")
    assert events_of(client, desk.manager, desk.relationship_id)[-1]["type"] == "AccountManagerAssigned"
    position = reassigned.json()["position"]
    assert signed_value(client, desk.manager, desk.account_manager_id, position) == "1200.00"
    assert signed_value(client, desk.manager, successor, position) == "0.00"


def test_a_managers_correction_of_a_signing_applies_at_once_and_the_credit_never_moves(
    client: TestClient, tokens: Tokens, desk: Desk
) -> None:
    signing = sign(client, tokens, desk)
    other = register_manager(client, tokens.manager)

    applied = correct(client, signing, tokens.manager, value="1300.00")
    credit = correct(client, signing, tokens.admin, credited_account_manager_id=other)

    assert applied.status_code == 201, applied.text
    assert (applied.json()["status"], applied.json()["request_id"]) == ("applied", None)
    assert_problem(credit, 409, "rule_violation")
    correction = events_of(client, desk.manager, desk.relationship_id)[-1]
    assert (correction["type"], correction["actor_role"]) == ("EntryCorrected", "manager")
    position = applied.json()["position"]
    assert signed_value(client, desk.manager, desk.account_manager_id, position) == "1300.00"
    assert signed_value(client, desk.manager, other, position) == "0.00"
    contract = client.get(signing.base, headers=desk.manager).json()["contracts"][signing.contract_id]
    assert contract["credited_account_manager_id"] == desk.account_manager_id


def test_only_managers_and_admins_decide_requests(client: TestClient, tokens: Tokens, desk: Desk) -> None:
    signing = sign(client, tokens, desk)
    request_id = correct(client, signing, signing.own, value="1500.00").json()["request_id"]
    decide = f"{signing.base}/correction-requests/{request_id}"

    for headers in (signing.own, tokens.compliance, tokens.auditor):
        assert_problem(client.post(f"{decide}/approval", json={}, headers=headers), 403, "forbidden")
        assert_problem(client.post(f"{decide}/rejection", json={"reason": "No"}, headers=headers), 403, "forbidden")
    assert_problem(client.post(f"{decide}/approval", json={}), 401, "unauthenticated")
    assert contract_value(client, signing) == "1200.00"
    request = client.get(decide, headers=desk.manager).json()
    assert request["status"] == "open"


def test_an_unknown_request_is_not_found(client: TestClient, tokens: Tokens, desk: Desk) -> None:
    base = f"/v1/relationships/{desk.relationship_id}/correction-requests/{desk.relationship_id}"

    assert_problem(client.get(base, headers=tokens.manager), 404, "not_found")
    assert_problem(client.post(f"{base}/approval", json={}, headers=tokens.manager), 404, "not_found")


def test_requests_show_in_the_managers_queue_and_to_the_relationships_readers(
    client: TestClient, tokens: Tokens, desk: Desk
) -> None:
    signing = sign(client, tokens, desk)
    # Another account manager with a request of their own, on their own relationship.
    neighbour = register_manager(client, tokens.manager)
    theirs = open_relationship(client, tokens.manager, neighbour)
    neighbour_desk = Desk(tokens.manager, neighbour, str(theirs["id"]), int(theirs["position"]))
    neighbour_signing = sign(client, tokens, neighbour_desk)
    first = correct(client, signing, signing.own, value="1500.00").json()
    second = correct(client, signing, signing.own, value="1600.00").json()
    foreign = correct(client, neighbour_signing, neighbour_signing.own, value="1700.00").json()
    rejected = client.post(
        f"{signing.base}/correction-requests/{second['request_id']}/rejection",
        json={"reason": "No"},
        headers=tokens.manager,
    ).json()
    position = rejected["position"]

    # The manager's queue: every open request, oldest first, with the client's name.
    open_ids = [item["request_id"] for item in queue(client, tokens.manager, position, status="open")]
    assert open_ids.index(first["request_id"]) < open_ids.index(foreign["request_id"])
    assert second["request_id"] not in open_ids
    every = {item["request_id"]: item for item in queue(client, tokens.admin, position)}
    assert every[second["request_id"]]["status"] == "rejected"
    assert every[first["request_id"]]["changes"] == {"value": "1500.00"}
    assert every[first["request_id"]]["client_name"]
    assert every[first["request_id"]]["requested_by"] == desk.account_manager_id

    # An account manager's queue: only their own requests.
    own_ids = {item["request_id"] for item in queue(client, signing.own, position)}
    assert own_ids == {first["request_id"], second["request_id"]}

    # The relationship's list: open and decided, for whoever may read the relationship.
    for headers in (signing.own, tokens.manager, tokens.auditor):
        listed = client.get(f"{signing.base}/correction-requests", headers=headers)
        assert listed.status_code == 200, listed.text
        assert [(i["request_id"], i["status"]) for i in listed.json()["items"]] == [
            (first["request_id"], "open"),
            (second["request_id"], "rejected"),
        ]
    assert_problem(client.get(f"{signing.base}/correction-requests", headers=neighbour_signing.own), 403, "forbidden")


def test_the_relationships_requests_are_paged(client: TestClient, tokens: Tokens, desk: Desk) -> None:
    signing = sign(client, tokens, desk)
    made = [correct(client, signing, signing.own, value=f"{1500 + n}.00").json()["request_id"] for n in range(3)]

    first = client.get(f"{signing.base}/correction-requests", params={"limit": 2}, headers=tokens.manager).json()
    rest = client.get(
        f"{signing.base}/correction-requests",
        params={"limit": 2, "cursor": first["next_cursor"]},
        headers=tokens.manager,
    ).json()

    assert [i["request_id"] for i in first["items"] + rest["items"]] == made
    assert rest["next_cursor"] is None
