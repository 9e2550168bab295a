"""``fellesjournal org``: list, join, seed, and their one-line errors."""

from __future__ import annotations

from typing import Any

import pytest
from typer.testing import CliRunner

from fellesjournal.cli.org import org_app
from fellesjournal.settings import Settings
from tests.region.conftest import Seeded


def _run(monkeypatch: pytest.MonkeyPatch, settings: Settings, *args: str) -> Any:
    monkeypatch.setenv("FELLESJOURNAL_DATABASE_URL", settings.database_url)
    monkeypatch.setenv("FELLESJOURNAL_DATA_DIR", str(settings.data_dir))
    return CliRunner().invoke(org_app, list(args))


def test_list(monkeypatch: pytest.MonkeyPatch, seeded: Seeded) -> None:
    result = _run(monkeypatch, seeded.settings, "list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert len(lines) == 66
    trondheim = next(line for line in lines if line.startswith("5001 "))
    assert "Trondheim" in trondheim and trondheim.split()[-1] == "member"
    haram = next(line for line in lines if line.startswith("1580 "))
    assert "Haram" in haram and "HMR" in haram and haram.split()[-1] == "option"
    members = sum(line.split()[-1] == "member" for line in lines[:-1])
    assert lines[-1] == f"{members} members, {65 - members} holding an option"

    options = _run(monkeypatch, seeded.settings, "list", "--options")
    assert options.exit_code == 0
    assert all(line.split()[-1] == "option" for line in options.stdout.splitlines()[:-1])


def test_join_twice(monkeypatch: pytest.MonkeyPatch, seeded: Seeded) -> None:
    first = _run(monkeypatch, seeded.settings, "join", "5007")
    assert first.exit_code == 0, first.output
    assert first.stdout.startswith("Namsos (5007) joined:")
    assert "message addresses created" in first.stdout
    second = _run(monkeypatch, seeded.settings, "join", "5007")
    assert second.exit_code == 0
    assert second.stdout.strip() == "Namsos (5007) is already a member; nothing changed"
    listed = _run(monkeypatch, seeded.settings, "list").stdout.splitlines()
    assert next(line for line in listed if line.startswith("5007 ")).split()[-1] == "member"


@pytest.mark.parametrize(
    ("number", "message"),
    [
        ("0301", "0301 is not a municipality of the region"),
        ("1234567", "a kommunenummer has 4 digits"),
        ("1507", "no longer in use"),
    ],
)
def test_join_bad_number(
    monkeypatch: pytest.MonkeyPatch, seeded: Seeded, number: str, message: str
) -> None:
    result = _run(monkeypatch, seeded.settings, "join", number)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert message in result.stderr and "Traceback" not in result.stderr


def test_not_seeded(monkeypatch: pytest.MonkeyPatch, empty: Any) -> None:
    settings, _ = empty
    for args in (("list",), ("join", "5006")):
        result = _run(monkeypatch, settings, *args)
        assert result.exit_code == 1
        assert "fellesjournal org seed" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1


def test_seed_again_changes_nothing(monkeypatch: pytest.MonkeyPatch, seeded: Seeded) -> None:
    result = _run(monkeypatch, seeded.settings, "seed")
    assert result.exit_code == 0, result.output
    assert "already up to date" in result.stderr
