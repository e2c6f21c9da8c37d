"""The manager's and the admin's forms, and the team pay page, in headless Chromium against `ledger serve --demo`.

Each test submits a form as a person would (people chosen by name, never an id typed) and asserts what the page
shows afterwards; every expected figure is read from the API with the demo's printed tokens.
"""

from __future__ import annotations

import csv
import io
import re
import uuid
from datetime import UTC, datetime
from decimal import Decimal

import httpx
import pytest

from tests.browser.conftest import DemoLedger

pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed (pip install -e '.[dev]')")

from playwright.sync_api import Page, expect  # imported once the skip above has had its say

FIGURES = ("signed_value", "quota", "base_salary", "commission", "bonus", "total")


def sign_in(page: Page, token: str) -> None:
    page.goto("/")
    page.fill("#token", token)
    page.click("#sign-in button[type=submit]")
    expect(page.locator("#who-role")).to_be_visible()


def sign_out(page: Page) -> None:
    page.click("#sign-out")
    expect(page.locator("#token")).to_be_visible()


def dollars(amount: str | Decimal) -> str:
    return f"${Decimal(amount):,.2f}"


def open_action(page: Page, form_id: str) -> None:
    """Opens the disclosure that holds the form (a `<details>`), as a click on its summary does."""
    page.click(f"details:has(#{form_id}) > summary")
    expect(page.locator(f"#{form_id}")).to_be_visible()


def suffix() -> str:
    return uuid.uuid4().hex[:6]


def choice(manager: dict[str, str]) -> str:
    """How the forms label an account manager in their choices."""
    return f"{manager['name']} ({manager['email']})"


def test_a_manager_opens_a_relationship_and_sees_it_listed(page: Page, demo: DemoLedger) -> None:
    rows = demo.api("manager", "/workload")
    target = min(rows, key=lambda row: row["name"])
    manager = demo.api("manager", f"/account-managers/{target['account_manager_id']}")
    client = f"Harbour Analytics {suffix()}"

    sign_in(page, demo.tokens["manager"])
    expect(page.locator("#workload tbody tr")).to_have_count(len(rows))
    open_action(page, "open-relationship")

    # A relationship opened with no client name: the API's problem is shown under that field, and focus goes there.
    page.select_option("#open-relationship-account_manager_id", label=choice(manager))
    page.click("#open-relationship button[type=submit]")
    expect(page.locator("#open-relationship-client_name-problem")).not_to_be_empty()
    expect(page.locator("#open-relationship-client_name")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#open-relationship-client_name")).to_be_focused()

    page.fill("#open-relationship-client_name", client)
    page.select_option("#open-relationship-client_kind", "corporate")
    page.select_option("#open-relationship-industry", "financial_services")
    page.select_option("#open-relationship-tier", "key")
    page.select_option("#open-relationship-account_manager_id", label=choice(manager))
    page.press("#open-relationship-client_name", "Enter")

    outcome = page.locator("#open-relationship .form-outcome a")
    expect(outcome).to_have_text(client)
    opened = [r for r in demo.every("manager", "/relationships") if r["client_name"] == client]
    assert len(opened) == 1
    assert opened[0]["account_manager_id"] == manager["id"]
    assert opened[0]["tier"] == "key"

    # The workload table above was read again: the manager's open relationships went up by one.
    after = next(r for r in demo.api("manager", "/workload") if r["account_manager_id"] == manager["id"])
    assert after["active_relationships"] == target["active_relationships"] + 1
    row = page.locator(f"#workload tr[data-manager-id='{manager['id']}']")
    expect(row.locator("td:nth-child(3) .figure")).to_contain_text(str(after["active_relationships"]))

    page.click("nav a[data-page=relationships]")
    listed = page.locator(f"#relationships tr[data-relationship-id='{opened[0]['id']}']")
    expect(listed).to_contain_text(client)
    expect(listed).to_contain_text(manager["name"])


def test_setting_a_quota_and_a_pay_plan_shows_the_new_numbers_on_the_managers_page(
    page: Page, demo: DemoLedger
) -> None:
    year = datetime.now(UTC).year
    rows = demo.api("manager", "/workload")
    target = max(rows, key=lambda row: Decimal(row["signed_value"]))
    manager_id = target["account_manager_id"]
    before = demo.api("manager", f"/account-managers/{manager_id}/pay/{year}")
    quota = str(Decimal(before["quota"]) + Decimal("12345.67"))

    sign_in(page, demo.tokens["manager"])
    page.click(f"#workload a[href='#/managers/{manager_id}']")
    expect(page.locator("#manager-name")).to_have_text(target["name"])
    open_action(page, "set-quota")

    # A bad amount: the API's problem appears under the amount, which gets the focus.
    page.fill("#set-quota-amount", "12,50")
    page.click("#set-quota button[type=submit]")
    expect(page.locator("#set-quota-amount-problem")).to_contain_text("decimal string")
    expect(page.locator("#set-quota-amount")).to_be_focused()
    assert demo.api("manager", f"/account-managers/{manager_id}/pay/{year}")["quota"] == before["quota"]

    page.fill("#set-quota-amount", quota)
    page.click("#set-quota button[type=submit]")
    expect(page.locator("#set-quota .form-outcome")).to_contain_text(f"Quota for {year} set")
    pay = demo.api("manager", f"/account-managers/{manager_id}/pay/{year}")
    assert Decimal(pay["quota"]) == Decimal(quota)
    expect(page.locator("#pay")).to_contain_text(dollars(pay["quota"]))
    expect(page.locator(f"#plans tr[data-year='{year}']")).to_contain_text(dollars(quota))

    # The pay plan: a new base salary and bonus, and the total the API works out from them is on screen.
    plan = {
        "base_salary": "91000.00",
        "commission_rate": "0.04",
        "accelerator_rate": "0.01",
        "bonus_threshold": "0.5",
        "bonus_amount": "7500.00",
    }
    open_action(page, "set-plan")
    for name, value in plan.items():
        page.fill(f"#set-plan-{name}", value)
    page.click("#set-plan button[type=submit]")
    expect(page.locator("#set-plan .form-outcome")).to_contain_text(f"Pay plan for {year} set")
    pay = demo.api("manager", f"/account-managers/{manager_id}/pay/{year}")
    assert Decimal(pay["base_salary"]) == Decimal("91000")
    expect(page.locator("#pay-total")).to_have_text(dollars(pay["total"]))
    expect(page.locator(f"#plans tr[data-year='{year}']")).to_contain_text("$91,000.00")
    record = demo.api("manager", f"/account-managers/{manager_id}")
    expect(page.locator("#plan-record")).to_contain_text(f"version {record['version']}")


def test_registering_and_deactivating_an_account_manager(page: Page, demo: DemoLedger) -> None:
    name = f"Priya Natarajan {suffix()}"
    email = f"priya.{suffix()}@example.com"

    sign_in(page, demo.tokens["manager"])
    expect(page.locator("#workload tbody tr")).to_have_count(len(demo.api("manager", "/workload")))
    open_action(page, "register-manager")
    page.fill("#register-manager-name", name)
    page.fill("#register-manager-email", email)
    page.press("#register-manager-email", "Enter")

    expect(page.locator("#register-manager .form-outcome")).to_contain_text(f"Registered {name}")
    registered = next(m for m in demo.every("manager", "/account-managers") if m["name"] == name)
    assert registered["active"]
    assert registered["email"] == email
    row = page.locator(f"#workload tr[data-manager-id='{registered['id']}']")
    expect(row).to_contain_text(name)
    expect(page.locator("#workload tbody tr")).to_have_count(len(demo.api("manager", "/workload")))

    open_action(page, "deactivate-manager")
    page.select_option("#deactivate-manager-account_manager_id", label=f"{name} ({email})")
    record = demo.api("manager", f"/account-managers/{registered['id']}")
    expect(page.locator("#deactivate-manager-current")).to_contain_text(f"version {record['version']}")
    page.fill("#deactivate-manager-reason", "Left the firm")
    page.click("#deactivate-manager button[type=submit]")

    expect(page.locator("#deactivate-manager .form-outcome")).to_contain_text(f"Deactivated {name}")
    assert demo.api("manager", f"/account-managers/{registered['id']}")["active"] is False
    expect(row).to_have_count(0)
    expect(page.locator("#workload tbody tr")).to_have_count(len(demo.api("manager", "/workload")))
    # Deactivated, they are no longer offered to open a relationship for.
    expect(page.locator(f"#open-relationship-account_manager_id option[value='{registered['id']}']")).to_have_count(0)


def test_an_admin_adds_a_token_signs_in_with_the_secret_shown_then_revokes_it(page: Page, demo: DemoLedger) -> None:
    name = f"crm-sync-{suffix()}"

    sign_in(page, demo.tokens["admin"])
    page.click("nav a[data-page=admin]")
    expect(page.locator("#tokens tbody tr")).to_have_count(len(demo.every("admin", "/tokens")))
    open_action(page, "add-token")

    # An expiry in the past: the API's problem is shown under the expiry field.
    page.fill("#add-token-name", name)
    page.select_option("#add-token-role", "manager")
    expect(page.locator("#add-token-account_manager_id")).to_have_count(0)  # asked for an account_manager token only
    page.fill("#add-token-expires_at", "2001-01-01T10:00")
    page.click("#add-token button[type=submit]")
    expect(page.locator("#add-token-expires_at-problem")).to_contain_text("future")
    assert not [t for t in demo.every("admin", "/tokens") if t["name"] == name]

    page.fill("#add-token-expires_at", "")
    page.click("#add-token button[type=submit]")
    secret = page.locator("#new-token-secret")
    expect(secret).to_have_value(re.compile(r"^ldg_"))
    expect(page.locator("#new-token-warning")).to_contain_text("only time it is shown")
    token = secret.input_value()
    assert token.startswith("ldg_")
    row = page.locator(f"#tokens tr[data-token-name='{name}']")
    expect(row).to_have_attribute("data-status", "active")
    expect(row).to_contain_text("manager")
    page.click("#copy-token")
    expect(page.locator("#copy-status")).not_to_be_empty()

    # The secret shown works: signing in with it shows the new token's name and role.
    sign_out(page)
    sign_in(page, token)
    expect(page.locator("#who-name")).to_have_text(name)
    expect(page.locator("#who-role")).to_have_text("manager")
    expect(page.locator("nav a[data-page=admin]")).to_have_count(0)
    sign_out(page)

    # Revoked after a confirmation step, it is refused.
    sign_in(page, demo.tokens["admin"])
    page.click("nav a[data-page=admin]")
    page.click(f"button[data-revoke='{name}']")
    expect(page.locator("#tokens")).to_contain_text(f'Revoke "{name}"?')
    assert next(t for t in demo.every("admin", "/tokens") if t["name"] == name)["status"] == "active"
    page.click(f"button[data-confirm='{name}']")
    expect(row).to_have_attribute("data-status", "revoked")
    expect(page.locator("#tokens-status")).to_contain_text(f'Revoked "{name}"')
    refused = httpx.get(f"{demo.base_url}/v1/me", headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert refused.status_code == 401
    sign_out(page)
    page.fill("#token", token)
    page.click("#sign-in button[type=submit]")
    expect(page.locator("#sign-in-error .problem")).to_contain_text(refused.json()["detail"])
    expect(page.locator("#sign-in-error .problem")).to_contain_text("HTTP 401")


def test_an_account_manager_token_is_added_for_a_manager_chosen_by_name(page: Page, demo: DemoLedger) -> None:
    managers = [m for m in demo.every("admin", "/account-managers") if m["active"]]
    chosen = managers[-1]
    name = f"{chosen['email'].split('@')[0]}-{suffix()}"

    sign_in(page, demo.tokens["admin"])
    page.click("nav a[data-page=admin]")
    open_action(page, "add-token")
    page.fill("#add-token-name", name)
    page.select_option("#add-token-role", "account_manager")
    page.click("#add-token button[type=submit]")
    expect(page.locator("#add-token-account_manager_id-problem")).to_contain_text("Choose the account manager")
    page.select_option("#add-token-account_manager_id", label=choice(chosen))
    page.click("#add-token button[type=submit]")

    token = page.locator("#new-token-secret")
    expect(token).to_have_value(re.compile(r"^ldg_"))
    expect(page.locator(f"#tokens tr[data-token-name='{name}']")).to_contain_text(chosen["name"])
    issued = next(t for t in demo.every("admin", "/tokens") if t["name"] == name)
    assert issued["role"] == "account_manager"
    assert issued["account_manager_id"] == chosen["id"]
    me = httpx.get(f"{demo.base_url}/v1/me", headers={"Authorization": f"Bearer {token.input_value()}"}, timeout=30)
    assert me.json()["account_manager_id"] == chosen["id"]


def test_team_pay_totals_are_the_sum_of_the_apis_figures_and_the_csv_has_a_row_per_manager(
    page: Page, demo: DemoLedger
) -> None:
    year = datetime.now(UTC).year
    managers = demo.every("manager", "/account-managers")
    pays = {m["id"]: demo.api("manager", f"/account-managers/{m['id']}/pay/{year}") for m in managers}
    totals = {key: sum((Decimal(p[key]) for p in pays.values()), Decimal(0)) for key in FIGURES}

    sign_in(page, demo.tokens["manager"])
    page.click("nav a[data-page=pay]")
    expect(page.locator("#team-pay tbody tr")).to_have_count(len(managers))
    for key in FIGURES:
        expect(page.locator(f"#team-pay-totals td[data-total={key}]")).to_have_text(dollars(totals[key]))
    expect(page.locator("#team-pay-total")).to_have_attribute("title", dollars(totals["total"]))
    some = managers[0]
    expect(page.locator(f"#team-pay tr[data-manager-id='{some['id']}'] [data-figure=total]")).to_have_text(
        dollars(pays[some["id"]]["total"])
    )

    # Sorted by total, highest first; a click on the header turns it round.
    shown = page.locator("#team-pay tbody [data-figure=total]")
    in_order = sorted((Decimal(p["total"]) for p in pays.values()), reverse=True)
    assert [dollars(t) for t in in_order] == shown.all_inner_texts()
    page.click("#team-pay th[data-key=total] button")
    expect(page.locator("#team-pay th[data-key=total]")).to_have_attribute("aria-sort", "ascending")
    assert [dollars(t) for t in reversed(in_order)] == shown.all_inner_texts()

    with page.expect_download() as download:
        page.click("#pay-csv")
    assert download.value.suggested_filename == f"team-pay-{year}.csv"
    lines = list(csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8"))))
    assert len(lines) == len(managers)
    by_name = {line["account_manager"]: line for line in lines}
    for manager in managers:
        line = by_name[manager["name"]]
        for key in FIGURES:
            assert Decimal(line[key]) == Decimal(pays[manager["id"]][key]), (manager["name"], key)
        assert line["year"] == str(year)

    # Another year: the page and its totals follow the selector.
    last_year = year - 1
    last_total = sum(
        (Decimal(demo.api("manager", f"/account-managers/{m['id']}/pay/{last_year}")["total"]) for m in managers),
        Decimal(0),
    )
    page.select_option("#team-pay-year", str(last_year))
    expect(page.locator("#team-pay-totals td[data-total=total]")).to_have_text(dollars(last_total))
    expect(page.locator("#team-pay-year")).to_have_value(str(last_year))


def test_each_role_sees_only_the_forms_it_may_use(page: Page, demo: DemoLedger) -> None:
    own = demo.api("account_manager", "/me")["account_manager_id"]

    # An account manager: no team forms, no quota or plan forms on their own page, their own pay only, no admin page.
    sign_in(page, demo.tokens["account_manager"])
    expect(page.locator("#workload")).to_have_count(1)
    expect(page.locator("nav a[data-page=pay]")).to_have_count(1)
    expect(page.locator("nav a[data-page=admin]")).to_have_count(0)
    expect(page.locator("#team")).to_have_count(0)
    page.goto(f"/#/managers/{own}")
    expect(page.locator("#pay")).to_be_visible()
    expect(page.locator("#plan-forms")).to_have_count(0)
    expect(page.locator("#set-quota")).to_have_count(0)
    page.goto("/#/admin")
    expect(page.locator("#page .problem")).to_contain_text("HTTP 403")
    expect(page.locator("#add-token")).to_have_count(0)
    sign_out(page)

    # Compliance reads the team's pay but changes nothing here.
    sign_in(page, demo.tokens["compliance"])
    expect(page.locator("#workload tbody tr").first).to_be_visible()
    expect(page.locator("nav a[data-page=pay]")).to_have_count(1)
    expect(page.locator("nav a[data-page=admin]")).to_have_count(0)
    expect(page.locator("#team")).to_have_count(0)
    page.goto(f"/#/managers/{own}")
    expect(page.locator("#pay")).to_be_visible()
    expect(page.locator("#plan-forms")).to_have_count(0)
    sign_out(page)

    # A manager: the team forms and team pay, but no token page.
    sign_in(page, demo.tokens["manager"])
    expect(page.locator("#team #register-manager")).to_have_count(1)
    expect(page.locator("nav a[data-page=pay]")).to_have_count(1)
    expect(page.locator("nav a[data-page=admin]")).to_have_count(0)
    page.goto("/#/admin")
    expect(page.locator("#page .problem")).to_contain_text("may not read this")
    expect(page.locator("#add-token")).to_have_count(0)
    sign_out(page)

    # An admin: everything.
    sign_in(page, demo.tokens["admin"])
    expect(page.locator("#team #register-manager")).to_have_count(1)
    page.click("nav a[data-page=admin]")
    expect(page.locator("#add-token")).to_have_count(1)


def test_the_admin_and_team_pay_pages_fit_a_phone(page: Page, demo: DemoLedger) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, demo.tokens["admin"])
    for route, ready in (("#/admin", "#tokens"), ("#/pay", "#team-pay"), ("#/workload", "#team #register-manager")):
        page.goto(f"/{route}")
        expect(page.locator(ready)).to_have_count(1)
        overflow = page.evaluate(
            "document.getElementById('page').scrollWidth - document.getElementById('page').clientWidth"
        )
        assert overflow <= 0, (route, overflow)


def test_the_token_pages_answers_have_no_serious_accessibility_violations(page: Page, demo: DemoLedger) -> None:
    """What test_accessibility's walk through every page does not reach: a problem shown, a new token's secret, and
    the confirmation step of a revocation (the forms themselves are checked there, their disclosures opened)."""
    from tests.browser.test_accessibility import violations  # axe-core, vendored with that module

    sign_in(page, demo.tokens["admin"])
    page.click("nav a[data-page=admin]")
    open_action(page, "add-token")
    page.fill("#add-token-name", f"axe-{suffix()}")
    page.select_option("#add-token-role", "auditor")
    page.fill("#add-token-expires_at", "2001-01-01T10:00")
    page.click("#add-token button[type=submit]")
    expect(page.locator("#add-token-expires_at-problem")).not_to_be_empty()
    found = violations(page, "admin, a problem shown")
    page.fill("#add-token-expires_at", "")
    page.click("#add-token button[type=submit]")
    expect(page.locator("#new-token-secret")).to_have_value(re.compile(r"^ldg_"))
    page.locator("button[data-revoke]").first.click()
    expect(page.locator("button[data-confirm]")).to_have_count(1)
    found += violations(page, "admin, a new token and a confirmation")
    assert found == [], "\n".join(found)
