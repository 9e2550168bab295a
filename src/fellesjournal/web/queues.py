"""The work queues in the workspace: the unit's queue, an item, its actions, the dashboard.

* ``GET /queues``: the work context unit's work items (``web/queue_data.py``): tabs by
  status (open, taken by me, overdue, escalated, closed recently; the unit leader starts
  on escalated), a kind filter, the most urgent first, 50 a page. Each row: the patient
  (name, fødselsnummer, a link to the overview), what, when received, the due date with
  its clock, who has taken it, escalated. A failed delivery is shown with its error to
  the sending unit, whose queue it is in.
* ``GET /queues/items/{id}``: one item, what it is about (the message, referral or
  result it focuses, as far as the user may read it), and its actions.
* ``POST /queues/items/{id}/take``, ``.../release``, ``.../close``: take the item (the
  assignee extension names the user's PractitionerRole), put it back, close it with a
  reason (the repository stamps who and when; no reason: the item page again, with the
  error). Every form carries its CSRF token and the version it showed: a change made
  meanwhile answers the "changed meanwhile" page (409), nothing saved.
* ``POST /queues/items/{id}/assess``: a referral's assessment, for a doctor of the
  receiving unit (``workflows/referral.py`` ``assess``, the same as ``$assess``): a
  right with its deadline, no right, or rejected, with a reason. Sending a referral on
  needs a unit picker the page does not have: ``$assess`` does it.
* ``POST /queues/items/{id}/reply``: "Svar pasienten" on a patient's message (a
  ``message`` or ``appointment-request`` item whose focus the patient or their proxy
  sent): a ``pasientmelding`` from the unit to the Patient, ``inResponseTo`` the
  message, through the outbox; the portal shows it in the patient's thread. The item
  stays as it is: closing it is a step of its own.
* ``GET /queues/dashboard``: every queue (``workflows/queues.py`` ``dashboard``).

Only the work context unit's own items are shown or acted on (another unit's item is
"not in your queue", 404), even where the user could read it through a care relation.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Final
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from fellesjournal.access import roles
from fellesjournal.access.context import WorkContext
from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import FhirError
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.web import queue_data as data
from fellesjournal.web.render import may_write, render
from fellesjournal.web.session import csrf_ok
from fellesjournal.web.workspace import Answered, Workspace, answers
from fellesjournal.workflows import messages, model, referral, result_release
from fellesjournal.workflows import queues as workflow_queues

Resource = dict[str, Any]
MAX_REASON: Final = 500
MAX_REPLY: Final = 4000
#: Work items that carry a patient's message the unit may answer.
REPLY_KINDS: Final = frozenset({model.MESSAGE, model.APPOINTMENT_REQUEST})


class QueuePages:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    # -- the queue ------------------------------------------------------------------------

    @answers
    async def queue(self, request: Request) -> Response:
        repo = self.ws.page_repository(request)
        work = _work(repo)
        filters = data.Filters.parse(request.query_params, work.role)
        today = data.today_in_oslo()
        page = data.queue_page(repo, filters, today)
        return render(
            request,
            "queues.html",
            filters=filters,
            page=page,
            tabs=data.TABS,
            kinds=data.KIND_LABELS,
            back=f"/queues?{filters.query()}",
        )

    # -- one item ---------------------------------------------------------------------------

    @answers
    async def item(self, request: Request) -> Response:
        repo = self.ws.page_repository(request)
        task, version = _own_item(request, repo)
        return self._item_page(request, repo, task, version)

    def _item_page(
        self,
        request: Request,
        repo: GuardedRepository,
        task: Resource,
        version: int,
        *,
        status_code: int = 200,
        error: str = "",
        reason: str = "",
        back: str | None = None,
        assessment: dict[str, str] | None = None,
        reply: str = "",
    ) -> Response:
        work = _work(repo)
        today = data.today_in_oslo()
        patient = _read(repo, (task.get("for") or {}).get("reference"))
        item = data.row(task, version, patient, work, today)
        focus_ref = (task.get("focus") or {}).get("reference")
        focus = _read(repo, focus_ref)
        requester = _read(repo, (task.get("requester") or {}).get("reference"))
        return render(
            request,
            "queue_item.html",
            status_code=status_code,
            item=item,
            focus=_focus_view(focus),
            requester_name=str((requester or {}).get("name") or ""),
            error=error,
            reason=reason,
            back=_back(back or request.query_params.get("back")),
            may_assess=_may_assess(task, work),
            assessment={"outcome": "", "deadline": "", "reason": "", **(assessment or {})},
            today=today.isoformat(),
            share=_share_view(focus_ref, focus, work),
            shared=request.query_params.get("shared") == "1",
            may_reply=_patient_message(task, focus, work) is not None,
            reply=reply,
            replied=request.query_params.get("replied") == "1",
        )

    # -- actions ----------------------------------------------------------------------------

    @answers
    async def take(self, request: Request) -> Response:
        repo, task, version, form = await self._action(request)
        work = _work(repo)
        model.set_extension(
            task,
            model.ASSIGNEE_URL,
            "valueReference",
            {
                "reference": f"PractitionerRole/{work.role_id}",
                "display": work.practitioner_name or work.hpr,
            },
        )
        repo.update("Task", str(task["id"]), _clean(task), if_match=version)
        return RedirectResponse(_back(form.get("back")), status_code=303)

    @answers
    async def release(self, request: Request) -> Response:
        repo, task, version, form = await self._action(request)
        work = _work(repo)
        taken_by = model.assignee_of(task)
        # Someone else's item is theirs (or the unit leader's) to put back.
        others = taken_by is not None and taken_by != f"PractitionerRole/{work.role_id}"
        if others and work.role != "unit-leader":
            return render(request, "forbidden.html", status_code=403)
        task["extension"] = [
            e for e in task.get("extension") or () if e.get("url") != model.ASSIGNEE_URL
        ]
        if not task["extension"]:
            del task["extension"]
        repo.update("Task", str(task["id"]), _clean(task), if_match=version)
        return RedirectResponse(_back(form.get("back")), status_code=303)

    @answers
    async def close(self, request: Request) -> Response:
        repo, task, version, form = await self._action(request)
        reason = " ".join(str(form.get("reason") or "").split())
        if not reason or len(reason) > MAX_REASON:
            return self._item_page(
                request,
                repo,
                task,
                version,
                status_code=422,
                error="reason",
                reason=reason[:MAX_REASON],
                back=str(form.get("back") or ""),
            )
        task["status"] = "completed"
        task["statusReason"] = {"text": reason}
        repo.update("Task", str(task["id"]), _clean(task), if_match=version)
        return RedirectResponse(_back(form.get("back")), status_code=303)

    @answers
    async def assess(self, request: Request) -> Response:
        repo, task, version, form = await self._action(request)
        work = _work(repo)
        if not _may_assess(task, work):
            return render(request, "forbidden.html", status_code=403)
        entered = {k: str(form.get(k) or "").strip() for k in ("outcome", "deadline", "reason")}
        deadline = None
        try:
            if entered["deadline"] and entered["outcome"] == "right":
                deadline = dt.date.fromisoformat(entered["deadline"])
            referral.assess(
                repo,
                str((task.get("focus") or {}).get("reference", "")).removeprefix("ServiceRequest/"),
                entered["outcome"],
                deadline=deadline,
                reason=entered["reason"] or None,
            )
        except (ValueError, FhirError) as exc:
            if isinstance(exc, FhirError) and exc.status not in (400, 422):
                raise
            return self._item_page(
                request,
                repo,
                task,
                version,
                status_code=422,
                error="assessment",
                back=str(form.get("back") or ""),
                assessment=entered,
            )
        return RedirectResponse(_back(form.get("back")), status_code=303)

    @answers
    async def share(self, request: Request) -> Response:
        """Release the item's result to the patient with a comment
        (``workflows/result_release.py``); the item stays open until acknowledged."""
        repo, task, _version, form = await self._action(request)
        focus_ref = str((task.get("focus") or {}).get("reference") or "")
        if not focus_ref.startswith("DiagnosticReport/"):
            return render(request, "forbidden.html", status_code=403)
        comment = " ".join(str(form.get("comment") or "").split())[:MAX_REASON] or None
        result_release.release_report(repo, focus_ref.split("/", 1)[1], comment)
        return RedirectResponse(f"/queues/items/{task['id']}?shared=1", status_code=303)

    @answers
    async def reply(self, request: Request) -> Response:
        """Answer the patient's message the item carries (see the module docstring)."""
        repo = self.ws.page_repository(request)
        form = await request.form()
        if not csrf_ok(request, form.get("csrf")):
            return render(request, "forbidden.html", status_code=403)
        task, version = _own_item(request, repo)
        work = _work(repo)
        focus = _read(repo, (task.get("focus") or {}).get("reference"))
        message = _patient_message(task, focus, work)
        if message is None:
            return render(request, "forbidden.html", status_code=403)
        text = str(form.get("reply") or "").replace("\r\n", "\n").strip()
        if not text or len(text) > MAX_REPLY:
            return self._item_page(
                request,
                repo,
                task,
                version,
                status_code=422,
                error="reply",
                reply=text[:MAX_REPLY],
                back=str(form.get("back") or ""),
            )
        patient = str((message.get("subject") or {}).get("reference") or "")
        answer = messages.communication(
            "pasientmelding",
            sender=f"Organization/{work.unit_id}",
            recipients=[patient],
            patient=patient,
            sent=dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
            text=text,
            in_response_to=f"Communication/{message['id']}",
        )
        answer["sender"]["display"] = work.unit_name
        repo.create("Communication", answer)
        back = _back(form.get("back"))
        return RedirectResponse(
            f"/queues/items/{task['id']}?replied=1&back={quote(back, safe='')}", status_code=303
        )

    async def _action(self, request: Request) -> tuple[GuardedRepository, Resource, int, Any]:
        """The repository, the item as the form saw it (404 unless the unit's own, 409
        when it changed since), and the form; 403 on a bad CSRF token."""
        repo = self.ws.page_repository(request)
        form = await request.form()
        if not csrf_ok(request, form.get("csrf")):
            raise Answered(render(request, "forbidden.html", status_code=403))
        task, current = _own_item(request, repo)
        shown = str(form.get("version") or "")
        if not shown.isdigit():
            raise Answered(render(request, "bad_request.html", status_code=400))
        if int(shown) != current:
            raise Answered(render(request, "conflict.html", status_code=409))
        if not model.is_open(task):
            raise Answered(render(request, "conflict.html", status_code=409))
        return repo, task, current, form

    # -- the dashboard ----------------------------------------------------------------------

    @answers
    async def dashboard(self, request: Request) -> Response:
        repo = self.ws.page_repository(request)
        work = _work(repo)
        now = dt.datetime.now(dt.UTC)
        queues = workflow_queues.dashboard(repo, now)
        # Unwatched queues first: work nobody sees is what must not happen.
        queues.sort(key=lambda q: (q.monitored, q.unit_id != work.unit_id, q.unit_name, q.kind))
        return render(
            request,
            "queue_dashboard.html",
            queues=[
                {"q": q, "age": q.age_days(now), "label": data.KIND_LABELS.get(q.kind, q.kind)}
                for q in queues
            ],
            unwatched=sum(1 for q in queues if not q.monitored),
            own_unit=work.unit_id,
        )


def _work(repo: GuardedRepository) -> WorkContext:
    work = repo.ctx.actor.work
    assert work is not None  # page_repository requires a work context
    return work


def _own_item(request: Request, repo: GuardedRepository) -> tuple[Resource, int]:
    """The Task in the path and its version, when it is in the work context unit's
    queue; otherwise the "not in your queue" page (404), whether or not it exists."""
    task_id = str(request.path_params["task_id"])
    try:
        stored = repo.read("Task", task_id)
    except FhirError as exc:
        if exc.status in (404, 410):
            raise Answered(_missing(request)) from None
        raise
    task = jsonio.loads(stored.content or "{}")
    if model.owner_of(task) != f"Organization/{_work(repo).unit_id}":
        raise Answered(_missing(request))
    return task, stored.version


def _missing(request: Request) -> Response:
    return render(request, "queue_missing.html", status_code=404)


def _clean(task: Resource) -> Resource:
    """The Task to write back: without the server's meta (the version is If-Match's)."""
    meta = task.get("meta")
    if isinstance(meta, dict):
        meta.pop("versionId", None)
        meta.pop("lastUpdated", None)
        if not meta:
            del task["meta"]
    return task


def _back(value: Any) -> str:
    """Where to go after an action: a queue view of this site, else the queue."""
    text = str(value or "")
    if text.startswith("/queues") and "//" not in text and "\\" not in text:
        return text
    return "/queues"


def _read(repo: GuardedRepository, reference: Any) -> Resource | None:
    """The resource ``Type/id`` names, if the user may read it (None otherwise)."""
    if not isinstance(reference, str) or reference.count("/") != 1:
        return None
    res_type, res_id = reference.split("/")
    try:
        stored = repo.read(res_type, res_id)
    except FhirError as exc:
        if exc.status in (400, 403, 404, 410):
            return None
        raise
    return jsonio.loads(stored.content) if stored.content else None


def _may_assess(task: Resource, work: WorkContext) -> bool:
    """May the user record the referral's assessment from this item?"""
    return (
        model.kind_of(task) == model.REFERRAL_ASSESSMENT
        and model.is_open(task)
        and model.state_of(task) == referral.RECEIVED
        and work.role in referral.ASSESSING_ROLES
        and str((task.get("focus") or {}).get("reference", "")).startswith("ServiceRequest/")
    )


def _patient_message(task: Resource, focus: Resource | None, work: WorkContext) -> Resource | None:
    """The patient's message (a Communication the patient or their proxy sent about
    themselves) the item carries, when the user's role writes messages; else None."""
    if model.kind_of(task) not in REPLY_KINDS or not focus:
        return None
    if focus.get("resourceType") != "Communication" or not may_write(work, "Communication"):
        return None
    sender = str((focus.get("sender") or {}).get("reference") or "")
    subject = str((focus.get("subject") or {}).get("reference") or "")
    if sender.split("/", 1)[0] not in ("Patient", "RelatedPerson"):
        return None
    return focus if subject.startswith("Patient/") and focus.get("id") else None


def _share_view(focus_ref: Any, focus: Resource | None, work: WorkContext) -> dict[str, Any] | None:
    """The result's release to the patient, for a result item (None: not a result, or
    the role does not change results): its HelsaMi category, whether it is released and
    with what comment."""
    if focus is None or not str(focus_ref or "").startswith("DiagnosticReport/"):
        return None
    if not roles.allows(work.role, "write", "DiagnosticReport"):
        return None
    return {
        "category": result_release.category_of(focus),
        "released": result_release.is_released(focus),
        "comment": result_release.comment_of(focus) or "",
    }


def _focus_view(focus: Resource | None) -> dict[str, Any]:
    """What the item is about, in a few lines: the message's text and who it went to,
    the referral's reason, the result's conclusion."""
    if not focus:
        return {}
    res_type = focus.get("resourceType")
    out: dict[str, Any] = {"type": res_type, "title": "", "when": "", "to": [], "lines": []}
    if res_type == "Communication":
        out["title"] = _concept_text((focus.get("category") or [{}])[0])
        out["when"] = focus.get("sent") or ""
        out["to"] = [
            str(r.get("display") or r.get("reference") or "") for r in focus.get("recipient") or ()
        ]
        out["lines"] = [
            str(p["contentString"]) for p in focus.get("payload") or () if p.get("contentString")
        ]
    elif res_type == "ServiceRequest":
        out["title"] = _concept_text(focus.get("code"))
        out["when"] = focus.get("authoredOn") or ""
        out["lines"] = [_concept_text(c) for c in focus.get("reasonCode") or ()]
        out["lines"] += [str(n.get("text")) for n in focus.get("note") or () if n.get("text")]
    elif res_type == "DiagnosticReport":
        out["title"] = _concept_text(focus.get("code"))
        out["when"] = focus.get("issued") or focus.get("effectiveDateTime") or ""
        if focus.get("conclusion"):
            out["lines"] = [str(focus["conclusion"])]
    else:
        out["title"] = _concept_text(focus.get("code"))
    out["lines"] = [line for line in out["lines"] if line]
    return out


def _concept_text(concept: Any) -> str:
    if not isinstance(concept, dict):
        return ""
    if concept.get("text"):
        return str(concept["text"])
    for coding in concept.get("coding") or ():
        if coding.get("display") or coding.get("code"):
            return str(coding.get("display") or coding.get("code"))
    return ""
