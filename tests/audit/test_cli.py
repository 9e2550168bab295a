"""``fellesjournal audit verify`` and ``audit head``: exit codes and their one line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from fellesjournal.cli.audit import audit_app
from fellesjournal.store.sql import SqlStore
from tests.audit.conftest import drop_guards, fill, raw


def _run(monkeypatch: pytest.MonkeyPatch, url: str, *args: str) -> Any:
    monkeypatch.setenv("FELLESJOURNAL_DATABASE_URL", url)
    return CliRunner().invoke(audit_app, list(args))


def _url(store: SqlStore) -> str:
    return store.engine.url.render_as_string(hide_password=False)


def test_verify_intact_then_broken(monkeypatch: pytest.MonkeyPatch, log_store: SqlStore) -> None:
    fill(log_store, 4)
    head = _run(monkeypatch, _url(log_store), "head")
    assert head.exit_code == 0, head.output
    anchor = head.stdout.strip()
    seq, digest = anchor.split(":")
    assert seq == "4" and len(digest) == 64

    ok = _run(monkeypatch, _url(log_store), "verify", "--anchor", anchor)
    assert ok.exit_code == 0, ok.output
    assert ok.stdout.strip() == f"audit log intact: 4 events (head {anchor})"

    drop_guards(log_store)
    raw(log_store, "UPDATE audit_log SET agent = 'someone-else' WHERE seq = 2")
    broken = _run(monkeypatch, _url(log_store), "verify")
    assert broken.exit_code == 1
    assert broken.stderr.strip() == "error: audit log broken at seq 2: row altered (hash mismatch)"
    assert broken.stdout == ""


def test_a_bad_anchor_or_no_log_cannot_be_checked(
    monkeypatch: pytest.MonkeyPatch, log_store: SqlStore, tmp_path: Path
) -> None:
    bad = _run(monkeypatch, _url(log_store), "verify", "--anchor", "4:nothex")
    assert bad.exit_code == 2
    assert "SEQ:HASH" in bad.stderr

    empty = f"sqlite:///{tmp_path / 'never-migrated.db'}"
    missing = _run(monkeypatch, empty, "verify")
    assert missing.exit_code == 2
    assert len(missing.stderr.strip().splitlines()) == 1
    assert "fellesjournal db upgrade" in missing.stderr
