"""The overload view in headless Chromium against `ledger serve --demo`: each account manager's load as a bar against
their own capacity, who is over it said in words, and a manager setting a capacity from the Team section.

Every expected figure is read from the API with the demo's printed tokens.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import DemoLedger

pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed (pip install -e '.[dev]')")

from playwright.sync_api import Page, expect  # imported once the skip above has had its say

from tests.browser.test_accessibility import violations  # axe-core, vendored with that module
from tests.browser.test_manager_admin_forms import sign_in, sign_out

Row = dict[str, Any]


def by_overload(rows: list[Row]) -> list[Row]:
    """The order the view promises: the overloaded first, then by how full, then by name."""
    return sorted(rows, key=lambda r: (not r["overloaded"], -r["weighted_load"] / r["capacity"], r["name"]))


def words(row: Row) -> str:
    """What the view says of a load against its capacity."""
    return "over capacity" if row["overloaded"] else f"at {row['weighted_load']} of {row['capacity']}"


def capacity_row(page: Page, manager_id: str) -> Any:
    return page.locator(f"#capacity tr[data-manager-id='{manager_id}']")


def assert_shows(page: Page, row: Row) -> None:
    """The row says the load against the capacity in words, and its bar is drawn against that capacity."""
    shown = capacity_row(page, row["account_manager_id"])
    expect(shown.locator(".load-words")).to_have_text(words(row))
    expect(shown).to_have_attribute("data-overloaded", "true" if row["overloaded"] else "false")
    expect(shown.locator(".capacity-source")).to_have_text(
        "default capacity" if row["capacity_is_default"] else "capacity set"
    )
    label = f"Weighted load {row['weighted_load']} against a capacity of {row['capacity']}: {words(row)}"
    expect(shown.locator("svg.bar")).to_have_attribute("aria-label", label)
    if row["overloaded"]:
        expect(shown).to_contain_text(f"{row['weighted_load']} of {row['capacity']}")
    # The bar's scale is this manager's capacity (or their load, when over it), never the busiest person's load;
    # the tick marks the capacity.
    scale = max(row["capacity"], row["weighted_load"])
    fill = float(shown.locator("svg.bar rect.fill").get_attribute("width") or "nan")
    tick = float(shown.locator("svg.bar line.tick").get_attribute("x1") or "nan")
    assert abs(fill - 100 * row["weighted_load"] / scale) < 0.01, (row, fill)
    assert abs(tick - 100 * row["capacity"] / scale) < 0.01, (row, tick)


def test_the_team_section_shows_each_load_against_its_own_capacity_the_overloaded_first(
    page: Page, demo: DemoLedger
) -> None:
    rows = demo.api("manager", "/workload")

    sign_in(page, demo.tokens["manager"])

    expect(page.locator("#capacity tbody tr")).to_have_count(len(rows))
    order = page.locator("#capacity tbody tr").evaluate_all("rows => rows.map((row) => row.dataset.managerId)")
    assert order == [row["account_manager_id"] for row in by_overload(rows)]
    for row in rows:
        assert_shows(page, row)
    over = [row for row in by_overload(rows) if row["overloaded"]]
    summary = page.locator("#capacity-summary")
    if over:
        expect(summary).to_contain_text(f"{len(over)} of {len(rows)} account managers")
        for row in over:
            expect(summary).to_contain_text(f"{row['name']} ({row['weighted_load']} of {row['capacity']})")
    else:
        expect(summary).to_have_text(
            f"Nobody is over capacity: all {len(rows)} account managers carry at most what they can."
        )


def test_a_manager_sets_a_capacity_with_the_keyboard_and_the_view_changes_without_a_reload(
    page: Page, demo: DemoLedger
) -> None:
    rows = demo.api("manager", "/workload")
    target = max((row for row in rows if not row["overloaded"]), key=lambda row: (row["weighted_load"], row["name"]))
    manager_id, load = target["account_manager_id"], target["weighted_load"]
    assert load >= 2, "the demo's busiest manager within capacity carries more than one standard relationship"
    record = demo.api("manager", f"/account-managers/{manager_id}")

    sign_in(page, demo.tokens["manager"])
    page.evaluate("window.stillThisPage = true")  # gone if the page were loaded again
    # The row's button opens the form with this manager chosen and the focus on the capacity, showing the version.
    capacity_row(page, manager_id).locator("button.set-capacity").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#set-capacity")).to_be_visible()
    expect(page.locator("#set-capacity-capacity")).to_be_focused()
    expect(page.locator("#set-capacity-current")).to_contain_text(f"version {record['version']}")
    expect(page.locator("#set-capacity-current")).to_contain_text(f"capacity {record['capacity']}")
    expect(page.locator("#set-capacity-capacity")).to_have_value(str(record["capacity"]))

    # A capacity of 0: the API's problem is shown under the capacity, which keeps the focus; nothing is stored.
    page.fill("#set-capacity-capacity", "0")
    page.keyboard.press("Enter")
    expect(page.locator("#set-capacity-capacity-problem")).to_contain_text("greater than or equal to 1")
    expect(page.locator("#set-capacity-capacity")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#set-capacity-capacity")).to_be_focused()
    assert demo.api("manager", f"/account-managers/{manager_id}")["version"] == record["version"]
    found = violations(page, "workload, the capacity form showing a problem")
    assert found == [], "\n".join(found)

    # One below their load: they are over capacity, said in words, and move up among the overloaded.
    page.fill("#set-capacity-capacity", str(load - 1))
    page.keyboard.press("Enter")
    expect(page.locator("#set-capacity .form-outcome")).to_contain_text(
        f"Capacity of {target['name']} set to {load - 1}."
    )
    after = demo.api("manager", f"/account-managers/{manager_id}")
    assert (after["capacity"], after["capacity_is_default"], after["version"]) == (
        load - 1,
        False,
        record["version"] + 1,
    )
    now = demo.api("manager", "/workload")
    row = next(r for r in now if r["account_manager_id"] == manager_id)
    assert row["overloaded"] is True
    assert_shows(page, row)
    expect(page.locator("#capacity-summary")).to_contain_text(f"{target['name']} ({load} of {load - 1})")
    order = page.locator("#capacity tbody tr").evaluate_all("rows => rows.map((row) => row.dataset.managerId)")
    assert order == [r["account_manager_id"] for r in by_overload(now)]
    expect(page.locator("#set-capacity-current")).to_contain_text(f"version {after['version']}")

    # Room to spare: at their load of the new capacity, no longer over.
    page.fill("#set-capacity-capacity", str(load + 10))
    page.keyboard.press("Enter")
    expect(page.locator("#set-capacity .form-outcome")).to_contain_text(f"set to {load + 10}.")
    row = next(r for r in demo.api("manager", "/workload") if r["account_manager_id"] == manager_id)
    assert (row["capacity"], row["overloaded"]) == (load + 10, False)
    assert_shows(page, row)
    expect(capacity_row(page, manager_id)).to_contain_text("10 to spare")
    assert page.evaluate("window.stillThisPage") is True


def test_only_managers_and_admins_see_the_capacity_form(page: Page, demo: DemoLedger) -> None:
    for role in ("account_manager", "compliance", "auditor"):
        sign_in(page, demo.tokens[role])
        expect(page.locator("#workload")).to_have_count(1)
        expect(page.locator("#set-capacity")).to_have_count(0)
        expect(page.locator("#capacity")).to_have_count(0)
        sign_out(page)

    sign_in(page, demo.tokens["admin"])
    expect(page.locator("#team #set-capacity")).to_have_count(1)
    expect(page.locator("#capacity tbody tr")).to_have_count(len(demo.api("admin", "/workload")))


def test_the_overload_view_fits_a_phone(page: Page, demo: DemoLedger) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    rows = demo.api("manager", "/workload")

    sign_in(page, demo.tokens["manager"])
    expect(page.locator("#capacity tbody tr")).to_have_count(len(rows))
    page.click("details:has(#set-capacity) > summary")
    expect(page.locator("#set-capacity")).to_be_visible()

    # Nothing runs off the page, nor off the table: the words about each load are in sight without scrolling.
    for place in ("#page", "#capacity-place .table-wrap"):
        overflow = page.locator(place).evaluate("(element) => element.scrollWidth - element.clientWidth")
        assert overflow <= 0, (place, overflow)
    page.locator("#capacity-panel").scroll_into_view_if_needed()
