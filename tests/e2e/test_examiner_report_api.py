"""`GET /compliance/examiner-report` and `ledger report`, on SQLite and PostgreSQL: who may draw it, its formats and
headers, the seal it names, the PDF read back with `pdftotext`, and the approvals and cases on its gifts."""

from __future__ import annotations

import csv
import io
import shutil
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from domain.values import Role
from infrastructure.bootstrap import System, build_system
from infrastructure.settings import Settings
from infrastructure.verification import load_signing_key
from scripts.cli import app
from tests.conftest import IN_CI
from tests.e2e.conftest import Desk, Headers, Tokens, assert_problem, gift_body

REPORT = "/v1/compliance/examiner-report"


@pytest.fixture
def key_path(tmp_path: Path) -> str:
    return str(tmp_path / "seal-key.pem")


@pytest.fixture
def system(database_url: str, key_path: str) -> Iterator[System]:
    """The conftest's system, with a signing key of the test's own."""
    built = build_system(Settings(database_url=database_url, signing_key_path=key_path), run_projections=True)
    try:
        yield built
    finally:
        built.close()


def give(client: TestClient, desk: Desk, name: str, cost: str, given_on: str = "2026-05-01", **more: str) -> int:
    response = client.post(
        f"/v1/relationships/{desk.relationship_id}/gifts",
        json=gift_body(name, "Initech", cost=cost, given_on=given_on, **more),
        headers=desk.manager,
    )
    assert response.status_code == 201, response.text
    return int(response.json()["position"])


def draw(
    client: TestClient, headers: Headers, position: int, **params: str | int
) -> tuple[int, str, bytes, dict[str, str]]:
    response = client.get(REPORT, params={"year": 2026, "min_position": position, **params}, headers=headers)
    return response.status_code, response.headers.get("content-type", ""), response.content, dict(response.headers)


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    """The PDF's text as `pdftotext` reads it (skipped without it, except in CI)."""
    if shutil.which("pdftotext") is None:
        if IN_CI:
            pytest.fail("pdftotext (poppler-utils) is missing, and CI=true forbids skipping")
        pytest.skip("pdftotext (poppler-utils) is not installed")
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True, timeout=60
    ).stdout


def test_compliance_auditors_and_admins_draw_it_and_no_one_else(client: TestClient, tokens: Tokens, desk: Desk) -> None:
    position = give(client, desk, "Bob Smith", "80.00")
    for role in (Role.COMPLIANCE, Role.AUDITOR, Role.ADMIN):
        status, content_type, _, _ = draw(client, tokens.of(role), position)
        assert (role, status, content_type) == (role, 200, "text/csv; charset=utf-8")
    for headers in (tokens.manager, tokens.account_manager(desk.account_manager_id)):
        assert_problem(client.get(REPORT, headers=headers), 403, "forbidden")
    assert_problem(client.get(REPORT), 401, "unauthenticated")


def test_bad_parameters_are_precise_problems(client: TestClient, tokens: Tokens) -> None:
    for params in ({"format": "xlsx"}, {"year": 1899}, {"year": 2200}, {"year": "next"}, {"min_position": -1}):
        body = assert_problem(client.get(REPORT, params=params, headers=tokens.compliance), 422, "validation_error")
        assert body["errors"], params
    assert_problem(
        client.get(REPORT, params={"min_position": 10**9}, headers=tokens.compliance), 422, "validation_error"
    )


def test_the_csv_is_an_attachment_tied_to_the_views_position_and_a_seal_covering_it(
    client: TestClient, tokens: Tokens, desk: Desk, system: System
) -> None:
    give(client, desk, "Bob Smith", "80.00")
    position = give(client, desk, "Carol Jones", "120.00", given_on="2026-06-02")

    status, _, body, headers = draw(client, tokens.compliance, position, format="csv")

    assert status == 200
    assert headers["content-disposition"] == 'attachment; filename="examiner-report-2026.csv"'
    drawn_at = int(headers["x-projection-position"])
    sealed_at = int(headers["x-seal-position"])
    assert sealed_at >= drawn_at >= position
    latest = system.integrity.latest_seal()
    assert latest is not None
    assert latest.position == sealed_at
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    gifts = [row for row in rows if row["section"] == "by_recipient"]
    assert sorted((row["recipient"], row["counted_value"]) for row in gifts) == [
        ("Bob Smith", "80.00"),
        ("Carol Jones", "120.00"),
    ]
    (grand,) = [row for row in rows if row["section"] == "grand_total"]
    assert Decimal(grand["total"]) == Decimal("200.00")
    assert {(row["report_position"], row["seal_position"], row["seal_root"]) for row in rows} == {
        (str(drawn_at), str(sealed_at), latest.root.hex())
    }
    register = client.get(
        "/v1/compliance/gift-register", params={"year": 2026, "min_position": position}, headers=tokens.compliance
    ).json()["items"]
    totals = {row["recipient_id"]: row["total"] for row in rows if row["section"] == "recipient_total"}
    assert totals == {entry["recipient_id"]: entry["counted_total"] for entry in register}


def test_the_pdf_shows_the_grand_total_and_the_seal_position(
    client: TestClient, tokens: Tokens, desk: Desk, tmp_path: Path
) -> None:
    give(client, desk, "Bob Smith", "80.00")
    position = give(client, desk, "Carol Jones", "120.00")

    status, content_type, body, headers = draw(client, tokens.auditor, position, format="pdf")

    assert (status, content_type) == (200, "application/pdf")
    assert body.startswith(b"%PDF-")
    assert headers["content-disposition"] == 'attachment; filename="examiner-report-2026.pdf"'
    text = " ".join(pdf_text(body, tmp_path).split())
    assert "Total counted in 2026: $200.00" in text
    assert f"covered by the seal at position {headers['x-seal-position']}" in text
    assert f"Drawn from the log up to position {headers['x-projection-position']}" in text


def test_a_refused_seal_leaves_the_report_unsealed_and_says_so(
    client: TestClient, tokens: Tokens, desk: Desk, system: System, tmp_path: Path
) -> None:
    # The log is first sealed with another key: the API's key is then not the ledger's, so it may not seal.
    system.integrity.seal(load_signing_key(str(tmp_path / "the-ledgers-key.pem")))
    position = give(client, desk, "Bob Smith", "80.00")

    status, _, body, headers = draw(client, tokens.compliance, position, format="pdf")

    assert status == 200
    assert "x-seal-position" not in headers
    assert "not sealed: run ledger verify" in " ".join(pdf_text(body, tmp_path).split())
    status, _, body, headers = draw(client, tokens.compliance, position, format="csv")
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert {(row["seal_position"], row["seal_root"]) for row in rows} == {("", "")}


def test_approvals_and_cases_appear_on_their_gifts(
    client: TestClient, tokens: Tokens, desk: Desk, system: System
) -> None:
    today = system.ledger.today()
    requested = client.post(
        "/v1/preclearance-requests",
        json={
            "relationship_id": desk.relationship_id,
            "recipient": {"name": "Dana Reed", "employer": "Initech"},
            "description": "Book",
            "purpose": "Thanks for the review",
            "planned_on": today.isoformat(),
            "category": "general",
            "cost": "40.00",
        },
        headers=desk.manager,
    )
    assert requested.status_code == 201, requested.text
    assert requested.json()["status"] == "approved"
    request_id = requested.json()["id"]
    give(client, desk, "Dana Reed", "40.00", given_on=today.isoformat(), preclearance_id=request_id)
    # Two gifts to one person within 7 days: a split, of which compliance opens a case.
    give(client, desk, "Eve Park", "60.00", given_on=today.isoformat())
    position = give(client, desk, "Eve Park", "30.00", given_on=today.isoformat())
    register = client.get(
        "/v1/compliance/gift-register",
        params={"year": today.year, "min_position": position},
        headers=tokens.compliance,
    ).json()["items"]
    eve = next(entry for entry in register if entry["name"] == "Eve Park")
    split_gift = eve["gifts"][0]["gift_id"]
    opened = client.post(
        "/v1/compliance/cases",
        json={"kind": "split", "key": split_gift, "year": today.year},
        headers=tokens.compliance,
    )
    assert opened.status_code == 201, opened.text
    case_id = opened.json()["id"]

    status, _, body, _ = draw(client, tokens.compliance, int(opened.json()["position"]), year=today.year)

    assert status == 200
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    for section in ("by_recipient", "by_account_manager"):
        (dana,) = [row for row in rows if row["section"] == section and row["recipient"] == "Dana Reed"]
        assert (dana["preclearance_id"], dana["preclearance_band"], dana["preclearance_status"]) == (
            request_id,
            "auto",
            "used",
        )
        assert dana["approved_at"]
        (split,) = [row for row in rows if row["section"] == section and row["gift_id"] == split_gift]
        assert (split["case_ids"], split["case_kinds"], split["case_statuses"]) == (case_id, "split", "open")
    assert [row["case_ids"] for row in rows if row["section"] == "case_opened"] == [case_id]


def test_ledger_report_writes_both_files(
    client: TestClient, desk: Desk, database_url: str, key_path: str, tmp_path: Path
) -> None:
    give(client, desk, "Bob Smith", "80.00")
    give(client, desk, "Carol Jones", "120.00")
    env = {"LEDGER_DATABASE_URL": database_url, "LEDGER_SIGNING_KEY": key_path}
    runner = CliRunner()

    for report_format in ("csv", "pdf"):
        out = tmp_path / f"report.{report_format}"
        result = runner.invoke(app, ["report", "--year", "2026", "--format", report_format, "--out", str(out)], env=env)
        assert result.exit_code == 0, result.output
        assert "Wrote the examiner's report of 2026 (2 gifts, $200.00 counted)" in result.output
        assert "covered by the seal at position" in result.output

    rows = list(csv.DictReader(io.StringIO((tmp_path / "report.csv").read_text())))
    (grand,) = [row for row in rows if row["section"] == "grand_total"]
    assert grand["total"] == "200.00"
    text = " ".join(pdf_text((tmp_path / "report.pdf").read_bytes(), tmp_path).split())
    assert "Total counted in 2026: $200.00" in text

    refused = runner.invoke(app, ["report", "--year", "2026", "--out", str(tmp_path / "missing" / "r.csv")], env=env)
    assert refused.exit_code == 1
    assert "could not write" in refused.output
