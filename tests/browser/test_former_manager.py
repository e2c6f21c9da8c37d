"""A relationship's former account manager in headless Chromium against a real `ledger serve --demo`.

A manager reassigns one of the demo account manager's relationships away from them (with the form); the account
manager then opens it from their pay page, where the contract credited to them links to it, and reads it as they
handed it over: a sentence saying so, the contract, what has happened since to that contract, nothing else since,
and no forms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Any
from uuid import uuid4

import httpx
import pytest

from tests.browser.conftest import DemoLedger
from tests.browser.test_accessibility import violations

pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed (pip install -e '.[dev]')")

from playwright.sync_api import Page, expect  # imported once the skip above has had its say

TODAY = date.today().isoformat()
SENTENCE = "You see it as you handed it over, and what has happened since to the contracts credited to you."


def sign_in(page: Page, token: str) -> None:
    page.goto("/")
    page.fill("#token", token)
    page.click("#sign-in button[type=submit]")
    expect(page.locator("#who-role")).to_be_visible()


def send(demo: DemoLedger, role: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(
        f"{demo.base_url}/v1{path}", json=body, headers={"Authorization": f"Bearer {demo.tokens[role]}"}, timeout=30
    )
    assert response.status_code in (200, 201), response.text
    answer: dict[str, Any] = response.json()
    return answer


@dataclass(frozen=True)
class Credited:
    """One of the demo account manager's relationships, with a contract they have just signed, credited to them."""

    relationship: dict[str, Any]
    contract_id: str
    title: str
    signed_version: int

    @property
    def path(self) -> str:
        return f"/relationships/{self.relationship['id']}"


def credit_a_contract(demo: DemoLedger) -> Credited:
    """The account manager proposes and signs a contract on an open relationship of theirs (each call another)."""
    relationship = next(r for r in demo.every("account_manager", "/relationships") if r["status"] == "open")
    path = f"/relationships/{relationship['id']}"
    title = f"Retainer {uuid4().hex[:6]}"
    terms = {"title": title, "value": "4200.00", "starts_on": TODAY, "ends_on": f"{date.today().year + 1}-12-31"}
    contract_id = send(demo, "account_manager", f"{path}/contracts", terms)["contract_id"]
    signed = send(demo, "account_manager", f"{path}/contracts/{contract_id}/signature", {"signed_on": TODAY})
    return Credited(relationship, contract_id, title, signed["version"])


def successor(demo: DemoLedger) -> dict[str, Any]:
    """An active account manager other than the demo's."""
    me = demo.api("account_manager", "/me")
    active = demo.every("manager", "/account-managers")
    found: dict[str, Any] = next(m for m in active if m["active"] and m["id"] != me["account_manager_id"])
    return found


def open_from_pay_page(page: Page, demo: DemoLedger, credited: Credited) -> None:
    """The former manager signs in, opens their pay page and follows the contract's link (with the keyboard)."""
    sign_in(page, demo.tokens["account_manager"])
    page.goto("/#/pay")
    row = page.locator(f"#credited-contracts-table tr[data-contract-id='{credited.contract_id}']")
    expect(row).to_contain_text(credited.title)
    expect(row).to_contain_text("$4,200.00")
    row.get_by_role("link", name=credited.relationship["client_name"]).focus()
    page.keyboard.press("Enter")
    expect(page.locator("#client-name")).to_have_text(credited.relationship["client_name"])


def test_a_former_manager_opens_a_reassigned_relationship_from_their_pay_page(page: Page, demo: DemoLedger) -> None:
    credited = credit_a_contract(demo)
    taker = successor(demo)

    # A manager reassigns the relationship to another account manager, with the form on its page.
    sign_in(page, demo.tokens["manager"])
    page.goto(f"/#{credited.path}")
    page.click("#rf-assign-action > summary")
    page.select_option("#rf-assign-account_manager_id", label=taker["name"])
    page.fill("#rf-assign-reason", "Rebalancing the book")
    page.click("#rf-assign button[type=submit]")
    expect(page.locator("#state-account-manager-id")).to_have_text(taker["name"])

    # Since then: a contact the former manager must not see, and a change to their contract they must.
    after = f"After the handover {uuid4().hex[:6]}"
    contact = {"occurred_at": f"{TODAY}T09:00:00+00:00", "channel": "call", "summary": after}
    send(demo, "manager", f"{credited.path}/contacts", contact)
    ended = {"on": TODAY, "reason": "Ended"}
    send(demo, "manager", f"{credited.path}/contracts/{credited.contract_id}/termination", ended)

    # The former manager opens it from their pay page.
    page.click("#sign-out")
    open_from_pay_page(page, demo, credited)

    note = page.locator("#former-manager-note")
    expect(note).to_have_text(re.compile(r"^You managed this relationship until \d{1,2} [A-Z][a-z]{2} \d{4}\. "))
    expect(note).to_contain_text(SENTENCE)
    version = credited.signed_version
    expect(page.locator("#asof-label")).to_contain_text(f"Version {version} of {version}")
    contracts = page.locator("#page table:not(#timeline)").filter(has_text=credited.title)
    expect(contracts).to_have_count(1)
    expect(contracts).to_contain_text("signed")
    expect(page.locator("#timeline")).to_contain_text(f"Contract \u2018{credited.title}\u2019 terminated")
    expect(page.locator("#timeline")).not_to_contain_text(after)
    expect(page.locator("#timeline")).not_to_contain_text("Rebalancing the book")
    expect(page.locator("#page form.command-form")).to_have_count(0)
    expect(page.locator("#page details.action")).to_have_count(0)
    expect(page.locator("#relationship-forms")).to_be_hidden()
    assert violations(page, "the former manager's relationship page") == []


def test_a_former_managers_view_fits_a_phone_screen(page: Page, demo: DemoLedger) -> None:
    page.set_viewport_size({"width": 390, "height": 844})
    credited = credit_a_contract(demo)
    send(
        demo,
        "manager",
        f"{credited.path}/assignments",
        {"account_manager_id": successor(demo)["id"], "reason": "Cover"},
    )

    open_from_pay_page(page, demo, credited)

    expect(page.locator("#former-manager-note")).to_contain_text(SENTENCE)
    expect(page.locator("#page form.command-form")).to_have_count(0)
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
