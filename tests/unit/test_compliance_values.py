"""The values issue 17's commands share: counts, case keys, actor names, exception kinds and case ids."""

from __future__ import annotations

from typing import Any
from uuid import NAMESPACE_URL, uuid4, uuid5

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import TypeAdapter, ValidationError

from domain.commands import AssignCase, CaseSubject, OpenCase, SubmitAttestation
from domain.errors import InvalidInput
from domain.exception_kinds import (
    CASE_NAMESPACE,
    ExceptionKind,
    attendee_key,
    attestation_key,
    case_id_for,
    event_key,
)
from domain.values import ActorName, CaseKey, Count

COUNTS = TypeAdapter(Count)
KEYS = TypeAdapter(CaseKey)
ACTORS = TypeAdapter(ActorName)


@pytest.mark.parametrize("count", [0, 1, 1_000_000])
def test_a_count_is_a_whole_number_from_0_to_a_million(count: int) -> None:
    assert COUNTS.validate_python(count) == count


@pytest.mark.parametrize("count", [-1, 1_000_001, True, 1.0, "1", None])
def test_anything_else_is_not_a_count(count: Any) -> None:
    with pytest.raises(ValidationError):
        COUNTS.validate_python(count)


def test_an_attestation_refuses_a_count_out_of_bounds_naming_the_field() -> None:
    with pytest.raises(InvalidInput) as caught:
        SubmitAttestation(
            quarter="2026-Q1",
            gifts_given=1_000_001,
            entertainment_given=0,
            gifts_received=0,
            entertainment_received=0,
            statement="All recorded.",
        )
    assert [error["field"] for error in caught.value.errors] == ["gifts_given"]


@given(st.uuids(), st.integers(min_value=1, max_value=2**63 - 1), st.uuids())
def test_every_key_builder_makes_a_valid_case_key(relationship_id: Any, version: int, attendee_id: Any) -> None:
    for key in (
        event_key(relationship_id, version),
        attendee_key(relationship_id, version, attendee_id),
        attestation_key(attendee_id, "2199-Q4"),
        str(attendee_id),
    ):
        assert KEYS.validate_python(key) == key


@pytest.mark.parametrize("key", ["", "a" * 301, "a b", "a\x1fb", "a.b", "ключ", "a?b"])
def test_a_case_key_is_1_to_300_of_letters_digits_slash_underscore_and_dash(key: str) -> None:
    with pytest.raises(ValidationError):
        KEYS.validate_python(key)
    assert KEYS.validate_python("a" * 300) == "a" * 300


@pytest.mark.parametrize("name", ["compliance-1", "jane.doe@example.com", "svc:reports", "a" * 100])
def test_an_actor_name_is_spelt_as_token_names_are(name: str) -> None:
    assert AssignCase(assignee=name).assignee == name


@pytest.mark.parametrize("name", ["", "a" * 101, "jane doe", "jane/doe", "jäne"])
def test_an_actor_name_outside_the_token_alphabet_is_refused(name: str) -> None:
    with pytest.raises(ValidationError):
        ACTORS.validate_python(name)


def test_a_case_id_is_the_same_for_the_same_exception_and_differs_between_kinds() -> None:
    key = str(uuid4())

    assert case_id_for(ExceptionKind.BREACH, key) == case_id_for(ExceptionKind.BREACH, key)
    assert case_id_for(ExceptionKind.BREACH, key) != case_id_for(ExceptionKind.NEAR_LIMIT, key)
    assert len({case_id_for(kind, key) for kind in ExceptionKind}) == len(ExceptionKind) == 9
    assert uuid5(NAMESPACE_URL, "urn:ledger:compliance-case") == CASE_NAMESPACE


def test_opening_a_case_needs_a_known_kind_and_a_valid_key() -> None:
    subject = CaseSubject(summary="Over the limit")

    assert OpenCase(kind="breach", key="abc-1", subject=subject).kind is ExceptionKind.BREACH
    with pytest.raises(InvalidInput) as caught:
        OpenCase(kind="nothing", key="a b", subject=subject)
    assert sorted(error["field"] for error in caught.value.errors) == ["key", "kind"]
