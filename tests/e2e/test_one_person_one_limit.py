"""A person is one person however their name is typed: the gift limit holds over HTTP (issue 13, findings 1-2)."""

# ruff: noqa: RUF001 - the look-alike letters are the point of these tests

from __future__ import annotations

import unicodedata
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from infrastructure.bootstrap import System
from tests.e2e.conftest import Desk, Tokens, assert_problem, gift_body, head_position, unique

INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u00ad", "\ufeff", "\u2060"]
LOOK_ALIKES = {"a": "а", "e": "е", "o": "о", "c": "с", "p": "р", "i": "і", "J": "Ј", "R": "Ꭱ"}
FIRM_SUFFIXES = ["", " Inc.", " Inc", ", LLC", " L.L.C.", " Ltd", " Corp.", " GmbH", " PLC", " & Co."]


@st.composite
def spellings(draw: st.DrawFn, name: str, employer: str) -> tuple[str, str]:
    """One name and employer respelt as people (and people evading a limit) type them."""

    def respell(text: str) -> str:
        chars = []
        for char in text:
            choice = draw(st.integers(0, 9))
            if choice == 0 and char in LOOK_ALIKES:
                chars.append(LOOK_ALIKES[char])
            elif choice == 1:
                chars.append(char.upper() if char.islower() else char.lower())
            elif choice == 2 and char.isalpha():
                chars.append(unicodedata.normalize("NFKC", char).translate({ord("a"): "ａ", ord("e"): "ｅ"}))
            else:
                chars.append(char)
            if draw(st.integers(0, 14)) == 0:
                chars.append(draw(st.sampled_from(INVISIBLE)))
        return "".join(chars)

    spaced = draw(st.sampled_from(["", " ", "  "]))
    stop = draw(st.sampled_from(["", "."]))
    the = draw(st.sampled_from(["", "The "]))
    return spaced + respell(name) + stop, the + respell(employer) + draw(st.sampled_from(FIRM_SUFFIXES))


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_however_one_person_is_spelt_the_total_accepted_for_them_in_a_year_never_exceeds_the_limit(
    client: TestClient, desk: Desk, tokens: Tokens, data: st.DataObject
) -> None:
    name, employer = unique("Jane Roe"), unique("Acme")
    accepted = Decimal(0)
    for _ in range(6):
        spelt_name, spelt_employer = data.draw(spellings(name, employer))
        response = client.post(
            f"/v1/relationships/{desk.relationship_id}/gifts",
            json=gift_body(spelt_name, spelt_employer, cost="100.00", given_on="2026-07-01"),
            headers=desk.manager,
        )
        assert response.status_code in (201, 409, 422), response.text
        if response.status_code == 201:
            accepted += Decimal(response.json()["counted_value"])

    assert accepted <= Decimal("300.00")


def test_a_look_alike_of_a_known_recipient_is_refused_with_the_candidates_until_confirmed(
    client: TestClient, system: System, desk: Desk
) -> None:
    first = client.post(
        f"/v1/relationships/{desk.relationship_id}/gifts",
        json=gift_body("Jonathan Smith", "Initech", cost="200.00"),
        headers=desk.manager,
    )
    assert first.status_code == 201, first.text
    before = head_position(system)

    refused = client.post(
        f"/v1/relationships/{desk.relationship_id}/gifts",
        json=gift_body("Jonathon Smith", "Initech Holdings", cost="200.00"),
        headers=desk.manager,
    )
    body = assert_problem(refused, 409, "likely_same_recipient")
    assert [c["recipient_id"] for c in body["candidates"]] == [first.json()["recipient_id"]]
    assert head_position(system) == before

    # Saying which one it is counts the gift on them: over the limit now.
    confirmed = client.post(
        f"/v1/relationships/{desk.relationship_id}/gifts",
        json=gift_body(
            "Jonathon Smith",
            "Initech Holdings",
            cost="200.00",
            recipient={
                "name": "Jonathon Smith",
                "employer": "Initech Holdings",
                "recipient_id": first.json()["recipient_id"],
            },
        ),
        headers=desk.manager,
    )
    assert_problem(confirmed, 409, "gift_limit_exceeded")


def test_declaring_someone_else_is_recorded_and_shown_to_compliance(
    client: TestClient, tokens: Tokens, desk: Desk
) -> None:
    first = client.post(
        f"/v1/relationships/{desk.relationship_id}/gifts",
        json=gift_body("Jonathan Smith", "Initech", cost="50.00", given_on="2026-07-01"),
        headers=desk.manager,
    ).json()
    other = gift_body("Jonathon Smith", "Initech", cost="50.00", given_on="2026-07-02")
    other["recipient"]["distinct_from"] = [first["recipient_id"]]

    second = client.post(f"/v1/relationships/{desk.relationship_id}/gifts", json=other, headers=desk.manager)

    assert second.status_code == 201, second.text
    assert second.json()["recipient_id"] != first["recipient_id"]
    register = client.get(
        "/v1/compliance/gift-register",
        params={"year": 2026, "min_position": second.json()["position"]},
        headers=tokens.compliance,
    ).json()["items"]
    (entry,) = [e for e in register if e["recipient_id"] == second.json()["recipient_id"]]
    assert entry["distinct_from"] == [first["recipient_id"]]


def test_a_shared_gift_names_everyone_and_holds_each_to_their_own_limit(
    client: TestClient, system: System, desk: Desk
) -> None:
    carol = client.post(
        f"/v1/relationships/{desk.relationship_id}/gifts",
        json=gift_body("Carol Diaz", "Initech", cost="250.00"),
        headers=desk.manager,
    )
    assert carol.status_code == 201, carol.text
    before = head_position(system)
    shared: dict[str, Any] = gift_body("Ada Moss", "Initech", cost="300.00")

    unnamed = client.post(
        f"/v1/relationships/{desk.relationship_id}/gifts", json={**shared, "recipients_count": 3}, headers=desk.manager
    )
    over = client.post(
        f"/v1/relationships/{desk.relationship_id}/gifts",
        json={
            **shared,
            "shared_with": [
                {"name": "Carol Diaz", "employer": "Initech"},
                {"name": "Dev Patel", "employer": "Initech"},
            ],
        },
        headers=desk.manager,
    )

    assert "shared_with" in assert_problem(unnamed, 422, "validation_error")["detail"]
    assert_problem(over, 409, "gift_limit_exceeded")  # Carol's share of 100 takes her to 350
    assert head_position(system) == before
    within = client.post(
        f"/v1/relationships/{desk.relationship_id}/gifts",
        json={
            **shared,
            "shared_with": [{"name": "Bo Chen", "employer": "Initech"}, {"name": "Dev Patel", "employer": "Initech"}],
        },
        headers=desk.manager,
    )
    assert within.status_code == 201, within.text
    assert within.json()["counted_value"] == "100.00"
    assert len(within.json()["shared_with"]) == 2


def _stored_events(client: TestClient, tokens: Tokens) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 500, **({"cursor": cursor} if cursor else {})}
        page = client.get("/v1/audit/events", params=params, headers=tokens.auditor).json()
        items.extend(page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def test_merging_two_recipients_over_the_limit_together_yields_exactly_one_breach_and_changes_no_stored_event(
    client: TestClient, tokens: Tokens, desk: Desk
) -> None:
    # Two spellings compliance finds to be one person: $200 each in 2026, accepted apart.
    robert = client.post(
        f"/v1/relationships/{desk.relationship_id}/gifts",
        json=gift_body("Robert Tables", "Initech", cost="200.00", given_on="2026-05-01"),
        headers=desk.manager,
    ).json()
    bobby = client.post(
        f"/v1/relationships/{desk.relationship_id}/gifts",
        json=gift_body("Bobby Tables", "Initech", cost="200.00", given_on="2026-06-01"),
        headers=desk.manager,
    ).json()
    before = {(e["position"], e["hash"]) for e in _stored_events(client, tokens)}

    refused = client.post(
        f"/v1/compliance/recipients/{robert['recipient_id']}/merges",
        json={"absorbed_id": bobby["recipient_id"], "reason": "Same person"},
        headers=desk.manager,
    )
    merged = client.post(
        f"/v1/compliance/recipients/{robert['recipient_id']}/merges",
        json={"absorbed_id": bobby["recipient_id"], "reason": "Bobby is Robert: same desk, same e-mail"},
        headers=tokens.compliance,
    )

    assert_problem(refused, 403, "forbidden")
    assert merged.status_code == 201, merged.text
    position = merged.json()["position"]
    exceptions = client.get(
        "/v1/compliance/exceptions", params={"year": 2026, "min_position": position}, headers=tokens.compliance
    ).json()["items"]
    breaches = [e for e in exceptions if e["kind"] == "breach"]
    assert [(b["recipient_id"], b["gift"]["gift_id"], b["counted_total"]) for b in breaches] == [
        (robert["recipient_id"], bobby["gift_id"], "400.00")
    ]
    register = client.get(
        "/v1/compliance/gift-register", params={"year": 2026, "min_position": position}, headers=tokens.compliance
    ).json()["items"]
    (entry,) = [e for e in register if e["recipient_id"] == robert["recipient_id"]]
    assert (entry["counted_total"], entry["status"], entry["absorbed"]) == ("400.00", "breach", [bobby["recipient_id"]])
    assert {s["name"] for s in entry["spellings"]} == {"Robert Tables", "Bobby Tables"}
    after = {(e["position"], e["hash"]) for e in _stored_events(client, tokens)}
    assert before <= after  # every event stored before the merge is there, unchanged
    # From now on a gift to either spelling counts against their one limit.
    more = client.post(
        f"/v1/relationships/{desk.relationship_id}/gifts",
        json=gift_body("Bobby Tables", "Initech", cost="1.00", given_on="2026-07-01"),
        headers=desk.manager,
    )
    assert_problem(more, 409, "gift_limit_exceeded")


@pytest.mark.parametrize("absorbed", ["self", "unknown"])
def test_a_merge_that_names_no_other_recipient_is_refused(
    client: TestClient, tokens: Tokens, desk: Desk, absorbed: str
) -> None:
    robert = client.post(
        f"/v1/relationships/{desk.relationship_id}/gifts",
        json=gift_body("Robert Tables", "Initech", cost="20.00"),
        headers=desk.manager,
    ).json()
    other = robert["recipient_id"] if absorbed == "self" else "00000000-0000-4000-8000-000000000000"

    response = client.post(
        f"/v1/compliance/recipients/{robert['recipient_id']}/merges",
        json={"absorbed_id": other, "reason": "Same person"},
        headers=tokens.compliance,
    )

    assert response.status_code in (404, 409)
    assert response.json()["code"] == ("rule_violation" if absorbed == "self" else "not_found")
