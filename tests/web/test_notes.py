"""Clinical notes in process: write from a template, save a draft, sign, correct (the old
version kept and shown), mark entered in error; two sessions on one note (a silent merge
and a true conflict); CSRF, access, roles, and bad input answered with pages, not 500s."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.testclient import TestClient

from fellesjournal.clinical import notes as cn
from fellesjournal.fhir import jsonio
from fellesjournal.settings import Settings
from fellesjournal.store.sql import SqlStore
from fellesjournal.web.demo_users import demo_users
from tests.web.chart_records import containing
from tests.web.conftest import csrf_of, sign_in
from tests.web.test_workspace import GP, GP_OFFICE, OTHER_OFFICE, _listed

COLLEAGUE = "990001484"  # Turid Sivertsen, doctor at the same GP office (region staff)
SECRETARY = "990001486"  # Inger Eliassen, secretary at the same GP office


@pytest.fixture
def other(ws_app: Any) -> Iterator[TestClient]:
    """A second browser, for a second person working in the same chart."""
    with TestClient(ws_app, base_url="https://testserver") as client:
        yield client


def _version(page: str) -> str:
    found = re.search(r'name="version" value="(\d+)"', page)
    assert found is not None, page
    return found.group(1)


def _textarea(page: str, key: str) -> str:
    found = re.search(rf'name="section-{key}"[^>]*>(.*?)</textarea>', page, re.S)
    assert found is not None, page
    return html.unescape(found.group(1))


def _stored(ws_settings: Settings, note_id: str) -> tuple[int, dict[str, Any]]:
    store = SqlStore.from_settings(ws_settings)
    try:
        with store.snapshot() as tx:
            current = tx.read("DocumentReference", note_id)
            assert current is not None
            return current.version, jsonio.loads(current.content or "{}")
    finally:
        store.dispose()


def _write_draft(
    web: TestClient, patient_id: str, template: str = "progress", **sections: str
) -> str:
    """A new note (a daily note unless ``template`` says) saved as a draft; its id."""
    form = web.get(f"/patients/{patient_id}/notes/new?template={template}")
    assert form.status_code == 200
    data = {"csrf": csrf_of(form.text), "template": template, "action": "draft"}
    data.update({f"section-{k}": v for k, v in sections.items()})
    saved = web.post(f"/patients/{patient_id}/notes/new", data=data, follow_redirects=False)
    assert saved.status_code == 303, saved.text
    location = saved.headers["location"]
    assert location.startswith(f"/patients/{patient_id}/notes/")
    return location.rsplit("/", 1)[1]


def _save(client: TestClient, patient_id: str, note_id: str, page: str, **fields: str) -> Any:
    data = {"csrf": csrf_of(page), "version": _version(page), "action": "draft"}
    data.update(fields)
    return client.post(f"/patients/{patient_id}/notes/{note_id}", data=data, follow_redirects=False)


def _shared_draft(
    web: TestClient, other: TestClient, settings: Settings, patient: int, **sections: str
) -> tuple[str, str, str]:
    """The GP's draft in the chart of the GP office's ``patient`` (index), with her
    colleague signed in on ``other``: (patient id, note id, the note's address)."""
    sign_in(web, GP)
    sign_in(other, COLLEAGUE)
    patient_id, _ = _listed(settings, GP_OFFICE)[patient]
    note_id = _write_draft(web, patient_id, **sections)
    return patient_id, note_id, f"/patients/{patient_id}/notes/{note_id}"


def _mark(client: TestClient, url: str, page: str, **fields: str) -> Any:
    """The entered-in-error form (``url``) posted with the version ``page`` showed."""
    data = {"csrf": csrf_of(page), "version": _version(page), **fields}
    return client.post(url, data=data, follow_redirects=False)


def test_draft_sign_correct_and_mark_entered_in_error(
    web: TestClient, ws_settings: Settings
) -> None:
    sign_in(web, GP)
    patient_id, _ = _listed(ws_settings, GP_OFFICE)[0]
    overview = web.get(f"/patients/{patient_id}")
    assert f'action="/patients/{patient_id}/notes/new"' in overview.text  # "Nytt notat"
    chooser = web.get(f"/patients/{patient_id}/notes/new")
    assert chooser.status_code == 200
    assert f"/patients/{patient_id}/notes/new?template=discharge" in chooser.text
    form = web.get(f"/patients/{patient_id}/notes/new?template=admission")
    for key in cn.TEMPLATES["admission"].keys:
        assert f'name="section-{key}"' in form.text
    assert "Innkomstårsak" in form.text

    note_id = _write_draft(web, patient_id, current="Hoste i to uker.", plan="Rtg thorax.")
    version, doc = _stored(ws_settings, note_id)
    assert (version, doc["docStatus"], doc["status"]) == (1, "preliminary", "current")
    assert doc["author"][0]["reference"] == f"Practitioner/hpr-{GP}"
    assert doc["custodian"]["reference"] == f"Organization/{GP_OFFICE}"
    assert cn.text_of(doc) == "Aktuelt\nHoste i to uker.\n\nPlan\nRtg thorax."

    page = web.get(f"/patients/{patient_id}/notes/{note_id}")
    assert page.status_code == 200
    assert _textarea(page.text, "current") == "Hoste i to uker."
    assert 'value="sign"' in page.text  # the author signs her own draft
    signed = _save(
        web,
        patient_id,
        note_id,
        page.text,
        action="sign",
        **{"section-current": "Hoste i to uker.", "section-plan": "Rtg thorax. Kontroll."},
    )
    assert (signed.status_code, signed.headers["location"]) == (303, f"/patients/{patient_id}")
    version, doc = _stored(ws_settings, note_id)
    assert (version, doc["docStatus"]) == (2, "final")
    assert doc["authenticator"]["reference"] == f"Practitioner/hpr-{GP}"
    assert cn.signed_at(doc)
    overview = web.get(f"/patients/{patient_id}").text
    assert f'href="/patients/{patient_id}/notes/{note_id}">Daglig notat</a>' in overview

    shown = web.get(f"/patients/{patient_id}/notes/{note_id}")
    assert "Rtg thorax. Kontroll." in shown.text and "Signert av" in shown.text
    assert "Tidligere versjoner" not in shown.text  # nothing corrected yet
    assert 'name="section-plan"' not in shown.text  # a signed note is not edited in place
    correct = web.get(f"/patients/{patient_id}/notes/{note_id}?correct=1")
    assert correct.status_code == 200 and 'name="reason"' in correct.text
    fields = {"section-current": "Hoste i tre uker.", "section-plan": "Rtg thorax. Kontroll."}
    no_reason = _save(web, patient_id, note_id, correct.text, action="correct", **fields)
    assert no_reason.status_code == 400
    assert "Hoste i tre uker." in no_reason.text  # the form keeps what was typed
    unchanged = _save(
        web,
        patient_id,
        note_id,
        correct.text,
        action="correct",
        reason="skrivefeil",
        **{"section-current": "Hoste i to uker.", "section-plan": "Rtg thorax. Kontroll."},
    )
    assert unchanged.status_code == 400
    fixed = _save(
        web, patient_id, note_id, correct.text, action="correct", reason="feil varighet", **fields
    )
    assert fixed.status_code == 303
    version, doc = _stored(ws_settings, note_id)
    assert (version, doc["docStatus"]) == (3, "amended")
    shown = web.get(f"/patients/{patient_id}/notes/{note_id}")
    current, _, earlier = shown.text.partition("Tidligere versjoner")
    assert "Hoste i tre uker." in current and "feil varighet" in current
    assert "Hoste i to uker." in earlier  # the signed text before the correction, kept
    assert "Versjon 2" in earlier and "Marit Myklebust" in earlier

    eie_url = f"/patients/{patient_id}/notes/{note_id}/entered-in-error"
    assert eie_url in shown.text
    eie = web.get(eie_url)
    assert eie.status_code == 200
    missing = _mark(web, eie_url, eie.text)
    assert missing.status_code == 400
    assert 'aria-invalid="true"' in missing.text
    marked = _mark(web, eie_url, eie.text, reason="feil pasient")
    assert marked.status_code == 303
    version, doc = _stored(ws_settings, note_id)
    assert (version, doc["status"], doc["docStatus"]) == (4, "entered-in-error", "entered-in-error")
    assert cn.text_of(doc)  # kept, never emptied or deleted
    shown = web.get(f"/patients/{patient_id}/notes/{note_id}")
    assert 'class="note-view entered-in-error"' in shown.text and "feil pasient" in shown.text
    assert "Hoste i tre uker." in shown.text
    overview = web.get(f"/patients/{patient_id}").text
    assert re.search(r'<tr class="note entered-in-error">', overview)


def test_forms_need_the_csrf_token(web: TestClient, ws_settings: Settings) -> None:
    sign_in(web, GP)
    patient_id, _ = _listed(ws_settings, GP_OFFICE)[0]
    note_id = _write_draft(web, patient_id, current="Utkast.")
    forged = {"csrf": "forged", "version": "1", "action": "draft", "section-current": "x"}
    new = {"csrf": "forged", "template": "progress", "action": "draft", "section-current": "x"}
    assert web.post(f"/patients/{patient_id}/notes/new", data=new).status_code == 403
    assert web.post(f"/patients/{patient_id}/notes/{note_id}", data=forged).status_code == 403
    eie = {"csrf": "forged", "version": "1", "reason": "x"}
    url = f"/patients/{patient_id}/notes/{note_id}/entered-in-error"
    assert web.post(url, data=eie).status_code == 403
    assert _stored(ws_settings, note_id)[0] == 1  # nothing written


def test_a_user_without_access_gets_no_access(web: TestClient, ws_settings: Settings) -> None:
    sign_in(web, GP)
    mine, _ = _listed(ws_settings, GP_OFFICE)[0]
    note_id = _write_draft(web, mine, current="Utkast.")
    stranger, fnr = _listed(ws_settings, OTHER_OFFICE)[1]
    for url in (
        f"/patients/{stranger}/notes/new?template=progress",
        f"/patients/{stranger}/notes/{note_id}",  # a note is reached only through its patient
        f"/patients/{stranger}/notes/{note_id}/entered-in-error",
    ):
        page = web.get(url)
        assert page.status_code == 404, url
        assert 'name="reason"' in page.text  # break-the-glass offered
    colleague_sees = web.get(f"/patients/{mine}/notes/{note_id}")
    assert colleague_sees.status_code == 200
    assert fnr not in web.get(f"/patients/{stranger}/notes/{note_id}").text


def test_a_role_that_does_not_write_notes_is_refused(
    web: TestClient, ws_settings: Settings
) -> None:
    sign_in(web, SECRETARY)
    patient_id, _ = _listed(ws_settings, GP_OFFICE)[0]
    overview = web.get(f"/patients/{patient_id}")
    assert overview.status_code == 200
    assert "/notes/new" not in overview.text  # no button for a secretary
    page = web.get(f"/patients/{patient_id}/notes/new?template=progress")
    assert page.status_code == 403
    posted = web.post(
        f"/patients/{patient_id}/notes/new",
        data={
            "csrf": csrf_of(overview.text),
            "template": "progress",
            "action": "sign",
            "section-current": "x",
        },
    )
    assert posted.status_code == 403


def test_two_sessions_on_different_sections_both_save(
    web: TestClient, other: TestClient, ws_settings: Settings
) -> None:
    patient_id, note_id, url = _shared_draft(
        web, other, ws_settings, 1, current="Feber.", plan="Kontroll."
    )
    mine, theirs = web.get(url), other.get(url)  # both open version 1
    assert 'value="sign"' not in theirs.text  # only the author signs her draft
    first = _save(
        other,
        patient_id,
        note_id,
        theirs.text,
        **{"section-current": "Feber.", "section-plan": "Kontroll om en uke."},
    )
    assert first.status_code == 303
    second = _save(
        web,
        patient_id,
        note_id,
        mine.text,
        **{"section-current": "Feber og hoste.", "section-plan": "Kontroll."},
    )
    assert second.status_code == 303  # merged silently: different sections
    version, doc = _stored(ws_settings, note_id)
    assert version == 3
    assert cn.sections_of(doc)["current"] == "Feber og hoste."
    assert cn.sections_of(doc)["plan"] == "Kontroll om en uke."
    assert cn.author_refs(doc) == [f"Practitioner/hpr-{GP}", f"Practitioner/hpr-{COLLEAGUE}"]
    refused = _save(
        other, patient_id, note_id, other.get(url).text, action="sign", **{"section-plan": "x"}
    )
    assert refused.status_code == 403  # a co-author does not sign someone's draft


def test_the_same_section_changed_by_both_is_a_conflict_with_both_texts(
    web: TestClient, other: TestClient, ws_settings: Settings
) -> None:
    patient_id, note_id, url = _shared_draft(
        web, other, ws_settings, 2, current="Feber.", plan="Kontroll."
    )
    mine, theirs = web.get(url), other.get(url)
    first = _save(
        other,
        patient_id,
        note_id,
        theirs.text,
        **{"section-current": "Feber 39.", "section-plan": "Kontroll."},
    )
    assert first.status_code == 303
    clash = _save(
        web,
        patient_id,
        note_id,
        mine.text,
        **{"section-current": "Feber og frostanfall.", "section-findings": "Knatrelyder."},
    )
    assert clash.status_code == 409
    assert "Feber 39." in clash.text  # theirs, as saved
    assert _textarea(clash.text, "current") == "Feber og frostanfall."  # mine, as typed
    assert _textarea(clash.text, "findings") == "Knatrelyder."  # no conflict there
    assert _version(clash.text) == "2"
    assert cn.sections_of(_stored(ws_settings, note_id)[1])["current"] == "Feber 39."
    # She keeps her text for the conflicting section and saves again.
    resolved = _save(
        web,
        patient_id,
        note_id,
        clash.text,
        **{
            "section-current": "Feber 39 og frostanfall.",
            "section-findings": "Knatrelyder.",
            "section-plan": "Kontroll.",
            "keep-current": "mine",
        },
    )
    assert resolved.status_code == 303
    sections = cn.sections_of(_stored(ws_settings, note_id)[1])
    assert sections["current"] == "Feber 39 og frostanfall."
    assert sections["findings"] == "Knatrelyder."


def test_signing_text_changed_meanwhile_shows_the_merge_first(
    web: TestClient, other: TestClient, ws_settings: Settings
) -> None:
    patient_id, note_id, url = _shared_draft(web, other, ws_settings, 3, current="Feber.")
    mine = web.get(url)
    added = _save(
        other, patient_id, note_id, other.get(url).text, **{"section-plan": "Blodprøver."}
    )
    assert added.status_code == 303
    sign = _save(
        web, patient_id, note_id, mine.text, action="sign", **{"section-current": "Feber."}
    )
    assert sign.status_code == 409  # never sign what has not been seen
    assert _textarea(sign.text, "plan") == "Blodprøver."
    assert _stored(ws_settings, note_id)[1]["docStatus"] == "preliminary"
    again = _save(
        web,
        patient_id,
        note_id,
        sign.text,
        action="sign",
        **{"section-current": "Feber.", "section-plan": "Blodprøver."},
    )
    assert again.status_code == 303
    _, doc = _stored(ws_settings, note_id)
    assert doc["docStatus"] == "final" and cn.sections_of(doc)["plan"] == "Blodprøver."


def test_a_draft_edited_after_signing_keeps_the_typed_text(
    web: TestClient, other: TestClient, ws_settings: Settings
) -> None:
    patient_id, note_id, url = _shared_draft(web, other, ws_settings, 3, current="Feber.")
    theirs = other.get(url)
    signed = _save(
        web, patient_id, note_id, web.get(url).text, action="sign", **{"section-current": "Feber."}
    )
    assert signed.status_code == 303
    late = _save(
        other, patient_id, note_id, theirs.text, **{"section-current": "Feber, nå afebril."}
    )
    assert late.status_code == 409
    assert "Feber, nå afebril." in late.text  # nothing typed is lost
    assert _stored(ws_settings, note_id)[1]["docStatus"] == "final"


def test_marking_a_note_changed_meanwhile_asks_to_read_it_again(
    web: TestClient, ws_settings: Settings
) -> None:
    sign_in(web, GP)
    patient_id, _ = _listed(ws_settings, GP_OFFICE)[4]
    note_id = _write_draft(web, patient_id, current="Utkast.")
    eie_url = f"/patients/{patient_id}/notes/{note_id}/entered-in-error"
    eie = web.get(eie_url)
    page = web.get(f"/patients/{patient_id}/notes/{note_id}")
    assert (
        _save(web, patient_id, note_id, page.text, **{"section-current": "Nytt."}).status_code
        == 303
    )
    stale = _mark(web, eie_url, eie.text, reason="feil")
    assert stale.status_code == 409 and "Nytt." in stale.text
    assert _stored(ws_settings, note_id)[1]["status"] == "current"


def test_only_an_author_corrects_or_marks_a_signed_note(
    web: TestClient, other: TestClient, ws_settings: Settings
) -> None:
    patient_id, note_id, url = _shared_draft(
        web, other, ws_settings, 4, template="outpatient", problem="Kontroll av astma."
    )
    draft = web.get(url)
    signed = _save(
        web,
        patient_id,
        note_id,
        draft.text,
        action="sign",
        **{"section-problem": "Kontroll av astma."},
    )
    assert signed.status_code == 303
    read = other.get(url)
    assert read.status_code == 200 and "Kontroll av astma." in read.text
    assert "?correct=1" not in read.text and "entered-in-error" not in read.text
    assert other.get(f"{url}?correct=1").status_code == 403
    assert other.get(f"{url}/entered-in-error").status_code == 403
    tried = other.post(
        url,
        data={
            "csrf": csrf_of(read.text),
            "version": "1",
            "action": "correct",
            "reason": "x",
            "section-problem": "y",
        },
    )
    assert tried.status_code == 403


def test_a_ward_note_belongs_to_the_stay_in_progress(
    web: TestClient, ws_settings: Settings
) -> None:
    rows = containing(ws_settings, "Encounter", "in-progress")
    doctors = {u.unit_id: u for u in demo_users() if u.role == "doctor"}
    stays = [
        (patient_id, encounter_id, unit)
        for patient_id, encounter_id, content in rows
        for unit in doctors
        if f'"Organization/{unit}"' in content
    ]
    assert stays, "the demo has a patient on a ward with a demo doctor"
    patient_id, encounter_id, unit = stays[0]
    home = sign_in(web, doctors[unit].hpr)
    assert f'href="/patients/{patient_id}"' in home.text  # on the ward's list
    note_id = _write_draft(web, patient_id, "admission", reason="Dyspné.")
    _, doc = _stored(ws_settings, note_id)
    assert doc["context"]["encounter"] == [{"reference": f"Encounter/{encounter_id}"}]
    assert doc["custodian"]["reference"] == f"Organization/{unit}"


def test_the_note_pages_speak_nynorsk(web: TestClient, ws_settings: Settings) -> None:
    home = sign_in(web, GP)
    web.post("/language", data={"csrf": csrf_of(home.text), "locale": "nn", "back": "/"})
    patient_id, _ = _listed(ws_settings, GP_OFFICE)[0]
    form = web.get(f"/patients/{patient_id}/notes/new?template=nursing")
    assert "Lagre utkast" in form.text and "Kommunikasjon/sansar" in form.text
    note_id = _write_draft(web, patient_id, "nursing", communication="Høyrer dårleg.")
    _, doc = _stored(ws_settings, note_id)
    assert cn.language_of(doc) == "nn" and doc["type"]["text"] == "Sjukepleienotat"
    assert cn.text_of(doc).startswith("Kommunikasjon/sansar\n")


@pytest.mark.parametrize(
    ("method", "path", "data"),
    [
        ("GET", "/patients/{p}/notes/new?template=nope", None),
        ("GET", "/patients/bad$id!/notes/new", None),
        ("GET", "/patients/{p}/notes/bad$id!", None),
        ("GET", "/patients/{p}/notes/nosuchnote", None),
        ("GET", "/patients/{p}/notes/bad$id!/entered-in-error", None),
        ("POST", "/patients/{p}/notes/new", {"template": "nope", "action": "draft"}),
        ("POST", "/patients/{p}/notes/new", {"template": "progress", "action": "delete"}),
        ("POST", "/patients/{p}/notes/new", {"template": "progress", "action": "draft"}),
        (
            "POST",
            "/patients/{p}/notes/new",
            {"template": "progress", "action": "draft", "section-current": "x" * 20_001},
        ),
        ("POST", "/patients/{p}/notes/{n}", {"version": "x", "action": "draft"}),
        ("POST", "/patients/{p}/notes/{n}", {"version": "1", "action": "publish"}),
        (
            "POST",
            "/patients/{p}/notes/{n}",
            {"version": "77", "action": "draft", "section-current": "y"},
        ),
        ("POST", "/patients/{p}/notes/{n}", {"version": "1", "action": "draft"}),
        ("POST", "/patients/{p}/notes/{n}/entered-in-error", {"version": "x", "reason": "r"}),
        ("POST", "/patients/{p}/notes/{n}/entered-in-error", {"version": "1", "reason": "r" * 501}),
    ],
)
def test_bad_input_gets_a_page_not_an_error(
    web: TestClient, ws_settings: Settings, method: str, path: str, data: dict[str, str] | None
) -> None:
    home = sign_in(web, GP)
    patient_id, _ = _listed(ws_settings, GP_OFFICE)[1]
    note_id = _write_draft(web, patient_id, current="Utkast.")
    url = path.format(p=patient_id, n=note_id)
    if method == "GET":
        resp = web.get(url)
    else:
        resp = web.post(url, data={"csrf": csrf_of(home.text), **(data or {})})
    assert 400 <= resp.status_code < 500, (resp.status_code, url)
    assert "<html" in resp.text
    assert _stored(ws_settings, note_id)[0] == 1


def test_a_note_from_elsewhere_reads_as_free_text_and_is_corrected(
    web: TestClient, ws_settings: Settings
) -> None:
    """The demo's notes (no template) open on the same page; their author corrects them."""
    patients = {pid for pid, _ in _listed(ws_settings, GP_OFFICE)}
    rows = containing(ws_settings, "DocumentReference", f'"Practitioner/hpr-{GP}"')
    found = [
        (p, n, jsonio.loads(c))
        for p, n, c in rows
        if p in patients and cn.TEMPLATE_SYSTEM not in c and "final" in c
    ]
    assert found, "the demo has notes written by the GP"
    patient_id, note_id, doc = found[0]
    text = cn.text_of(doc)
    sign_in(web, GP)
    page = web.get(f"/patients/{patient_id}/notes/{note_id}")
    assert page.status_code == 200
    assert html.escape(text.split("\n")[0], quote=False) in page.text
    correct = web.get(f"/patients/{patient_id}/notes/{note_id}?correct=1")
    assert _textarea(correct.text, "text") == cn.normalise(text)
    fixed = _save(
        web,
        patient_id,
        note_id,
        correct.text,
        action="correct",
        reason="tilleggsopplysning",
        **{"section-text": text + "\nTillegg: pasienten røyker ikke."},
    )
    assert fixed.status_code == 303
    _, after = _stored(ws_settings, note_id)
    assert after["docStatus"] == "amended"
    assert cn.text_of(after).endswith("Tillegg: pasienten røyker ikke.")
    assert html.escape(text.split("\n")[0], quote=False) in web.get(fixed.headers["location"]).text
