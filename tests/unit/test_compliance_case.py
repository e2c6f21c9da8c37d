"""ComplianceCase: one case per exception (a deterministic id), its life cycle rules, and who may work it."""

from __future__ import annotations

import threading
from datetime import date
from decimal import Decimal
from uuid import uuid4, uuid5

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.application import Ledger
from domain.commands import AssignCase, CaseSubject, NoteCase, OpenCase, ReopenCase, ResolveCase
from domain.compliance_case import (
    CaseAssigned,
    CaseNoted,
    CaseOpened,
    CaseReopened,
    CaseResolved,
    ComplianceCase,
)
from domain.errors import Forbidden, NotFound, PreconditionFailed, RuleViolation
from domain.exception_kinds import CASE_NAMESPACE, ExceptionKind, case_id_for
from domain.values import CaseOutcome, CaseStatus, Role
from tests.conftest import audit_as

COMPLIANCE = audit_as(Role.COMPLIANCE, actor_id="carol-compliance")
SUBJECT = CaseSubject(summary="Near the limit", occurred_on=date(2026, 5, 1), amount=Decimal("280.00"))


def opening(key: str | None = None, kind: ExceptionKind = ExceptionKind.NEAR_LIMIT) -> OpenCase:
    return OpenCase(kind=kind, key=key or str(uuid4()), subject=SUBJECT, note="Looks deliberate")


def case() -> ComplianceCase:
    opened = ComplianceCase.open(COMPLIANCE, opening())
    opened.collect_events()
    return opened


def test_a_case_id_is_the_kind_and_key_and_nothing_else() -> None:
    key = f"{uuid4()}/3"
    assert ComplianceCase.id_for(ExceptionKind.ENTERTAINMENT_EVENT_CAP, key) == case_id_for(
        ExceptionKind.ENTERTAINMENT_EVENT_CAP, key
    )
    assert case_id_for(ExceptionKind.SPLIT, key) != case_id_for(ExceptionKind.BREACH, key)
    assert case_id_for(ExceptionKind.SPLIT, "g") == uuid5(CASE_NAMESPACE, "split\x1fg")


@given(
    kind=st.sampled_from(list(ExceptionKind)),
    key=st.from_regex(r"[A-Za-z0-9/_-]{1,300}", fullmatch=True),
)
def test_opening_names_the_case_of_its_exception(kind: ExceptionKind, key: str) -> None:
    opened = ComplianceCase.open(COMPLIANCE, OpenCase(kind=kind, key=key, subject=SUBJECT))
    assert opened.id == case_id_for(kind, key)
    assert (opened.kind, opened.key, opened.status, opened.assignee, opened.outcome) == (
        kind,
        key,
        CaseStatus.OPEN,
        None,
        None,
    )


@pytest.mark.parametrize("key", ["", "a b", "x" * 301, "gift;drop", "é"])
def test_a_key_outside_its_alphabet_is_refused(key: str) -> None:
    with pytest.raises(ValidationError):
        OpenCase.model_validate({"kind": "breach", "key": key, "subject": {"summary": "s"}})


def test_the_life_of_a_case() -> None:
    subject = case()
    subject.assign(COMPLIANCE, AssignCase(assignee="dana-compliance"))
    subject.assign(COMPLIANCE, AssignCase(assignee="eve-admin", reason="Dana is away"))
    subject.note(COMPLIANCE, NoteCase(note="Called the account manager"))
    subject.resolve(COMPLIANCE, ResolveCase(outcome=CaseOutcome.EMPLOYEE_REMINDED, reason="First time"))
    subject.note(COMPLIANCE, NoteCase(note="Noted after resolution"))
    subject.reopen(COMPLIANCE, ReopenCase(reason="A second gift came to light"))
    subject.resolve(COMPLIANCE, ResolveCase(outcome=CaseOutcome.GIFT_RETURNED, reason="Returned"))
    events = subject.collect_events()
    assert [type(e) for e in events] == [
        CaseAssigned,
        CaseAssigned,
        CaseNoted,
        CaseResolved,
        CaseNoted,
        CaseReopened,
        CaseResolved,
    ]
    assert isinstance(events[1], CaseAssigned)
    assert (events[1].previous, events[1].assignee) == ("dana-compliance", "eve-admin")
    assert (subject.status, subject.outcome, subject.assignee, subject.notes) == (
        CaseStatus.RESOLVED,
        CaseOutcome.GIFT_RETURNED,
        "eve-admin",
        3,
    )


def test_a_resolved_case_is_neither_assigned_nor_resolved_again() -> None:
    subject = case()
    subject.resolve(COMPLIANCE, ResolveCase(outcome=CaseOutcome.NO_ISSUE, reason="Fine"))
    with pytest.raises(RuleViolation, match="reopen it"):
        subject.assign(COMPLIANCE, AssignCase(assignee="dana"))
    with pytest.raises(RuleViolation, match="reopen it"):
        subject.resolve(COMPLIANCE, ResolveCase(outcome=CaseOutcome.OTHER, reason="Again"))


def test_an_open_case_is_not_reopened() -> None:
    with pytest.raises(RuleViolation, match="only a resolved case"):
        case().reopen(COMPLIANCE, ReopenCase(reason="Why not"))


@pytest.mark.parametrize("assignee", ["", "a b", "x" * 101, "dana/compliance"])
def test_an_assignee_is_a_token_name(assignee: str) -> None:
    with pytest.raises(ValidationError):
        AssignCase.model_validate({"assignee": assignee})


def test_the_opened_event_keeps_what_compliance_saw() -> None:
    opened = ComplianceCase.open(COMPLIANCE, opening("gift-1"))
    (event,) = opened.collect_events()
    assert isinstance(event, CaseOpened)
    assert event.TOPIC == "ledger:ComplianceCase.CaseOpened"
    assert event.subject == SUBJECT
    assert event.note == "Looks deliberate"
    assert event.actor_id == "carol-compliance"


# -- through the ledger, on both stores --


def test_opening_twice_is_one_case(ledger: Ledger) -> None:
    command = opening()
    first = ledger.open_case(COMPLIANCE, command)
    second = ledger.open_case(COMPLIANCE, command.model_copy(update={"note": None}))
    assert first.created
    assert not second.created
    assert (second.id, second.version, second.position) == (first.id, first.version, first.position)
    assert [type(e) for e in ledger.history(first.id)] == [CaseOpened]


def test_sixteen_racing_openings_store_one_case(ledger: Ledger) -> None:
    command = opening()
    results = []
    barrier = threading.Barrier(16)

    def open_it() -> None:
        barrier.wait()
        results.append(ledger.open_case(COMPLIANCE, command))

    threads = [threading.Thread(target=open_it) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(result.created for result in results) == 1
    assert {result.id for result in results} == {case_id_for(command.kind, command.key)}
    assert len(list(ledger.history(results[0].id))) == 1


def test_commands_on_a_case_check_its_version_and_its_existence(ledger: Ledger) -> None:
    opened = ledger.open_case(COMPLIANCE, opening())
    assigned = ledger.assign_case(COMPLIANCE, opened.id, AssignCase(assignee="dana"), expected_version=1)
    assert assigned.version == 2
    with pytest.raises(PreconditionFailed):
        ledger.note_case(COMPLIANCE, opened.id, NoteCase(note="Late"), expected_version=1)
    with pytest.raises(NotFound):
        ledger.note_case(COMPLIANCE, uuid4(), NoteCase(note="Nobody"))
    resolved = ledger.resolve_case(
        COMPLIANCE, opened.id, ResolveCase(outcome=CaseOutcome.NO_ISSUE, reason="Fine"), expected_version=2
    )
    reopened = ledger.reopen_case(COMPLIANCE, opened.id, ReopenCase(reason="More"), expected_version=3)
    assert (resolved.version, reopened.version) == (3, 4)
    assert ledger.compliance_case(opened.id).status is CaseStatus.OPEN


@pytest.mark.parametrize("role", [Role.ACCOUNT_MANAGER, Role.MANAGER, Role.AUDITOR])
def test_only_compliance_and_admins_work_cases(ledger: Ledger, role: Role) -> None:
    opened = ledger.open_case(audit_as(Role.ADMIN), opening())
    other = audit_as(role, account_manager_id=uuid4() if role is Role.ACCOUNT_MANAGER else None)
    with pytest.raises(Forbidden):
        ledger.open_case(other, opening())
    with pytest.raises(Forbidden):
        ledger.note_case(other, opened.id, NoteCase(note="Me too"))
    with pytest.raises(Forbidden):
        ledger.resolve_case(other, opened.id, ResolveCase(outcome=CaseOutcome.NO_ISSUE, reason="Fine"))
