"""Clinical notes written from templates: the templates, their sections, and the merge.

A note is a FHIR R4 ``DocumentReference`` whose text is one ``text/plain`` attachment.
The text keeps the template's sections under fixed headings, one heading per line,
sections in the template's order, empty sections left out::

    Aktuelt
    Bedre i dag, sov godt.

    Vurdering
    Bedring.

:func:`format_sections` writes that text and :func:`parse_sections` reads it back, so
what other systems (and the patient portal) read is plain Norwegian, and the workspace
still edits and merges section by section. A line of a section's own text that would
read as a heading (or starts with a backslash) is written with a leading backslash, so
any text survives the round trip.

Section headings and template titles are the document's own text, in the note's
language (``attachment.language``: ``nb`` or ``nn``), like the Norwegian displays of a
code list; both languages' headings are recognised when reading.

Two people can work on one note at once (nothing locks a chart). A save is checked
against the version the form was opened with; when the note changed meanwhile,
:func:`merge` merges three ways, section by section: a section changed on one side only
takes that side; the same change on both sides is no conflict; different changes to the
same section are a true conflict, reported with both texts.

Codes: the note's ``type`` is the LOINC document type (checked against the FHIR R4
``c80-doc-typecodes`` value set) with this product's template code beside it
(:data:`TEMPLATE_SYSTEM`), ``category`` the LOINC document class
(``document-classcodes``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

LOINC: Final = "http://loinc.org"
TEMPLATE_SYSTEM: Final = "https://fellesjournal.no/fhir/CodeSystem/note-template"
#: When the note was signed (the latest signing: first signature or a correction).
SIGNED_EXTENSION: Final = "https://fellesjournal.no/fhir/StructureDefinition/note-signed"
#: Why, by whom and when a signed note was corrected (the latest correction).
CORRECTION_EXTENSION: Final = "https://fellesjournal.no/fhir/StructureDefinition/note-correction"
#: Why, by whom and when a note was marked entered in error.
ERROR_EXTENSION: Final = "https://fellesjournal.no/fhir/StructureDefinition/note-entered-in-error"
CONTENT_TYPE: Final = "text/plain; charset=utf-8"
LANGUAGES: Final = ("nb", "nn")

#: Longest text of one section and of a whole note (characters).
MAX_SECTION: Final = 20_000
MAX_NOTE: Final = 60_000

Sections = dict[str, str]


@dataclass(frozen=True, slots=True)
class Section:
    key: str
    nb: str
    nn: str

    def heading(self, language: str) -> str:
        return self.nn if language == "nn" else self.nb


@dataclass(frozen=True, slots=True)
class Template:
    """A note template: its LOINC type and class, titles and sections."""

    key: str
    loinc: str
    loinc_display: str
    class_code: str
    class_display: str
    nb: str
    nn: str
    sections: tuple[Section, ...]

    def title(self, language: str) -> str:
        return self.nn if language == "nn" else self.nb

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(s.key for s in self.sections)


def _s(key: str, nb: str, nn: str | None = None) -> Section:
    return Section(key, nb, nn or nb)


TEMPLATES: Final[dict[str, Template]] = {
    t.key: t
    for t in (
        Template(
            "admission",
            "34117-2",
            "History and physical note",
            "34117-2",
            "Provider-unspecified, History and physical note",
            "Innkomstjournal",
            "Innkomstjournal",
            (
                _s("reason", "Innkomstårsak"),
                _s("history", "Tidligere sykdommer", "Tidlegare sjukdommar"),
                _s("social", "Sosialt"),
                _s("medication", "Faste legemidler", "Faste legemiddel"),
                _s("allergies", "Allergier", "Allergiar"),
                _s("current", "Aktuelt"),
                _s("findings", "Funn"),
                _s("tests", "Supplerende undersøkelser", "Supplerande undersøkingar"),
                _s("assessment", "Vurdering"),
                _s("plan", "Plan"),
            ),
        ),
        Template(
            "outpatient",
            "34108-1",
            "Outpatient Note",
            "11506-3",
            "Provider-unspecified progress note",
            "Poliklinisk notat",
            "Poliklinisk notat",
            (
                _s("problem", "Problemstilling"),
                _s("history", "Anamnese"),
                _s("findings", "Funn"),
                _s("assessment", "Vurdering"),
                _s("plan", "Plan"),
            ),
        ),
        Template(
            "progress",
            "11506-3",
            "Progress note",
            "11506-3",
            "Provider-unspecified progress note",
            "Daglig notat",
            "Dagleg notat",
            (
                _s("current", "Aktuelt"),
                _s("findings", "Funn"),
                _s("assessment", "Vurdering"),
                _s("plan", "Plan"),
            ),
        ),
        # The status keywords of the VIPS model (Velvære, Integritet, Forebygging,
        # Sikkerhet) most used in daily nursing notes, then what was done and how it went.
        Template(
            "nursing",
            "34746-8",
            "Nurse Note",
            "11506-3",
            "Provider-unspecified progress note",
            "Sykepleienotat",
            "Sjukepleienotat",
            (
                _s("communication", "Kommunikasjon/sanser", "Kommunikasjon/sansar"),
                _s("mental", "Psykisk/kognitivt"),
                _s("circulation", "Respirasjon/sirkulasjon"),
                _s("nutrition", "Ernæring/væske"),
                _s("elimination", "Eliminasjon"),
                _s("skin", "Hud/vev/sår"),
                _s("activity", "Aktivitet/funksjonsstatus"),
                _s("comfort", "Smerte/søvn/velvære"),
                _s("actions", "Tiltak og evaluering"),
            ),
        ),
        Template(
            "discharge",
            "18842-5",
            "Discharge summary",
            "18842-5",
            "Discharge summary",
            "Epikrise",
            "Epikrise",
            (
                _s("diagnoses", "Diagnoser", "Diagnosar"),
                _s("course", "Forløp"),
                _s("findings", "Funn og undersøkelser", "Funn og undersøkingar"),
                _s("medication", "Legemidler ved utreise", "Legemiddel ved utreise"),
                _s("follow_up", "Videre oppfølging", "Vidare oppfølging"),
            ),
        ),
    )
}
#: Notes not written from a template (imported, the demo's) are one free text.
FREE_TEXT: Final = Template("", "", "", "", "", "Notat", "Notat", (Section("text", "", ""),))


# -- text <-> sections -----------------------------------------------------------------------


def normalise(text: str) -> str:
    """A section's text as stored: Unix newlines, no trailing spaces on lines, no blank
    lines at either end."""
    lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
    while lines and not lines[0]:
        lines.pop(0)
    while lines and not lines[-1]:
        lines.pop()
    return "\n".join(lines)


def _headings(template: Template) -> dict[str, str]:
    """Every heading of ``template`` (both languages) -> its section key."""
    found: dict[str, str] = {}
    for section in template.sections:
        for heading in (section.nb, section.nn):
            if heading:
                found[heading] = section.key
    return found


def format_sections(template: Template, sections: Mapping[str, str], language: str) -> str:
    """The note's text: each non-empty section under its heading, in template order."""
    headings = _headings(template)
    parts = []
    for section in template.sections:
        text = normalise(sections.get(section.key, ""))
        if not text:
            continue
        body = "\n".join(
            "\\" + line if line.startswith("\\") or line in headings else line
            for line in text.split("\n")
        )
        heading = section.heading(language)
        parts.append(f"{heading}\n{body}" if heading else body)
    return "\n\n".join(parts)


def parse_sections(template: Template, text: str) -> Sections:
    """The sections of a note's text (every key of ``template``, "" when absent). Text
    before the first heading belongs to the first section."""
    headings = _headings(template)
    lines: dict[str, list[str]] = {key: [] for key in template.keys}
    current = template.sections[0].key
    for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        bare = line.rstrip()
        if bare in headings:
            current = headings[bare]
            continue
        lines[current].append(line[1:] if line.startswith("\\") else line)
    return {key: normalise("\n".join(found)) for key, found in lines.items()}


def empty(sections: Mapping[str, str]) -> bool:
    return not any(normalise(v) for v in sections.values())


def too_long(sections: Mapping[str, str]) -> bool:
    sizes = [len(v) for v in sections.values()]
    return any(s > MAX_SECTION for s in sizes) or sum(sizes) > MAX_NOTE


# -- three-way merge -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Conflict:
    """One section both sides changed, differently."""

    key: str
    base: str
    mine: str
    theirs: str


def merge(
    base: Mapping[str, str], mine: Mapping[str, str], theirs: Mapping[str, str]
) -> tuple[Sections, list[Conflict]]:
    """Merge my edit and theirs, both made from ``base``, section by section.

    Returns the merged sections (for a conflict: my text, so nothing typed is lost) and
    the conflicts, in key order of first appearance.
    """
    keys = list(dict.fromkeys([*base, *mine, *theirs]))
    merged: Sections = {}
    conflicts = []
    for key in keys:
        b, m, t = (normalise(side.get(key, "")) for side in (base, mine, theirs))
        if m == t or t == b:
            merged[key] = m
        elif m == b:
            merged[key] = t
        else:
            merged[key] = m
            conflicts.append(Conflict(key, b, m, t))
    return merged, conflicts


# -- the DocumentReference -------------------------------------------------------------------


def template_of(doc: Mapping[str, Any]) -> Template:
    """The template a note was written from (:data:`FREE_TEXT` for any other note)."""
    for coding in (doc.get("type") or {}).get("coding") or ():
        if coding.get("system") == TEMPLATE_SYSTEM and coding.get("code") in TEMPLATES:
            return TEMPLATES[str(coding["code"])]
    return FREE_TEXT


def attachment(doc: Mapping[str, Any]) -> dict[str, Any]:
    content = doc.get("content") or [{}]
    found = content[0].get("attachment") if isinstance(content[0], dict) else None
    return found if isinstance(found, dict) else {}


def language_of(doc: Mapping[str, Any]) -> str:
    language = str(attachment(doc).get("language") or "nb")
    return language if language in LANGUAGES else "nb"


def text_of(doc: Mapping[str, Any]) -> str:
    """The note's text (its first attachment's data as UTF-8; "" when unreadable)."""
    data = attachment(doc).get("data")
    if not isinstance(data, str):
        return ""
    try:
        return base64.b64decode(data, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return ""


def sections_of(doc: Mapping[str, Any]) -> Sections:
    return parse_sections(template_of(doc), text_of(doc))


def reference(ref: str, display: str) -> dict[str, str]:
    return {"reference": ref, "display": display} if display else {"reference": ref}


def new_note(
    template: Template,
    sections: Mapping[str, str],
    *,
    patient_id: str,
    language: str,
    author: dict[str, str],
    custodian: dict[str, str],
    now: str,
    encounter: str | None = None,
) -> dict[str, Any]:
    """A draft note (``docStatus`` preliminary) written now by ``author``."""
    title = template.title(language)
    doc: dict[str, Any] = {
        "resourceType": "DocumentReference",
        "status": "current",
        "docStatus": "preliminary",
        "type": {
            "coding": [
                {"system": LOINC, "code": template.loinc, "display": template.loinc_display},
                {"system": TEMPLATE_SYSTEM, "code": template.key, "display": title},
            ],
            "text": title,
        },
        "category": [
            {
                "coding": [
                    {
                        "system": LOINC,
                        "code": template.class_code,
                        "display": template.class_display,
                    }
                ]
            }
        ],
        "subject": {"reference": f"Patient/{patient_id}"},
        "date": now,
        "author": [author],
        "custodian": custodian,
        "content": [
            {
                "attachment": {
                    "contentType": CONTENT_TYPE,
                    "language": language,
                    "title": title,
                    "creation": now,
                }
            }
        ],
    }
    if encounter:
        doc["context"] = {"encounter": [{"reference": f"Encounter/{encounter}"}]}
    return with_text(doc, sections)


def with_text(doc: Mapping[str, Any], sections: Mapping[str, str]) -> dict[str, Any]:
    """``doc`` holding ``sections`` as its text."""
    out = dict(doc)
    text = format_sections(template_of(doc), sections, language_of(doc))
    content = [dict(c) for c in out.get("content") or [{}]]
    att = dict(content[0].get("attachment") or {})
    att["contentType"] = CONTENT_TYPE
    att["data"] = base64.b64encode(text.encode("utf-8")).decode("ascii")
    att.pop("size", None)
    att.pop("hash", None)
    content[0] = {**content[0], "attachment": att}
    out["content"] = content
    return out


def with_author(doc: Mapping[str, Any], author: dict[str, str]) -> dict[str, Any]:
    """``doc`` with ``author`` among its authors (a co-author of a draft)."""
    out = dict(doc)
    authors = list(out.get("author") or [])
    if not any(a.get("reference") == author["reference"] for a in authors):
        authors.append(author)
    out["author"] = authors
    return out


def _without(doc: Mapping[str, Any], url: str) -> list[dict[str, Any]]:
    return [e for e in doc.get("extension") or () if e.get("url") != url]


def _event(url: str, reason: str, who: dict[str, str], when: str) -> dict[str, Any]:
    return {
        "url": url,
        "extension": [
            {"url": "reason", "valueString": reason},
            {"url": "author", "valueReference": who},
            {"url": "time", "valueDateTime": when},
        ],
    }


def signed(doc: Mapping[str, Any], who: dict[str, str], when: str) -> dict[str, Any]:
    """``doc`` signed by ``who`` at ``when`` (``docStatus`` final)."""
    out = dict(doc)
    out["docStatus"] = "final"
    out["authenticator"] = who
    out["extension"] = [
        *_without(out, SIGNED_EXTENSION),
        {"url": SIGNED_EXTENSION, "valueDateTime": when},
    ]
    return out


def corrected(
    doc: Mapping[str, Any], who: dict[str, str], when: str, reason: str
) -> dict[str, Any]:
    """``doc`` (already holding the corrected text) as a correction: ``amended``, signed
    by the one who corrected it, with the reason (hpl § 42: a dated correction)."""
    out = signed(with_author(doc, who), who, when)
    out["docStatus"] = "amended"
    out["extension"] = [
        *_without(out, CORRECTION_EXTENSION),
        _event(CORRECTION_EXTENSION, reason, who, when),
    ]
    return out


def entered_in_error(
    doc: Mapping[str, Any], who: dict[str, str], when: str, reason: str
) -> dict[str, Any]:
    """``doc`` marked entered in error (kept, never deleted)."""
    out = dict(doc)
    out["status"] = "entered-in-error"
    out["docStatus"] = "entered-in-error"
    out["extension"] = [*_without(out, ERROR_EXTENSION), _event(ERROR_EXTENSION, reason, who, when)]
    return out


@dataclass(frozen=True, slots=True)
class Event:
    """A correction or an entered-in-error marking: why, who, when."""

    reason: str
    who: str
    when: str


def event_of(doc: Mapping[str, Any], url: str) -> Event | None:
    for ext in doc.get("extension") or ():
        if ext.get("url") != url:
            continue
        parts = {e.get("url"): e for e in ext.get("extension") or ()}
        return Event(
            str(parts.get("reason", {}).get("valueString") or ""),
            str((parts.get("author", {}).get("valueReference") or {}).get("display") or ""),
            str(parts.get("time", {}).get("valueDateTime") or ""),
        )
    return None


def signed_at(doc: Mapping[str, Any]) -> str:
    for ext in doc.get("extension") or ():
        if ext.get("url") == SIGNED_EXTENSION:
            return str(ext.get("valueDateTime") or "")
    return ""


def state_of(doc: Mapping[str, Any]) -> str:
    """``draft``, ``signed`` (final or amended) or ``entered-in-error``."""
    if doc.get("status") == "entered-in-error":
        return "entered-in-error"
    if doc.get("docStatus") == "preliminary":
        return "draft"
    return "signed"


def author_refs(doc: Mapping[str, Any]) -> list[str]:
    return [str(a.get("reference") or "") for a in doc.get("author") or ()]
