"""The workspace's language layer: Norwegian formatting, sorting, negotiation, catalogs."""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import jinja2
import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po, write_po

from fellesjournal.web import i18n
from fellesjournal.web.i18n import (
    age,
    format_date,
    format_datetime,
    format_number,
    format_time,
    negotiate,
    sort_key,
    translations,
)

ROOT = Path(__file__).resolve().parents[2]
NNBSP = "\u202f"

# --- dates and times -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (date(2024, 5, 17), "17.05.2024"),
        (date(999, 1, 2), "02.01.0999"),
        ("2024-05-17", "17.05.2024"),
        ("2024-05", "05.2024"),
        ("2024", "2024"),
        # an instant late on 31 March UTC is already 1 April in Oslo (CEST, +02:00)
        ("2024-03-31T23:30:00Z", "01.04.2024"),
        ("2024-01-31T23:30:00Z", "01.02.2024"),
        ("2024-01-31T22:30:00Z", "31.01.2024"),
        ("2024-06-01T01:00:00+05:00", "31.05.2024"),
        (datetime(2024, 12, 31, 23, 30, tzinfo=UTC), "01.01.2025"),
        (datetime(2024, 12, 31, 23, 30), "31.12.2024"),  # naive: Oslo wall time
        (None, ""),
    ],
)
def test_format_date(value: object, expected: str) -> None:
    assert format_date(value) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value", ["17.05.2024", "2023-02-29", "2024-13", "2024-00-10", "24-05-17", "2024-05-17T25:00"]
)
def test_format_date_refuses_what_is_not_a_fhir_date(value: str) -> None:
    with pytest.raises(ValueError):
        format_date(value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-15T12:00:00Z", "15.01.2024 13:00"),  # winter: CET, +01:00
        ("2024-07-15T12:00:00Z", "15.07.2024 14:00"),  # summer: CEST, +02:00
        # spring forward on 31 March 2024 at 01:00 UTC: 02:00 local is skipped
        ("2024-03-31T00:59:59Z", "31.03.2024 01:59"),
        ("2024-03-31T01:00:00Z", "31.03.2024 03:00"),
        # fall back on 27 October 2024 at 01:00 UTC: 02:30 local happens twice
        ("2024-10-27T00:30:00Z", "27.10.2024 02:30"),
        ("2024-10-27T01:30:00Z", "27.10.2024 02:30"),
        ("2024-10-27T02:30:00Z", "27.10.2024 03:30"),
        ("2024-06-01T12:00:00+05:30", "01.06.2024 08:30"),
        ("2024-01-01T00:00:00-03:00", "01.01.2024 04:00"),
        ("2024-06-01T12:34:56.123456789Z", "01.06.2024 14:34"),  # seconds dropped
        ("2016-12-31T23:59:60Z", "01.01.2017 00:59"),  # a leap second
        ("2024-06-01T12:34", "01.06.2024 12:34"),  # no offset: Oslo wall time
        ("2024-06-01", "01.06.2024"),
        ("2024-06", "06.2024"),
        (date(2024, 6, 1), "01.06.2024"),
        (datetime(2024, 6, 1, 10, 5, tzinfo=UTC), "01.06.2024 12:05"),
        (datetime(2024, 6, 1, 10, 5, tzinfo=timezone(timedelta(hours=-4))), "01.06.2024 16:05"),
        (datetime(2024, 6, 1, 10, 5), "01.06.2024 10:05"),
        (None, ""),
    ],
)
def test_format_datetime(value: object, expected: str) -> None:
    assert format_datetime(value) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-15T06:05:00Z", "07:05"),
        ("2024-07-15T06:05:00Z", "08:05"),
        ("2024-07-15T06:05:00+00:00", "08:05"),
        ("14:30:00", "14:30"),  # FHIR time: a wall time
        ("07:45", "07:45"),
        (time(9, 3), "09:03"),
        (datetime(2024, 2, 1, 23, 59, tzinfo=UTC), "00:59"),
        ("2024-07-15", ""),
        (date(2024, 7, 15), ""),
        (None, ""),
    ],
)
def test_format_time(value: object, expected: str) -> None:
    assert format_time(value) == expected  # type: ignore[arg-type]


def test_offsets_beyond_fhirs_range_are_refused() -> None:
    with pytest.raises(ValueError):
        format_datetime("2024-06-01T12:00:00+15:00")


# --- age -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("birth", "today", "expected"),
    [
        (date(1980, 5, 17), date(2024, 5, 16), 43),
        (date(1980, 5, 17), date(2024, 5, 17), 44),  # the birthday itself counts
        (date(1980, 5, 17), date(2024, 5, 18), 44),
        (date(2024, 5, 17), date(2024, 5, 17), 0),
        (date(2023, 12, 31), date(2024, 1, 1), 0),
        ("1980-05-17", date(2024, 5, 17), 44),
        # 29 February: a year older on 1 March in common years
        (date(2000, 2, 29), date(2023, 2, 28), 22),
        (date(2000, 2, 29), date(2023, 3, 1), 23),
        (date(2000, 2, 29), date(2024, 2, 29), 24),
        # partial birth dates: the age certainly reached
        ("1980", date(2024, 12, 30), 43),
        ("1980", date(2024, 12, 31), 44),
        ("1980-05", date(2024, 5, 30), 43),
        ("1980-05", date(2024, 5, 31), 44),
        ("1980-02", date(2024, 2, 28), 43),  # Feb 1980 had 29 days
        ("1980-02", date(2024, 2, 29), 44),
        ("1980-12", date(2024, 12, 31), 44),
        (datetime(1980, 5, 16, 23, 30, tzinfo=UTC), date(2024, 5, 17), 44),  # born 17th in Oslo
    ],
)
def test_age(birth: date | str, today: date, expected: int) -> None:
    assert age(birth, today) == expected


def test_age_without_birth_date_or_before_birth() -> None:
    assert age(None, date(2024, 1, 1)) is None
    with pytest.raises(ValueError):
        age("2024-06-02", date(2024, 6, 1))
    with pytest.raises(ValueError):
        age("2025", date(2024, 6, 1))
    assert isinstance(age("1950-01-01"), int)  # today defaults to the date in Oslo


# --- numbers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "decimals", "expected"),
    [
        (37.5, None, "37,5"),
        (37, None, "37"),
        (0.1 + 0.2, 1, "0,3"),
        (Decimal("37.50"), None, "37,50"),  # the precision FHIR carries is kept
        ("5.0", None, "5,0"),
        (2.675, 2, "2,68"),  # rounded half up on the decimal, not the binary, value
        (37.45, 1, "37,5"),
        (37.5, 0, "38"),
        (4, 2, "4,00"),
        (1500, None, "1500"),  # four digits stay whole
        (-1500, None, "-1500"),
        (12345, None, f"12{NNBSP}345"),
        (1234567, None, f"1{NNBSP}234{NNBSP}567"),
        (123456.789, 1, f"123{NNBSP}456,8"),
        (-98765.4321, 2, f"-98{NNBSP}765,43"),
        (1e21, None, f"1{NNBSP}000{NNBSP}000{NNBSP}000{NNBSP}000{NNBSP}000{NNBSP}000{NNBSP}000"),
        (0.00001, None, "0,00001"),
        (-0.5, None, "-0,5"),
        (-0.001, 2, "0,00"),  # no "-0,00"
        (0, None, "0"),
        (None, None, ""),
    ],
)
def test_format_number(value: object, decimals: int | None, expected: str) -> None:
    assert format_number(value, decimals) == expected  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [True, float("nan"), float("inf"), "37,5", "abc", ""])
def test_format_number_refuses_non_numbers(value: object) -> None:
    with pytest.raises(ValueError):
        format_number(value)  # type: ignore[arg-type]


# --- sorting ---------------------------------------------------------------------------

#: Norwegian surnames and first names in the order of a Norwegian register.
NORWEGIAN_ORDER = [
    "3B",
    "Aasen",  # two a's by default
    "Andersen",
    "Aune",
    "Bakken",
    "Berg",
    "Berg-Hansen",
    "Bergan",
    "Bjerke",
    "Bjørnsen",
    "Bjørnstad",
    "Eide",
    "Élise",  # é with e
    "Ellen",
    "Haakon",
    "hansen",  # lower case before upper case when otherwise equal
    "Hansen",
    "Håkon",
    "Myklebust",
    "Müller",  # ü as y, after "Myk"
    "Mäkinen",  # ä as æ
    "Mæland",
    "Nilsen",
    "Nygård",
    "Næss",
    "Nøkleby",
    "Rom 2",
    "Rom 10",  # numbers in numeric order
    "Šimić",  # š with s
    "Solberg",
    "Sæther",
    "Sørensen",
    "Zakariassen",
    "Öberg",  # ö as ø
    "Ødegård",
    "Øien",
    "Åsen",
]


def test_sort_key_norwegian_order() -> None:
    shuffled = NORWEGIAN_ORDER[:]
    for seed in range(5):
        random.Random(seed).shuffle(shuffled)
        assert sorted(shuffled, key=sort_key) == NORWEGIAN_ORDER


def test_sort_key_aa_as_aa_only_when_asked() -> None:
    names = ["Åsen", "Aasen", "Øien", "Andersen", "Haakon", "Hansen", "Håkon"]
    assert sorted(names, key=sort_key) == [
        "Aasen", "Andersen", "Haakon", "Hansen", "Håkon", "Øien", "Åsen"
    ]  # fmt: skip
    assert sorted(names, key=lambda n: sort_key(n, aa_as_aa=True)) == [
        "Andersen", "Hansen", "Haakon", "Håkon", "Øien", "Aasen", "Åsen"
    ]  # fmt: skip


def test_sort_key_folds_case_accents_and_forms() -> None:
    assert sort_key("ÆRØ")[0] == sort_key("ærø")[0]
    assert sort_key("René")[0] == sort_key("Rene")[0]
    assert sorted(["René", "Rene"], key=sort_key) == ["Rene", "René"]
    # a decomposed å (as macOS writes file names) is still å, after ø
    assert sorted(["A\u030asen", "Øyen", "Aune"], key=sort_key) == ["Aune", "Øyen", "A\u030asen"]
    assert sort_key("Straße")[0] == sort_key("Strasse")[0]
    assert sorted(["", " ", "a"], key=sort_key)[-1] == "a"
    # distinct texts never tie, so the order does not depend on the input order
    assert sort_key("Hansen") != sort_key("hansen")


# --- negotiation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "chosen", "expected"),
    [
        (None, None, "nb"),
        ("", None, "nb"),
        ("nn", None, "nn"),
        ("nn-NO,nn;q=0.9,en;q=0.5", None, "nn"),
        ("nb-NO,nb;q=0.9", None, "nb"),
        ("no", None, "nb"),
        ("en-US,en;q=0.9", None, "nb"),
        ("en, nn;q=0.8, nb;q=0.7", None, "nn"),
        ("nb;q=0.5, nn;q=0.8", None, "nn"),
        ("nb, nn", None, "nb"),  # equal q: header order
        ("NN_no", None, "nn"),
        ("nn;q=0, nb", None, "nb"),
        ("nb;q=0, nn;q=0.1", None, "nn"),
        ("nb;q=abc, nn;q=0.2", None, "nn"),  # a malformed entry is skipped
        ("de, *;q=0.1", None, "nb"),
        ("nb", "nn", "nn"),  # the user's choice wins
        ("nn", "nb", "nb"),
        ("nn", "sv", "nn"),  # an unknown choice is ignored
        (",,;;=", None, "nb"),
    ],
)
def test_negotiate(header: str | None, chosen: str | None, expected: str) -> None:
    assert negotiate(header, chosen) == expected


# --- catalogs --------------------------------------------------------------------------


def test_both_catalogs_load_and_differ() -> None:
    nb, nn = translations("nb"), translations("nn")
    assert nb.gettext("Nurse") == "Sykepleier"
    assert nn.gettext("Nurse") == "Sjukepleiar"
    assert nb.gettext("Why can I see this?") == "Hvorfor ser jeg dette?"
    assert nn.gettext("Why can I see this?") == "Kvifor ser eg dette?"
    assert nb.gettext("Break the glass") == "Nødtilgang"
    assert nn.gettext("Break the glass") == "Naudtilgang"
    assert nn.pgettext(*i18n.ADMINISTRATIVE_GENDER["unknown"]) == "Ukjent"
    assert nn.gettext(i18n.ROLE_LABELS["unit-leader"]) == "Einingsleiar"
    assert nb.gettext("no such msgid") == "no such msgid"
    assert translations("nb") is nb  # compiled once


def test_unknown_locale_is_refused() -> None:
    for locale in ("en", "no", "", "NB"):
        with pytest.raises(ValueError):
            translations(locale)


def test_fuzzy_entries_are_not_used(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    catalog = Catalog(locale="nn", domain="messages")
    catalog.add("Save", "Lagre")
    catalog.add("Cancel", "Avbryt", flags=["fuzzy"])
    (tmp_path / "nn" / "LC_MESSAGES").mkdir(parents=True)
    with (tmp_path / "nn" / "LC_MESSAGES" / "messages.po").open("wb") as po:
        write_po(po, catalog)
    monkeypatch.setattr(i18n, "LOCALE_DIR", tmp_path)
    i18n._compiled.cache_clear()
    try:
        compiled = translations("nn")
        assert compiled.gettext("Save") == "Lagre"
        assert compiled.gettext("Cancel") == "Cancel"
    finally:
        i18n._compiled.cache_clear()


def _read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as po:
        return read_po(po, locale=locale)


_PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*\d*(?:\.\d+)?[a-zA-Z%]")


def _assert_translated(catalogs: dict[str, Catalog], context: str | None, msgid: object) -> None:
    key = msgid[0] if isinstance(msgid, tuple | list) else msgid
    assert isinstance(key, str)
    for locale, catalog in catalogs.items():
        entry = catalog.get(key, context=context)
        assert entry is not None, f"{key!r} is not in the {locale} catalog: run make catalogs"
        assert not entry.fuzzy, f"{key!r} is fuzzy in the {locale} catalog"
        strings = entry.string if isinstance(entry.string, tuple | list) else (entry.string,)
        assert all(s.strip() for s in strings), f"{key!r} is untranslated in {locale}"
        for string in strings:
            assert sorted(_PLACEHOLDER.findall(string)) == sorted(_PLACEHOLDER.findall(key)), (
                f"{key!r} and its {locale} translation {string!r} have different placeholders"
            )


def _catalogs() -> dict[str, Catalog]:
    return {
        locale: _read(i18n.LOCALE_DIR / locale / "LC_MESSAGES" / "messages.po", locale)
        for locale in i18n.LOCALES
    }


def test_every_msgid_in_the_template_is_translated_in_both_catalogs() -> None:
    template = _read(i18n.LOCALE_DIR / "messages.pot")
    catalogs = _catalogs()
    messages = [m for m in template if m.id]
    assert len(messages) > 50
    for message in messages:
        _assert_translated(catalogs, message.context, message.id)


def test_every_msgid_in_the_source_is_in_the_catalogs() -> None:
    """Text added to a template or module without ``make catalogs`` fails here."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    keywords = {**DEFAULT_KEYWORDS, "NP_": ((1, "c"), 2)}
    catalogs = _catalogs()
    found = 0
    for _file, _line, msgid, _comments, context in extract_from_dir(
        ROOT,
        method_map,
        options_map,
        keywords=keywords,
        directory_filter=lambda path: Path(path).name not in {"var", "node_modules", "tests"},
    ):
        found += 1
        _assert_translated(catalogs, context, msgid)
    assert found > 50


# --- Jinja2 ----------------------------------------------------------------------------

TEMPLATE = """\
<html lang="{{ locale }}"><h1>{{ _("Why can I see this?") }}</h1>
<p>{{ _("Signed in as %(name)s", name=user) }} · {{ pgettext("administrative-gender", "Unknown") }}</p>
<p>{{ ngettext("%(num)d apple", "%(num)d apples", 3) }}</p>
<p>{{ birth | date }} · {{ seen | datetime }} · {{ seen | time }} · {{ temp | number(1) }}</p>
"""  # noqa: E501


def _render(locale: str) -> str:
    env = jinja2.Environment(extensions=["jinja2.ext.i18n"], autoescape=True)
    i18n.install(env, locale)
    return env.from_string(TEMPLATE).render(
        user="<Kari>", birth="1980-05-17", seen="2024-07-01T06:15:00Z", temp=37.54
    )


def test_template_renders_in_nb_and_nn() -> None:
    nb, nn = _render("nb"), _render("nn")
    assert '<html lang="nb">' in nb
    assert "Hvorfor ser jeg dette?" in nb
    assert "Logget inn som &lt;Kari&gt;" in nb  # interpolated values are escaped
    assert "Ukjent" in nb
    assert '<html lang="nn">' in nn
    assert "Kvifor ser eg dette?" in nn
    assert "Logga inn som &lt;Kari&gt;" in nn
    for page in (nb, nn):
        assert "3 apples" in page  # no translation yet: the English plural form
        assert "17.05.1980 · 01.07.2024 08:15 · 08:15 · 37,5" in page


def test_install_adds_the_extension_when_missing() -> None:
    env = jinja2.Environment(autoescape=True)
    i18n.install(env, "nn")
    assert env.from_string('{{ _("Sign out") }}').render() == "Logg ut"
    with pytest.raises(ValueError):
        i18n.install(jinja2.Environment(), "sv")
