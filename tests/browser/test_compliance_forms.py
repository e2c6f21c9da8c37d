"""The compliance officer's forms on the compliance page, in headless Chromium against `ledger serve --demo`:
schedule a gift limit, set the limit year, merge two recipients; each answer redraws the page, and a refused
value shows the API's problem next to its field. Managers, auditors and account managers see none of the forms.

Every expected figure and message is read from the API with the demo's printed tokens, never written into the test.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
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
    expect(page.locator("#who-role")).to_be_visible()


def open_compliance(page: Page, demo: DemoLedger, role: str = "compliance") -> None:
    sign_in(page, demo.tokens[role])
    page.goto("/#/compliance")
    expect(page.locator("#page")).not_to_have_attribute("aria-busy", "true")


def dollars(amount: str) -> str:
    return f"${Decimal(amount):,.2f}"


def refusal(demo: DemoLedger, method: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """The API's problem for a command it refuses (nothing is stored), to compare with what the page shows."""
    response = httpx.request(
        method,
        f"{demo.base_url}/v1{path}",
        json=body,
        headers={"Authorization": f"Bearer {demo.tokens['compliance']}"},
        timeout=30,
    )
    assert response.status_code >= 400, response.text
    problem: dict[str, Any] = response.json()
    return problem


def free_future_day(demo: DemoLedger) -> str:
    """A day after today on which the schedule has no change yet."""
    taken = {change["effective_from"] for change in demo.api("compliance", "/compliance/gift-policy")["limit_schedule"]}
    day = date.today() + timedelta(days=40)
    while day.isoformat() in taken:
        day += timedelta(days=1)
    return day.isoformat()


def test_scheduling_a_gift_limit_adds_it_to_the_schedule_on_screen(page: Page, demo: DemoLedger) -> None:
    before = demo.api("compliance", "/compliance/gift-policy")
    day = free_future_day(demo)

    open_compliance(page, demo)
    page.click("#policy-forms summary:has-text('Schedule a gift limit')")
    page.fill("#schedule-limit-effective_from", day)
    page.fill("#schedule-limit-amount", "250.00")
    page.press("#schedule-limit-amount", "Enter")  # Enter submits

    row = page.locator(f"#limit-schedule tr[data-effective-from='{day}']")
    expect(row).to_contain_text("$250.00")
    expect(row).to_contain_text("scheduled")
    expect(page.locator("#schedule-limit .form-outcome")).to_contain_text("is scheduled")
    after = demo.api("compliance", "/compliance/gift-policy")
    assert {"effective_from": day, "amount": "250.00"} in after["limit_schedule"]
    assert after["version"] == before["version"] + 1
    expect(page.locator("#limit-schedule tbody tr")).to_have_count(len(after["limit_schedule"]))


def test_a_past_limit_without_a_reason_shows_the_apis_problem_next_to_the_reason(page: Page, demo: DemoLedger) -> None:
    before = demo.api("compliance", "/compliance/gift-policy")
    past = (date.today() - timedelta(days=10)).isoformat()
    problem = refusal(demo, "POST", "/compliance/gift-policy/limits", {"effective_from": past, "amount": "200.00"})
    (reason_error,) = [e for e in problem["errors"] if e["field"] == "reason"]
    too_high = refusal(
        demo, "POST", "/compliance/gift-policy/limits", {"effective_from": free_future_day(demo), "amount": "5000.00"}
    )

    open_compliance(page, demo)
    page.click("#policy-forms summary:has-text('Schedule a gift limit')")
    page.fill("#schedule-limit-effective_from", past)
    page.fill("#schedule-limit-amount", "200.00")
    page.click("#schedule-limit button[type=submit]")

    expect(page.locator("#schedule-limit-reason-problem")).to_have_text(reason_error["message"])
    expect(page.locator("#schedule-limit-reason")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#schedule-limit-reason")).to_be_focused()
    assert demo.api("compliance", "/compliance/gift-policy")["version"] == before["version"]

    # Above FINRA's limit is a rule, not a field: its problem shows above the button.
    page.fill("#schedule-limit-effective_from", free_future_day(demo))
    page.fill("#schedule-limit-amount", "5000.00")
    page.click("#schedule-limit button[type=submit]")
    expect(page.locator("#schedule-limit .form-problem")).to_contain_text(too_high["detail"])
    expect(page.locator("#schedule-limit-reason-problem")).to_have_text("")
    assert demo.api("compliance", "/compliance/gift-policy")["version"] == before["version"]


def test_setting_the_limit_year_redraws_the_policy_and_the_register(page: Page, demo: DemoLedger) -> None:
    year = datetime.now(UTC).year
    no_month = refusal(demo, "PUT", "/compliance/gift-policy/limit-year", {"kind": "fiscal", "start_month": None})

    open_compliance(page, demo)
    page.click("#policy-forms summary:has-text('Set the limit year')")
    expect(page.locator("#limit-year-policy-start_month")).to_be_disabled()
    page.select_option("#limit-year-policy-kind", "fiscal")
    expect(page.locator("#limit-year-policy-start_month")).to_be_enabled()
    page.click("#limit-year-policy button[type=submit]")
    expect(page.locator("#limit-year-policy .form-problem")).to_contain_text(no_month["detail"])

    page.select_option("#limit-year-policy-start_month", label="April")
    page.click("#limit-year-policy button[type=submit]")

    expect(page.locator("#limit-year")).to_contain_text("fiscal year from 1 April")
    expect(page.locator("#limit-year-policy .form-outcome")).to_contain_text("fiscal year from 1 April")
    policy = demo.api("compliance", "/compliance/gift-policy")
    assert policy["limit_year"] == {"kind": "fiscal", "start_month": 4}
    register = demo.every("compliance", "/compliance/gift-register", year=year)
    expect(page.locator("#register tbody tr")).to_have_count(len(register))
    if register:
        first = register[0]
        expect(page.locator(f"#register tr[data-recipient-id='{first['recipient_id']}']")).to_contain_text(
            f"{dollars(first['counted_total'])} of {dollars(first['limit'])}"
        )

    # And back to calendar years, as the rest of this module expects.
    page.select_option("#limit-year-policy-kind", "calendar")
    expect(page.locator("#limit-year-policy-start_month")).to_be_disabled()
    page.click("#limit-year-policy button[type=submit]")
    expect(page.locator("#limit-year")).to_contain_text("calendar year")
    assert demo.api("compliance", "/compliance/gift-policy")["limit_year"] == {"kind": "calendar", "start_month": None}


def test_merging_two_recipients_chosen_by_name_redraws_the_register(page: Page, demo: DemoLedger) -> None:
    year = datetime.now(UTC).year
    register = demo.every("compliance", "/compliance/gift-register", year=year)
    assert len(register) >= 2, "the demo ledger should hold several recipients this year"
    survivor, absorbed = sorted(register, key=lambda e: Decimal(e["counted_total"]))[:2]

    open_compliance(page, demo)
    page.click("#merge-forms summary:has-text('Merge two recipients')")
    # Nothing chosen: said next to the field, and nothing is sent.
    page.click("#merge-recipients button[type=submit]")
    expect(page.locator("#merge-recipients-survivor-problem")).to_contain_text("Choose the recipient who stays")

    page.select_option("#merge-recipients-survivor", label=f"{survivor['name']} ({survivor['employer']})")
    page.select_option("#merge-recipients-absorbed_id", label=f"{absorbed['name']} ({absorbed['employer']})")
    page.fill("#merge-recipients-reason", "Same person: one e-mail address, two spellings")
    together = Decimal(survivor["counted_total"]) + Decimal(absorbed["counted_total"])
    expect(page.locator("#merge-preview")).to_contain_text(dollars(str(together)))
    expect(page.locator("#merge-recipients")).to_have_attribute("data-survivor-version", re.compile(r"^\d+$"))
    page.click("#merge-recipients button[type=submit]")

    expect(page.locator(f"#register tr[data-recipient-id='{absorbed['recipient_id']}']")).to_have_count(0)
    expect(page.locator("#merge-recipients .form-outcome")).to_contain_text("is merged into")
    after = demo.every("compliance", "/compliance/gift-register", year=year)
    (merged,) = [e for e in after if e["recipient_id"] == survivor["recipient_id"]]
    assert absorbed["recipient_id"] in merged["absorbed"]
    row = page.locator(f"#register tr[data-recipient-id='{survivor['recipient_id']}']")
    expect(row).to_contain_text(f"{dollars(merged['counted_total'])} of {dollars(merged['limit'])}")
    expect(row).to_contain_text(f"Also recorded as {absorbed['name']}")
    expect(page.locator("#register tbody tr")).to_have_count(len(after))
    # The absorbed recipient is no longer offered for another merge.
    assert absorbed["recipient_id"] not in page.locator("#merge-recipients-absorbed_id option").evaluate_all(
        "options => options.map(o => o.value)"
    )


def test_merging_a_recipient_with_themself_shows_the_apis_refusal(page: Page, demo: DemoLedger) -> None:
    year = datetime.now(UTC).year
    someone = demo.every("compliance", "/compliance/gift-register", year=year)[0]
    problem = refusal(
        demo,
        "POST",
        f"/compliance/recipients/{someone['recipient_id']}/merges",
        {"absorbed_id": someone["recipient_id"], "reason": "Same person"},
    )

    open_compliance(page, demo)
    page.click("#merge-forms summary:has-text('Merge two recipients')")
    label = f"{someone['name']} ({someone['employer']})"
    page.select_option("#merge-recipients-survivor", label=label)
    page.select_option("#merge-recipients-absorbed_id", label=label)
    page.fill("#merge-recipients-reason", "Same person")
    expect(page.locator("#merge-recipients")).to_have_attribute("data-survivor-version", re.compile(r"^\d+$"))
    page.click("#merge-recipients button[type=submit]")

    expect(page.locator("#merge-recipients .form-problem")).to_contain_text(problem["detail"])
    expect(page.locator(f"#register tr[data-recipient-id='{someone['recipient_id']}']")).to_have_count(1)


@pytest.mark.parametrize("role", ["manager", "auditor", "account_manager"])
def test_roles_that_may_not_change_the_policy_see_none_of_the_forms(page: Page, demo: DemoLedger, role: str) -> None:
    open_compliance(page, demo, role)

    if role == "auditor":
        expect(page.locator("#register")).to_be_visible()
        expect(page.locator("#limit-schedule")).to_be_visible()
    else:
        expect(page.locator("#page .problem")).to_contain_text("HTTP 403")
    expect(page.locator("form.command-form")).to_have_count(0)
    expect(page.locator("#policy-forms, #merge-forms")).to_have_count(0)


def test_an_admin_has_the_forms_and_they_fit_a_phone(page: Page, demo: DemoLedger) -> None:
    open_compliance(page, demo, "admin")
    expect(page.locator("form.command-form")).to_have_count(3)

    page.set_viewport_size({"width": 390, "height": 844})
    page.evaluate("document.querySelectorAll('details.action').forEach((d) => { d.open = true; })")
    for form in page.locator("form.command-form").all():
        box = form.bounding_box()
        assert box is not None
        assert box["x"] >= 0
        assert box["x"] + box["width"] <= 390
