"""Work items: the FHIR Task shape every workflow shares.

A work item is a Task (``docs/workflows.md``; contracts: "Work item"):

* ``code``: what kind of work (:data:`CODE_SYSTEM`, one of :data:`KINDS`);
* ``owner``: the unit (``Organization``) whose queue holds it, always: the queue is the
  unit's. Who has *taken* it is :data:`ASSIGNEE_URL` (a PractitionerRole of the unit);
* ``status`` open (:data:`OPEN`) or closed (:data:`CLOSED`), ``businessStatus`` the
  workflow's own state (``received``, ``assessed``, ...);
* ``focus`` the thing to act on (a ServiceRequest, DiagnosticReport, Communication...),
  ``for`` the patient;
* ``restriction.period.end`` the due date, where the law or a rule sets one;
* closing needs a reason (``statusReason``) and an actor: the repository stamps who closed
  it and when (:data:`CLOSED_BY_URL`, :data:`CLOSED_AT_URL`) and refuses a close without a
  reason (:mod:`fellesjournal.workflows.rules`). Nothing closes an item by itself.
"""

from __future__ import annotations

from typing import Any, Final

Resource = dict[str, Any]

CODE_SYSTEM: Final = "https://fellesjournal.no/fhir/CodeSystem/work-item"
STATE_SYSTEM: Final = "https://fellesjournal.no/fhir/CodeSystem/work-item-state"
#: Extension (valueReference PractitionerRole): who in the unit has taken the item.
ASSIGNEE_URL: Final = "https://fellesjournal.no/fhir/StructureDefinition/work-item-assignee"
#: Extension (valueReference): who closed the item (a PractitionerRole, or the Device of
#: a system client). Stamped by the repository, never trusted from the client.
CLOSED_BY_URL: Final = "https://fellesjournal.no/fhir/StructureDefinition/work-item-closed-by"
#: Extension (valueDateTime): when the item was closed.
CLOSED_AT_URL: Final = "https://fellesjournal.no/fhir/StructureDefinition/work-item-closed-at"
#: ``meta.tag`` on an open item past its due date: escalated to the unit leader's queue.
ESCALATED_TAG: Final = {"system": STATE_SYSTEM, "code": "escalated", "display": "Eskalert"}

#: Work-item kinds (``Task.code``), with their Norwegian display.
REFERRAL_ASSESSMENT: Final = "referral-assessment"
WAITING_LIST: Final = "waiting-list"
RESULT_ACKNOWLEDGEMENT: Final = "result-acknowledgement"
RESULT_UNMATCHED: Final = "result-unmatched"
MESSAGE: Final = "message"
DISCHARGE_READY: Final = "discharge-ready"
SERVICE_DECISION: Final = "service-decision"
DELIVERY_FAILURE: Final = "delivery-failure"
APPOINTMENT_REQUEST: Final = "appointment-request"

KINDS: Final[dict[str, str]] = {
    REFERRAL_ASSESSMENT: "Vurdering av henvisning",
    WAITING_LIST: "Venteliste: start av helsehjelp",
    RESULT_ACKNOWLEDGEMENT: "Kvittering av prøvesvar",
    RESULT_UNMATCHED: "Prøvesvar uten rekvisisjon eller pasient",
    MESSAGE: "Innkommende melding",
    DISCHARGE_READY: "Utskrivningsklar pasient",
    SERVICE_DECISION: "Søknad om kommunale tjenester",
    DELIVERY_FAILURE: "Sending feilet",
    APPOINTMENT_REQUEST: "Ønske om ny time",
}

#: Task statuses of work still to do, and of work done (or given up, with a reason).
OPEN: Final = frozenset(
    {"draft", "requested", "received", "accepted", "ready", "in-progress", "on-hold"}
)
CLOSED: Final = frozenset({"completed", "cancelled", "failed", "rejected", "entered-in-error"})


def work_item(
    kind: str,
    *,
    owner: str,
    patient: str | None,
    focus: str | None,
    authored: str,
    due: str | None = None,
    state: str = "received",
    priority: str = "routine",
    description: str | None = None,
    requester: str | None = None,
    assignee: str | None = None,
) -> Resource:
    """A new open work item. References are ``Type/id`` strings; times FHIR dateTimes."""
    if kind not in KINDS:
        raise ValueError(f"unknown work-item kind {kind!r}")
    task: Resource = {
        "resourceType": "Task",
        "status": "requested",
        "businessStatus": {"coding": [{"system": STATE_SYSTEM, "code": state}]},
        "intent": "order",
        "priority": priority,
        "code": {"coding": [{"system": CODE_SYSTEM, "code": kind, "display": KINDS[kind]}]},
        "authoredOn": authored,
        "lastModified": authored,
        "owner": {"reference": owner},
    }
    if description:
        task["description"] = description
    if focus:
        task["focus"] = {"reference": focus}
    if patient:
        task["for"] = {"reference": patient}
    if requester:
        task["requester"] = {"reference": requester}
    if due:
        task["restriction"] = {"period": {"end": due}}
    if assignee:
        task["extension"] = [{"url": ASSIGNEE_URL, "valueReference": {"reference": assignee}}]
    return task


def kind_of(task: Resource) -> str | None:
    for coding in (task.get("code") or {}).get("coding") or ():
        if coding.get("system") == CODE_SYSTEM:
            return str(coding.get("code"))
    return None


def state_of(task: Resource) -> str | None:
    for coding in (task.get("businessStatus") or {}).get("coding") or ():
        if coding.get("system") == STATE_SYSTEM:
            return str(coding.get("code"))
    return None


def set_state(task: Resource, state: str) -> None:
    task["businessStatus"] = {"coding": [{"system": STATE_SYSTEM, "code": state}]}


def owner_of(task: Resource) -> str | None:
    ref = (task.get("owner") or {}).get("reference")
    return ref if isinstance(ref, str) else None


def due_of(task: Resource) -> str | None:
    end = ((task.get("restriction") or {}).get("period") or {}).get("end")
    return end if isinstance(end, str) else None


def is_open(task: Resource) -> bool:
    return task.get("status") in OPEN


def extension_value(resource: Resource, url: str) -> Any:
    for ext in resource.get("extension") or ():
        if isinstance(ext, dict) and ext.get("url") == url:
            for key, value in ext.items():
                if key.startswith("value"):
                    return value
    return None


def set_extension(resource: Resource, url: str, key: str, value: Any) -> None:
    """Set (or replace) the one extension ``url`` to ``{key: value}``."""
    exts = [e for e in resource.get("extension") or () if e.get("url") != url]
    exts.append({"url": url, key: value})
    resource["extension"] = exts


def assignee_of(task: Resource) -> str | None:
    value = extension_value(task, ASSIGNEE_URL)
    ref = value.get("reference") if isinstance(value, dict) else None
    return ref if isinstance(ref, str) else None


def reason_text(task: Resource) -> str:
    """The close reason as text (``statusReason.text`` or its first coding's display/code)."""
    reason = task.get("statusReason") or {}
    if reason.get("text"):
        return str(reason["text"])
    for coding in reason.get("coding") or ():
        if coding.get("display") or coding.get("code"):
            return str(coding.get("display") or coding.get("code"))
    return ""
