"""A relationship's former account manager over HTTP: what they may read after a reassignment, and what they may not.

They read the relationship as they handed it over, its events while they managed it and, after that, only the events
about contracts credited to them; the correction requests likewise; nothing else, and they write nothing. Someone
who never managed it still reads nothing; its current manager and the other roles read it as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from infrastructure.bootstrap import System
from tests.e2e.conftest import (
    Headers,
    Json,
    Tokens,
    assert_problem,
    contact_body,
    events_of,
    gift_body,
    open_relationship,
    register_manager,
)

CONTRACT = {"title": "Retainer", "value": "1200.00", "starts_on": "2026-06-01", "ends_on": "2027-05-31"}


@dataclass(frozen=True)
class Handover:
    """A relationship Ann managed for six versions, handed to Bob at version 7, and what happened since.

    1 Opened for Ann · 2 contact · 3 contract A proposed · 4 A signed (Ann's) · 5 Ann asks to correct A's value ·
    6 contract B proposed · 7 assigned to Bob · 8 Bob's contact · 9 Ann's request approved · 10 A corrected ·
    11 B signed (Bob's) · 12 Bob asks to correct B's value · 13 A terminated.
    """

    relationship_id: str
    ann_id: str
    ann: Headers
    bob: Headers
    cara: Headers
    manager: Headers
    contract_a: str
    contract_b: str
    anns_request: str
    bobs_request: str

    @property
    def base(self) -> str:
        return f"/v1/relationships/{self.relationship_id}"


ANNS_VERSIONS = [1, 2, 3, 4, 5, 6, 9, 10, 13]
"""Her stint (1 to 6), then the events about contract A, credited to her."""


def ok(response: Any, status: int = 200) -> Json:
    assert response.status_code == status, response.text
    body: Json = response.json()
    return body


@pytest.fixture
def handover(client: TestClient, tokens: Tokens) -> Handover:
    manager = tokens.manager
    ann_id, bob_id, cara_id = (register_manager(client, manager) for _ in range(3))
    ann, bob, cara = (tokens.account_manager(i) for i in (ann_id, bob_id, cara_id))
    relationship_id = str(open_relationship(client, manager, ann_id)["id"])
    base = f"/v1/relationships/{relationship_id}"

    # Ann's stint: a contact, contract A proposed and signed, a request to correct its value, contract B proposed.
    ok(client.post(f"{base}/contacts", json=contact_body("Ann's call"), headers=ann), 201)
    contract_a = ok(client.post(f"{base}/contracts", json=CONTRACT, headers=ann), 201)["contract_id"]
    ok(client.post(f"{base}/contracts/{contract_a}/signature", json={"signed_on": "2026-05-20"}, headers=ann))
    asked = {"corrects_version": 4, "reason": "The value was 1,150", "changes": {"value": "1150.00"}}
    anns_request = ok(client.post(f"{base}/corrections", json=asked, headers=ann), 202)["request_id"]
    contract_b = ok(client.post(f"{base}/contracts", json=CONTRACT, headers=ann), 201)["contract_id"]

    # A manager hands the relationship to Bob (version 7).
    moved = {"account_manager_id": bob_id, "reason": "Ann moves to another desk"}
    assert ok(client.post(f"{base}/assignments", json=moved, headers=manager), 201)["version"] == 7

    # Since: Bob's contact; Ann's request approved; Bob signs B and asks to correct it; Bob terminates A.
    ok(client.post(f"{base}/contacts", json=contact_body("Bob's call"), headers=bob), 201)
    ok(client.post(f"{base}/correction-requests/{anns_request}/approval", json={}, headers=manager))
    ok(client.post(f"{base}/contracts/{contract_b}/signature", json={"signed_on": "2026-06-02"}, headers=bob))
    bobs = {"corrects_version": 11, "reason": "The value was 1,000", "changes": {"value": "1000.00"}}
    bobs_request = ok(client.post(f"{base}/corrections", json=bobs, headers=bob), 202)["request_id"]
    ended = {"on": "2026-07-01", "reason": "Client cancelled"}
    assert ok(client.post(f"{base}/contracts/{contract_a}/termination", json=ended, headers=bob))["version"] == 13
    return Handover(
        relationship_id, ann_id, ann, bob, cara, manager, contract_a, contract_b, anns_request, bobs_request
    )


def test_a_former_manager_reads_the_relationship_as_they_handed_it_over(client: TestClient, handover: Handover) -> None:
    response = client.get(handover.base, headers=handover.ann)

    body = ok(response)
    assert body["version"] == 6
    assert response.headers["ETag"] == '"6"'
    assert response.headers["Content-Location"] == f"{handover.base}?version=6"
    assert body["account_manager_id"] == handover.ann_id
    assert body["contracts"][handover.contract_a]["status"] == "signed"
    assert body["contracts"][handover.contract_a]["value"] == "1200.00"  # corrected only after she left
    assert body["contracts"][handover.contract_b]["status"] == "proposed"
    # The address it names answers the same state.
    assert ok(client.get(response.headers["Content-Location"], headers=handover.ann)) == body


def test_a_former_manager_sees_their_stint_and_then_only_their_contracts_events_with_paging_intact(
    client: TestClient, handover: Handover
) -> None:
    assert [e["version"] for e in events_of(client, handover.ann, handover.relationship_id)] == ANNS_VERSIONS

    # Two at a time, following the cursor: the same events, each page full until the last.
    seen: list[int] = []
    pages: list[int] = []
    cursor: str | None = None
    while True:
        params: dict[str, Any] = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = ok(client.get(f"{handover.base}/events", params=params, headers=handover.ann))
        seen += [e["version"] for e in page["items"]]
        pages.append(len(page["items"]))
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ANNS_VERSIONS
    assert pages == [2, 2, 2, 2, 1]

    shown = {e["version"]: e for e in events_of(client, handover.ann, handover.relationship_id)}
    assert shown[10]["type"] == "EntryCorrected"
    assert shown[10]["data"]["target"] == handover.contract_a
    assert shown[13]["type"] == "ContractTerminated"
    assert all(e["position"] > 0 and e["actor_id"] for e in shown.values())


def test_a_former_manager_reads_any_version_or_time_within_their_stint(client: TestClient, handover: Handover) -> None:
    events = {e["version"]: e for e in events_of(client, handover.manager, handover.relationship_id)}

    at_three = client.get(handover.base, params={"version": 3}, headers=handover.ann)
    assert ok(at_three)["version"] == 3
    assert at_three.headers["ETag"] == '"3"'
    assert "Content-Location" not in at_three.headers
    as_of = client.get(handover.base, params={"as_of": events[4]["recorded_at"]}, headers=handover.ann)
    assert ok(as_of)["version"] == 4


@pytest.mark.parametrize("asked", [{"version": 7}, {"version": 13}, {"as_of": "now"}])
def test_a_former_manager_is_told_up_to_which_version_and_time_they_may_read(
    client: TestClient, handover: Handover, asked: dict[str, Any]
) -> None:
    events = {e["version"]: e for e in events_of(client, handover.manager, handover.relationship_id)}
    if asked.get("as_of") == "now":
        asked = {"as_of": events[13]["recorded_at"]}

    problem = assert_problem(client.get(handover.base, params=asked, headers=handover.ann), 403, "forbidden")

    assert "versions 1 to 6" in problem["detail"]
    assert events[6]["recorded_at"] in problem["detail"]
    assert "Version 6 is the state you handed over" in problem["detail"]


def test_a_former_manager_asking_for_a_version_that_does_not_exist_is_told_so(
    client: TestClient, handover: Handover
) -> None:
    assert_problem(client.get(handover.base, params={"version": 14}, headers=handover.ann), 404, "not_found")
    before = client.get(handover.base, params={"as_of": "2000-01-01T00:00:00Z"}, headers=handover.ann)
    assert_problem(before, 404, "not_found")


def test_a_former_manager_reads_the_correction_requests_about_their_contracts_only(
    client: TestClient, handover: Handover
) -> None:
    listed = ok(client.get(f"{handover.base}/correction-requests", headers=handover.ann))["items"]

    assert [r["request_id"] for r in listed] == [handover.anns_request]
    assert listed[0]["status"] == "approved"
    assert ok(client.get(f"{handover.base}/correction-requests/{handover.anns_request}", headers=handover.ann))
    bobs = client.get(f"{handover.base}/correction-requests/{handover.bobs_request}", headers=handover.ann)
    assert_problem(bobs, 403, "forbidden")
    # Bob, who manages it now, sees both.
    everyone = ok(client.get(f"{handover.base}/correction-requests", headers=handover.bob))["items"]
    assert [r["request_id"] for r in everyone] == [handover.anns_request, handover.bobs_request]


WRITES: list[tuple[str, str, Callable[[Handover], Json]]] = [
    ("post", "/contacts", lambda h: contact_body()),
    ("post", "/contracts", lambda h: CONTRACT),
    ("post", "/gifts", lambda h: gift_body("Pat Doe", "Globex")),
    ("put", "/tier", lambda h: {"tier": "key"}),
    ("put", "/cadence", lambda h: {"days": 10}),
    ("post", "/closure", lambda h: {"reason": "Done"}),
    ("post", "/corrections", lambda h: {"corrects_version": 2, "reason": "Typo", "changes": {"summary": "Call"}}),
    ("post", "/corrections", lambda h: {"corrects_version": 4, "reason": "Typo", "changes": {"value": "1.00"}}),
    ("post", "/assignments", lambda h: {"account_manager_id": "00000000-0000-4000-8000-000000000000", "reason": "Me"}),
    ("post", "/correction-requests/{bobs_request}/rejection", lambda h: {"reason": "No"}),
]


@pytest.mark.parametrize(("method", "path", "body"), WRITES, ids=[f"{m} {p}" for m, p, _ in WRITES])
def test_a_former_manager_writes_nothing(
    client: TestClient, handover: Handover, method: str, path: str, body: Callable[[Handover], Json]
) -> None:
    before = events_of(client, handover.manager, handover.relationship_id)
    url = handover.base + path.format(bobs_request=handover.bobs_request)

    response = client.request(method.upper(), url, json=body(handover), headers=handover.ann)

    assert_problem(response, 403, "forbidden")
    assert events_of(client, handover.manager, handover.relationship_id) == before


def test_an_account_manager_who_never_managed_it_still_reads_nothing(client: TestClient, handover: Handover) -> None:
    for path in ("", "?version=3", "/events", "/correction-requests"):
        assert_problem(client.get(handover.base + path, headers=handover.cara), 403, "forbidden")
    detail = client.get(handover.base, headers=handover.cara).json()["detail"]
    assert detail.startswith("An account manager may read only relationships assigned to them now")


def test_the_current_manager_and_the_other_roles_read_as_before_without_reading_anyones_tenure(
    client: TestClient, tokens: Tokens, handover: Handover, system: System, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_tenure(*_: object) -> None:
        pytest.fail("a tenure was read for someone the role table already allows")

    monkeypatch.setattr(system.ledger, "tenure", no_tenure)

    for headers in (handover.bob, handover.manager, tokens.auditor, tokens.compliance, tokens.admin):
        response = client.get(handover.base, headers=headers)
        assert ok(response)["version"] == 13
        assert response.headers["ETag"] == '"13"'
        assert "Content-Location" not in response.headers
        assert [e["version"] for e in events_of(client, headers, handover.relationship_id)] == list(range(1, 14))
        assert ok(client.get(handover.base, params={"version": 8}, headers=headers))["version"] == 8


def test_a_manager_handed_it_back_reads_all_of_it_again(client: TestClient, handover: Handover) -> None:
    back = {"account_manager_id": handover.ann_id, "reason": "Ann is back"}
    ok(client.post(f"{handover.base}/assignments", json=back, headers=handover.manager), 201)

    response = client.get(handover.base, headers=handover.ann)

    assert ok(response)["version"] == 14
    assert "Content-Location" not in response.headers
    assert len(events_of(client, handover.ann, handover.relationship_id)) == 14
    # Bob is now the former manager: his stint was 7 to 13.
    bobs = client.get(handover.base, headers=handover.bob)
    assert ok(bobs)["version"] == 13
    assert bobs.headers["Content-Location"] == f"{handover.base}?version=13"
    detail = client.get(handover.base, params={"version": 3}, headers=handover.bob).json()["detail"]
    assert "versions 7 to 13" in detail
