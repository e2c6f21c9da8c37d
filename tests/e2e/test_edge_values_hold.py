"""Values at the very edges of what the API accepts are stored, shown by every view to every reader, and rebuilt
alike; values just beyond them are refused with a 422 and store nothing (issue 12)."""

from __future__ import annotations

import csv
import io
import json
import unicodedata
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from domain.gift_rule import REGULATORY_SCHEDULE, limit_in_force
from domain.values import EARLIEST, EARLIEST_MOMENT, LATEST, LATEST_MOMENT, MONEY_BOUND, RATE_BOUND
from infrastructure.bootstrap import System, build_view_store
from projections.runner import Projections
from tests.e2e.conftest import (
    Headers,
    Json,
    Tokens,
    assert_problem,
    contact_body,
    head_position,
    open_relationship,
    register_manager,
)
from tests.integration.projection_support import TRACKING_NAMES, dump_views, next_tables, tracking_positions

CENT = Decimal("0.01")
LARGEST = MONEY_BOUND - CENT
"""The largest amount a new fact may hold: 9,999,999,999.99."""
DAY = timedelta(days=1)
MICROSECOND = timedelta(microseconds=1)
WIDEST_OFFSET = 23 * 60 + 59
"""Minutes: RFC 3339 offsets run from -23:59 to +23:59."""
TODAY = datetime.now(UTC).date()
"""The latest day a signing, a gift or an entertainment may be dated (the ledger allows a day more, for zones)."""
FIRST_LIMIT = REGULATORY_SCHEDULE[0].effective_from
"""No gift can be given, and the firm can set no limit, before the regulator's first limit (1970-01-01)."""
EXAMPLES = 8
EXAMPLES_ON_POSTGRES = 5
"""Examples per store: each runs some thirty commands and a hundred reads, then rebuilds every view."""
WAIT = 15.0
"""Seconds the views get to catch up with a write (they need a fraction of one)."""

OLD_CEILING_CENTS = 10**17 - 1
"""The largest amount the format allowed before issue 12 (999,999,999,999,999.99), in cents."""
CONTRACTS_PAST_2_63 = 2**63 // OLD_CEILING_CENTS + 1
"""How many such contracts summed in cents pass 2^63 (93): the count signed for one manager in one year below."""


# -- strategies for values at the edges ------------------------------------------------------------------------


def visible(text: str) -> bool:
    """Whether `text` shows something, as the domain's names and texts must."""
    return any(unicodedata.category(character)[0] in "LMNPS" for character in text)


ODD_PIECES = (
    "مرحبا بالعالم",  # Arabic, right to left
    "שלום עולם",  # Hebrew, right to left
    "Zoe\u0308 Ame\u0301lie",  # combining diaeresis and acute
    "क्षत्रिय",  # Devanagari with virama and vowel signs
    "漢字かなカナ한국어",  # CJK, kana, Hangul
    "😀🦄🎉",  # emoji from the astral plane
    "🇫🇷🇯🇵",  # regional indicators
    "𝔘𝔫𝔦𝔠𝔬𝔡𝔢 𠜎𠜱",  # noqa: RUF001 (mathematical letters and CJK extension B, astral too)
    "ﷺ Ω ∑ ₿",  # a ligature, Greek, a symbol, a currency sign
)


def filled(size: int, start: int) -> str:
    """Exactly `size` code points of the odd pieces, starting with piece `start`, with no space at either end."""
    pieces = ODD_PIECES[start:] + ODD_PIECES[:start]
    text = " ".join(pieces * (1 + size // 8))[:size]
    return text[:-1] + "Z" if text[-1].isspace() else text


LINE = st.characters(categories=("L", "M", "N", "P", "S", "Zs"))
"""Characters a one-line name may hold: letters, marks, numbers, punctuation, symbols and spaces, astral included."""
LINES = st.one_of(LINE, st.sampled_from("\n\t"))


def edge_texts(size: int, alphabet: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """Texts of up to `size` characters showing something, often of exactly `size` odd ones."""
    return st.one_of(
        st.builds(filled, st.just(size), st.integers(0, len(ODD_PIECES) - 1)),
        st.text(alphabet=alphabet, min_size=1, max_size=size).filter(visible),
    )


names = edge_texts(200, LINE)
texts = edge_texts(2000, LINES)


def days_between(first: date, last: date) -> st.SearchStrategy[date]:
    """Days from `first` to `last`, often one of them or the day next to it."""
    return st.one_of(st.sampled_from([first, first + DAY, last - DAY, last]), st.dates(first, last))


days = days_between(EARLIEST, LATEST)
past_days = days_between(EARLIEST, TODAY)
"""Days a signing or an entertainment may be dated: nothing is dated after today."""
gift_days = days_between(FIRST_LIMIT, TODAY)
limit_days = days_between(FIRST_LIMIT, LATEST)
years = st.one_of(st.sampled_from([EARLIEST.year, LATEST.year]), st.integers(EARLIEST.year, LATEST.year))
amounts = st.one_of(st.sampled_from([CENT, LARGEST]), st.decimals(min_value=CENT, max_value=LARGEST, places=2)).map(
    lambda amount: f"{amount:.2f}"
)


def rates_up_to(bound: Decimal) -> st.SearchStrategy[str]:
    """Rates from 0 to `bound` with up to six places, often at either end, as decimal strings."""
    return st.one_of(
        st.sampled_from([Decimal(0), Decimal("0.000001"), bound - Decimal("0.000001"), bound]),
        st.decimals(min_value=0, max_value=bound, places=6),
    ).map(lambda rate: format(rate, "f"))


fractions = rates_up_to(Decimal(1))
"""Commission and accelerator rates: fractions of signed value."""
rates = rates_up_to(RATE_BOUND)
"""Other rates, such as the bonus threshold: up to 10."""
offsets = st.one_of(
    st.sampled_from([-WIDEST_OFFSET, 0, WIDEST_OFFSET]), st.integers(-WIDEST_OFFSET, WIDEST_OFFSET)
).map(lambda minutes: timezone(timedelta(minutes=minutes)))
instants = st.one_of(
    st.sampled_from([EARLIEST_MOMENT, EARLIEST_MOMENT + MICROSECOND, LATEST_MOMENT - MICROSECOND, LATEST_MOMENT]),
    st.datetimes(
        min_value=EARLIEST_MOMENT.replace(tzinfo=None),
        max_value=LATEST_MOMENT.replace(tzinfo=None),
        timezones=st.just(UTC),
    ),
)
moments = st.builds(lambda instant, zone: instant.astimezone(zone), instants, offsets)
"""Instants inside the bound, written with any offset: the local time may fall in 1899 or 2200."""


def rfc3339(moment: datetime) -> str:
    return moment.isoformat()


@st.composite
def follow_ups(draw: st.DrawFn, contact: datetime) -> date | None:
    """A follow-up on or after the contact's own (local) day and inside the bound, or none if none fits."""
    first = max(contact.date(), EARLIEST)
    if first > LATEST or draw(st.booleans()):
        return None
    return draw(st.one_of(st.just(LATEST), st.just(first), st.dates(first, LATEST)))


@st.composite
def periods(draw: st.DrawFn) -> tuple[date, date]:
    """A contract's start and a later end."""
    one, other = draw(days), draw(days)
    if one == other:
        one, other = (one - DAY, one) if one == LATEST else (one, one + DAY)
    return min(one, other), max(one, other)


@dataclass(frozen=True)
class Invalid:
    """A request with one value just outside what the API accepts, and the field the 422 must name."""

    method: str
    path: str
    body: Json
    field: str


@dataclass(frozen=True)
class Book:
    """Everything one example records: the values of every command of API.md, each at or near an edge."""

    manager_names: tuple[str, str]
    pay_year: int
    quota: str
    plan: dict[str, str]
    client_name: str
    client_kind: str
    industry: str
    tiers: tuple[str, str]
    cadence: int
    reasons: tuple[str, ...]
    contact_at: datetime
    contact_summary: str
    follow_up: date | None
    product: str
    introduced_at: datetime
    demo_times: tuple[datetime, datetime, datetime]
    location: str
    staff: tuple[str, ...]
    demo_outcome: str
    contract_title: str
    contract_value: str
    period: tuple[date, date]
    signed_on: date
    terminated_on: date
    recipients: tuple[str, str]
    gift_description: str
    counted_gift_on: date
    free_gift_on: date
    free_gift_category: str
    free_gift_cost: str
    free_gift_market_value: str
    entertainment_on: date
    entertainment_cost: str
    attendees: tuple[str, ...]
    corrected_contact_at: datetime
    corrected_value: str
    limit_from: date
    limit_amount: str
    limit_year: tuple[str, int | None]
    invalid: str
    invalid_offset: timezone
    exporter: int


INVALID_KINDS = (
    "contact_before",
    "contact_after",
    "offset_24",
    "follow_up_after",
    "reschedule_after",
    "value_over",
    "starts_before",
    "quota_over",
    "quota_year_after",
    "rate_over",
    "rate_places",
    "cadence_0",
    "cadence_366",
    "name_201",
    "summary_2001",
    "summary_zero_width",
    "gift_after",
    "limit_before",
    "amount_wide_digits",
)


@st.composite
def books(draw: st.DrawFn) -> Book:
    contact_at = draw(moments)
    signed_on = draw(past_days)
    limit_from = draw(limit_days)
    regulatory = limit_in_force(REGULATORY_SCHEDULE, limit_from)
    limit_kind = draw(st.sampled_from(["calendar", "fiscal", "rolling_12_months"]))
    return Book(
        manager_names=(draw(names), draw(names)),
        pay_year=draw(years),
        quota=draw(st.one_of(st.just("0.00"), amounts)),
        plan={
            "base_salary": draw(amounts),
            "commission_rate": draw(fractions),
            "accelerator_rate": draw(fractions),
            "bonus_threshold": draw(rates),
            "bonus_amount": draw(amounts),
        },
        client_name=draw(names),
        client_kind=draw(st.sampled_from(["individual", "corporate"])),
        industry=draw(st.sampled_from(["advertising", "public_relations", "financial_services", "technology"])),
        tiers=draw(st.permutations(["key", "major", "standard"]).map(lambda tiers: (tiers[0], tiers[1]))),
        cadence=draw(st.one_of(st.sampled_from([1, 365]), st.integers(1, 365))),
        reasons=tuple(draw(st.lists(texts, min_size=9, max_size=9))),
        contact_at=contact_at,
        contact_summary=draw(texts),
        follow_up=draw(follow_ups(contact_at)),
        product=draw(names),
        introduced_at=draw(moments),
        demo_times=(draw(moments), draw(moments), draw(moments)),
        location=draw(texts),
        staff=tuple(draw(st.lists(names, min_size=1, max_size=3))),
        demo_outcome=draw(texts),
        contract_title=draw(names),
        contract_value=draw(amounts),
        period=draw(periods()),
        signed_on=signed_on,
        terminated_on=max(signed_on, draw(days)),
        recipients=(draw(names), draw(names)),
        gift_description=draw(texts),
        counted_gift_on=draw(gift_days),
        free_gift_on=draw(gift_days),
        free_gift_category=draw(st.sampled_from(["personal", "promotional", "de_minimis", "retail_customer"])),
        free_gift_cost=draw(amounts),
        free_gift_market_value=draw(amounts),
        entertainment_on=draw(past_days),
        entertainment_cost=draw(amounts),
        attendees=tuple(draw(st.lists(names, min_size=1, max_size=3))),
        corrected_contact_at=draw(moments),
        corrected_value=draw(amounts),
        limit_from=limit_from,
        # Never above the regulator's limit, which the firm may only lower; never below 1.00, so the counted gifts
        # below (one cent each, to one-off recipients) always fit.
        limit_amount=draw(
            st.one_of(
                st.sampled_from([Decimal(1), regulatory]), st.decimals(min_value=1, max_value=regulatory, places=2)
            ).map(lambda amount: f"{amount:.2f}")
        ),
        limit_year=(limit_kind, draw(st.sampled_from([1, 12])) if limit_kind == "fiscal" else None),
        invalid=draw(st.sampled_from(INVALID_KINDS)),
        invalid_offset=draw(offsets),
        exporter=draw(st.integers(0, 2)),
    )


# -- driving the ledger over HTTP ------------------------------------------------------------------------------


class Desk:
    """One example's client, tokens and the positions its writes returned."""

    def __init__(self, client: TestClient, system: System, tokens: Tokens) -> None:
        self.client = client
        self.system = system
        self.tokens = tokens
        self.last_position = 0

    def command(self, method: str, path: str, body: Json, headers: Headers) -> Json:
        """Sends a command that must be accepted; returns its body."""
        response: httpx.Response = self.client.request(method, path, json=body, headers=headers)
        assert response.is_success, f"{method} {path} {str(body)[:300]}: {response.status_code} {response.text[:500]}"
        assert response.headers["X-Correlation-ID"]
        answer: Json = response.json()
        self.last_position = max(self.last_position, int(answer["position"]))
        return answer

    def give(self, path: str, gift: Json, headers: Headers) -> Json:
        """Gives a gift that must be accepted: to someone new, even if they resemble a recipient already known."""
        response: httpx.Response = self.client.post(path, json=gift, headers=headers)
        if response.status_code == 409 and response.json()["code"] == "likely_same_recipient":
            look_alikes = [candidate["recipient_id"] for candidate in response.json()["candidates"]]
            gift = {**gift, "recipient": {**gift["recipient"], "distinct_from": look_alikes[:50]}}
        return self.command("POST", path, gift, headers)

    def read(self, path: str, headers: Headers, **params: Any) -> httpx.Response:
        """A read that must answer 200, waiting for the views to reach this example's last write."""
        response: httpx.Response = self.client.get(
            path, params={"min_position": self.last_position, **params}, headers=headers
        )
        assert response.status_code == 200, f"GET {path} {params!r}: {response.status_code} {response.text[:500]}"
        return response


def record_book(desk: Desk, book: Book) -> dict[str, str]:
    """Runs every command of API.md with the book's values; returns the ids it created."""
    tokens = desk.tokens
    manager, compliance = tokens.manager, tokens.compliance

    # Two account managers; the first gets a quota and a plan for one year.
    first, second = (
        desk.command(
            "POST", "/v1/account-managers", {"name": name, "email": f"{uuid.uuid4().hex}@example.com"}, manager
        )["id"]
        for name in book.manager_names
    )
    own = tokens.account_manager(first)
    desk.command("PUT", f"/v1/account-managers/{first}/quotas/{book.pay_year}", {"amount": book.quota}, manager)
    desk.command("PUT", f"/v1/account-managers/{first}/compensation-plans/{book.pay_year}", book.plan, manager)

    # The first account manager opens the relationship; it is reassigned away and back.
    opened = {
        "client_name": book.client_name,
        "client_kind": book.client_kind,
        "industry": book.industry,
        "tier": book.tiers[0],
        "account_manager_id": first,
    }
    relationship_id = desk.command("POST", "/v1/relationships", opened, own)["id"]
    base = f"/v1/relationships/{relationship_id}"
    reason = iter(book.reasons)
    for to in (second, first):
        desk.command("POST", f"{base}/assignments", {"account_manager_id": to, "reason": next(reason)}, manager)
    desk.command("PUT", f"{base}/tier", {"tier": book.tiers[1]}, own)
    desk.command("PUT", f"{base}/cadence", {"days": book.cadence}, own)

    # A contact (version 7 of the relationship) and a product introduction.
    contact = {
        "occurred_at": rfc3339(book.contact_at),
        "channel": "visit",
        "summary": book.contact_summary,
        "next_follow_up_on": book.follow_up.isoformat() if book.follow_up else None,
    }
    contact_version = desk.command("POST", f"{base}/contacts", contact, own)["version"]
    introduction = {"product": book.product, "occurred_at": rfc3339(book.introduced_at), "outcome": "interested"}
    desk.command("POST", f"{base}/product-introductions", introduction, own)

    # Two demos: one rescheduled and completed, one cancelled.
    staff = [
        {"name": name, "role": role} for name, role in zip(book.staff, ("technical", "design", "other"), strict=False)
    ]
    demo = {"product": book.product, "location": book.location, "staff": staff}
    completed = desk.command("POST", f"{base}/demos", {**demo, "scheduled_for": rfc3339(book.demo_times[0])}, own)
    at = f"{base}/demos/{completed['demo_id']}"
    desk.command("POST", f"{at}/reschedule", {"scheduled_for": rfc3339(book.demo_times[1])}, own)
    desk.command("POST", f"{at}/completion", {"outcome": book.demo_outcome}, own)
    cancelled = desk.command("POST", f"{base}/demos", {**demo, "scheduled_for": rfc3339(book.demo_times[2])}, own)
    desk.command("POST", f"{base}/demos/{cancelled['demo_id']}/cancellation", {"reason": next(reason)}, own)

    # A contract proposed and signed (terminated once its value is corrected, below).
    contract = {
        "title": book.contract_title,
        "value": book.contract_value,
        "starts_on": book.period[0].isoformat(),
        "ends_on": book.period[1].isoformat(),
    }
    contract_id = desk.command("POST", f"{base}/contracts", contract, own)["contract_id"]
    signed = desk.command(
        "POST", f"{base}/contracts/{contract_id}/signature", {"signed_on": book.signed_on.isoformat()}, own
    )

    # A counted gift of one cent and an uncounted one at the edge, each to a recipient no other example uses.
    tag = uuid.uuid4().hex[:8]
    counted = {
        "recipient": {"name": book.recipients[0], "employer": f"{book.recipients[1][:190]} {tag}"},
        "description": book.gift_description,
        "given_on": book.counted_gift_on.isoformat(),
        "category": "general",
        "cost": "0.01",
        "market_value": "0.01",
    }
    counted_recipient = desk.give(f"{base}/gifts", counted, own)["recipient_id"]
    free = {
        "recipient": {"name": book.recipients[1], "employer": f"{book.recipients[0][:190]} {tag}"},
        "description": book.gift_description,
        "given_on": book.free_gift_on.isoformat(),
        "category": book.free_gift_category,
        "cost": book.free_gift_cost,
        "market_value": book.free_gift_market_value,
    }
    free_recipient = desk.give(f"{base}/gifts", free, own)["recipient_id"]
    entertainment = {
        "occurred_on": book.entertainment_on.isoformat(),
        "description": book.gift_description,
        "cost": book.entertainment_cost,
        "attendees": list(book.attendees),
        "representative_attended": True,
    }
    desk.command("POST", f"{base}/entertainment", entertainment, own)

    # Corrections of the contact's time and of the signed value; the contract ends; the relationship is closed
    # and reopened.
    contact_changes = {"occurred_at": rfc3339(book.corrected_contact_at), "next_follow_up_on": None}
    desk.command(
        "POST",
        f"{base}/corrections",
        {"corrects_version": contact_version, "reason": next(reason), "changes": contact_changes},
        manager,
    )
    desk.command(
        "POST",
        f"{base}/corrections",
        {"corrects_version": signed["version"], "reason": next(reason), "changes": {"value": book.corrected_value}},
        manager,
    )
    termination = {"on": book.terminated_on.isoformat(), "reason": next(reason)}
    desk.command("POST", f"{base}/contracts/{contract_id}/termination", termination, own)
    desk.command("POST", f"{base}/closure", {"reason": next(reason)}, own)
    desk.command("POST", f"{base}/reopening", {"reason": next(reason)}, own)

    # The firm's gift policy changes at an edge; the second account manager leaves.
    limit = {"effective_from": book.limit_from.isoformat(), "amount": book.limit_amount, "reason": next(reason)}
    desk.command("POST", "/v1/compliance/gift-policy/limits", limit, compliance)
    kind, start_month = book.limit_year
    desk.command("PUT", "/v1/compliance/gift-policy/limit-year", {"kind": kind, "start_month": start_month}, compliance)
    desk.command("POST", f"/v1/account-managers/{second}/deactivation", {"reason": book.reasons[0]}, manager)
    return {
        "account_manager": first,
        "relationship": relationship_id,
        "demo": completed["demo_id"],
        "counted_recipient": counted_recipient,
        "free_recipient": free_recipient,
    }


def invalid_request(kind: str, ids: dict[str, str], zone: timezone) -> Invalid:
    """The request of `kind`, with one value just outside the bound (written with offset `zone` if a time)."""
    base = f"/v1/relationships/{ids['relationship']}"
    manager_base = f"/v1/account-managers/{ids['account_manager']}"
    before = rfc3339((EARLIEST_MOMENT - MICROSECOND).astimezone(zone))
    after = rfc3339((LATEST_MOMENT + MICROSECOND).astimezone(zone))
    plan = {"base_salary": "1.00", "commission_rate": "0.05", "accelerator_rate": "0", "bonus_threshold": "1"}
    contract = {"title": "Edge", "value": "1.00", "starts_on": "2026-01-01", "ends_on": "2026-12-31"}
    requests = {
        "contact_before": Invalid("POST", f"{base}/contacts", contact_body(occurred_at=before), "occurred_at"),
        "contact_after": Invalid("POST", f"{base}/contacts", contact_body(occurred_at=after), "occurred_at"),
        "offset_24": Invalid(
            "POST", f"{base}/contacts", contact_body(occurred_at="2026-05-04T09:30:00+24:00"), "occurred_at"
        ),
        "follow_up_after": Invalid(
            "POST", f"{base}/contacts", contact_body(next_follow_up_on="2200-01-01"), "next_follow_up_on"
        ),
        "reschedule_after": Invalid(
            "POST", f"{base}/demos/{ids['demo']}/reschedule", {"scheduled_for": after}, "scheduled_for"
        ),
        "value_over": Invalid("POST", f"{base}/contracts", {**contract, "value": f"{MONEY_BOUND:.2f}"}, "value"),
        "starts_before": Invalid("POST", f"{base}/contracts", {**contract, "starts_on": "1899-12-31"}, "starts_on"),
        "quota_over": Invalid("PUT", f"{manager_base}/quotas/2026", {"amount": f"{MONEY_BOUND:.2f}"}, "amount"),
        "quota_year_after": Invalid("PUT", f"{manager_base}/quotas/2200", {"amount": "1.00"}, "year"),
        "rate_over": Invalid(
            "PUT",
            f"{manager_base}/compensation-plans/2026",
            {**plan, "bonus_threshold": "10.000001", "bonus_amount": "1.00"},
            "bonus_threshold",
        ),
        "rate_places": Invalid(
            "PUT",
            f"{manager_base}/compensation-plans/2026",
            {**plan, "accelerator_rate": "0.0000001", "bonus_amount": "1.00"},
            "accelerator_rate",
        ),
        "cadence_0": Invalid("PUT", f"{base}/cadence", {"days": 0}, "days"),
        "cadence_366": Invalid("PUT", f"{base}/cadence", {"days": 366}, "days"),
        "name_201": Invalid(
            "POST",
            "/v1/relationships",
            {
                "client_name": filled(201, 0),
                "client_kind": "corporate",
                "industry": "other",
                "tier": "key",
                "account_manager_id": ids["account_manager"],
            },
            "client_name",
        ),
        "summary_2001": Invalid("POST", f"{base}/contacts", contact_body(summary=filled(2001, 3)), "summary"),
        "summary_zero_width": Invalid("POST", f"{base}/contacts", contact_body(summary="\u200b"), "summary"),
        "gift_after": Invalid(
            "POST",
            f"{base}/gifts",
            {
                "recipient": {"name": "Jane Roe", "employer": "Acme"},
                "description": "Hamper",
                "given_on": "2200-01-01",
                "category": "general",
                "cost": "1.00",
            },
            "given_on",
        ),
        "limit_before": Invalid(
            "POST",
            "/v1/compliance/gift-policy/limits",
            {"effective_from": "1899-12-31", "amount": "1.00"},
            "effective_from",
        ),
        "amount_wide_digits": Invalid("PUT", f"{manager_base}/quotas/2026", {"amount": "１００.00"}, "amount"),  # noqa: RUF001
    }
    return requests[kind]


def assert_refused(desk: Desk, invalid: Invalid, headers: Headers) -> None:
    """The request is a 422 naming its field, and the log does not grow."""
    before = head_position(desk.system)
    response = desk.client.request(invalid.method, invalid.path, json=invalid.body, headers=headers)
    body = assert_problem(response, 422, "validation_error")
    fields = [error["field"] for error in body["errors"]]
    assert any(field.split(".")[-1] == invalid.field for field in fields), (invalid, body)
    assert response.headers["X-Correlation-ID"]
    assert head_position(desk.system) == before


# -- reading everything back -----------------------------------------------------------------------------------


def assert_every_read_answers(desk: Desk, book: Book, ids: dict[str, str]) -> None:
    """Every read route answers 200 to every role that may read it, and /health is ok."""
    tokens = desk.tokens
    first, relationship_id = ids["account_manager"], ids["relationship"]
    own = tokens.account_manager(first)
    everyone = (own, tokens.manager, tokens.compliance, tokens.auditor, tokens.admin)
    pay_years = sorted({book.pay_year, book.signed_on.year})
    gift_years = {
        ids["counted_recipient"]: book.counted_gift_on.year,
        ids["free_recipient"]: book.free_gift_on.year,
    }
    late = rfc3339(LATEST_MOMENT.astimezone(timezone(timedelta(minutes=-WIDEST_OFFSET))))
    base = f"/v1/relationships/{relationship_id}"

    for headers in everyone:
        rows = desk.read("/v1/workload", headers).json()
        assert first in [row["account_manager_id"] for row in rows]
        for year in pay_years:
            desk.read("/v1/workload", headers, year=year)
            desk.read(f"/v1/account-managers/{first}/pay/{year}", headers)
            desk.read(f"/v1/account-managers/{first}/workload", headers, year=year)
        desk.read("/v1/account-managers", headers)
        desk.read(f"/v1/account-managers/{first}", headers)
        desk.read(f"/v1/account-managers/{first}/workload", headers)
        desk.read("/v1/relationships", headers, account_manager_id=first)
        now = desk.read(base, headers).json()
        assert desk.read(base, headers, version=1).json()["version"] == 1
        assert desk.read(base, headers, as_of=late).json() == now
        events = desk.read(f"{base}/events", headers).json()["items"]
        assert [event["version"] for event in events] == list(range(1, now["version"] + 1))

    for headers in (tokens.compliance, tokens.auditor, tokens.admin):
        for recipient_id, year in gift_years.items():
            desk.read("/v1/compliance/gift-register", headers, year=year)
            desk.read("/v1/compliance/exceptions", headers, year=year)
            desk.read(f"/v1/compliance/recipients/{recipient_id}", headers, year=year)
        desk.read("/v1/audit/events", headers, after=max(0, desk.last_position - 40))
    # The whole log is verified and exported by one of the readers (each of them, once all examples are done).
    assert_the_log_verifies_and_exports(desk, ((tokens.compliance, tokens.auditor, tokens.admin)[book.exporter],))

    health = desk.client.get("/health")
    assert health.status_code == 200, health.text
    assert health.json()["status"] == "ok"


def assert_the_log_verifies_and_exports(desk: Desk, readers: tuple[Headers, ...]) -> None:
    """Each reader verifies the whole log and exports it, as JSON lines and as CSV, up to the last event."""
    for headers in readers:
        assert desk.read("/v1/audit/verify", headers).json()["ok"] is True
        lines = desk.read("/v1/audit/export", headers, format="jsonl").text.splitlines()
        assert json.loads(lines[-1])["position"] == head_position(desk.system)
        rows = list(csv.DictReader(io.StringIO(desk.read("/v1/audit/export", headers, format="csv").text)))
        assert len(rows) == len(lines)


def assert_the_book_reads_back(desk: Desk, book: Book, ids: dict[str, str]) -> None:
    """The values read back are the values sent (texts as the domain strips them)."""
    manager = desk.tokens.manager
    first, relationship_id = ids["account_manager"], ids["relationship"]
    relationship = desk.read(f"/v1/relationships/{relationship_id}", manager).json()
    assert relationship["client_name"] == book.client_name.strip()
    assert relationship["tier"] == book.tiers[1]
    assert relationship["cadence_days"] == book.cadence
    assert relationship["status"] == "open"
    assert desk.read(f"/v1/account-managers/{first}", manager).json()["name"] == book.manager_names[0].strip()
    pay = desk.read(f"/v1/account-managers/{first}/pay/{book.pay_year}", manager).json()
    assert Decimal(pay["quota"]) == Decimal(book.quota)
    assert Decimal(pay["base_salary"]) == Decimal(book.plan["base_salary"])
    # The contract is credited to the first manager, who holds the relationship when it is signed.
    signed = desk.read(f"/v1/account-managers/{first}/pay/{book.signed_on.year}", manager).json()
    assert Decimal(signed["signed_value"]) == Decimal(book.corrected_value)
    row = desk.read(f"/v1/account-managers/{first}/workload", manager, year=book.pay_year).json()
    assert Decimal(row["quota"]) == Decimal(book.quota)


def assert_views_equal_a_rebuild(system: System) -> None:
    """A rebuild of every view from the first event, swapped in, holds exactly the rows the live views hold."""
    live = dump_views(system.view)
    head = head_position(system)
    assert tracking_positions(system.view) == dict.fromkeys(TRACKING_NAMES, head)
    rebuilt = Projections(system.ledger, build_view_store(system.settings))
    try:
        assert rebuilt.rebuild_from_scratch() == head
    finally:
        rebuilt.view.close()
    assert dump_views(system.view) == live
    assert next_tables(system.view) == []


# -- the tests -------------------------------------------------------------------------------------------------


def test_every_command_with_values_at_the_edges_is_stored_read_by_every_role_and_rebuilt_alike(
    system: System, client: TestClient, tokens: Tokens
) -> None:
    desk = Desk(client, system, tokens)

    @settings(
        max_examples=EXAMPLES_ON_POSTGRES if system.settings.database_url.startswith("postgres") else EXAMPLES,
        deadline=None,
        # No shrinking: an example takes seconds, and a failing one's values are already in its message.
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=[HealthCheck.too_slow],
        database=None,
    )
    @given(book=books())
    def example(book: Book) -> None:
        # Every command, with the example's edge values, is accepted.
        ids = record_book(desk, book)

        # One value just beyond an edge is refused, naming its field, and stores nothing.
        headers = tokens.compliance if book.invalid == "limit_before" else tokens.manager
        assert_refused(desk, invalid_request(book.invalid, ids, book.invalid_offset), headers)

        # The views catch up; every reader reads everything; what was sent reads back.
        assert system.projections.wait(desk.last_position, WAIT)
        assert_every_read_answers(desk, book, ids)
        assert_the_book_reads_back(desk, book, ids)

        # A rebuild from scratch finds the views exactly as they are.
        assert_views_equal_a_rebuild(system)

    example()
    assert_the_log_verifies_and_exports(desk, (tokens.compliance, tokens.auditor, tokens.admin))


def test_the_extreme_values_of_the_original_report_are_refused_naming_their_field(
    system: System, client: TestClient, tokens: Tokens
) -> None:
    desk = Desk(client, system, tokens)
    manager = tokens.manager
    account_manager_id = register_manager(client, manager)
    base = f"/v1/relationships/{open_relationship(client, manager, account_manager_id)['id']}"
    demo = {"product": "Ledger", "location": "Room 1", "staff": [{"name": "Priya Shah", "role": "technical"}]}
    contract = {"title": "Edge", "starts_on": "2026-01-01", "ends_on": "2026-12-31"}
    reported = [
        Invalid("POST", f"{base}/contacts", contact_body(occurred_at="9999-12-31T23:59:59-23:59"), "occurred_at"),
        Invalid("POST", f"{base}/contacts", contact_body(occurred_at="0001-01-01T00:00:00+23:59"), "occurred_at"),
        Invalid("POST", f"{base}/demos", {**demo, "scheduled_for": "9999-12-31T23:59:59-23:59"}, "scheduled_for"),
        Invalid("POST", f"{base}/demos", {**demo, "scheduled_for": "0001-01-01T00:00:00+23:59"}, "scheduled_for"),
        Invalid("POST", f"{base}/contacts", contact_body(next_follow_up_on="9999-12-31"), "next_follow_up_on"),
        Invalid("POST", f"{base}/contracts", {**contract, "value": "999999999999999.99"}, "value"),
    ]
    for invalid in reported:
        assert_refused(desk, invalid, manager)

    # A gift at the largest amount is refused by the gift rule: a 409 with its figures, not an outage.
    gift = {
        "recipient": {"name": "Jane Roe", "employer": "Acme Bank"},
        "description": "A yacht",
        "given_on": TODAY.isoformat(),
        "category": "general",
        "cost": f"{LARGEST}",
    }
    refused = assert_problem(client.post(f"{base}/gifts", json=gift, headers=manager), 409, "gift_limit_exceeded")
    assert Decimal(refused["limit"]) == limit_in_force(REGULATORY_SCHEDULE, TODAY)

    # The ledger is well and the workload answers.
    health = client.get("/health")
    assert health.status_code == 200, health.text
    assert health.json()["status"] == "ok"
    rows = desk.read("/v1/workload", manager).json()
    assert [row["account_manager_id"] for row in rows] == [account_manager_id]


def test_enough_maximal_contracts_to_pass_2_63_cents_under_the_old_bound_sum_exactly_in_pay_and_workload(
    system: System, client: TestClient, tokens: Tokens
) -> None:
    desk = Desk(client, system, tokens)
    manager = tokens.manager
    year = EARLIEST.year  # signings may not be dated after today
    account_manager_id = register_manager(client, manager)
    plan = {
        "base_salary": f"{LARGEST}",
        "commission_rate": "1",
        "accelerator_rate": "1",
        "bonus_threshold": "10",
        "bonus_amount": f"{LARGEST}",
    }
    desk.command("PUT", f"/v1/account-managers/{account_manager_id}/quotas/{year}", {"amount": f"{LARGEST}"}, manager)
    desk.command("PUT", f"/v1/account-managers/{account_manager_id}/compensation-plans/{year}", plan, manager)
    base = f"/v1/relationships/{open_relationship(client, manager, account_manager_id)['id']}"

    # 93 contracts of 9,999,999,999.99 each, signed in one year: one on each edge day, the rest between.
    contract = {"title": "Everything", "value": f"{LARGEST}", "starts_on": "1900-01-01", "ends_on": "2199-12-31"}
    for number in range(CONTRACTS_PAST_2_63):
        contract_id = desk.command("POST", f"{base}/contracts", contract, manager)["contract_id"]
        signed_on = date(year, 1, 1) + timedelta(days=number * 364 // (CONTRACTS_PAST_2_63 - 1))
        desk.command("POST", f"{base}/contracts/{contract_id}/signature", {"signed_on": signed_on.isoformat()}, manager)

    signed = LARGEST * CONTRACTS_PAST_2_63
    commission = (signed + (signed - LARGEST)).quantize(CENT, rounding=ROUND_HALF_UP)
    bonus = LARGEST if signed >= LARGEST * 10 else Decimal(0)
    pay = desk.read(f"/v1/account-managers/{account_manager_id}/pay/{year}", manager).json()
    assert {
        key: Decimal(pay[key]) for key in ("signed_value", "quota", "commission", "bonus", "base_salary", "total")
    } == {
        "signed_value": signed,
        "quota": LARGEST,
        "commission": commission,
        "bonus": bonus,
        "base_salary": LARGEST,
        "total": LARGEST + commission + bonus,
    }
    for path in ("/v1/workload", f"/v1/account-managers/{account_manager_id}/workload"):
        found = desk.read(path, manager, year=year).json()
        row = found[0] if isinstance(found, list) else found
        assert Decimal(row["signed_value"]) == signed
        assert Decimal(row["quota"]) == LARGEST
    assert client.get("/health").json()["status"] == "ok"
    assert_views_equal_a_rebuild(system)
