"""What a careless client, a fuzzer or a hostile insider sends is refused whole, or held by every view (issue 12)."""

from __future__ import annotations

import base64
import json
import logging
import sqlite3
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient

from api.app import create_app
from domain.relationship import ContactLogged, DemoScheduled
from domain.values import STORED, Role
from infrastructure.bootstrap import System
from tests.e2e.conftest import (
    PROBLEM_JSON,
    Desk,
    Tokens,
    assert_problem,
    contact_body,
    gift_body,
    head_position,
)

EDGE_TIMES = ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "2200-01-01T00:00:00+00:00"]
"""Times whose UTC instant lies outside 1900-2199; the first two once stopped every view for good."""


def _field_errors(body: dict[str, Any]) -> set[str]:
    return {error["field"] for error in body.get("errors") or []}


# -- 1 and 2: dates and times the views could not hold -------------------------------


@pytest.mark.parametrize("occurred_at", EDGE_TIMES)
def test_a_contact_at_the_edge_of_the_calendar_is_refused_and_stores_nothing(
    client: TestClient, system: System, desk: Desk, occurred_at: str
) -> None:
    before = head_position(system)

    response = client.post(
        f"/v1/relationships/{desk.relationship_id}/contacts",
        json=contact_body(occurred_at=occurred_at),
        headers=desk.manager,
    )

    body = assert_problem(response, 422, "validation_error")
    assert "occurred_at" in _field_errors(body)
    assert "1900-01-01" in body["detail"]
    assert "2199-12-31" in body["detail"]
    assert head_position(system) == before


@pytest.mark.parametrize("scheduled_for", EDGE_TIMES)
def test_a_demo_or_a_reschedule_at_the_edge_of_the_calendar_is_refused(
    client: TestClient, desk: Desk, scheduled_for: str
) -> None:
    demo = {
        "product": "Ledger Pro",
        "location": "Client office",
        "staff": [{"name": "B. Adeyemi", "role": "technical"}],
    }
    refused = client.post(
        f"/v1/relationships/{desk.relationship_id}/demos",
        json={**demo, "scheduled_for": scheduled_for},
        headers=desk.manager,
    )
    assert "scheduled_for" in _field_errors(assert_problem(refused, 422, "validation_error"))

    scheduled = client.post(
        f"/v1/relationships/{desk.relationship_id}/demos",
        json={**demo, "scheduled_for": "2026-12-03T14:00:00+00:00"},
        headers=desk.manager,
    )
    assert scheduled.status_code == 201, scheduled.text
    rescheduled = client.post(
        f"/v1/relationships/{desk.relationship_id}/demos/{scheduled.json()['demo_id']}/reschedule",
        json={"scheduled_for": scheduled_for},
        headers=desk.manager,
    )
    assert "scheduled_for" in _field_errors(assert_problem(rescheduled, 422, "validation_error"))


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("contacts", contact_body(next_follow_up_on="9999-12-31"), "next_follow_up_on"),
        (
            "contracts",
            {"title": "Retainer", "value": "1000.00", "starts_on": "2026-01-01", "ends_on": "9999-12-31"},
            "ends_on",
        ),
        (
            "contracts",
            {"title": "Retainer", "value": "1000.00", "starts_on": "1899-12-31", "ends_on": "2026-01-01"},
            "starts_on",
        ),
        ("gifts", gift_body("Ada Moss", "Initech", given_on="1066-10-14"), "given_on"),
        (
            "entertainment",
            {
                "occurred_on": "2200-01-01",
                "description": "Dinner",
                "cost": "80.00",
                "attendees": ["Ada Moss"],
                "representative_attended": True,
            },
            "occurred_on",
        ),
    ],
)
def test_a_business_date_outside_1900_to_2199_is_refused_naming_its_field(
    client: TestClient, desk: Desk, path: str, body: dict[str, Any], field: str
) -> None:
    response = client.post(f"/v1/relationships/{desk.relationship_id}/{path}", json=body, headers=desk.manager)

    assert field in _field_errors(assert_problem(response, 422, "validation_error"))


def test_a_contact_stored_before_dates_were_bounded_is_held_by_every_view(
    client: TestClient, system: System, tokens: Tokens, desk: Desk
) -> None:
    # A fact from before the bound: stored as it was then, with a follow-up the due-date arithmetic overflowed on.
    ledger = system.ledger
    relationship = ledger.relationship(uuid.UUID(desk.relationship_id))
    poison = ContactLogged.model_validate(
        {
            "originator_id": relationship.id,
            "originator_version": relationship.version + 1,
            "recorded_at": datetime.now(UTC),
            "actor_id": "legacy",
            "actor_role": Role.MANAGER,
            "correlation_id": "legacy-import",
            "occurred_at": "9999-12-31T23:59:59-23:59",
            "channel": "call",
            "summary": "Recorded before dates were bounded",
            "next_follow_up_on": "9999-12-31",
        },
        context=STORED,
    )
    poison.mutate(relationship)
    relationship._pending_events.append(poison)
    position = ledger.save(relationship)[-1].notification.id

    # The views take it in, and every read that shows it answers.
    for path in ("/v1/workload", f"/v1/account-managers/{desk.account_manager_id}/workload", "/v1/relationships"):
        response = client.get(path, params={"min_position": position}, headers=tokens.manager)
        assert response.status_code == 200, response.text
    assert client.get(f"/v1/relationships/{desk.relationship_id}", headers=tokens.manager).status_code == 200
    assert client.get("/health").json()["status"] == "ok"


# -- 3: large sums ------------------------------------------------------------------


def test_an_amount_of_ten_billion_or_more_is_refused(client: TestClient, desk: Desk) -> None:
    response = client.post(
        f"/v1/relationships/{desk.relationship_id}/contracts",
        json={"title": "Too big", "value": "10000000000.00", "starts_on": "2026-01-01", "ends_on": "2027-01-01"},
        headers=desk.manager,
    )

    body = assert_problem(response, 422, "validation_error")
    assert "value" in _field_errors(body)
    assert "10,000,000,000.00" in body["detail"]


def test_the_largest_amounts_signed_many_times_sum_exactly_in_pay_and_workload(
    client: TestClient, tokens: Tokens, desk: Desk
) -> None:
    largest = "9999999999.99"
    for _ in range(12):
        proposed = client.post(
            f"/v1/relationships/{desk.relationship_id}/contracts",
            json={"title": "Maximal", "value": largest, "starts_on": "2026-01-01", "ends_on": "2027-01-01"},
            headers=desk.manager,
        )
        assert proposed.status_code == 201, proposed.text
        signed = client.post(
            f"/v1/relationships/{desk.relationship_id}/contracts/{proposed.json()['contract_id']}/signature",
            json={"signed_on": "2026-02-01"},
            headers=desk.manager,
        )
        assert signed.status_code == 200, signed.text
    position = signed.json()["position"]

    pay = client.get(
        f"/v1/account-managers/{desk.account_manager_id}/pay/2026",
        params={"min_position": position},
        headers=tokens.manager,
    )
    workload = client.get("/v1/workload", params={"year": 2026, "min_position": position}, headers=tokens.manager)

    assert pay.status_code == 200, pay.text
    assert pay.json()["signed_value"] == "119999999999.88"
    assert workload.status_code == 200, workload.text
    (row,) = [r for r in workload.json() if r["account_manager_id"] == desk.account_manager_id]
    assert row["signed_value"] == "119999999999.88"


@pytest.mark.parametrize("rate", ["10.000001", "11", "0.1234567"])
def test_a_rate_above_ten_or_with_more_than_six_places_is_refused(
    client: TestClient, tokens: Tokens, desk: Desk, rate: str
) -> None:
    plan = {
        "base_salary": "50000.00",
        "commission_rate": "0.05",
        "accelerator_rate": "0.02",
        "bonus_threshold": rate,
        "bonus_amount": "1000.00",
    }
    response = client.put(
        f"/v1/account-managers/{desk.account_manager_id}/compensation-plans/2026", json=plan, headers=tokens.manager
    )

    assert "bonus_threshold" in _field_errors(assert_problem(response, 422, "validation_error"))


# -- 4: a programming or data error is not an outage ----------------------------------


def test_an_sql_error_that_is_not_an_outage_is_a_500_problem_with_the_correlation_id_and_a_logged_stack(
    system: System, tokens: Tokens, caplog: pytest.LogCaptureFixture
) -> None:
    app = create_app(system)
    broken = APIRouter()

    @broken.get("/v1/broken")
    def broken_route() -> None:
        sqlite3.connect(":memory:").execute("SELECT * FROM no_such_table")

    app.include_router(broken)
    with TestClient(app, raise_server_exceptions=False) as client, caplog.at_level(logging.ERROR):
        response = client.get("/v1/broken", headers={**tokens.manager, "X-Correlation-ID": "bug-report-42"})

    body = assert_problem(response, 500, "internal_error")
    assert response.headers["X-Correlation-ID"] == "bug-report-42"
    assert "bug-report-42" in body["detail"]
    assert "no_such_table" not in response.text  # nothing of the internals is told to the client
    logged = [record for record in caplog.records if record.levelno == logging.ERROR]
    assert logged
    assert logged[0].exc_info is not None


def test_an_unexpected_error_is_a_problem_with_the_correlation_id_never_a_bare_500(
    system: System, tokens: Tokens
) -> None:
    app = create_app(system)
    broken = APIRouter()

    @broken.get("/v1/raises")
    async def raises() -> None:
        raise RuntimeError("a bug")

    app.include_router(broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get("/v1/raises", headers=tokens.manager)

    assert_problem(response, 500, "internal_error")
    assert response.headers["X-Correlation-ID"]


# -- 5: integers out of range ---------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "params"),
    [
        ("/v1/relationships/{id}", {"version": str(2**63)}),
        ("/v1/relationships/{id}", {"version": "9" * 5000}),
        ("/v1/audit/events", {"after": str(2**63)}),
        ("/v1/audit/events", {"after": "9" * 5000}),
        ("/v1/compliance/gift-register", {"year": "9999"}),
        ("/v1/compliance/exceptions", {"year": "9999"}),
        ("/v1/compliance/gift-register", {"year": "1"}),
        ("/v1/workload", {"year": "9999"}),
        ("/v1/account-managers/{manager}/pay/9999", {}),
        ("/v1/account-managers/{manager}/workload", {"year": "9999"}),
    ],
)
def test_an_integer_or_time_beyond_what_the_ledger_holds_is_a_422(
    client: TestClient, tokens: Tokens, desk: Desk, path: str, params: dict[str, str]
) -> None:
    url = path.format(id=desk.relationship_id, manager=desk.account_manager_id)

    response = client.get(url, params=params, headers=tokens.admin)

    assert_problem(response, 422, "validation_error")
    assert response.headers["X-Correlation-ID"]


@pytest.mark.parametrize("as_of", ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "2999-01-01T00:00:00Z"])
def test_reading_as_of_a_moment_at_the_calendars_edges_answers_without_failing(
    client: TestClient, tokens: Tokens, desk: Desk, as_of: str
) -> None:
    relationship = client.get(
        f"/v1/relationships/{desk.relationship_id}", params={"as_of": as_of}, headers=tokens.admin
    )
    export = client.get("/v1/audit/export", params={"as_of": as_of, "format": "csv"}, headers=tokens.admin)

    # Before anything was recorded the relationship did not exist yet; after, it is as it is now.
    assert relationship.status_code == (404 if as_of.startswith("0001") else 200), relationship.text
    assert export.status_code == 200, export.text


def test_limit_years_at_the_edges_of_the_range_answer_for_every_policy(client: TestClient, tokens: Tokens) -> None:
    for policy in ({"kind": "fiscal", "start_month": 4}, {"kind": "rolling_12_months"}, {"kind": "calendar"}):
        changed = client.put("/v1/compliance/gift-policy/limit-year", json=policy, headers=tokens.compliance)
        assert changed.status_code == 200, changed.text
        for year in ("1900", "2199"):
            for path in ("/v1/compliance/gift-register", "/v1/compliance/exceptions"):
                response = client.get(
                    path, params={"year": year, "min_position": changed.json()["position"]}, headers=tokens.compliance
                )
                assert response.status_code == 200, (policy, year, path, response.text)


@pytest.mark.parametrize(
    "cursor_after",
    [{"position": 2**63}, {"position": 10**40}, {"position": -1}, {"position": "1"}, {"position": True}],
)
def test_a_cursor_altered_to_hold_a_number_out_of_range_is_a_422(
    client: TestClient, tokens: Tokens, desk: Desk, cursor_after: dict[str, Any]
) -> None:
    # Written as a client would forge it (the API's own encoder cannot hold such numbers).
    cursor = base64.urlsafe_b64encode(json.dumps(cursor_after).encode()).decode().rstrip("=")

    response = client.get("/v1/audit/events", params={"cursor": cursor}, headers=tokens.auditor)

    assert_problem(response, 422, "validation_error")


@pytest.mark.parametrize("if_match", ['"' + "9" * 5000 + '"', '"9223372036854775808000"', '"3.0"', '"-3"'])
def test_an_if_match_that_is_no_version_is_a_422(client: TestClient, desk: Desk, if_match: str) -> None:
    response = client.put(
        f"/v1/relationships/{desk.relationship_id}/tier",
        json={"tier": "key"},
        headers={**desk.manager, "If-Match": if_match},
    )

    assert_problem(response, 422, "validation_error")


# -- 7: lax input -------------------------------------------------------------------


@pytest.mark.parametrize(
    "cost",
    ["\u0661\u0660\u0660.\u0660\u0660", "\uff11\uff10\uff10", "100.00\n", " 100.00", "1e2", "100.001"],
)
def test_money_in_other_digits_or_with_spaces_is_refused(client: TestClient, desk: Desk, cost: str) -> None:
    response = client.post(
        f"/v1/relationships/{desk.relationship_id}/gifts",
        json=gift_body("Ada Moss", "Initech", cost=cost),
        headers=desk.manager,
    )

    assert "cost" in _field_errors(assert_problem(response, 422, "validation_error"))


@pytest.mark.parametrize(
    "occurred_at", [1777777777, "1777777777", "2026-05-04", "2026-05-04T09:30:00", "٢٠٢٦-05-04T09:30:00Z"]
)
def test_a_time_that_is_not_rfc_3339_with_an_offset_is_refused(
    client: TestClient, desk: Desk, occurred_at: Any
) -> None:
    response = client.post(
        f"/v1/relationships/{desk.relationship_id}/contacts",
        json=contact_body(occurred_at=occurred_at),
        headers=desk.manager,
    )

    assert "occurred_at" in _field_errors(assert_problem(response, 422, "validation_error"))


@pytest.mark.parametrize("signed_on", ["2026-05-04T00:00:00Z", "2026-05-04T00:00:00", 20260504, "20260504"])
def test_a_date_must_be_written_as_a_date(client: TestClient, desk: Desk, signed_on: Any) -> None:
    proposed = client.post(
        f"/v1/relationships/{desk.relationship_id}/contracts",
        json={"title": "Retainer", "value": "1000.00", "starts_on": "2026-01-01", "ends_on": "2027-01-01"},
        headers=desk.manager,
    )
    response = client.post(
        f"/v1/relationships/{desk.relationship_id}/contracts/{proposed.json()['contract_id']}/signature",
        json={"signed_on": signed_on},
        headers=desk.manager,
    )

    assert "signed_on" in _field_errors(assert_problem(response, 422, "validation_error"))


@pytest.mark.parametrize(("field", "value"), [("days", True), ("days", "10"), ("days", 10.0), ("days", 10.5)])
def test_a_whole_number_must_be_a_json_integer(client: TestClient, desk: Desk, field: str, value: Any) -> None:
    response = client.put(
        f"/v1/relationships/{desk.relationship_id}/cadence", json={field: value}, headers=desk.manager
    )

    assert field in _field_errors(assert_problem(response, 422, "validation_error"))


@pytest.mark.parametrize("attended", [1, "true", "yes"])
def test_a_flag_must_be_a_json_boolean(client: TestClient, desk: Desk, attended: Any) -> None:
    body = {
        "occurred_on": "2026-05-01",
        "description": "Dinner",
        "cost": "80.00",
        "attendees": ["Ada Moss"],
        "representative_attended": attended,
    }
    response = client.post(f"/v1/relationships/{desk.relationship_id}/entertainment", json=body, headers=desk.manager)

    assert "representative_attended" in _field_errors(assert_problem(response, 422, "validation_error"))


@pytest.mark.parametrize(
    "name", ["   ", "\u200b", "Ada\u200bMoss", "\u00adAda", "\ufeffAda", "Ada\x07", "Ada\nMoss", "\u202eAda", "\u2028"]
)
def test_a_name_with_nothing_visible_or_something_invisible_is_refused(
    client: TestClient, system: System, desk: Desk, name: str
) -> None:
    before = head_position(system)

    response = client.post(
        f"/v1/relationships/{desk.relationship_id}/gifts", json=gift_body(name, "Initech"), headers=desk.manager
    )

    assert "recipient.name" in _field_errors(assert_problem(response, 422, "validation_error"))
    assert head_position(system) == before


@pytest.mark.parametrize("summary", ["\u200b\u200b", " \t\n ", "\x00call"])
def test_a_text_with_nothing_visible_or_a_control_character_is_refused(
    client: TestClient, desk: Desk, summary: str
) -> None:
    response = client.post(
        f"/v1/relationships/{desk.relationship_id}/contacts", json=contact_body(summary=summary), headers=desk.manager
    )

    assert "summary" in _field_errors(assert_problem(response, 422, "validation_error"))


def test_names_and_texts_are_stored_without_surrounding_space_and_may_span_lines(
    client: TestClient, desk: Desk
) -> None:
    response = client.post(
        f"/v1/relationships/{desk.relationship_id}/contacts",
        json=contact_body(summary="  Called about renewal.\n\tThey want a demo.  "),
        headers=desk.manager,
    )
    assert response.status_code == 201, response.text

    events = client.get(f"/v1/relationships/{desk.relationship_id}/events", headers=desk.manager).json()["items"]
    assert events[-1]["data"]["summary"] == "Called about renewal.\n\tThey want a demo."


def test_a_json_body_with_a_key_twice_is_refused_not_read_as_its_last_value(client: TestClient, desk: Desk) -> None:
    raw = b'{"tier": "key", "tier": "standard"}'

    response = client.put(
        f"/v1/relationships/{desk.relationship_id}/tier",
        content=raw,
        headers={**desk.manager, "Content-Type": "application/json"},
    )

    body = assert_problem(response, 422, "validation_error")
    assert "'tier' appears twice" in body["detail"]


@pytest.mark.parametrize("raw", [b'{"days": NaN}', b'{"days": Infinity}', b'{"days": -Infinity}'])
def test_json_that_is_not_json_numbers_is_refused(client: TestClient, desk: Desk, raw: bytes) -> None:
    response = client.put(
        f"/v1/relationships/{desk.relationship_id}/cadence",
        content=raw,
        headers={**desk.manager, "Content-Type": "application/json"},
    )

    assert_problem(response, 422, "validation_error")


def test_a_body_nested_too_deeply_is_refused(client: TestClient, desk: Desk) -> None:
    raw = b'{"tier": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"

    response = client.put(
        f"/v1/relationships/{desk.relationship_id}/tier",
        content=raw,
        headers={**desk.manager, "Content-Type": "application/json"},
    )

    assert response.status_code in (413, 422)
    assert response.headers["content-type"].startswith(PROBLEM_JSON)


def test_a_body_over_the_size_limit_is_refused_with_413_before_it_is_parsed(
    client: TestClient, system: System, desk: Desk
) -> None:
    before = head_position(system)
    summary = "x" * (300 * 1024)

    response = client.post(
        f"/v1/relationships/{desk.relationship_id}/contacts", json=contact_body(summary=summary), headers=desk.manager
    )

    body = assert_problem(response, 413, "payload_too_large")
    assert "262144" in body["detail"]
    assert head_position(system) == before


def test_a_body_that_streams_past_the_limit_without_a_length_is_refused(client: TestClient, desk: Desk) -> None:
    def chunks() -> Any:
        for _ in range(40):
            yield b" " * 8192

    response = client.post(
        f"/v1/relationships/{desk.relationship_id}/contacts",
        content=chunks(),
        headers={**desk.manager, "Content-Type": "application/json"},
    )

    assert_problem(response, 413, "payload_too_large")


def test_the_size_limit_is_looked_at_only_after_the_token(client: TestClient, desk: Desk) -> None:
    response = client.post(
        f"/v1/relationships/{desk.relationship_id}/contacts",
        content=b"x" * (300 * 1024),
        headers={"Content-Type": "application/json"},
    )

    assert_problem(response, 401, "unauthenticated")


def test_an_email_with_an_invisible_character_is_refused(client: TestClient, tokens: Tokens) -> None:
    response = client.post(
        "/v1/account-managers", json={"name": "Ann Lee", "email": "ann\u200b@example.com"}, headers=tokens.manager
    )

    assert "email" in _field_errors(assert_problem(response, 422, "validation_error"))


def test_a_correction_cannot_bring_in_what_a_command_may_not(client: TestClient, system: System, desk: Desk) -> None:
    logged = client.post(
        f"/v1/relationships/{desk.relationship_id}/contacts", json=contact_body(), headers=desk.manager
    )
    assert logged.status_code == 201, logged.text
    before = head_position(system)

    for changes in (
        {"occurred_at": "9999-12-31T23:59:59-23:59"},
        {"occurred_at": 1777777777},
        {"next_follow_up_on": "9999-12-31"},
        {"summary": "\u200b"},
    ):
        response = client.post(
            f"/v1/relationships/{desk.relationship_id}/corrections",
            json={"corrects_version": logged.json()["version"], "reason": "typo", "changes": changes},
            headers=desk.manager,
        )
        assert_problem(response, 422, "validation_error")
    assert head_position(system) == before


def test_a_manager_registered_by_name_with_odd_but_visible_unicode_is_kept_as_typed(
    client: TestClient, tokens: Tokens
) -> None:
    name = "Zoë Ørsted-Nakamura 中村 \U0001f600"
    registered = client.post(
        "/v1/account-managers", json={"name": name, "email": "zoe@example.com"}, headers=tokens.manager
    )
    assert registered.status_code == 201, registered.text
    manager_id = registered.json()["id"]

    assert client.get(f"/v1/account-managers/{manager_id}", headers=tokens.manager).json()["name"] == name


def test_demo_scheduled_stays_readable_when_stored_with_an_old_extreme_time(system: System, desk: Desk) -> None:
    # Reading history never applies the bounds for new facts: a stored demo at year 9999 still decodes.
    event = DemoScheduled.model_validate(
        {
            "originator_id": uuid.UUID(desk.relationship_id),
            "originator_version": 2,
            "recorded_at": datetime.now(UTC),
            "actor_id": "legacy",
            "actor_role": Role.MANAGER,
            "correlation_id": "legacy",
            "demo_id": uuid.uuid4(),
            "product": "Ledger",
            "scheduled_for": "9999-12-31T23:59:59-23:59",
            "location": "HQ",
            "staff": [{"name": "B. Adeyemi", "role": "technical"}],
        },
        context=STORED,
    )
    stored = system.ledger.mapper.to_stored_event(event)

    assert system.ledger.mapper.to_domain_event(stored) == event
