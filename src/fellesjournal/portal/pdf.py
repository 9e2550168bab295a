"""Download my record: the patient summary as a readable A4 PDF, in bokmål or nynorsk.

Built from the summary Bundle (:func:`fellesjournal.portal.export.ips_bundle`), so the
PDF and the FHIR download show the same resources from one read: the patient's name,
fødselsnummer and date of birth, then each section of the Composition as a table (what,
when, details; a report's results under it), page numbers and the time it was made.

fpdf2's core fonts (Helvetica) cover Latin-1, which has æ, ø and å; the few characters
outside it that a record may hold (dashes, quotes, superscripts, ≤ and ≥) are written
with Latin-1 look-alikes (:func:`latin1`), anything else as ``?``.
"""

from __future__ import annotations

import datetime
import unicodedata
from collections.abc import Mapping
from typing import Any, Final

from fpdf import FPDF

from fellesjournal.portal import summary_rows
from fellesjournal.portal.export import (
    SECTIONS,
    TITLE,
    ips_bundle,
    national_id,
    reference_index,
)
from fellesjournal.service.repository import GuardedRepository

Resource = dict[str, Any]

#: The headings, by language (the section titles by IPS section key).
HEADINGS: Final[dict[str, dict[str, str]]] = {
    "nb": {
        "title": TITLE,
        "intro": "Utdrag fra journalen din i Fellesjournal, laget {date}. Det viser det som "
        "er tilgjengelig for deg; lange lister viser de nyeste.",
        "name": "Navn",
        "fnr": "Fødselsnummer",
        "born": "Fødselsdato",
        "what": "Hva",
        "when": "Dato",
        "detail": "Detaljer",
        "empty": "Ingenting registrert.",
        "page": "Side {page} av {pages}",
        "made": "Laget {date}",
        "alerts": "Kritisk informasjon",
        "allergies": "Allergier og intoleranser",
        "problems": "Aktive problemer og diagnoser",
        "past-illness": "Tidligere sykdommer",
        "medications": "Legemidler",
        "immunizations": "Vaksinasjoner",
        "results": "Prøvesvar",
        "procedures": "Prosedyrer",
        "encounters": "Kontakter og opphold",
        "documents": "Dokumenter",
    },
    "nn": {
        "title": "Pasientsamandrag",
        "intro": "Utdrag frå journalen din i Fellesjournal, laga {date}. Det viser det som "
        "er tilgjengeleg for deg; lange lister viser dei nyaste.",
        "name": "Namn",
        "fnr": "Fødselsnummer",
        "born": "Fødselsdato",
        "what": "Kva",
        "when": "Dato",
        "detail": "Detaljar",
        "empty": "Ikkje noko registrert.",
        "page": "Side {page} av {pages}",
        "made": "Laga {date}",
        "alerts": "Kritisk informasjon",
        "allergies": "Allergiar og intoleransar",
        "problems": "Aktive problem og diagnosar",
        "past-illness": "Tidlegare sjukdommar",
        "medications": "Legemiddel",
        "immunizations": "Vaksinasjonar",
        "results": "Prøvesvar",
        "procedures": "Prosedyrar",
        "encounters": "Kontaktar og opphald",
        "documents": "Dokument",
    },
}

#: Characters outside Latin-1 that a record may hold, and what is written instead.
_LOOK_ALIKES: Final = str.maketrans(
    {
        "–": "-",
        "—": "-",
        "‑": "-",
        "−": "-",
        "‘": "'",
        "’": "'",
        "‚": ",",
        "“": '"',
        "”": '"',
        "„": '"',
        "…": "...",
        "•": "·",
        "≤": "<=",
        "≥": ">=",
        "≠": "!=",
        "→": "->",
        "€": "EUR",
        "Ł": "L",
        "ł": "l",
        "Đ": "D",
        "đ": "d",
        "ı": "i",
        "Œ": "OE",
        "œ": "oe",
        "\u2009": " ",
        "\u202f": " ",
        "\u200b": "",
        "⁰": "^0",
        "⁴": "^4",
        "⁵": "^5",
        "⁶": "^6",
        "⁷": "^7",
        "⁸": "^8",
        "⁹": "^9",
        "⁻": "^-",
    }
)

_FONT: Final = "Helvetica"
_MARGIN: Final = 18.0


def latin1(text: str) -> str:
    """``text`` in Latin-1 (what the PDF core fonts can write): look-alikes for the
    common characters outside it, the base letter for accented ones (``ő`` → ``o``),
    ``?`` for the rest."""
    text = text.translate(_LOOK_ALIKES)
    if all(ord(ch) < 256 for ch in text):
        return text
    out = []
    for ch in text:
        if ord(ch) < 256:
            out.append(ch)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", ch) if ord(c) < 128)
        out.append(base or "?")
    return "".join(out)


def _language(locale: str) -> str:
    return "nn" if locale.lower().startswith("nn") else "nb"


def _fnr_text(fnr: str) -> str:
    """``DDMMYY NNNNN``, as a fødselsnummer is printed."""
    return f"{fnr[:6]} {fnr[6:]}" if len(fnr) == 11 and fnr.isdigit() else fnr


def _produced(stamp: str) -> str:
    moment = datetime.datetime.fromisoformat(stamp).astimezone(summary_rows.OSLO)
    return moment.strftime("%d.%m.%Y kl. %H.%M")


class _SummaryPdf(FPDF):
    """A4 with the page number and the time made at the foot of every page."""

    def __init__(self, words: Mapping[str, str], footer_left: str) -> None:
        super().__init__(orientation="portrait", unit="mm", format="A4")
        self.headings = words
        self._footer_left = footer_left
        self._page_text = words["page"]

    def footer(self) -> None:
        self.set_y(-12)
        self.set_font(_FONT, size=8)
        self.set_text_color(80, 80, 80)
        self.cell(0, 5, latin1(self._footer_left), align="L")
        self.set_x(self.l_margin)
        # fpdf2 replaces the alias with the page count when the document is closed.
        pages = self._page_text.format(page=self.page_no(), pages=self.str_alias_nb_pages)
        self.cell(0, 5, pages, align="R")
        self.set_text_color(0, 0, 0)


def render_pdf(bundle: Mapping[str, Any], locale: str, *, compress: bool = True) -> bytes:
    """The PDF of a summary Bundle made by :func:`ips_bundle`, headings in ``locale``
    (``nb`` or ``nn``; anything else is bokmål). ``compress=False`` leaves the page
    streams readable (for tests)."""
    words = HEADINGS[_language(locale)]
    entries = [e for e in bundle.get("entry") or () if isinstance(e, dict)]
    composition: Resource = entries[0]["resource"]
    by_url: dict[str, Resource] = {str(e["fullUrl"]): e["resource"] for e in entries}
    patient = by_url.get(str(composition["subject"]["reference"]), {})
    stored = [e["resource"] for e in entries[1:] if e["fullUrl"].startswith(("http", "https"))]
    base = str(composition["subject"]["reference"]).rsplit("/Patient/", 1)[0]
    index = reference_index(base, stored)
    made = _produced(str(bundle["timestamp"]))

    pdf = _SummaryPdf(words, words["made"].format(date=made))
    pdf.set_compression(compress)
    pdf.set_title(latin1(words["title"]))
    pdf.set_lang(_language(locale))
    pdf.set_creator("Fellesjournal")
    pdf.set_author("Fellesjournal")
    pdf.set_creation_date(datetime.datetime.fromisoformat(str(bundle["timestamp"])))
    pdf.set_margins(_MARGIN, _MARGIN, _MARGIN)
    pdf.set_auto_page_break(True, margin=18)
    pdf.add_page()

    pdf.set_font(_FONT, style="B", size=18)
    pdf.cell(0, 10, latin1(words["title"]), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(_FONT, size=10)
    pdf.multi_cell(0, 5, latin1(words["intro"].format(date=made)), new_x="LMARGIN", new_y="NEXT")
    pdf.ln(3)
    facts = [
        (words["name"], summary_rows.person_name(patient)),
        (words["fnr"], _fnr_text(national_id(patient))),
        (words["born"], summary_rows.date_text(patient.get("birthDate"))),
    ]
    for label, value in facts:
        if not value:
            continue
        pdf.set_font(_FONT, style="B", size=11)
        pdf.cell(40, 6, latin1(label))
        pdf.set_font(_FONT, size=11)
        pdf.cell(0, 6, latin1(value), new_x="LMARGIN", new_y="NEXT")

    keys = {s.code: s.key for s in SECTIONS}
    for section in composition.get("section") or ():
        code = (section.get("code", {}).get("coding") or [{}])[0].get("code")
        key = keys.get(str(code))
        title = words.get(key or "", "") or str(section.get("title") or "")
        members = [
            by_url[str(ref.get("reference"))]
            for ref in section.get("entry") or ()
            if str(ref.get("reference")) in by_url
        ]
        _section(pdf, title, [row for r in members for row in summary_rows.rows(r, index)], words)
    return bytes(pdf.output())


#: Column widths (mm) of a section's table: what, when, details (A4 less the margins).
_COLUMNS: Final = (76.0, 38.0, 60.0)
_LINE: Final = 4.2
_PAD: Final = 1.3
_INDENT: Final = 4.0


def _wrap(pdf: FPDF, text: str, width: float) -> list[str]:
    """``text`` broken into lines no wider than ``width`` at spaces (a word too long
    for a line is broken where it must be)."""
    lines: list[str] = []
    current = ""
    for word in text.split():
        candidate = f"{current} {word}" if current else word
        if pdf.get_string_width(candidate) <= width:
            current = candidate
            continue
        if current:
            lines.append(current)
        while pdf.get_string_width(word) > width and len(word) > 1:
            cut = len(word) - 1
            while cut > 1 and pdf.get_string_width(word[:cut]) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    return lines or [""]


def _table_row(pdf: _SummaryPdf, cells: list[str], indent: int, *, heading: bool = False) -> None:
    """One row of a section's table, on a new page (with the heading row again) when it
    does not fit. fpdf2's own tables measure every cell through ``multi_cell``: a
    record of a few hundred rows took a second; this takes a few milliseconds."""
    x0 = pdf.l_margin
    offsets = [x0, x0 + _COLUMNS[0], x0 + _COLUMNS[0] + _COLUMNS[1]]
    shift = [_INDENT * indent, 0.0, 0.0]
    wrapped = [
        _wrap(pdf, latin1(text), width - 2 * _PAD - extra)
        for text, width, extra in zip(cells, _COLUMNS, shift, strict=True)
    ]
    height = max(len(lines) for lines in wrapped) * _LINE + 2 * _PAD
    if pdf.get_y() + height > pdf.page_break_trigger:
        pdf.add_page()
        if not heading:
            _table_heading(pdf)
    y = pdf.get_y()
    if heading:
        pdf.set_fill_color(225, 230, 235)
        pdf.rect(x0, y, sum(_COLUMNS), height, style="F")
    for lines, x, extra in zip(wrapped, offsets, shift, strict=True):
        for n, line in enumerate(lines):
            pdf.text(x + _PAD + extra, y + _PAD + (n + 0.78) * _LINE, line)
    pdf.set_draw_color(190, 196, 204)
    pdf.line(x0, y + height, x0 + sum(_COLUMNS), y + height)
    pdf.set_y(y + height)


def _table_heading(pdf: _SummaryPdf) -> None:
    words = pdf.headings
    pdf.set_font(_FONT, style="B", size=9)
    _table_row(pdf, [words["what"], words["when"], words["detail"]], 0, heading=True)
    pdf.set_font(_FONT, size=9)


def _section(
    pdf: _SummaryPdf, title: str, rows: list[summary_rows.Row], words: Mapping[str, str]
) -> None:
    pdf.ln(5)
    if pdf.get_y() + 22 > pdf.page_break_trigger:
        pdf.add_page()
    pdf.start_section(latin1(title))
    pdf.set_font(_FONT, style="B", size=13)
    pdf.cell(0, 8, latin1(title), new_x="LMARGIN", new_y="NEXT")
    pdf.set_font(_FONT, size=9)
    if not rows:
        pdf.cell(0, 6, latin1(words["empty"]), new_x="LMARGIN", new_y="NEXT")
        return
    _table_heading(pdf)
    for row in rows:
        what = f"· {row.what}" if row.indent else row.what
        _table_row(pdf, [what or "-", row.when, row.detail], row.indent)


def summary_pdf(
    repo: GuardedRepository, patient_id: str, locale: str, *, compress: bool = True
) -> bytes:
    """The summary of ``patient_id``'s record as ``repo``'s actor may see it, as a PDF
    with headings in ``locale`` (``nb`` or ``nn``): :func:`render_pdf` of
    :func:`ips_bundle` (one read, one AuditEvent). Raises the repository's 404 when the
    actor may not see the patient."""
    return render_pdf(ips_bundle(repo, patient_id), locale, compress=compress)
