"""The dashboard in headless Chromium against a real `ledger serve --demo`: what a new user sees after signing in.

Every expected figure is read from the API with the demo's printed tokens, never written into the test.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import httpx
import pytest

from tests.browser.conftest import DemoLedger

pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed (pip install -e '.[dev]')")

from playwright.sync_api import Page, expect  # imported once the skip above has had its say


def sign_in(page: Page, token: str) -> None:
    page.goto("/")
    page.fill("#token", token)
    page.click("#sign-in button[type=submit]")


def dollars(amount: str) -> str:
    return f"${Decimal(amount):,.2f}"


def load_against_capacity(text: str) -> tuple[int, int]:
    """The weighted load and the capacity a workload cell names ("at 16 of 20 …", "over capacity 21 of 20, …")."""
    found = re.search(r"(\d+) of (\d+)", text)
    assert found, f"no load against a capacity in {text!r}"
    return int(found[1]), int(found[2])


def fullness(row: dict[str, Any]) -> float:
    """How full an account manager is: their weighted load as a share of their own capacity."""
    return int(row["weighted_load"]) / int(row["capacity"])


def set_capacity(demo: DemoLedger, account_manager_id: str, capacity: int) -> int:
    """Sets an account manager's capacity as the demo's manager; the position the command returned."""
    response = httpx.put(
        f"{demo.base_url}/v1/account-managers/{account_manager_id}/capacity",
        json={"capacity": capacity},
        headers={"Authorization": f"Bearer {demo.tokens['manager']}"},
        timeout=30,
    )
    assert response.status_code == 200, response.text
    position: int = response.json()["position"]
    return position


def test_signing_in_with_a_printed_token_shows_the_workload_of_the_seeded_managers(
    page: Page, demo: DemoLedger
) -> None:
    # The least loaded account manager (with some load) is given a capacity of exactly their load: full, not over,
    # so the fullest first is no longer the busiest first.
    lightest = min(
        (r for r in demo.api("manager", "/workload") if r["weighted_load"]), key=lambda r: r["weighted_load"]
    )
    position = set_capacity(demo, lightest["account_manager_id"], lightest["weighted_load"])
    rows = demo.api("manager", "/workload", min_position=position)
    assert len(rows) > 1
    loads_fullest_first = [row["weighted_load"] for row in sorted(rows, key=fullness, reverse=True)]
    assert loads_fullest_first != sorted(loads_fullest_first, reverse=True)

    sign_in(page, demo.tokens["manager"])

    expect(page.locator("#who-role")).to_have_text("manager")
    expect(page.locator("#who-name")).to_have_text(demo.api("manager", "/me")["name"])
    table_rows = page.locator("#workload tbody tr")
    expect(table_rows).to_have_count(len(rows))
    shown = {row.get_attribute("data-manager-id"): row.locator("td").first.inner_text() for row in table_rows.all()}
    assert shown == {row["account_manager_id"]: row["name"] for row in rows}

    # Each weighted load is drawn against that manager's own capacity (the tick), never the busiest person's load.
    for row in rows:
        cell = page.locator(f"#workload tr[data-manager-id='{row['account_manager_id']}'] td:nth-child(2)")
        assert load_against_capacity(cell.locator(".figure").inner_text()) == (row["weighted_load"], row["capacity"])
        scale = max(row["weighted_load"], row["capacity"])
        fill = float(cell.locator("svg.bar rect.fill").get_attribute("width") or "nan")
        tick = float(cell.locator("svg.bar line.tick").get_attribute("x1") or "nan")
        assert abs(fill - 100 * row["weighted_load"] / scale) < 0.01, (row, fill)
        assert abs(tick - 100 * row["capacity"] / scale) < 0.01, (row, tick)

    # Sorted by load against capacity, the fullest first; a click on the header turns it round.
    loads = page.locator("#workload tbody tr td:nth-child(2) .figure")

    def fullness_shown() -> list[float]:
        return [load / capacity for load, capacity in map(load_against_capacity, loads.all_inner_texts())]

    assert fullness_shown() == sorted(map(fullness, rows), reverse=True)
    page.click("#workload th[data-key=weighted_load] button")
    expect(page.locator("#workload th[data-key=weighted_load]")).to_have_attribute("aria-sort", "ascending")
    assert fullness_shown() == sorted(map(fullness, rows))


def test_a_managers_page_lists_their_demos_with_the_staff_sent_overdue_relationships_and_pay(
    page: Page, demo: DemoLedger
) -> None:
    rows = demo.api("manager", "/workload")
    busiest = max(rows, key=lambda row: (row["upcoming_demos"], row["overdue_follow_ups"]))
    manager_id = busiest["account_manager_id"]
    detail = demo.api("manager", f"/account-managers/{manager_id}/workload")
    assert detail["demos"], "the demo ledger should hold a demo in the next 14 days"
    pay = demo.api("manager", f"/account-managers/{manager_id}/pay/{datetime.now(UTC).year}")

    sign_in(page, demo.tokens["manager"])
    page.click(f"#workload a[href='#/managers/{manager_id}']")

    expect(page.locator("#manager-name")).to_have_text(busiest["name"])
    expect(page.locator("#demos tbody tr")).to_have_count(len(detail["demos"]))
    for person in detail["demos"][0]["staff"]:
        expect(page.locator("#demos")).to_contain_text(person["name"])
    if detail["overdue_relationships"]:
        expect(page.locator("#overdue tbody tr")).to_have_count(len(detail["overdue_relationships"]))
        expect(page.locator("#overdue")).to_contain_text(detail["overdue_relationships"][0]["client_name"])
    expect(page.locator("#pay-total")).to_have_text(dollars(pay["total"]))


def test_a_managers_page_says_their_weighted_load_against_their_capacity(page: Page, demo: DemoLedger) -> None:
    rows = demo.api("manager", "/workload")
    over = [row for row in rows if row["overloaded"]]
    within = [row for row in rows if not row["overloaded"]]
    assert over, "the demo ledger should hold an account manager over capacity"
    assert within, "the demo ledger should hold an account manager within capacity"

    sign_in(page, demo.tokens["manager"])
    expect(page.locator("#workload tbody tr")).to_have_count(len(rows))

    for row, says in (
        (over[0], f"{over[0]['weighted_load']} of {over[0]['capacity']} (over capacity)"),
        (within[0], f"{within[0]['weighted_load']} of {within[0]['capacity']}"),
    ):
        page.goto(f"/#/managers/{row['account_manager_id']}")
        expect(page.locator("#manager-name")).to_have_text(row["name"])
        expect(page.locator("#manager-load")).to_have_text(says)
        tone = page.locator(".card .value").filter(has=page.locator("#manager-load"))
        if row["overloaded"]:
            expect(tone).to_have_class(re.compile(r"\bbad\b"))
        else:
            expect(tone).not_to_have_class(re.compile(r"\bbad\b"))


def test_moving_the_as_of_control_back_shows_the_earlier_tier(page: Page, demo: DemoLedger) -> None:
    changes = [event for event in demo.every("admin", "/audit/events") if event["type"] == "TierChanged"]
    assert changes, "the demo ledger should hold a tier change"
    change = changes[-1]
    relationship_id, version = change["aggregate_id"], change["version"]
    now = demo.api("manager", f"/relationships/{relationship_id}")
    before = demo.api("manager", f"/relationships/{relationship_id}", version=version - 1)
    assert before["tier"] != now["tier"]

    sign_in(page, demo.tokens["manager"])
    page.click("nav a[data-page=relationships]")
    page.click(f"#relationships a[href='#/relationships/{relationship_id}']")

    expect(page.locator("#client-name")).to_have_text(now["client_name"])
    expect(page.locator("#state-tier")).to_have_text(now["tier"])
    expect(page.locator("#timeline tbody tr")).to_have_count(now["version"])

    page.locator("#asof-version").fill(str(version - 1))

    expect(page.locator("#state-tier")).to_have_text(before["tier"])
    expect(page.locator("#asof-note")).to_contain_text(f"version {version - 1}")
    expect(page.locator(f"#timeline tr[data-version='{version}']")).to_have_class("later")


def test_the_compliance_page_shows_a_recipient_near_the_limit(page: Page, demo: DemoLedger) -> None:
    year = datetime.now(UTC).year
    register = demo.every("compliance", "/compliance/gift-register", year=year)
    near = [e for e in register if Decimal(e["counted_total"]) >= Decimal("0.8") * Decimal(e["limit"])]
    assert near, "the demo ledger should hold a recipient above 80 % of this year's limit"
    exceptions = demo.every("compliance", "/compliance/exceptions", year=year)

    sign_in(page, demo.tokens["compliance"])
    page.click("nav a[data-page=compliance]")

    expect(page.locator("#register tbody tr")).to_have_count(len(register))
    expect(page.locator("#register tbody tr[data-near=yes]")).to_have_count(len(near))
    flagged = page.locator(f"#register tr[data-recipient-id='{near[0]['recipient_id']}']")
    expect(flagged).to_contain_text(near[0]["name"])
    expect(flagged).to_contain_text("near limit")
    expect(flagged).to_contain_text(f"{dollars(near[0]['counted_total'])} of {dollars(near[0]['limit'])}")
    expect(page.locator("#exceptions tbody tr")).to_have_count(len(exceptions))


def test_an_account_managers_token_shows_only_their_own_relationships(page: Page, demo: DemoLedger) -> None:
    me = demo.api("account_manager", "/me")
    everyone = demo.every("manager", "/relationships")
    own = [r for r in everyone if r["account_manager_id"] == me["account_manager_id"]]
    assert 0 < len(own) < len(everyone)

    sign_in(page, demo.tokens["account_manager"])

    expect(page.locator("#who-role")).to_have_text("account manager")
    expect(page.locator("#workload tbody tr")).to_have_count(1)
    expect(page.locator("#workload tbody tr")).to_have_attribute("data-manager-id", me["account_manager_id"])
    expect(page.locator("nav a")).to_have_text(["Workload", "Relationships", "Your pay"])
    page.click("nav a[data-page=relationships]")
    expect(page.locator("#relationships tbody tr")).to_have_count(len(own))
    shown = page.locator("#relationships tbody tr").evaluate_all("rows => rows.map(r => r.dataset.relationshipId)")
    assert sorted(shown) == sorted(r["id"] for r in own)

    # A page the role may not read says so in words.
    page.goto("/#/compliance")
    expect(page.locator("#page .problem")).to_contain_text("may not read this")
    expect(page.locator("#page .problem")).to_contain_text("HTTP 403")


def test_an_account_manager_reaches_their_own_pay_and_the_contracts_credited_to_them(
    page: Page, demo: DemoLedger
) -> None:
    own = demo.api("account_manager", "/me")["account_manager_id"]
    other = next(m["id"] for m in demo.every("manager", "/account-managers") if m["id"] != own)

    sign_in(page, demo.tokens["account_manager"])
    page.click("nav a[data-page=pay]")

    # Their own record only: their pay, and the contracts credited to them that year, each linking to its relationship.
    expect(page.locator("#team-pay tbody tr")).to_have_count(1)
    expect(page.locator("#team-pay tbody tr")).to_have_attribute("data-manager-id", own)
    expect(page.locator("#page .subtitle")).to_have_text("Your own pay (an account manager reads only their own).")
    year = int(page.locator("#team-pay-year").input_value())
    pay = demo.api("account_manager", f"/account-managers/{own}/pay/{year}")
    expect(page.locator("#team-pay-totals td[data-total=total]")).to_have_text(dollars(pay["total"]))
    assert pay["contracts"], "the demo's account manager should have a contract credited to them this year"
    credited = page.locator("#credited-contracts-table tbody tr")
    expect(credited).to_have_count(len(pay["contracts"]))
    for contract in pay["contracts"]:
        row = page.locator(f"#credited-contracts-table tr[data-contract-id='{contract['contract_id']}']")
        expect(row).to_contain_text(dollars(contract["value"]))
        expect(row.locator(f"a[href='#/relationships/{contract['relationship_id']}']")).to_have_count(1)

    # Someone else's pay stays theirs: the API refuses it, and the page says so.
    refused = httpx.get(
        f"{demo.base_url}/v1/account-managers/{other}/pay/{year}",
        headers={"Authorization": f"Bearer {demo.tokens['account_manager']}"},
        timeout=30,
    )
    assert refused.status_code == 403, refused.text
    page.goto(f"/#/managers/{other}")
    expect(page.locator("#page .problem")).to_contain_text("HTTP 403")


def test_a_bad_token_shows_a_readable_error(page: Page, demo: DemoLedger) -> None:
    sign_in(page, "ldg_this-token-was-never-issued")

    expect(page.locator("#sign-in-error .problem")).to_contain_text("That token is not known to this ledger.")
    expect(page.locator("#sign-in-error .problem")).to_contain_text("HTTP 401")
    expect(page.locator("#top")).to_be_hidden()
    assert page.evaluate("Object.keys(sessionStorage)") == []


def test_the_audit_page_shows_the_events_checked_and_exports(page: Page, demo: DemoLedger) -> None:
    verification = demo.api("auditor", "/audit/verify")

    sign_in(page, demo.tokens["auditor"])
    page.click("nav a[data-page=audit]")

    expect(page.locator("#events-checked")).to_have_text(f"{verification['events_checked']:,}")
    expect(page.locator("#verification")).to_have_attribute("data-ok", str(verification["ok"]).lower())
    expect(page.locator("#first-bad-position")).to_have_text("none")
    seal = verification["last_seal"]
    assert seal is not None, "ledger serve --demo seals the history it seeds"
    expect(page.locator("#last-seal")).to_contain_text(f"position {seal['position']:,}")
    with page.expect_download() as download:
        page.click("#export-csv")
    path = download.value.path()
    assert path.read_text().splitlines()[0].startswith("position,aggregate_type,aggregate_id")


def test_a_capacity_set_shows_in_the_audit_feed_in_words(page: Page, demo: DemoLedger) -> None:
    # The least full account manager is given more room, so nobody's overload changes for the other tests here.
    target = min(demo.api("manager", "/workload"), key=lambda row: (fullness(row), row["name"]))
    capacity = target["capacity"] + 5
    position = set_capacity(demo, target["account_manager_id"], capacity)
    stored = demo.every("auditor", "/audit/events", type="CapacitySet", min_position=position)
    assert stored[-1]["position"] == position

    sign_in(page, demo.tokens["auditor"])
    page.click("nav a[data-page=audit]")
    page.select_option("#feed-type", "CapacitySet")
    page.click("#feed-apply")

    rows = page.locator("#feed tbody tr")
    expect(rows).to_have_count(min(20, len(stored)))
    newest = rows.first
    expect(newest).to_have_attribute("data-position", str(position))
    expect(newest).to_have_attribute("data-type", "CapacitySet")
    expect(newest.locator(".said")).to_have_text(f"Capacity set to {capacity}")
    expect(newest).to_contain_text(target["name"])
