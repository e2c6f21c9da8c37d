"""Reading the day in the dashboard: one time format in the viewer's zone (UTC on hover), the timeline newest first
with actors by name, the account manager's landing page as their day, the relationships list's filters, and the
audit feed paged to its end.

Every expected figure is read from the API with the demo's printed tokens, never written into the test.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from tests.browser.conftest import DemoLedger, photographed_tab

pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed (pip install -e '.[dev]')")

from playwright.sync_api import Browser, Page, expect  # imported once the skip above has had its say

ZONE = "Europe/Berlin"
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


@pytest.fixture
def berlin(browser: Browser, demo: DemoLedger, screenshots: Path, request: pytest.FixtureRequest) -> Iterator[Page]:
    """A tab whose viewer sits in Berlin (the browser's own time zone), photographed when the test ends."""
    with photographed_tab(browser, demo.base_url, screenshots / f"{request.node.name}.png", timezone_id=ZONE) as tab:
        yield tab


def sign_in(page: Page, token: str) -> None:
    page.goto("/")
    page.fill("#token", token)
    page.click("#sign-in button[type=submit]")
    expect(page.locator("#who-role")).to_be_visible()


def in_berlin(text: str) -> datetime:
    return datetime.fromisoformat(text).astimezone(ZoneInfo(ZONE))


def local(text: str) -> str:
    """The dashboard's one format, as a viewer in Berlin reads it: "3 Dec 2026, 14:00 +01:00"."""
    when = in_berlin(text)
    offset = int(when.utcoffset().total_seconds() // 60)  # type: ignore[union-attr]
    sign = "+" if offset >= 0 else "-"
    zone = f"{sign}{abs(offset) // 60:02}:{abs(offset) % 60:02}"
    return f"{when.day} {MONTHS[when.month - 1]} {when.year}, {when:%H:%M} {zone}"


def utc(text: str) -> str:
    return datetime.fromisoformat(text).astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def test_a_time_is_shown_in_the_viewers_zone_with_its_offset_and_utc_on_hover(berlin: Page, demo: DemoLedger) -> None:
    relationship = demo.every("manager", "/relationships")[0]
    state = demo.api("manager", f"/relationships/{relationship['id']}")

    sign_in(berlin, demo.tokens["manager"])
    berlin.goto(f"/#/relationships/{relationship['id']}")

    shown = berlin.locator("#state-opened-at time")
    expect(shown).to_have_text(local(state["opened_at"]))
    expect(shown).to_have_attribute("title", utc(state["opened_at"]))
    machine = datetime.fromisoformat(shown.get_attribute("datetime") or "")  # UTC, to the millisecond
    assert abs(machine - datetime.fromisoformat(state["opened_at"])) < timedelta(milliseconds=1)
    assert local(state["opened_at"]).endswith(("+01:00", "+02:00"))  # Berlin, winter or summer


def test_the_timeline_is_newest_first_grouped_by_day_with_actors_by_name(berlin: Page, demo: DemoLedger) -> None:
    feed = demo.every("admin", "/audit/events")
    change = [event for event in feed if event["type"] == "TierChanged"][-1]
    relationship_id, version = change["aggregate_id"], change["version"]
    events = demo.every("manager", f"/relationships/{relationship_id}/events")
    before = demo.api("manager", f"/relationships/{relationship_id}", version=version - 1)
    names = {m["id"]: m["name"] for m in demo.every("manager", "/account-managers")}
    actor = names[change["actor_id"].removeprefix("account_manager:")]
    days = {in_berlin(event["recorded_at"]).date() for event in events}

    sign_in(berlin, demo.tokens["manager"])
    berlin.goto(f"/#/relationships/{relationship_id}")

    rows = berlin.locator("#timeline tbody tr")
    expect(rows).to_have_count(len(events))
    shown = rows.evaluate_all("rows => rows.map(r => Number(r.dataset.version))")
    assert shown == sorted((event["version"] for event in events), reverse=True)
    expect(berlin.locator("#timeline tbody.day")).to_have_count(len(days))
    row = berlin.locator(f"#timeline tr[data-version='{version}']")
    expect(row).to_contain_text(f"Tier changed from {before['tier']} to {change['data']['tier']}")
    expect(row.locator(".actor-name")).to_have_text(actor)
    expect(berlin.locator("#timeline")).not_to_contain_text("account_manager:")
    # The newest thirty show at first; the rest are a click away.
    expect(berlin.locator("#timeline tbody tr:visible")).to_have_count(min(30, len(events)))
    if len(events) > 30:
        berlin.click("#timeline-more")
        expect(berlin.locator("#timeline tbody tr:visible")).to_have_count(len(events))
    # At a phone's width each event reads as a block, with no sideways scrolling.
    berlin.set_viewport_size({"width": 390, "height": 844})
    assert berlin.locator("#timeline").evaluate("table => table.getBoundingClientRect().width") <= 390

    # A scheduled demo's row says what, when (in the viewer's zone) and with whom.
    demo_event = next(event for event in feed if event["type"] == "DemoScheduled")
    berlin.goto(f"/#/relationships/{demo_event['aggregate_id']}")
    scheduled = berlin.locator(f"#timeline tr[data-version='{demo_event['version']}']")
    data = demo_event["data"]
    expect(scheduled).to_contain_text(f"Demo of {data['product']} on {local(data['scheduled_for'])}")
    expect(scheduled).to_contain_text(f"{data['staff'][0]['name']} ({data['staff'][0]['role']})")


def test_an_as_of_error_leaves_no_old_state_on_screen(page: Page, demo: DemoLedger) -> None:
    relationship = demo.every("manager", "/relationships")[0]

    sign_in(page, demo.tokens["manager"])
    page.goto(f"/#/relationships/{relationship['id']}")
    expect(page.locator("#state-tier")).to_be_visible()
    page.fill("#asof-time", "1999-01-01T12:00:00")
    page.click("#asof-time-go")

    expect(page.locator("#asof-banner .problem")).to_contain_text("It did not exist yet")
    expect(page.locator("#state-none")).to_be_visible()
    expect(page.locator("#state")).to_have_count(0)


def test_the_account_managers_landing_page_is_their_day(page: Page, demo: DemoLedger) -> None:
    me = demo.api("account_manager", "/me")
    workload = demo.api("account_manager", f"/account-managers/{me['account_manager_id']}/workload")
    overdue = workload["overdue_relationships"]
    assert overdue, "the demo's account manager should have a relationship overdue for contact"
    now = datetime.now(UTC)
    expected = sorted(overdue, key=lambda r: (datetime.fromisoformat(r["contact_due"]), r["client_name"]))
    days = {r["relationship_id"]: (now - datetime.fromisoformat(r["contact_due"])).days for r in overdue}

    sign_in(page, demo.tokens["account_manager"])

    expect(page.locator("#my-day-title")).to_have_text(f"Your day, {workload['name']}")
    expect(page.locator("#my-overdue-title")).to_have_text(f"Overdue for contact ({len(overdue)})")
    rows = page.locator("#my-overdue tbody tr")
    expect(rows).to_have_count(len(overdue))
    assert rows.evaluate_all("rows => rows.map(r => r.dataset.relationshipId)") == [
        r["relationship_id"] for r in expected
    ]
    shown_days = rows.evaluate_all("rows => rows.map(r => Number(r.dataset.days))")
    assert shown_days == sorted(shown_days, reverse=True)
    most = expected[0]
    words = f"{days[most['relationship_id']]} day" if days[most["relationship_id"]] >= 1 else "less than a day"
    expect(rows.first).to_contain_text(most["client_name"])
    expect(rows.first.locator(".days-overdue")).to_contain_text(words)
    # Their own workload row is still there, under their day.
    expect(page.locator("#workload tbody tr")).to_have_attribute("data-manager-id", me["account_manager_id"])


def test_an_account_managers_day_lists_their_corrections_awaiting_a_decision(page: Page, demo: DemoLedger) -> None:
    me = demo.api("account_manager", "/me")
    relationship = demo.every("account_manager", "/relationships", status="open")[0]
    headers = {"Authorization": f"Bearer {demo.tokens['account_manager']}"}

    def post(path: str, body: dict[str, object]) -> dict[str, object]:
        answer = httpx.post(f"{demo.base_url}/v1{path}", json=body, headers=headers, timeout=30)
        assert answer.status_code in (200, 201, 202), answer.text
        return dict(answer.json())

    base = f"/relationships/{relationship['id']}"
    today = datetime.now(UTC).date()
    proposed = post(
        f"{base}/contracts",
        {
            "title": "Day-page retainer",
            "value": "12000.00",
            "starts_on": str(today),
            "ends_on": str(today + timedelta(days=365)),
        },
    )
    signed = post(f"{base}/contracts/{proposed['contract_id']}/signature", {"signed_on": str(today)})
    # Moving the value of a signing moves pay: from an account manager it is only a request, for a manager to decide.
    requested = post(
        f"{base}/corrections",
        {
            "corrects_version": signed["version"],
            "reason": "The signed value was 12,500",
            "changes": {"value": "12500.00"},
        },
    )
    assert requested["status"] == "requested"
    waiting = demo.every("account_manager", "/correction-requests", status="open")
    assert all(r["requested_by"] == me["account_manager_id"] for r in waiting)

    sign_in(page, demo.tokens["account_manager"])

    rows = page.locator("#my-requests tbody tr")
    expect(rows).to_have_count(len(waiting))
    ours = page.locator(f"#my-requests tbody tr[data-request-id='{requested['request_id']}']")
    expect(ours).to_contain_text(relationship["client_name"])
    expect(ours).to_contain_text("value → 12500.00")
    expect(ours).to_contain_text("The signed value was 12,500")


def test_filters_narrow_the_relationships_list(page: Page, demo: DemoLedger) -> None:
    everyone = demo.every("manager", "/relationships")
    key = demo.every("manager", "/relationships", tier="key")
    assert 0 < len(key) < len(everyone)
    name = key[0]["client_name"]
    named = [r for r in key if name.lower() in r["client_name"].lower()]
    overdue = sum(
        len(demo.api("manager", f"/account-managers/{row['account_manager_id']}/workload")["overdue_relationships"])
        for row in demo.api("manager", "/workload")
    )

    sign_in(page, demo.tokens["manager"])
    page.click("nav a[data-page=relationships]")
    expect(page.locator("#relationships tbody tr")).to_have_count(len(everyone))

    page.select_option("#filter-tier", "key")
    expect(page.locator("#relationships tbody tr")).to_have_count(len(key))
    expect(page.locator("#relationship-count")).to_have_text(f"{len(key)} relationships")

    page.fill("#filter-name", name)
    expect(page.locator("#relationships tbody tr:not([hidden])")).to_have_count(len(named))
    expect(page.locator("#relationship-count")).to_have_text(f"{len(named)} of {len(key)} relationships")

    page.goto("/#/relationships?overdue=yes")
    expect(page.locator("#relationships tbody tr")).to_have_count(overdue)
    expect(page.locator("#filter-overdue")).to_be_checked()


def test_the_audit_feed_pages_to_its_last_page_and_filters(page: Page, demo: DemoLedger) -> None:
    feed = demo.every("auditor", "/audit/events")
    head = feed[-1]["position"]
    changes = [event for event in feed if event["type"] == "TierChanged"]
    relationships = demo.every("auditor", "/relationships")
    counts: dict[str, int] = {}
    for r in relationships:
        counts[r["client_name"]] = counts.get(r["client_name"], 0) + 1
    chosen = next(r for r in relationships if counts[r["client_name"]] == 1)
    of_chosen = [event for event in feed if event["aggregate_id"] == chosen["id"]]

    sign_in(page, demo.tokens["auditor"])
    page.click("nav a[data-page=audit]")

    positions = page.locator("#feed tbody tr")
    expect(positions).to_have_count(20)
    expect(positions.first).to_have_attribute("data-position", str(head))
    expect(page.locator("#feed-newer")).to_be_disabled()
    page.click("#feed-older")
    expect(positions.first).to_have_attribute("data-position", str(head - 20))
    page.click("#feed-newer")
    expect(positions.first).to_have_attribute("data-position", str(head))
    page.click("#feed-oldest")
    expect(positions.last).to_have_attribute("data-position", "1")
    expect(page.locator("#feed-older")).to_be_disabled()
    expect(page.locator("#feed-where")).to_contain_text(f"of {head:,}")

    page.select_option("#feed-type", "TierChanged")
    page.click("#feed-apply")
    expect(positions).to_have_count(min(20, len(changes)))
    assert set(positions.evaluate_all("rows => rows.map(r => r.dataset.type)")) == {"TierChanged"}

    page.select_option("#feed-type", "")
    page.fill("#feed-relationship", chosen["client_name"])
    page.press("#feed-relationship", "Enter")
    expect(positions).to_have_count(min(20, len(of_chosen)))
    assert set(positions.evaluate_all("rows => rows.map(r => r.dataset.aggregateId)")) == {chosen["id"]}

    page.fill("#feed-relationship", "No client of this name")
    page.press("#feed-relationship", "Enter")
    expect(page.locator("#feed-relationship-problem")).to_contain_text("No relationship of that name")
    expect(page.locator("#feed-relationship")).to_be_focused()


def test_the_year_in_the_address_and_the_year_selector_agree(page: Page, demo: DemoLedger) -> None:
    manager = demo.api("manager", "/workload")[0]
    year = datetime.now(UTC).year - 7  # outside the selector's usual three years
    pay = demo.api("manager", f"/account-managers/{manager['account_manager_id']}/pay/{year}")

    sign_in(page, demo.tokens["manager"])
    page.goto(f"/#/managers/{manager['account_manager_id']}?year={year}")

    expect(page.locator("#pay-year")).to_have_value(str(year))
    expect(page.locator("#pay-total")).to_have_text(f"${Decimal(pay['total']):,.2f}")
    page.select_option("#pay-year", str(datetime.now(UTC).year))
    expect(page).to_have_url(re.compile(rf"year={datetime.now(UTC).year}$"))
    expect(page.locator("#pay-year")).to_have_value(str(datetime.now(UTC).year))
