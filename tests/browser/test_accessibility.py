"""Every page of the dashboard, for every role, checked with axe-core: no `serious` or `critical` violations.

axe-core 4.14.1, from the npm registry (`npm pack axe-core@4.14.1`; MPL-2.0, its licence header kept), is vendored
as `tests/browser/vendor/axe.min.js`: nothing is fetched from a CDN. The dashboard's Content-Security-Policy
(`script-src 'self'`) refuses the inline `<script>` that `page.add_script_tag` would add, so the file's text is run
with `page.evaluate` instead (the DevTools protocol is not subject to the page's CSP); the page under test keeps its
own policy. The disclosures (`<details>`) are opened first, so that the forms inside them are checked too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import DemoLedger

pytest.importorskip("playwright.sync_api", reason="Playwright for Python is not installed (pip install -e '.[dev]')")

from playwright.sync_api import Page, expect  # imported once the skip above has had its say

AXE = Path(__file__).parent / "vendor" / "axe.min.js"
ROLES = ["account_manager", "manager", "compliance", "auditor", "admin"]
SERIOUS = {"serious", "critical"}

RUN_AXE = """async () => {
  document.querySelectorAll("details").forEach((details) => { details.open = true; });
  const results = await axe.run(document, { resultTypes: ["violations"] });
  return results.violations.map((v) => ({
    id: v.id,
    impact: v.impact,
    help: v.help,
    nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target.join(" "), summary: n.failureSummary })),
  }));
}"""


def violations(page: Page, where: str) -> list[str]:
    """The serious and critical violations axe finds on the page as it stands, one line each."""
    if not page.evaluate("typeof window.axe !== 'undefined'"):
        page.evaluate(AXE.read_text(encoding="utf-8"))
    found: list[dict[str, Any]] = page.evaluate(RUN_AXE)
    return [
        f"{where}: {v['impact']} {v['id']} ({v['help']}): "
        + "; ".join(f"{n['target']}: {n['summary']}" for n in v["nodes"])
        for v in found
        if v["impact"] in SERIOUS
    ]


def settled(page: Page) -> None:
    """Waits until the page the hash names has drawn (a new `#page`, its data read, nothing busy)."""
    expect(page.locator("#page:not([data-visited])")).to_have_count(1)
    expect(page.locator("#page[aria-busy]")).to_have_count(0)
    expect(page.locator("#page .loading")).to_have_count(0)


def visit(page: Page, hash_path: str) -> None:
    """Goes to a page by its hash, as a click on a link would, and waits for it to be drawn anew."""
    page.evaluate(
        """(target) => {
          if (window.location.hash === target) return;  // already there: nothing to redraw
          document.getElementById("page")?.setAttribute("data-visited", "");
          window.location.hash = target;
        }""",
        hash_path,
    )
    settled(page)


def test_the_sign_in_page_has_no_serious_violations(page: Page, demo: DemoLedger) -> None:
    page.goto("/")
    expect(page.locator("#token")).to_be_visible()

    assert violations(page, "sign-in") == []

    page.fill("#token", "ldg_this-token-was-never-issued")
    page.click("#sign-in button[type=submit]")
    expect(page.locator("#sign-in-error .problem")).to_be_visible()
    assert violations(page, "sign-in with an error") == []


@pytest.mark.parametrize("role", ROLES)
def test_every_page_a_role_sees_has_no_serious_violations(page: Page, demo: DemoLedger, role: str) -> None:
    page.goto("/")
    page.fill("#token", demo.tokens[role])
    page.click("#sign-in button[type=submit]")
    expect(page.locator("#who-role")).to_be_visible()
    settled(page)

    # The pages in the role's navigation (whatever pages the dashboard has by now), then one of each detail page.
    pages = page.locator("nav a").evaluate_all("links => links.map((a) => a.getAttribute('href'))")
    assert pages, "the navigation should list the role's pages"
    me = demo.api(role, "/me")
    managers = [me["account_manager_id"]] if me.get("account_manager_id") else []
    if not managers:
        managers = [row["account_manager_id"] for row in demo.api(role, "/workload")[:1]]
    relationships = demo.api(role, "/relationships", limit=1)["items"]
    details = [f"#/managers/{manager}" for manager in managers[:1]]
    details += [f"#/relationships/{relationship['id']}" for relationship in relationships[:1]]

    found: list[str] = []
    for hash_path in [*pages, *details]:
        visit(page, hash_path)
        found += violations(page, f"{role} {hash_path}")

    assert found == [], "\n".join(found)
