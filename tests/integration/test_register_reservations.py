"""The gift register shows what approved pre-clearance requests reserve, on SQLite and PostgreSQL: a reservation
active on the firm's today counts in its person's year (merged people together) and the headroom is net of it; an
expired, released or used one does not. Also the cases view and the one list of exceptions joined to cases."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from decimal import Decimal
from uuid import UUID, uuid4
from zoneinfo import ZoneInfo

import pytest

from domain.application import GiftResult, Ledger
from domain.commands import (
    AssignCase,
    CaseSubject,
    GiveGift,
    MergeRecipients,
    NoteCase,
    OpenCase,
    OpenRelationship,
    RegisterAccountManager,
    ReopenCase,
    ResolveCase,
)
from domain.exception_kinds import ExceptionKind, case_id_for
from domain.values import Audit, CaseOutcome, ReleaseCause, Role
from infrastructure.bootstrap import build_projections
from infrastructure.settings import Settings
from infrastructure.sql import ViewStore
from projections.cases import CasesProjection, CasesReader
from projections.exception_rows import ExceptionContext, ExceptionRow
from projections.exceptions import ExceptionsReader
from projections.gift_register import GiftRegisterProjection, GiftRegisterReader, exception_rows
from projections.runner import Projections
from tests.conftest import audit_as

PLANNED = date(2026, 5, 1)  # the $300 limit is in force
EXPIRES = date(2026, 5, 31)
COMPLIANCE = audit_as(Role.COMPLIANCE, actor_id="carol-compliance")


@pytest.fixture
def projections(ledger: Ledger, database_url: str) -> Iterator[Projections]:
    projections = build_projections(ledger, Settings(database_url=database_url), [GiftRegisterProjection.name])
    yield projections
    projections.view.close()


def open_relationship(ledger: Ledger, manager: Audit) -> UUID:
    email = f"am-{uuid4().hex[:10]}@example.com"
    account_manager_id = ledger.register_account_manager(
        manager, RegisterAccountManager(name="Ann Lee", email=email)
    ).id
    return ledger.open_relationship(
        manager,
        OpenRelationship(
            client_name=f"Client {uuid4().hex[:8]}",
            client_kind="corporate",
            industry="technology",
            tier="major",
            account_manager_id=account_manager_id,
        ),
    ).id


def give(ledger: Ledger, manager: Audit, relationship_id: UUID, name: str, employer: str, cost: str) -> GiftResult:
    return ledger.give_gift(
        manager,
        relationship_id,
        GiveGift(
            recipient={"name": name, "employer": employer},
            description="Dinner",
            given_on=PLANNED,
            category="general",
            cost=cost,
        ),
    )


def reserve(
    ledger: Ledger, recipient_id: UUID, amount: str, *, planned_on: date = PLANNED, expires_on: date = EXPIRES
) -> UUID:
    """Holds `amount` of the person's year as an approval does (stored as the approval stores it)."""
    request_id = uuid4()
    recipient = ledger.gift_recipient(recipient_id)
    recipient.reserve(
        COMPLIANCE,
        reservation_id=request_id,
        request_id=request_id,
        planned_on=planned_on,
        counted_value=Decimal(amount),
        expires_on=expires_on,
        policy=ledger.gift_policy(),
        today=PLANNED,
    )
    ledger.save(recipient)
    return request_id


def test_an_active_reservation_is_shown_and_the_headroom_is_net_of_it(
    ledger: Ledger, projections: Projections, manager: Audit
) -> None:
    relationship_id = open_relationship(ledger, manager)
    employer = f"Acme {uuid4().hex[:6]}"
    gift = give(ledger, manager, relationship_id, "Bob Smith", employer, "100.00")
    request_id = reserve(ledger, gift.recipient_id, "60.00")
    projections.catch_up()
    reader = GiftRegisterReader(projections.view)

    (entry,) = reader.register(2026, PLANNED, recipient_id=str(gift.recipient_id))

    assert (entry.counted_total, entry.reserved, entry.headroom) == (
        Decimal("100.00"),
        Decimal("60.00"),
        Decimal("140.00"),
    )
    (held,) = entry.reservations
    assert (held.request_id, held.planned_on, held.expires_on) == (str(request_id), PLANNED, EXPIRES)
    by_name = reader.headroom("Bob Smith", employer, PLANNED, PLANNED)
    assert (by_name.counted, by_name.reserved, by_name.headroom) == (
        Decimal("100.00"),
        Decimal("60.00"),
        Decimal("140.00"),
    )
    assert reader.headroom_of(str(gift.recipient_id), PLANNED, PLANNED) == by_name
    # The register's headroom is what the domain would still accept: reserving it all fits, a cent more does not.
    assert ledger.gift_recipient(gift.recipient_id).counted_gifts(PLANNED)[-1].reserved


@pytest.mark.parametrize(("today", "counts"), [(EXPIRES, True), (date(2026, 6, 1), False)])
def test_a_reservation_counts_through_its_last_day_and_not_after(
    ledger: Ledger, projections: Projections, manager: Audit, today: date, counts: bool
) -> None:
    relationship_id = open_relationship(ledger, manager)
    employer = f"Acme {uuid4().hex[:6]}"
    gift = give(ledger, manager, relationship_id, "Bob Smith", employer, "100.00")
    reserve(ledger, gift.recipient_id, "60.00")
    projections.catch_up()
    reader = GiftRegisterReader(projections.view)

    (entry,) = reader.register(2026, today, recipient_id=str(gift.recipient_id))
    headroom = reader.headroom("Bob Smith", employer, PLANNED, today)

    expected = Decimal("60.00") if counts else Decimal("0.00")
    assert (entry.reserved, headroom.reserved) == (expected, expected)
    assert entry.headroom == headroom.headroom == Decimal("200.00") - expected


def test_a_released_or_used_reservation_is_not_shown(ledger: Ledger, projections: Projections, manager: Audit) -> None:
    relationship_id = open_relationship(ledger, manager)
    employer = f"Acme {uuid4().hex[:6]}"
    gift = give(ledger, manager, relationship_id, "Bob Smith", employer, "100.00")
    released = reserve(ledger, gift.recipient_id, "60.00")
    used = reserve(ledger, gift.recipient_id, "40.00")
    kept = reserve(ledger, gift.recipient_id, "25.00")
    recipient = ledger.gift_recipient(gift.recipient_id)
    assert recipient.release(COMPLIANCE, reservation_id=released, cause=ReleaseCause.WITHDRAWN)
    recipient.receive_gift(
        COMPLIANCE,
        gift_id=uuid4(),
        relationship_id=relationship_id,
        given_on=PLANNED,
        counted_value=Decimal("40.00"),
        policy=ledger.gift_policy(),
        today=PLANNED,
        preclearance_id=used,
        reservation_id=used,
    )
    ledger.save(recipient)
    projections.catch_up()

    (entry,) = GiftRegisterReader(projections.view).register(2026, PLANNED, recipient_id=str(gift.recipient_id))

    assert [r.request_id for r in entry.reservations] == [str(kept)]
    assert (entry.counted_total, entry.reserved, entry.headroom) == (
        Decimal("140.00"),
        Decimal("25.00"),
        Decimal("135.00"),
    )
    used_gift = next(g for g in entry.gifts if g.preclearance_id is not None)
    assert used_gift.preclearance_id == str(used)


def test_merged_recipients_reservations_count_as_the_survivors(
    ledger: Ledger, projections: Projections, manager: Audit
) -> None:
    relationship_id = open_relationship(ledger, manager)
    employer = f"Acme {uuid4().hex[:6]}"
    survivor = give(ledger, manager, relationship_id, "Robert Smith", employer, "50.00")
    absorbed = give(ledger, manager, relationship_id, "Bobby Smyth", employer, "30.00")
    reserve(ledger, survivor.recipient_id, "20.00")
    reserve(ledger, absorbed.recipient_id, "45.00")
    ledger.merge_recipients(
        COMPLIANCE,
        survivor.recipient_id,
        MergeRecipients(absorbed_id=absorbed.recipient_id, reason="The same person"),
    )
    projections.catch_up()
    reader = GiftRegisterReader(projections.view)

    (entry,) = reader.register(2026, PLANNED, recipient_id=str(absorbed.recipient_id))

    assert entry.recipient_id == str(survivor.recipient_id)
    assert (entry.counted_total, entry.reserved, entry.headroom) == (
        Decimal("80.00"),
        Decimal("65.00"),
        Decimal("155.00"),
    )
    headroom = reader.headroom_of(str(absorbed.recipient_id), PLANNED, PLANNED)
    assert (headroom.recipient_id, headroom.reserved, headroom.headroom) == (
        str(survivor.recipient_id),
        Decimal("65.00"),
        Decimal("155.00"),
    )


def test_a_person_with_a_reservation_and_no_gift_in_the_year_is_in_its_register(
    ledger: Ledger, projections: Projections, manager: Audit
) -> None:
    relationship_id = open_relationship(ledger, manager)
    employer = f"Acme {uuid4().hex[:6]}"
    gift = give(ledger, manager, relationship_id, "Bob Smith", employer, "10.00")
    reserve(ledger, gift.recipient_id, "60.00", planned_on=date(2027, 1, 15), expires_on=date(2027, 2, 14))
    projections.catch_up()
    reader = GiftRegisterReader(projections.view)

    (entry,) = reader.register(2027, date(2027, 1, 20), recipient_id=str(gift.recipient_id))

    assert (entry.gifts, entry.counted_total, entry.reserved, entry.headroom, entry.status) == (
        [],
        Decimal("0.00"),
        Decimal("60.00"),
        Decimal("240.00"),
        "ok",
    )
    (in_2026,) = reader.register(2026, date(2027, 1, 20), recipient_id=str(gift.recipient_id))
    assert (in_2026.counted_total, in_2026.reserved) == (Decimal("10.00"), Decimal("0.00"))


def test_valuation_head_count_and_approval_columns_are_kept(
    ledger: Ledger, projections: Projections, manager: Audit
) -> None:
    relationship_id = open_relationship(ledger, manager)
    employer = f"Acme {uuid4().hex[:6]}"
    ledger.give_gift(
        manager,
        relationship_id,
        GiveGift(
            recipient={"name": "Bob Smith", "employer": employer},
            shared_with=[{"name": "Ann Jones", "employer": employer}],
            description="Tickets",
            given_on=PLANNED,
            category="ticket",
            cost="180.00",
            face_value="150.00",
        ),
    )
    projections.catch_up()

    gifts = [g for e in GiftRegisterReader(projections.view).register(2026, PLANNED) for g in e.gifts]
    mine = [g for g in gifts if g.relationship_id == str(relationship_id)]
    assert sorted((g.face_value, g.market_value, g.head_count) for g in mine) == [
        (Decimal("150.00"), None, 2),
        (Decimal("150.00"), None, 2),
    ]


# -- the cases view and the exceptions joined to it ------------------------------------------------------------


def cases_view(ledger: Ledger, view: ViewStore) -> CasesProjection:
    """The cases view, brought up to the head of the log by applying every event to it directly."""
    projection = CasesProjection(view)
    with view.transaction() as cursor:
        projection.create_tables(cursor)
    items = [(stored.id, ledger.decode(stored)) for page in ledger.log_pages() for stored in page]
    projection.process_batch(items)
    return projection


def context(ledger: Ledger) -> ExceptionContext:
    policy = ledger.gift_policy()
    return ExceptionContext(
        year=2026,
        window=policy.limit_year.year_of(PLANNED),
        today=date(2026, 12, 31),
        now=datetime(2026, 12, 31, 12, tzinfo=UTC),
        zone=ZoneInfo("America/New_York"),
        policy=policy,
    )


def test_the_cases_view_follows_a_case_and_joins_it_to_its_exception(
    ledger: Ledger, projections: Projections, manager: Audit
) -> None:
    relationship_id = open_relationship(ledger, manager)
    employer = f"Acme {uuid4().hex[:6]}"
    give(ledger, manager, relationship_id, "Bob Smith", employer, "200.00")
    near = give(ledger, manager, relationship_id, "Bob Smith", employer, "50.00")
    projections.catch_up()
    (row,) = [r for r in exception_rows(projections.view, context(ledger)) if r.kind is ExceptionKind.NEAR_LIMIT]
    opened = ledger.open_case(
        COMPLIANCE,
        OpenCase(
            kind=row.kind, key=row.key, note="Look", subject=CaseSubject(summary=row.summary, gift_id=near.gift_id)
        ),
    )
    ledger.assign_case(COMPLIANCE, opened.id, AssignCase(assignee="dana-compliance"))
    ledger.note_case(COMPLIANCE, opened.id, NoteCase(note="Called"))
    ledger.resolve_case(COMPLIANCE, opened.id, ResolveCase(outcome=CaseOutcome.EMPLOYEE_REMINDED, reason="Told"))
    cases_view(ledger, projections.view)
    reader = CasesReader(projections.view)

    (case,) = reader.cases(kind="near_limit", assignee="dana-compliance")
    assert case.case_id == str(case_id_for(ExceptionKind.NEAR_LIMIT, str(near.gift_id))) == str(opened.id)
    assert (case.status, case.outcome, case.notes, case.version, case.opened_by) == (
        "resolved",
        "employee_reminded",
        2,
        4,
        "carol-compliance",
    )
    assert reader.for_gifts([str(near.gift_id), str(uuid4())]) == {str(near.gift_id): [case]}
    assert reader.by_ids([case.case_id]) == {case.case_id: case}
    assert reader.cases(status="open", kind="near_limit", assignee="dana-compliance") == []
    assert case in reader.opened_between(date(1970, 1, 1), date(2199, 12, 31))
    assert case not in reader.opened_between(date(1970, 1, 1), date(2000, 1, 1))

    exceptions = ExceptionsReader(projections.view, sources=(exception_rows,))
    joined = {r.key: c for r, c in exceptions.rows(context(ledger), ExceptionKind.NEAR_LIMIT)}
    assert joined[str(near.gift_id)] == case
    assert [r.key for r, _ in exceptions.rows(context(ledger), case_status="resolved")] == [str(near.gift_id)]
    without = [(r.kind, r.key) for r, _ in exceptions.rows(context(ledger), case_status="none")]
    assert (ExceptionKind.NEAR_LIMIT, str(near.gift_id)) not in without
    assert (ExceptionKind.SPLIT, str(near.gift_id)) in without
    ledger.reopen_case(COMPLIANCE, opened.id, ReopenCase(reason="Again"))
    cases_view(ledger, projections.view)
    assert [c.status for c in reader.by_ids([case.case_id]).values()] == ["open"]


def test_the_exceptions_are_ordered_by_day_kind_and_key_from_every_source(
    ledger: Ledger, projections: Projections
) -> None:
    def source(name: str, day: date) -> list[ExceptionRow]:
        return [ExceptionRow(kind=ExceptionKind.REVIEW, key=name, occurred_on=day, summary=name)]

    reader = ExceptionsReader(
        projections.view,
        sources=(
            lambda view, ctx: source("b", date(2026, 5, 2)),
            lambda view, ctx: [
                *source("c", date(2026, 5, 1)),
                ExceptionRow(kind=ExceptionKind.BREACH, key="z", occurred_on=date(2026, 5, 2), summary="z"),
            ],
        ),
    )
    cases_view(ledger, projections.view)

    assert [(r.key, c) for r, c in reader.rows(context(ledger))] == [("c", None), ("z", None), ("b", None)]
    assert [r.key for r, _ in reader.rows(context(ledger), ExceptionKind.REVIEW)] == ["c", "b"]
    assert reader.find(context(ledger), ExceptionKind.BREACH, "z") is not None
    assert reader.find(context(ledger), ExceptionKind.BREACH, "b") is None
