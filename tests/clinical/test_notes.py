"""Note templates, the sections' text format (written and read back), the three-way merge,
and the DocumentReference's life (draft, signed, corrected, entered in error)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from fellesjournal.clinical import notes as cn

VALUESETS = Path("/work/shared/data/fhir-r4-core/valuesets.json")
PROGRESS = cn.TEMPLATES["progress"]
ADMISSION = cn.TEMPLATES["admission"]
ME = {"reference": "Practitioner/hpr-1", "display": "Lege En"}
OTHER = {"reference": "Practitioner/hpr-2", "display": "Lege To"}
UNIT = {"reference": "Organization/unit", "display": "Sengepost"}
NOW = "2026-11-25T08:00:00.000Z"


def test_the_five_templates_with_their_sections() -> None:
    assert set(cn.TEMPLATES) == {"admission", "outpatient", "progress", "nursing", "discharge"}
    assert [s.nb for s in ADMISSION.sections][:2] == ["Innkomstårsak", "Tidligere sykdommer"]
    assert [s.nb for s in cn.TEMPLATES["discharge"].sections] == [
        "Diagnoser",
        "Forløp",
        "Funn og undersøkelser",
        "Legemidler ved utreise",
        "Videre oppfølging",
    ]
    assert cn.TEMPLATES["nursing"].title("nn") == "Sjukepleienotat"
    for template in cn.TEMPLATES.values():
        keys = template.keys
        assert len(set(keys)) == len(keys)
        headings = [h for s in template.sections for h in {s.nb, s.nn}]
        assert len(set(headings)) == len(headings), template.key  # each reads back to one


@pytest.mark.skipif(not VALUESETS.exists(), reason="the FHIR R4 value sets are not here")
def test_types_and_classes_are_loinc_document_codes_of_fhir_r4() -> None:
    bundle = json.loads(VALUESETS.read_text())
    codes: dict[str, set[str]] = {}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource.get("id") in ("c80-doc-typecodes", "document-classcodes"):
            codes[resource["id"]] = {
                c["code"]
                for include in resource["compose"]["include"]
                for c in include.get("concept", ())
            }
    for template in cn.TEMPLATES.values():
        assert template.loinc in codes["c80-doc-typecodes"], template.key
        assert template.class_code in codes["document-classcodes"], template.key


def test_sections_are_written_under_headings_and_read_back() -> None:
    sections = {"current": "Bedre i dag.\nSov godt.", "findings": "", "plan": "Utreise i morgen. "}
    text = cn.format_sections(PROGRESS, sections, "nb")
    assert text == "Aktuelt\nBedre i dag.\nSov godt.\n\nPlan\nUtreise i morgen."
    assert cn.parse_sections(PROGRESS, text) == {
        "current": "Bedre i dag.\nSov godt.",
        "findings": "",
        "assessment": "",
        "plan": "Utreise i morgen.",
    }


def test_nynorsk_headings_and_both_languages_read() -> None:
    sections = {"history": "Astma.", "reason": "Dyspné."}
    text = cn.format_sections(ADMISSION, sections, "nn")
    assert text.startswith("Innkomstårsak\nDyspné.\n\nTidlegare sjukdommar\nAstma.")
    assert cn.parse_sections(ADMISSION, text)["history"] == "Astma."
    bokmal = cn.format_sections(ADMISSION, sections, "nb")
    assert cn.parse_sections(ADMISSION, bokmal)["history"] == "Astma."


@pytest.mark.parametrize(
    "typed",
    [
        "Plan",  # a line that is a heading
        "Funn\nmer tekst",
        "\\Plan",  # a line that is an escaped heading
        "\\ backslash first",
        "  Plan  ",  # spaces around are not a heading
        "første avsnitt\n\n\nandre avsnitt",  # blank lines inside are kept
    ],
)
def test_any_text_survives_the_round_trip(typed: str) -> None:
    sections = {"current": typed, "assessment": "Vurdering\nslutt"}
    back = cn.parse_sections(PROGRESS, cn.format_sections(PROGRESS, sections, "nb"))
    assert back["current"] == cn.normalise(typed)
    assert back["assessment"] == "Vurdering\nslutt"
    assert back["findings"] == back["plan"] == ""


def test_text_before_any_heading_belongs_to_the_first_section() -> None:
    parsed = cn.parse_sections(PROGRESS, "fri tekst\r\nfra et annet system\n\nPlan\nhjem")
    assert parsed["current"] == "fri tekst\nfra et annet system"
    assert parsed["plan"] == "hjem"
    free = cn.parse_sections(cn.FREE_TEXT, "Plan\nlinje to")
    assert free == {"text": "Plan\nlinje to"}
    assert cn.format_sections(cn.FREE_TEXT, free, "nb") == "Plan\nlinje to"


def test_merge_takes_each_sides_changes_to_different_sections() -> None:
    base = {"current": "A", "findings": "B", "plan": "C"}
    mine = {"current": "A mine", "findings": "B", "plan": "C"}
    theirs = {"current": "A", "findings": "B", "plan": "C theirs"}
    merged, conflicts = cn.merge(base, mine, theirs)
    assert conflicts == []
    assert merged == {"current": "A mine", "findings": "B", "plan": "C theirs"}


def test_merge_the_same_change_on_both_sides_is_no_conflict() -> None:
    base = {"plan": "C"}
    merged, conflicts = cn.merge(base, {"plan": "C2\n"}, {"plan": "C2"})
    assert (merged, conflicts) == ({"plan": "C2"}, [])


def test_merge_reports_a_true_conflict_and_keeps_my_text() -> None:
    base = {"current": "A", "plan": "C"}
    mine = {"current": "A", "plan": "C mine"}
    theirs = {"current": "A theirs", "plan": "C theirs"}
    merged, conflicts = cn.merge(base, mine, theirs)
    assert merged == {"current": "A theirs", "plan": "C mine"}
    assert conflicts == [cn.Conflict("plan", "C", "C mine", "C theirs")]


def test_merge_a_section_emptied_on_one_side() -> None:
    merged, conflicts = cn.merge({"plan": "C"}, {"plan": ""}, {"plan": "C"})
    assert (merged, conflicts) == ({"plan": ""}, [])
    merged, conflicts = cn.merge({"plan": "C"}, {"plan": ""}, {"plan": "D"})
    assert [c.key for c in conflicts] == ["plan"]


def _draft() -> dict[str, object]:
    return cn.new_note(
        PROGRESS,
        {"current": "Bedre.", "plan": "Hjem."},
        patient_id="p1",
        language="nb",
        author=ME,
        custodian=UNIT,
        now=NOW,
        encounter="e1",
    )


def test_a_new_note_is_a_draft_document_reference() -> None:
    doc = _draft()
    assert doc["docStatus"] == "preliminary" and doc["status"] == "current"
    assert doc["subject"] == {"reference": "Patient/p1"}
    assert doc["context"] == {"encounter": [{"reference": "Encounter/e1"}]}
    assert doc["author"] == [ME] and doc["custodian"] == UNIT
    codings = doc["type"]["coding"]  # type: ignore[index]
    assert codings[0] == {"system": cn.LOINC, "code": "11506-3", "display": "Progress note"}
    assert doc["type"]["text"] == "Daglig notat"  # type: ignore[index]
    att = cn.attachment(doc)
    assert att["contentType"] == "text/plain; charset=utf-8" and att["title"] == "Daglig notat"
    assert cn.template_of(doc) is PROGRESS
    assert cn.text_of(doc) == "Aktuelt\nBedre.\n\nPlan\nHjem."
    assert cn.sections_of(doc)["plan"] == "Hjem."
    assert cn.state_of(doc) == "draft"


def test_sign_correct_and_mark_entered_in_error() -> None:
    doc = cn.signed(_draft(), ME, NOW)
    assert (doc["docStatus"], doc["authenticator"], cn.signed_at(doc)) == ("final", ME, NOW)
    assert cn.state_of(doc) == "signed"
    later = "2026-11-26T09:00:00.000Z"
    fixed = cn.corrected(
        cn.with_text(doc, {"plan": "Blir over helgen."}), OTHER, later, "feil plan"
    )
    assert fixed["docStatus"] == "amended" and fixed["authenticator"] == OTHER
    assert cn.signed_at(fixed) == later
    assert cn.author_refs(fixed) == ["Practitioner/hpr-1", "Practitioner/hpr-2"]
    assert cn.event_of(fixed, cn.CORRECTION_EXTENSION) == cn.Event("feil plan", "Lege To", later)
    assert cn.sections_of(fixed)["plan"] == "Blir over helgen."
    assert [e["url"] for e in fixed["extension"]].count(cn.SIGNED_EXTENSION) == 1
    wrong = cn.entered_in_error(fixed, ME, later, "feil pasient")
    assert wrong["status"] == wrong["docStatus"] == "entered-in-error"
    assert cn.state_of(wrong) == "entered-in-error"
    assert cn.event_of(wrong, cn.ERROR_EXTENSION) == cn.Event("feil pasient", "Lege En", later)
    assert cn.sections_of(wrong) == cn.sections_of(fixed)  # kept, never emptied


def test_notes_from_elsewhere_are_free_text() -> None:
    doc = {"type": {"coding": [{"system": cn.LOINC, "code": "11506-3"}]}, "content": []}
    assert cn.template_of(doc) is cn.FREE_TEXT
    assert cn.text_of(doc) == ""
    assert cn.text_of({"content": [{"attachment": {"data": "not base64!"}}]}) == ""


def test_limits() -> None:
    assert cn.empty({"a": " \n", "b": ""})
    assert not cn.empty({"a": "x"})
    assert cn.too_long({"a": "x" * (cn.MAX_SECTION + 1)})
    assert cn.too_long({str(i): "x" * cn.MAX_SECTION for i in range(4)})
    assert not cn.too_long({"a": "x" * 100})
