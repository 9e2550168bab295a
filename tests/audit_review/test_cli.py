"""``fellesjournal audit review`` and ``audit review-mark``: the lines, the marks, and
one-line errors."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from fellesjournal.audit import events, log
from fellesjournal.cli.audit import audit_app
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.settings import Settings
from fellesjournal.store.sql import SqlStore
from tests.audit_review.conftest import (
    Window,
    access,
    address,
    fresh,
    person,
    practitioner_actor,
    record,
)
from tests.mpi.people import fresh_fnr


@pytest.fixture()
def run(monkeypatch: pytest.MonkeyPatch, review_settings: Settings) -> Any:
    monkeypatch.setenv("FELLESJOURNAL_DATABASE_URL", review_settings.database_url)

    def invoke(*args: str) -> Any:
        return CliRunner().invoke(audit_app, list(args))

    return invoke


def _accesses(
    review_store: SqlStore, system_repo: GuardedRepository, window: Window
) -> tuple[list[int], dict[str, Any], dict[str, Any], dict[str, Any]]:
    """Kari Østby breaks the glass for a stranger, then reads a relative's record."""
    user = person("Practitioner", fresh("hpr"), "Østby", "Kari")
    stranger = person("Patient", fresh("pat"), "Hansen", fnr=fresh_fnr())
    relative = person(
        "Patient", fresh("pat"), "Østby", "Per", addresses=[address("Storgata 1", "7010")]
    )
    for r in (user, stranger, relative):
        system_repo.update(r["resourceType"], r["id"], r)
    actor = practitioner_actor(user["id"], "Kari Østby")
    seqs = record(
        review_store,
        access(actor, stranger["id"], window.at(1), basis=events.BREAK_GLASS),
        access(actor, relative["id"], window.at(2)),
        access(actor, relative["id"], window.at(3), basis=events.NO_BASIS, outcome=events.DENIED),
    )
    return seqs, user, stranger, relative


def test_review_lists_then_marks(
    run: Any, review_store: SqlStore, system_repo: GuardedRepository, window: Window
) -> None:
    (glass, relation, denied), _user, stranger, relative = _accesses(
        review_store, system_repo, window
    )
    listed = run("review", "--since", window.since)
    assert listed.exit_code == 0, listed.output
    assert listed.stdout.splitlines() == [
        f"{denied}\t{window.at(3)}\tKari Østby\tPatient/{relative['id']}\t"
        "no-care-relation,same-surname\topen",
        f"{relation}\t{window.at(2)}\tKari Østby\tPatient/{relative['id']}\tsame-surname\topen",
        f"{glass}\t{window.at(1)}\tKari Østby\tPatient/{stranger['id']}\tbreak-the-glass\topen",
    ]
    assert listed.stderr.strip() == "3 suspicious access(es)"

    marked = run("review-mark", str(glass), "--comment", "Akuttinnleggelse, i orden")
    assert marked.exit_code == 0, marked.output
    with review_store.snapshot() as tx:
        head = log.head(tx)[0]
        mark = log.read_event(tx, head)
    assert marked.stdout.strip() == f"event {glass} marked reviewed (review mark {head})"
    assert mark is not None and mark["outcomeDesc"] == "Akuttinnleggelse, i orden"
    assert mark["agent"][0]["who"] == {"display": "system cli"}

    open_only = run("review", "--since", window.since)
    assert [line.split("\t")[0] for line in open_only.stdout.splitlines()] == [
        str(denied),
        str(relation),
    ]
    with_reviewed = run("review", "--since", window.since, "--all")
    assert with_reviewed.exit_code == 0
    assert with_reviewed.stdout.splitlines()[-1].endswith("\tbreak-the-glass\treviewed")


def test_nothing_to_review_is_success(run: Any) -> None:
    result = run("review", "--since", "2999-01-01T00:00:00Z")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert result.stderr.strip() == "0 suspicious access(es)"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("review", "--since", "yesterday"), "error: since: not an instant: 'yesterday'"),
        (
            ("review", "--since", "2031-01-01T00:00:00"),
            "error: since: an instant needs a time zone: '2031-01-01T00:00:00'",
        ),
        (
            ("review-mark", "12x", "--comment", "ok"),
            "error: SEQ is the number `audit review` lists, not '12x'",
        ),
        (("review-mark", "1"), "error: --comment is required: say what the review found"),
        (("review-mark", "1", "--comment", "  "), "error: a review needs a comment"),
        (
            ("review-mark", "999999999", "--comment", "ok"),
            "error: the audit log has no event 999999999",
        ),
    ],
)
def test_bad_input_gets_one_line(run: Any, args: tuple[str, ...], message: str) -> None:
    result = run(*args)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr.strip() == message


def test_a_second_mark_is_refused(
    run: Any, review_store: SqlStore, system_repo: GuardedRepository, window: Window
) -> None:
    (glass, _, _), *_ = _accesses(review_store, system_repo, window)
    assert run("review-mark", str(glass), "--comment", "ok").exit_code == 0
    again = run("review-mark", str(glass), "--comment", "ok again")
    assert again.exit_code == 1
    assert len(again.stderr.strip().splitlines()) == 1
    assert again.stderr.startswith(f"error: event {glass} was already reviewed by system cli at ")
