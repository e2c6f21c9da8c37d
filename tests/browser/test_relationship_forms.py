"""The relationship page's forms in headless Chromium against a real `ledger serve --demo`.

An account manager records on their own relationship (contacts, products, demos, contracts, gifts,
entertainment, corrections); a manager reassigns, sets tier and cadence, closes and reopens, and decides
correction requests; an auditor and a compliance officer see none of it. Each test submits through the page and
checks what a person sees afterwards against what the API then says.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from uuid import uuid4

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


def open_relationship(page: Page, demo: DemoLedger, role: str, relationship_id: str) -> None:
    page.goto(f"/#/relationships/{relationship_id}")
    expect(page.locator("#client-name")).to_have_text(
        demo.api(role, f"/relationships/{relationship_id}")["client_name"]
    )


def open_form(page: Page, key: str) -> None:
    page.click(f"#rf-{key}-action > summary")
    expect(page.locator(f"#rf-{key}")).to_be_visible()


def submit(page: Page, key: str) -> None:
    page.click(f"#rf-{key} button[type=submit]")


def outcome(page: Page, key: str) -> Any:
    return page.locator(f"#rf-{key} .form-outcome")


def dollars(amount: str) -> str:
    return f"${Decimal(amount):,.2f}"


def unique(text: str) -> str:
    return f"{text} {uuid4().hex[:6]}"


def events(demo: DemoLedger, relationship_id: str) -> list[dict[str, Any]]:
    return demo.every("admin", f"/relationships/{relationship_id}/events")


def post(demo: DemoLedger, role: str, path: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{demo.base_url}/v1{path}", json=body, headers={"Authorization": f"Bearer {demo.tokens[role]}"}, timeout=30
    )


def own_open(demo: DemoLedger, index: int) -> str:
    """One of the demo account manager's open relationships (tests take different ones)."""
    own = [str(r["id"]) for r in demo.every("account_manager", "/relationships") if r["status"] == "open"]
    assert own, "the demo account manager should have an open relationship"
    return own[index % len(own)]


def local_input(page: Page, iso: str, minutes_later: int = 0) -> str:
    """An instant as the `datetime-local` value the browser shows for it (its own time zone)."""
    return str(
        page.evaluate(
            """([iso, later]) => {
                const d = new Date(Date.parse(iso) + later * 60000);
                return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
            }""",
            [iso, minutes_later],
        )
    )


def days_ahead(page: Page, days: int, hour: int) -> str:
    """A `datetime-local` value `days` from today at `hour`:00 in the browser's time zone."""
    return str(
        page.evaluate(
            """([days, hour]) => {
                const d = new Date();
                d.setDate(d.getDate() + days);
                d.setHours(hour, 0, 0, 0);
                return new Date(d.getTime() - d.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
            }""",
            [days, hour],
        )
    )


def instant(page: Page, local: str) -> datetime:
    """The instant a `datetime-local` value means in the browser's time zone."""
    return datetime.fromisoformat(str(page.evaluate("local => new Date(local).toISOString()", local)))


def utc_iso(text: str) -> str:
    """An RFC 3339 time as JavaScript's toISOString() writes it (what `<time datetime>` holds)."""
    when = datetime.fromisoformat(text).astimezone(UTC)
    return when.strftime("%Y-%m-%dT%H:%M:%S.") + f"{when.microsecond // 1000:03d}Z"


# -- an account manager's day ------------------------------------------------------------------------------------


def test_logging_a_contact_shows_it_in_the_timeline_and_as_the_last_contact(page: Page, demo: DemoLedger) -> None:
    relationship_id = own_open(demo, 0)
    before = demo.api("account_manager", f"/relationships/{relationship_id}")
    summary = unique("Called about the renewal")

    sign_in(page, demo.tokens["account_manager"])
    open_relationship(page, demo, "account_manager", relationship_id)
    expect(page.locator("#relationship-manage")).to_have_count(0)  # a manager's decisions are not theirs
    open_form(page, "contact")
    page.select_option("#rf-contact-channel", "call")
    page.fill("#rf-contact-summary", summary)
    page.fill("#rf-contact-next_follow_up_on", "2199-01-15")
    submit(page, "contact")

    expect(outcome(page, "contact")).to_contain_text("Contact logged")
    expect(page.locator("#timeline")).to_contain_text(summary)
    after = demo.api("account_manager", f"/relationships/{relationship_id}")
    assert after["version"] == before["version"] + 1
    assert after["next_follow_up_on"] == "2199-01-15"
    expect(page.locator("#state-last-contact-at time")).to_have_attribute("datetime", utc_iso(after["last_contact_at"]))
    expect(page.locator("#state-next-follow-up-on time")).to_have_attribute("datetime", "2199-01-15")
    # The form is ready for the next contact, and the version it will send is the new one.
    expect(page.locator("#rf-contact-summary")).to_have_value("")
    expect(page.locator("#rf-contact button[type=submit]")).to_be_enabled()


def test_a_double_click_on_submit_stores_one_event(page: Page, demo: DemoLedger) -> None:
    relationship_id = own_open(demo, 1)
    summary = unique("Double-clicked contact")

    sign_in(page, demo.tokens["account_manager"])
    open_relationship(page, demo, "account_manager", relationship_id)
    count = len(events(demo, relationship_id))
    open_form(page, "contact")
    page.fill("#rf-contact-summary", summary)
    page.dblclick("#rf-contact button[type=submit]")

    expect(outcome(page, "contact")).to_contain_text("Contact logged")
    expect(page.locator("#timeline tr", has_text=summary)).to_have_count(1)
    expect(page.locator("#rf-contact button[type=submit]")).to_be_enabled()
    stored = events(demo, relationship_id)
    assert len(stored) == count + 1
    assert [e["data"]["summary"] for e in stored if e["type"] == "ContactLogged"].count(summary) == 1


def test_introducing_a_product_shows_it_in_the_timeline(page: Page, demo: DemoLedger) -> None:
    relationship_id = own_open(demo, 2)
    product = unique("Ledger Insights")

    sign_in(page, demo.tokens["account_manager"])
    open_relationship(page, demo, "account_manager", relationship_id)
    open_form(page, "product")
    page.fill("#rf-product-product", product)
    page.select_option("#rf-product-outcome", "interested")
    submit(page, "product")

    expect(outcome(page, "product")).to_contain_text(f"{product}: interested")
    expect(page.locator("#timeline")).to_contain_text(product)
    now = demo.api("account_manager", f"/relationships/{relationship_id}")
    assert now["products"][product] == "interested"
    expect(page.locator("#state-products")).to_have_text(str(len(now["products"])))


def test_scheduling_a_demo_shows_it_with_its_staff(page: Page, demo: DemoLedger) -> None:
    relationship_id = own_open(demo, 3)
    product = unique("Ledger Pro")
    staffer = unique("Bola Adeyemi")

    sign_in(page, demo.tokens["account_manager"])
    open_relationship(page, demo, "account_manager", relationship_id)
    open_form(page, "demo")
    when = days_ahead(page, 9, 10)
    page.fill("#rf-demo-product", product)
    page.fill("#rf-demo-scheduled_for", when)
    page.fill("#rf-demo-location", "Client's office, 3rd floor")
    page.fill("#rf-demo-staff", staffer)
    page.select_option("#rf-demo-staff-list .person select", "technical")
    page.click("#rf-demo .add-person")
    expect(page.locator("#rf-demo-staff-list .person")).to_have_count(2)
    page.locator("#rf-demo-staff-list .person input").nth(1).fill("Dana Moss")
    page.locator("#rf-demo-staff-list .person select").nth(1).select_option("design")
    submit(page, "demo")

    expect(outcome(page, "demo")).to_contain_text(f"Demo of {product} scheduled")
    row = page.locator("#page tr", has_text=product).first
    expect(row).to_contain_text(f"{staffer} (technical)")
    expect(row).to_contain_text("Dana Moss (design)")
    expect(page.locator("#timeline")).to_contain_text(product)
    scheduled = [
        d
        for d in demo.api("account_manager", f"/relationships/{relationship_id}")["demos"].values()
        if d["product"] == product
    ]
    assert len(scheduled) == 1
    assert scheduled[0]["staff"] == [{"name": staffer, "role": "technical"}, {"name": "Dana Moss", "role": "design"}]
    assert datetime.fromisoformat(scheduled[0]["scheduled_for"]) == instant(page, when)
    # The staff list is emptied for the next demo.
    expect(page.locator("#rf-demo-staff-list .person")).to_have_count(1)


def test_a_staff_member_booked_within_an_hour_elsewhere_is_warned_of_before_submitting(
    page: Page, demo: DemoLedger
) -> None:
    readable = [
        demo.api("account_manager", f"/relationships/{r['id']}")
        for r in demo.every("account_manager", "/relationships")
    ]
    booked = [
        (relationship, demo_id, d)
        for relationship in readable
        for demo_id, d in relationship["demos"].items()
        if d["status"] == "scheduled" and d["staff"]
    ]
    if not booked:  # the random history left none scheduled: book someone first, through the API
        relationship_id = own_open(demo, 4)
        response = post(
            demo,
            "account_manager",
            f"/relationships/{relationship_id}/demos",
            {
                "product": "Ledger Pro",
                "scheduled_for": "2199-06-01T10:00:00+00:00",
                "location": "HQ",
                "staff": [{"name": unique("Ivy Chen"), "role": "support"}],
            },
        )
        assert response.status_code == 201, response.text
        relationship = demo.api("account_manager", f"/relationships/{relationship_id}")
        booked = [(relationship, k, d) for k, d in relationship["demos"].items() if d["status"] == "scheduled"]
    elsewhere, _, taken = booked[0]
    person = taken["staff"][0]["name"]
    here = next((r["id"] for r in readable if r["id"] != elsewhere["id"] and r["status"] == "open"), own_open(demo, 4))

    sign_in(page, demo.tokens["account_manager"])
    open_relationship(page, demo, "account_manager", here)
    open_form(page, "demo")
    page.fill("#rf-demo-product", "Ledger Pro")
    page.fill("#rf-demo-scheduled_for", local_input(page, taken["scheduled_for"], 30))
    page.fill("#rf-demo-staff", person)

    warning = page.locator("#rf-demo-warning")
    expect(warning).to_contain_text(f"{person} is on the {taken['product']} demo for {elsewhere['client_name']}")
    expect(warning).to_contain_text("minutes apart")
    # Long before, nobody is double-booked.
    page.fill("#rf-demo-scheduled_for", local_input(page, "2198-01-01T10:00:00+00:00"))
    expect(warning).to_be_empty()


def test_rescheduling_completing_and_cancelling_demos_chosen_by_product_and_date(page: Page, demo: DemoLedger) -> None:
    relationship_id = own_open(demo, 5)
    products = [unique("Ledger Audit"), unique("Ledger Pay")]
    for product in products:
        response = post(
            demo,
            "account_manager",
            f"/relationships/{relationship_id}/demos",
            {
                "product": product,
                "scheduled_for": "2199-03-02T15:00:00+00:00",
                "location": "Online",
                "staff": [{"name": "Sam Ortiz", "role": "support"}],
            },
        )
        assert response.status_code == 201, response.text
    ids = {
        d["product"]: k for k, d in demo.api("account_manager", f"/relationships/{relationship_id}")["demos"].items()
    }

    sign_in(page, demo.tokens["account_manager"])
    open_relationship(page, demo, "account_manager", relationship_id)

    # Reschedule the first: the choice is by product and date, never an id.
    open_form(page, "reschedule")
    expect(page.locator(f"#rf-reschedule-demo option[value='{ids[products[0]]}']")).to_contain_text(products[0])
    page.select_option("#rf-reschedule-demo", ids[products[0]])
    later = days_ahead(page, 20, 11)
    page.fill("#rf-reschedule-scheduled_for", later)
    submit(page, "reschedule")
    expect(outcome(page, "reschedule")).to_contain_text("Demo moved")
    moved = demo.api("account_manager", f"/relationships/{relationship_id}")["demos"][ids[products[0]]]
    assert datetime.fromisoformat(moved["scheduled_for"]) == instant(page, later)
    expect(page.locator("#page tr", has_text=products[0]).first.locator("time").first).to_have_attribute(
        "datetime", utc_iso(moved["scheduled_for"])
    )

    # Complete it.
    open_form(page, "complete")
    page.select_option("#rf-complete-demo", ids[products[0]])
    page.fill("#rf-complete-outcome", "They want a trial")
    submit(page, "complete")
    expect(outcome(page, "complete")).to_contain_text("Demo completed")
    expect(page.locator("#page tr", has_text=products[0]).first).to_contain_text("completed")

    # Cancel the other; a completed demo is no longer offered.
    open_form(page, "cancel")
    expect(page.locator(f"#rf-cancel-demo option[value='{ids[products[0]]}']")).to_have_count(0)
    page.select_option("#rf-cancel-demo", ids[products[1]])
    page.fill("#rf-cancel-reason", "The client postponed")
    submit(page, "cancel")
    expect(page.locator("#page tr", has_text=products[1]).first).to_contain_text("cancelled")
    demos = demo.api("account_manager", f"/relationships/{relationship_id}")["demos"]
    assert (demos[ids[products[0]]]["status"], demos[ids[products[1]]]["status"]) == ("completed", "cancelled")


def test_proposing_signing_and_terminating_a_contract_chosen_by_title(page: Page, demo: DemoLedger) -> None:
    relationship_id = own_open(demo, 6)
    title = unique("Annual retainer")

    sign_in(page, demo.tokens["account_manager"])
    open_relationship(page, demo, "account_manager", relationship_id)
    open_form(page, "contract")
    page.fill("#rf-contract-title", title)
    page.fill("#rf-contract-value", "48000.00")
    page.fill("#rf-contract-starts_on", "2027-01-01")
    page.fill("#rf-contract-ends_on", "2027-12-31")
    submit(page, "contract")
    expect(outcome(page, "contract")).to_contain_text(f"{title} proposed")
    row = page.locator("#page tr", has_text=title).first
    expect(row).to_contain_text("proposed")
    contract_id = next(
        k
        for k, c in demo.api("account_manager", f"/relationships/{relationship_id}")["contracts"].items()
        if c["title"] == title
    )
    expect(row).to_contain_text(
        dollars(demo.api("account_manager", f"/relationships/{relationship_id}")["contracts"][contract_id]["value"])
    )

    open_form(page, "sign")
    expect(page.locator(f"#rf-sign-contract option[value='{contract_id}']")).to_contain_text(title)
    page.select_option("#rf-sign-contract", contract_id)
    today = page.locator("#rf-sign-signed_on").input_value()
    submit(page, "sign")
    expect(outcome(page, "sign")).to_contain_text("Signed")
    signed = demo.api("account_manager", f"/relationships/{relationship_id}")["contracts"][contract_id]
    assert (signed["status"], signed["signed_on"]) == ("signed", today)
    expect(row).to_contain_text("signed")

    open_form(page, "terminate")
    page.select_option("#rf-terminate-contract", contract_id)
    page.fill("#rf-terminate-reason", "The client was acquired")
    submit(page, "terminate")
    expect(page.locator("#page tr", has_text=title).first).to_contain_text("terminated")
    assert (
        demo.api("account_manager", f"/relationships/{relationship_id}")["contracts"][contract_id]["status"]
        == "terminated"
    )


def test_a_bad_value_shows_the_apis_problem_next_to_its_field(page: Page, demo: DemoLedger) -> None:
    relationship_id = own_open(demo, 7)
    bad = {"title": "Retainer", "value": "48000.555", "starts_on": "2027-01-01", "ends_on": "2027-12-31"}
    refused = post(demo, "account_manager", f"/relationships/{relationship_id}/contracts", bad)
    assert refused.status_code == 422
    message = next(e["message"] for e in refused.json()["errors"] if e["field"] == "value")
    count = len(events(demo, relationship_id))

    sign_in(page, demo.tokens["account_manager"])
    open_relationship(page, demo, "account_manager", relationship_id)
    open_form(page, "contract")
    for name, value in bad.items():
        page.fill(f"#rf-contract-{name}", value)
    submit(page, "contract")

    expect(page.locator("#rf-contract-value-problem")).to_have_text(message)
    expect(page.locator("#rf-contract-value")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#rf-contract-value")).to_be_focused()
    expect(page.locator("#rf-contract .form-problem")).to_contain_text("HTTP 422")
    expect(page.locator("#rf-contract-title")).to_have_value("Retainer")  # nothing typed is lost
    assert len(events(demo, relationship_id)) == count


def test_recording_a_gift_shows_the_headroom_first_and_its_counted_value_after(page: Page, demo: DemoLedger) -> None:
    relationship_id = own_open(demo, 8)
    name, employer = unique("Marguerite Okafor"), unique("Northwind Partners")

    sign_in(page, demo.tokens["account_manager"])
    open_relationship(page, demo, "account_manager", relationship_id)
    given_on = page.evaluate(
        "() => { const d = new Date(); return new Date(d - d.getTimezoneOffset() * 60000).toISOString().slice(0, 10); }"
    )
    gifts_before = demo.api("account_manager", f"/relationships/{relationship_id}")["gifts_given"]
    open_form(page, "gift")
    expect(page.locator("#rf-gift-face_value")).to_be_hidden()  # a general gift has a market value, not a face value
    page.fill("#rf-gift-recipient-name", name)
    page.fill("#rf-gift-recipient-employer", employer)
    page.fill("#rf-gift-description", "Bottle of wine")
    page.fill("#rf-gift-cost", "85.00")
    page.fill("#rf-gift-market_value", "95.50")

    headroom = httpx.get(
        f"{demo.base_url}/v1/compliance/headroom",
        params={"name": name, "employer": employer, "given_on": given_on},
        headers={"Authorization": f"Bearer {demo.tokens['account_manager']}"},
        timeout=30,
    )
    if headroom.status_code == 200:  # the headroom read is offered: it is shown before submitting
        expect(page.locator("#rf-gift-headroom")).to_contain_text(f"Headroom {dollars(headroom.json()['headroom'])}")
        expect(page.locator("#rf-gift-headroom")).to_contain_text(f"{dollars(headroom.json()['limit'])} limit")
    else:
        expect(page.locator("#rf-gift-headroom")).to_be_empty()
    submit(page, "gift")

    expect(outcome(page, "gift")).to_contain_text("Gift recorded")
    gift = [e for e in events(demo, relationship_id) if e["type"] == "GiftGiven"][-1]
    assert gift["data"]["recipient"]["name"] == name
    expect(outcome(page, "gift")).to_contain_text(
        f"it counts {dollars(gift['data']['counted_value'])} toward {name}'s limit"
    )
    expect(page.locator("#timeline")).to_contain_text("Bottle of wine")
    expect(page.locator("#state-gifts-given")).to_have_text(str(gifts_before + 1))

    # A ticket asks for its face value instead.
    page.select_option("#rf-gift-category", "ticket")
    expect(page.locator("#rf-gift-face_value")).to_be_visible()
    expect(page.locator("#rf-gift-market_value")).to_be_hidden()


def test_a_look_alike_recipient_is_offered_as_the_same_person_or_someone_else(page: Page, demo: DemoLedger) -> None:
    year = datetime.now(UTC).year
    known = max(demo.every("compliance", "/compliance/gift-register", year=year), key=lambda e: len(e["name"]))
    relationship_id = own_open(demo, 9)
    typed = known["name"][:-1]  # one letter short of someone already known
    count = len(events(demo, relationship_id))

    sign_in(page, demo.tokens["account_manager"])
    open_relationship(page, demo, "account_manager", relationship_id)
    open_form(page, "gift")
    page.fill("#rf-gift-recipient-name", typed)
    page.fill("#rf-gift-recipient-employer", known["employer"])
    page.fill("#rf-gift-description", "Conference tote bag")
    page.select_option("#rf-gift-category", "promotional")
    page.fill("#rf-gift-cost", "12.00")
    submit(page, "gift")

    offer = page.locator("#rf-gift-candidates")
    expect(offer.locator(f"button[data-recipient-id='{known['recipient_id']}']")).to_contain_text(known["name"])
    expect(page.locator("#rf-gift .form-problem")).to_contain_text("likely_same_recipient")
    assert len(events(demo, relationship_id)) == count
    offer.locator("button.someone-else").click()

    expect(outcome(page, "gift")).to_contain_text(f"toward {typed}'s limit")
    gift = [e for e in events(demo, relationship_id) if e["type"] == "GiftGiven"][-1]
    assert gift["data"]["recipient"]["name"] == typed
    assert gift["data"]["recipient"]["recipient_id"] != known["recipient_id"]
    expect(offer).to_be_empty()

    # Another spelling of them, said to be the same person: the gift goes to the known recipient.
    page.fill("#rf-gift-recipient-name", f"{known['name']}s")
    page.fill("#rf-gift-recipient-employer", known["employer"])
    page.fill("#rf-gift-description", "Conference notebook")
    page.select_option("#rf-gift-category", "promotional")
    page.fill("#rf-gift-cost", "8.00")
    submit(page, "gift")
    offer.locator(f"button[data-recipient-id='{known['recipient_id']}']").click()

    expect(outcome(page, "gift")).to_contain_text(f"toward {known['name']}s's limit")
    gift = [e for e in events(demo, relationship_id) if e["type"] == "GiftGiven"][-1]
    assert (gift["data"]["description"], gift["data"]["recipient"]["recipient_id"]) == (
        "Conference notebook",
        known["recipient_id"],
    )


def test_recording_entertainment_shows_it_in_the_timeline(page: Page, demo: DemoLedger) -> None:
    relationship_id = own_open(demo, 10)
    description = unique("Dinner at Marea")

    sign_in(page, demo.tokens["account_manager"])
    open_relationship(page, demo, "account_manager", relationship_id)
    open_form(page, "entertainment")
    page.fill("#rf-entertainment-description", description)
    page.fill("#rf-entertainment-cost", "240.00")
    page.fill("#rf-entertainment-attendees", "Priya Raman\nTom Becker")
    expect(page.locator("#rf-entertainment-representative_attended")).to_be_checked()
    submit(page, "entertainment")

    expect(outcome(page, "entertainment")).to_contain_text("Entertainment recorded")
    expect(page.locator("#timeline")).to_contain_text(description)
    stored = [e for e in events(demo, relationship_id) if e["type"] == "EntertainmentProvided"][-1]
    assert (stored["data"]["description"], stored["data"]["attendees"]) == (description, ["Priya Raman", "Tom Becker"])


def test_correcting_a_contacts_summary_chosen_from_the_timeline(page: Page, demo: DemoLedger) -> None:
    relationship_id = own_open(demo, 11)
    response = post(
        demo,
        "account_manager",
        f"/relationships/{relationship_id}/contacts",
        {"occurred_at": "2026-11-02T09:30:00+00:00", "channel": "email", "summary": unique("Sent the pricsing sheet")},
    )
    assert response.status_code == 201, response.text
    contact = events(demo, relationship_id)[-1]
    corrected = unique("Sent the pricing sheet")

    sign_in(page, demo.tokens["account_manager"])
    open_relationship(page, demo, "account_manager", relationship_id)
    open_form(page, "correction")
    option = page.locator(f"#rf-correction-event option[value='{contact['version']}']")
    expect(option).to_contain_text(contact["data"]["summary"])
    page.select_option("#rf-correction-event", str(contact["version"]))
    page.select_option("#rf-correction-field", "summary")
    expect(page.locator("#rf-correction-value")).to_have_value(contact["data"]["summary"])  # what it says now
    page.fill("#rf-correction-value", corrected)
    page.fill("#rf-correction-reason", "Typo")
    submit(page, "correction")

    expect(outcome(page, "correction")).to_contain_text("Corrected")
    correction = events(demo, relationship_id)[-1]
    assert correction["type"] == "EntryCorrected"
    assert (correction["data"]["corrects_version"], correction["data"]["changes"]) == (
        contact["version"],
        {"summary": corrected},
    )
    expect(page.locator("#timeline")).to_contain_text(corrected)
    # Chosen again, the entry shows its corrected summary.
    page.select_option("#rf-correction-event", str(contact["version"]))
    page.select_option("#rf-correction-field", "channel")
    page.select_option("#rf-correction-field", "summary")
    expect(page.locator("#rf-correction-value")).to_have_value(corrected)


# -- a manager's decisions ---------------------------------------------------------------------------------------


def test_a_signing_correction_asked_by_an_account_manager_waits_for_a_managers_approval(
    page: Page, demo: DemoLedger
) -> None:
    relationship_id = own_open(demo, 12)
    title = unique("Platform licence")
    proposed = post(
        demo,
        "account_manager",
        f"/relationships/{relationship_id}/contracts",
        {"title": title, "value": "30000.00", "starts_on": "2026-01-01", "ends_on": "2026-12-31"},
    )
    assert proposed.status_code == 201, proposed.text
    contract_id = proposed.json()["contract_id"]
    signed = post(
        demo,
        "account_manager",
        f"/relationships/{relationship_id}/contracts/{contract_id}/signature",
        {"signed_on": "2026-02-01"},
    )
    assert signed.status_code == 200, signed.text
    signing = events(demo, relationship_id)[-1]

    # The account manager asks: nothing changes yet.
    sign_in(page, demo.tokens["account_manager"])
    open_relationship(page, demo, "account_manager", relationship_id)
    open_form(page, "correction")
    page.select_option("#rf-correction-event", str(signing["version"]))
    page.select_option("#rf-correction-field", "value")
    page.fill("#rf-correction-value", "32500.00")
    page.fill("#rf-correction-reason", "The signed copy says 32,500")
    submit(page, "correction")
    expect(outcome(page, "correction")).to_contain_text("Requested")
    assert demo.api("manager", f"/relationships/{relationship_id}")["contracts"][contract_id]["value"] == "30000.00"

    # The manager approves it from the relationship's page: the contract's value changes on screen.
    page.click("#sign-out")
    sign_in(page, demo.tokens["manager"])
    open_relationship(page, demo, "manager", relationship_id)
    open_form(page, "decide")
    request = next(
        r
        for r in demo.every("manager", f"/relationships/{relationship_id}/correction-requests")
        if r["status"] == "open"
    )
    expect(page.locator(f"#rf-decide-request option[value='{request['request_id']}']")).to_contain_text(
        "The signed copy says 32,500"
    )
    page.select_option("#rf-decide-request", request["request_id"])
    page.select_option("#rf-decide-decision", "approve")
    submit(page, "decide")

    value = demo.api("manager", f"/relationships/{relationship_id}")["contracts"][contract_id]["value"]
    assert value == "32500.00"
    expect(page.locator("#page tr", has_text=title).first).to_contain_text(dollars(value))
    expect(page.locator("#rf-decide-action")).to_be_hidden()  # nothing left to decide
    expect(page.locator("#relationship-forms-status")).to_contain_text("Approved")


def test_a_manager_sets_tier_and_cadence_reassigns_closes_and_reopens(page: Page, demo: DemoLedger) -> None:
    me = demo.api("account_manager", "/me")
    relationship = next(
        r
        for r in demo.every("manager", "/relationships")
        if r["status"] == "open" and r["account_manager_id"] != me["account_manager_id"]
    )
    relationship_id = relationship["id"]
    managers = [m for m in demo.every("manager", "/account-managers") if m["active"]]
    successor = next(
        m for m in managers if m["id"] not in (relationship["account_manager_id"], me["account_manager_id"])
    )
    tier = next(t for t in ("key", "major", "standard") if t != relationship["tier"])

    sign_in(page, demo.tokens["manager"])
    open_relationship(page, demo, "manager", relationship_id)

    open_form(page, "tier")
    page.select_option("#rf-tier-tier", tier)
    submit(page, "tier")
    expect(page.locator("#state-tier")).to_have_text(tier)

    open_form(page, "cadence")
    page.fill("#rf-cadence-days", "10")
    submit(page, "cadence")
    expect(page.locator("#state-cadence-days")).to_have_text("every 10 days")

    open_form(page, "assign")
    page.select_option("#rf-assign-account_manager_id", label=successor["name"])
    page.fill("#rf-assign-reason", "Rebalancing the book")
    submit(page, "assign")
    expect(page.locator("#state-account-manager-id")).to_have_text(successor["name"])
    assert demo.api("manager", f"/relationships/{relationship_id}")["account_manager_id"] == successor["id"]

    open_form(page, "close")
    page.fill("#rf-close-reason", "The client moved its business")
    submit(page, "close")
    expect(page.locator("#state-status")).to_have_text("closed")
    expect(page.locator("#rf-contact-action")).to_be_hidden()  # nothing is recorded on a closed relationship
    expect(page.locator("#relationship-closed-note")).to_contain_text("closed")

    open_form(page, "reopen")
    page.fill("#rf-reopen-reason", "They came back")
    submit(page, "reopen")
    expect(page.locator("#state-status")).to_have_text("open")
    expect(page.locator("#rf-contact-action")).to_be_visible()
    now = demo.api("manager", f"/relationships/{relationship_id}")
    assert (now["tier"], now["cadence_days"], now["status"]) == (tier, 10, "open")


def test_the_forms_fit_a_phone_screen(page: Page, demo: DemoLedger) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in(page, demo.tokens["account_manager"])
    open_relationship(page, demo, "account_manager", own_open(demo, 0))
    for key in ("gift", "demo"):
        open_form(page, key)
    overflow = page.evaluate(
        """() => {
            const section = document.getElementById("relationship-forms");
            return [section.scrollWidth, section.clientWidth, section.getBoundingClientRect().right];
        }"""
    )
    assert overflow[0] <= overflow[1]
    assert overflow[2] <= 390


@pytest.mark.parametrize("role", ["auditor", "compliance"])
def test_an_auditor_or_compliance_officer_sees_none_of_the_forms(page: Page, demo: DemoLedger, role: str) -> None:
    relationship_id = own_open(demo, 0)

    sign_in(page, demo.tokens[role])
    open_relationship(page, demo, role, relationship_id)

    expect(page.locator("#timeline")).to_be_visible()
    expect(page.locator("#page form.command-form")).to_have_count(0)
    expect(page.locator("#page details.action")).to_have_count(0)
    expect(page.locator("#relationship-forms")).to_be_hidden()
