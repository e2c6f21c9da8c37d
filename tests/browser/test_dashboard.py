"""The dashboard in headless Chromium against a real `ledger serve --demo`: what a new user sees after signing in.

Every expected figure is read from the API with the demo's printed tokens, never written into the test.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

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


def test_signing_in_with_a_printed_token_shows_the_workload_of_the_seeded_managers(
    page: Page, demo: DemoLedger
) -> None:
    rows = demo.api("manager", "/workload")
    assert len(rows) > 1

    sign_in(page, demo.tokens["manager"])

    expect(page.locator("#who-role")).to_have_text("manager")
    expect(page.locator("#who-name")).to_have_text(demo.api("manager", "/me")["name"])
    table_rows = page.locator("#workload tbody tr")
    expect(table_rows).to_have_count(len(rows))
    shown = {row.get_attribute("data-manager-id"): row.locator("td").first.inner_text() for row in table_rows.all()}
    assert shown == {row["account_manager_id"]: row["name"] for row in rows}

    # Sorted by weighted load, heaviest first; a click on the header turns it round.
    loads = page.locator("#workload tbody tr td:nth-child(2) .figure")
    assert [int(text) for text in loads.all_inner_texts()] == sorted((r["weighted_load"] for r in rows), reverse=True)
    page.click("#workload th[data-key=weighted_load] button")
    expect(page.locator("#workload th[data-key=weighted_load]")).to_have_attribute("aria-sort", "ascending")
    assert [int(text) for text in loads.all_inner_texts()] == sorted(r["weighted_load"] for r in rows)


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
    expect(page.locator("nav a")).to_have_text(["Workload", "Relationships"])
    page.click("nav a[data-page=relationships]")
    expect(page.locator("#relationships tbody tr")).to_have_count(len(own))
    shown = page.locator("#relationships tbody tr").evaluate_all("rows => rows.map(r => r.dataset.relationshipId)")
    assert sorted(shown) == sorted(r["id"] for r in own)

    # A page the role may not read says so in words.
    page.goto("/#/compliance")
    expect(page.locator("#page .problem")).to_contain_text("may not read this")
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
