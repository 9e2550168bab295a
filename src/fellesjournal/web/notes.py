"""Clinical notes from templates: write, save a draft, sign, correct, mark entered in error.

A note is a ``DocumentReference`` (``clinical/notes.py`` holds the templates, the text
format and the merge). Its life:

* **Draft** (``docStatus`` preliminary): written from a template and saved as often as
  wanted; any health worker whose role writes notes may add to someone's draft (and
  becomes a co-author); only its first author signs it.
* **Signed** (final): ``authenticator`` and the signing time. Only an author corrects
  it: the same resource gets a new version (``amended``, signed by whoever corrected it,
  with a reason, who and when); the note page shows earlier signed versions with their
  text, read from the resource's history.
* **Entered in error**: an author marks it so with a required reason; it stays in the
  record, struck through, with the reason, who and when.

Nothing locks a chart. Every form carries the version it was opened with; a save on a
newer version merges three ways per section (the base is the version the form was
opened with, read back through the repository): sections changed on one side are
taken, and only the same section changed differently on both sides is a conflict,
answered 409 with both texts side by side and the typed text kept. Text the user has
not seen is never signed: a signature or correction onto a version changed meanwhile
shows the merged text to sign again.
"""

from __future__ import annotations

import dataclasses
import datetime
from dataclasses import dataclass
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from fellesjournal.access.context import WorkContext
from fellesjournal.clinical import notes as cn
from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import FhirError
from fellesjournal.fhir.instants import format_instant
from fellesjournal.norway.identifiers import DNR_SYSTEM, FNR_SYSTEM
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.store.base import StoredResource
from fellesjournal.web.directory import person_name
from fellesjournal.web.i18n import format_datetime
from fellesjournal.web.render import locale_of, may_write, render
from fellesjournal.web.session import csrf_ok
from fellesjournal.web.workspace import Answered, Workspace, answers, no_access

Resource = dict[str, Any]
ACTIONS = ("draft", "sign", "correct")
MAX_REASON = 500
#: Saves retried when another save lands between reading the note and writing it.
ATTEMPTS = 3
HISTORY_VERSIONS = 100


def may_write_notes(work: WorkContext | None) -> bool:
    """Does the work role write notes at all (``access/roles.py``)?"""
    return may_write(work, "DocumentReference")


@dataclass
class NoteView:
    """One version of a note, as a page shows it."""

    id: str
    version: int
    title: str
    state: str  #: ``draft``, ``signed`` or ``entered-in-error``
    doc_status: str
    authors: list[str]
    custodian: str
    date: str
    signer: str
    signed_at: str
    correction: cn.Event | None
    error: cn.Event | None
    sections: list[tuple[str, str]]  #: (heading, text) of the non-empty sections
    text: str
    last_updated: str


def _when(value: str) -> str:
    """``value`` when the pages can show it as a time, else "" (never an error page)."""
    try:
        format_datetime(value or None)
    except ValueError:
        return ""
    return value


def _event(event: cn.Event | None) -> cn.Event | None:
    return None if event is None else dataclasses.replace(event, when=_when(event.when))


def note_view(stored: StoredResource, doc: Resource) -> NoteView:
    template = cn.template_of(doc)
    language = cn.language_of(doc)
    values = cn.parse_sections(template, cn.text_of(doc))
    title = str((doc.get("type") or {}).get("text") or cn.attachment(doc).get("title") or "")
    return NoteView(
        id=stored.res_id,
        version=stored.version,
        title=title or template.title(language),
        state=cn.state_of(doc),
        doc_status=str(doc.get("docStatus") or ""),
        authors=[
            str(a.get("display") or a.get("reference") or "") for a in doc.get("author") or ()
        ],
        custodian=str((doc.get("custodian") or {}).get("display") or ""),
        date=_when(str(doc.get("date") or "")),
        signer=str((doc.get("authenticator") or {}).get("display") or ""),
        signed_at=_when(cn.signed_at(doc)),
        correction=_event(cn.event_of(doc, cn.CORRECTION_EXTENSION)),
        error=_event(cn.event_of(doc, cn.ERROR_EXTENSION)),
        sections=[(s.heading(language), values[s.key]) for s in template.sections if values[s.key]],
        text=cn.format_sections(template, values, language),
        last_updated=stored.last_updated,
    )


@dataclass
class Patient:
    id: str
    name: str
    identifier: str


@dataclass
class Form:
    """What the note form shows: the template's sections with their text, the version
    it edits, and (after a refused save) why, and the texts saved meanwhile."""

    mode: str  #: ``new``, ``draft`` or ``correct``
    template: cn.Template
    language: str
    values: dict[str, str]
    version: str = ""
    error: str = ""
    conflicts: dict[str, str] | None = None  #: section key -> their text
    reason: str = ""
    can_sign: bool = False

    @property
    def fields(self) -> list[tuple[str, str, str]]:
        """(key, heading, text) of every section, in order."""
        return [
            (
                s.key,
                s.heading(self.language) or self.template.title(self.language),
                self.values.get(s.key, ""),
            )
            for s in self.template.sections
        ]


class NotePages:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    # -- helpers --------------------------------------------------------------------------------

    @staticmethod
    def _patient(request: Request, repo: GuardedRepository) -> Patient:
        """The patient in the path once the user may see them (else the no-access page),
        with what identifies them on a note's page."""
        patient_id = str(request.path_params["patient_id"])
        try:
            stored = repo.read("Patient", patient_id)
        except FhirError as exc:
            if exc.status in (404, 410):
                raise Answered(no_access(request, patient_id)) from None
            raise
        resource = jsonio.loads(stored.content or "{}")
        identifier = ""
        for system in (FNR_SYSTEM, DNR_SYSTEM):
            identifier = identifier or next(
                (
                    str(i.get("value") or "")
                    for i in resource.get("identifier") or ()
                    if i.get("system") == system
                ),
                "",
            )
        return Patient(patient_id, person_name(resource), identifier)

    @staticmethod
    def _note(
        request: Request, repo: GuardedRepository, patient: Patient
    ) -> tuple[StoredResource, Resource]:
        """The note in the path, when it is this patient's and the user may read it."""
        note_id = str(request.path_params["note_id"])
        try:
            stored = repo.read("DocumentReference", note_id)
        except FhirError as exc:
            if exc.status in (404, 410):
                raise Answered(no_access(request, patient.id)) from None
            raise
        doc = jsonio.loads(stored.content or "{}")
        if (doc.get("subject") or {}).get("reference") != f"Patient/{patient.id}":
            raise Answered(no_access(request, patient.id))
        return stored, doc

    @staticmethod
    def _me(request: Request, work: WorkContext) -> dict[str, str]:
        name = request.state.page["user"].name or work.practitioner_name
        return cn.reference(f"Practitioner/{work.practitioner_id}", name)

    @staticmethod
    def _work(repo: GuardedRepository) -> WorkContext:
        work = repo.ctx.actor.work
        assert work is not None
        return work

    @staticmethod
    def _typed(form: FormData, template: cn.Template) -> dict[str, str]:
        return {key: str(form.get(f"section-{key}") or "") for key in template.keys}

    @staticmethod
    def _form_page(
        request: Request,
        patient: Patient,
        form: Form,
        *,
        note: NoteView | None = None,
        status: int = 200,
        may_mark: bool = False,
    ) -> Response:
        action = f"/patients/{patient.id}/notes/" + (note.id if note else "new")
        return render(
            request,
            "note_form.html",
            status_code=status,
            patient=patient,
            form=form,
            note=note,
            action=action,
            may_mark=may_mark,
        )

    @staticmethod
    def _closed(
        request: Request,
        patient: Patient,
        note: NoteView,
        template: cn.Template,
        language: str,
        typed: dict[str, str],
        *,
        busy: bool = False,
    ) -> Response:
        """409: the note can no longer take this save; the text typed is shown to copy."""
        fields = [
            (s.heading(language) or note.title, typed.get(s.key, "")) for s in template.sections
        ]
        return render(
            request,
            "note_closed.html",
            status_code=409,
            patient=patient,
            note=note,
            fields=fields,
            busy=busy,
        )

    # -- new --------------------------------------------------------------------------------------

    @answers
    async def new(self, request: Request) -> Response:
        """``GET/POST /patients/{id}/notes/new?template=...``: choose a template, write."""
        repo = self.ws.page_repository(request)
        patient = self._patient(request, repo)
        work = self._work(repo)
        if not may_write_notes(work):
            return render(request, "forbidden.html", status_code=403)
        language = locale_of(request)
        if request.method == "GET":
            key = request.query_params.get("template", "")
            template = cn.TEMPLATES.get(key)
            if template is None:
                return render(
                    request,
                    "note_choose.html",
                    status_code=400 if key else 200,
                    patient=patient,
                    templates=list(cn.TEMPLATES.values()),
                    language=language,
                    error=bool(key),
                )
            form = Form("new", template, language, {}, can_sign=True)
            return self._form_page(request, patient, form)
        data = await request.form()
        if not csrf_ok(request, data.get("csrf")):
            return render(request, "forbidden.html", status_code=403)
        template = cn.TEMPLATES.get(str(data.get("template") or ""))
        action = str(data.get("action") or "")
        if template is None or action not in ("draft", "sign"):
            return render(
                request,
                "note_choose.html",
                status_code=400,
                patient=patient,
                templates=list(cn.TEMPLATES.values()),
                language=language,
                error=True,
            )
        values = self._typed(data, template)
        problem = "empty" if cn.empty(values) else "long" if cn.too_long(values) else ""
        if problem:
            form = Form("new", template, language, values, error=problem, can_sign=True)
            return self._form_page(request, patient, form, status=400)
        me = self._me(request, work)
        now = format_instant(datetime.datetime.now(datetime.UTC))
        doc = cn.new_note(
            template,
            values,
            patient_id=patient.id,
            language=language,
            author=me,
            custodian=cn.reference(f"Organization/{work.unit_id}", work.unit_name),
            now=now,
            encounter=self._encounter(repo, patient.id, work),
        )
        if action == "sign":
            doc = cn.signed(doc, me, now)
        created = repo.create("DocumentReference", doc)
        if action == "sign":
            return RedirectResponse(f"/patients/{patient.id}", status_code=303)
        return RedirectResponse(
            f"/patients/{patient.id}/notes/{created.stored.res_id}", status_code=303
        )

    @staticmethod
    def _encounter(repo: GuardedRepository, patient_id: str, work: WorkContext) -> str | None:
        """The patient's encounter in progress at the user's unit, if any (the note's
        context). Not shown to the user: a step of the audited create."""
        try:
            found = repo.search(
                "Encounter",
                [
                    ("subject", f"Patient/{patient_id}"),
                    ("status", "in-progress"),
                    ("service-provider", f"Organization/{work.unit_id}"),
                    ("_count", "1"),
                    ("_total", "none"),
                ],
                audit=False,
            )
        except FhirError:
            return None
        return found.matches[0].res_id if found.matches else None

    # -- read, edit, sign, correct ----------------------------------------------------------------

    @answers
    async def note(self, request: Request) -> Response:
        """``GET /patients/{id}/notes/{note}``: the note, its earlier versions, and the
        form for a draft (or a correction, ``?correct=1``); ``POST``: save it."""
        repo = self.ws.page_repository(request)
        patient = self._patient(request, repo)
        work = self._work(repo)
        if request.method == "POST":
            return await self._save(request, repo, patient, work)
        stored, doc = self._note(request, repo, patient)
        view = note_view(stored, doc)
        me = f"Practitioner/{work.practitioner_id}"
        authors = cn.author_refs(doc)
        writer = may_write_notes(work)
        template = cn.template_of(doc)
        language = cn.language_of(doc)
        if view.state == "draft" and writer:
            form = Form(
                "draft",
                template,
                language,
                cn.sections_of(doc),
                version=str(stored.version),
                can_sign=authors[:1] == [me],
            )
            return self._form_page(request, patient, form, note=view, may_mark=me in authors)
        if request.query_params.get("correct") and view.state == "signed":
            if not (writer and me in authors):
                return render(request, "forbidden.html", status_code=403)
            form = Form(
                "correct", template, language, cn.sections_of(doc), version=str(stored.version)
            )
            return self._form_page(request, patient, form, note=view)
        return render(
            request,
            "note.html",
            patient=patient,
            note=view,
            versions=self._earlier(repo, stored, view),
            may_correct=writer and me in authors and view.state == "signed",
            may_mark=writer and me in authors and view.state != "entered-in-error",
        )

    @staticmethod
    def _earlier(
        repo: GuardedRepository, current: StoredResource, view: NoteView
    ) -> list[NoteView]:
        """Earlier signed versions whose text differs from the current one, newest first."""
        page = repo.history(
            "DocumentReference",
            current.res_id,
            since=None,
            at=None,
            count=HISTORY_VERSIONS,
            offset=0,
        )
        out = []
        for entry in page.entries:
            if entry.version >= current.version or entry.deleted or not entry.content:
                continue
            doc = jsonio.loads(entry.content)
            old = note_view(entry, doc)
            if old.state == "signed" and old.text != view.text:
                out.append(old)
        return out

    async def _save(
        self, request: Request, repo: GuardedRepository, patient: Patient, work: WorkContext
    ) -> Response:
        data = await request.form()
        if not csrf_ok(request, data.get("csrf")):
            return render(request, "forbidden.html", status_code=403)
        action = str(data.get("action") or "")
        version = str(data.get("version") or "")
        if action not in ACTIONS or not version.isdigit():
            return render(request, "bad_request.html", status_code=400)
        if not may_write_notes(work):
            return render(request, "forbidden.html", status_code=403)
        reason = " ".join(str(data.get("reason") or "").split())
        me = self._me(request, work)
        for _ in range(ATTEMPTS):
            stored, doc = self._note(request, repo, patient)
            outcome = self._plan(
                request, repo, patient, data, action, version, reason, me, stored, doc
            )
            if isinstance(outcome, Response):
                return outcome
            try:
                repo.update("DocumentReference", stored.res_id, outcome, if_match=stored.version)
            except FhirError as exc:
                if exc.status in (409, 412):
                    continue  # saved by someone else just now: merge onto theirs
                raise
            if action == "sign":
                return RedirectResponse(f"/patients/{patient.id}", status_code=303)
            return RedirectResponse(
                f"/patients/{patient.id}/notes/{stored.res_id}", status_code=303
            )
        template = cn.template_of(doc)
        return self._closed(
            request,
            patient,
            note_view(stored, doc),
            template,
            cn.language_of(doc),
            self._typed(data, template),
            busy=True,
        )

    def _plan(
        self,
        request: Request,
        repo: GuardedRepository,
        patient: Patient,
        data: FormData,
        action: str,
        version: str,
        reason: str,
        me: dict[str, str],
        stored: StoredResource,
        doc: Resource,
    ) -> Resource | Response:
        """The note to write for this save, or the page that answers it instead."""
        view = note_view(stored, doc)
        template = cn.template_of(doc)
        language = cn.language_of(doc)
        authors = cn.author_refs(doc)
        if action == "sign" and authors[:1] != [me["reference"]]:
            return render(request, "forbidden.html", status_code=403)
        if action == "correct" and me["reference"] not in authors:
            return render(request, "forbidden.html", status_code=403)
        mode = "correct" if action == "correct" else "draft"
        can_sign = authors[:1] == [me["reference"]]
        theirs = cn.sections_of(doc)
        stale = int(version) != stored.version
        if stale:
            try:
                base_doc = jsonio.loads(
                    repo.vread("DocumentReference", stored.res_id, version).content or "{}"
                )
            except FhirError as exc:
                if exc.status in (404, 410):
                    return render(request, "bad_request.html", status_code=400)
                raise
            base = cn.parse_sections(template, cn.text_of(base_doc))
        else:
            base = theirs
        mine = self._typed(data, template)
        for key in template.keys:
            if data.get(f"keep-{key}") == "theirs":
                mine[key] = base[key]

        def again(
            error: str,
            status: int,
            conflicts: dict[str, str] | None = None,
            values: dict[str, str] | None = None,
            at: int | None = None,
        ) -> Response:
            form = Form(
                mode,
                template,
                language,
                values if values is not None else mine,
                version=str(at if at is not None else version),
                error=error,
                conflicts=conflicts,
                reason=reason,
                can_sign=can_sign,
            )
            return self._form_page(request, patient, form, note=view, status=status)

        problem = "empty" if cn.empty(mine) else "long" if cn.too_long(mine) else ""
        if action == "correct" and not problem and (not reason or len(reason) > MAX_REASON):
            problem = "reason"
        if problem:
            return again(problem, 400)
        expected = "signed" if action == "correct" else "draft"
        if view.state != expected:
            # Signed or marked entered in error meanwhile: nothing is written; the text
            # typed stays on the page beside what is saved now.
            differing = {k: theirs[k] for k in template.keys if cn.normalise(mine[k]) != theirs[k]}
            if view.state == "signed" and me["reference"] in authors:
                mode = "correct"
                return again("signed", 409, differing, at=stored.version)
            return self._closed(request, patient, view, template, language, mine)
        merged = mine
        if stale:
            merged, conflicts = cn.merge(base, mine, theirs)
            if conflicts:
                return again(
                    "conflict", 409, {c.key: c.theirs for c in conflicts}, merged, stored.version
                )
            if action in ("sign", "correct") and any(
                merged[k] != cn.normalise(mine[k]) for k in template.keys
            ):
                # Never sign text the signer has not seen: show the merge to sign again.
                return again("merged", 409, None, merged, stored.version)
        now = format_instant(datetime.datetime.now(datetime.UTC))
        if action == "draft":
            return cn.with_text(cn.with_author(doc, me), merged)
        if action == "sign":
            return cn.signed(cn.with_text(doc, merged), me, now)
        if all(cn.normalise(merged[k]) == theirs[k] for k in template.keys):
            return again("unchanged", 400)
        return cn.corrected(cn.with_text(doc, merged), me, now, reason)

    # -- entered in error -------------------------------------------------------------------------

    @answers
    async def entered_in_error(self, request: Request) -> Response:
        """``GET/POST /patients/{id}/notes/{note}/entered-in-error``: mark a note entered
        in error, with a reason (it stays in the record, struck through)."""
        repo = self.ws.page_repository(request)
        patient = self._patient(request, repo)
        work = self._work(repo)
        stored, doc = self._note(request, repo, patient)
        view = note_view(stored, doc)
        note_url = f"/patients/{patient.id}/notes/{stored.res_id}"
        if view.state == "entered-in-error":
            return RedirectResponse(note_url, status_code=303)
        if not may_write_notes(work) or (
            f"Practitioner/{work.practitioner_id}" not in cn.author_refs(doc)
        ):
            return render(request, "forbidden.html", status_code=403)

        def page(error: str = "", status: int = 200, reason: str = "") -> Response:
            return render(
                request,
                "note_error.html",
                status_code=status,
                patient=patient,
                note=view,
                version=stored.version,
                error=error,
                reason=reason,
            )

        if request.method == "GET":
            return page()
        data = await request.form()
        if not csrf_ok(request, data.get("csrf")):
            return render(request, "forbidden.html", status_code=403)
        reason = " ".join(str(data.get("reason") or "").split())
        version = str(data.get("version") or "")
        if not reason or len(reason) > MAX_REASON or not version.isdigit():
            return page("reason", 400, reason[:MAX_REASON])
        if int(version) != stored.version:
            return page("changed", 409, reason)
        now = format_instant(datetime.datetime.now(datetime.UTC))
        body = cn.entered_in_error(doc, self._me(request, work), now, reason)
        try:
            repo.update("DocumentReference", stored.res_id, body, if_match=stored.version)
        except FhirError as exc:
            if exc.status in (409, 412):
                return page("changed", 409, reason)
            raise
        return RedirectResponse(note_url, status_code=303)
