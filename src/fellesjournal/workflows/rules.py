"""The work-item rules the repository enforces on every Task write, from any client.

* An open Task has an owner (``Task.owner``): work without an owner sits in no queue.
* Closing a Task (an open status to a closed one; or a work item of ours, by its
  ``code``, written closed from the start) needs a reason
  (``statusReason``); the repository stamps who closed it and when, from the request's
  actor, over whatever the client sent, and ends its ``executionPeriod`` then. A closed
  Task keeps its stamps when it is written again; reopening it clears them.

Nothing here closes anything: an item closes only when an actor closes it.
"""

from __future__ import annotations

from typing import Any

from fellesjournal.access.actor import Actor
from fellesjournal.fhir.errors import error
from fellesjournal.workflows import model

Resource = dict[str, Any]

#: Identifier system for system clients named as the actor of a close.
SYSTEM_CLIENT_SYSTEM = "https://fellesjournal.no/fhir/sid/system-client"


def actor_reference(actor: Actor) -> Resource:
    """The Reference that names ``actor`` on a work item."""
    if actor.work is not None:
        return {
            "reference": f"PractitionerRole/{actor.work.role_id}",
            "display": actor.work.practitioner_name or actor.work.hpr,
        }
    if actor.citizen is not None:
        return {"reference": f"Patient/{actor.citizen.patient_id}"}
    return {
        "identifier": {"system": SYSTEM_CLIENT_SYSTEM, "value": actor.subject or "system"},
        "display": f"system client {actor.subject or 'system'}",
    }


def check_task(actor: Actor, resource: Resource, current: Resource | None, now: str) -> None:
    """Check (and stamp) one Task about to be written; raise 422 on a broken rule."""
    status = resource.get("status")
    if status in model.OPEN:
        if not model.owner_of(resource):
            raise error(
                422,
                "required",
                "an open work item (Task) needs an owner: the unit whose queue holds it",
                "Task.owner",
            )
        _clear_close_stamps(resource)
        if (
            current is not None
            and current.get("status") in model.CLOSED
            and resource.get("statusReason") == current.get("statusReason")
        ):
            # Reopened: the close's reason goes with the close, so that closing it again
            # needs a reason of its own (found by tests/workflows/test_properties.py).
            resource.pop("statusReason", None)
        return
    if status not in model.CLOSED:
        return
    was_closed = current is not None and current.get("status") in model.CLOSED
    if was_closed and current is not None:
        for url in (model.CLOSED_BY_URL, model.CLOSED_AT_URL):
            kept = next((e for e in current.get("extension") or () if e.get("url") == url), None)
            resource["extension"] = [
                e for e in resource.get("extension") or () if e.get("url") != url
            ] + ([kept] if kept else [])
        if not resource["extension"]:
            del resource["extension"]
        if not model.reason_text(resource) and current.get("statusReason"):
            resource["statusReason"] = current["statusReason"]
        return
    # A Task written closed from the start (a finished task from another system, an
    # example) was never anyone's open work: only our work items need the reason then.
    if current is None and model.kind_of(resource) is None:
        return
    if not model.reason_text(resource):
        raise error(
            422,
            "required",
            f"closing a work item ({status}) needs a reason in statusReason",
            "Task.statusReason",
        )
    model.set_extension(resource, model.CLOSED_BY_URL, "valueReference", actor_reference(actor))
    model.set_extension(resource, model.CLOSED_AT_URL, "valueDateTime", now)
    resource["lastModified"] = now
    # The work's period ends at the close: the unit's access to the patient through the
    # item lasts a while after it (access/relation_rules.py, work-item-recent).
    period = dict(resource.get("executionPeriod") or {})
    period.setdefault("start", resource.get("authoredOn") or now)
    period["end"] = now
    resource["executionPeriod"] = period


def _clear_close_stamps(resource: Resource) -> None:
    exts = [
        e
        for e in resource.get("extension") or ()
        if e.get("url") not in (model.CLOSED_BY_URL, model.CLOSED_AT_URL)
    ]
    if exts:
        resource["extension"] = exts
    else:
        resource.pop("extension", None)
