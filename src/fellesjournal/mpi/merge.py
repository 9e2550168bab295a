"""Merging two Patient records into one (``Patient/$merge``), losing nothing.

Modelled on the FHIR R5 patient-merge operation
(https://hl7.org/fhir/R5/patient-operation-merge.html). In one transaction:

* every resource that references the source patient is updated to reference the target
  (a new version each; the old versions stay in the history);
* the target gets the source's identifiers (``use`` = ``old``) it does not already hold,
  and a ``replaces`` link to the source (or becomes ``result-patient`` when given);
* the source is kept, ``active`` = false, with a ``replaced-by`` link to the target;
* one AuditEvent records the merge.

A preview computes the same plan and writes nothing. Merging into a merged-away patient,
merging a patient into itself, or merging one that is already merged answer 422.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from fellesjournal.audit.events import merge_event
from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import FhirError, Issue
from fellesjournal.mpi.identity import check_unique, is_superseded
from fellesjournal.search.fhirpath import split_reference
from fellesjournal.search.registry import load_registry
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.service.writes import check_body
from fellesjournal.store.base import StoredResource, WriteOp
from fellesjournal.store.sql import SqlTransaction


@dataclass
class MergeResult:
    """What a merge did (or, for a preview, would do)."""

    source_id: str
    target_id: str
    preview: bool
    target: StoredResource | dict[str, Any]
    #: ``(type, id)`` of every resource whose references were moved.
    moved: list[tuple[str, str]] = field(default_factory=list)
    references: int = 0
    audit_event_id: str | None = None

    @property
    def summary(self) -> str:
        verb = "would move" if self.preview else "moved"
        return (
            f"Patient/{self.source_id} {'would be' if self.preview else 'was'} merged into "
            f"Patient/{self.target_id}: {verb} {self.references} references in "
            f"{len(self.moved)} resources"
        )


def _unprocessable(message: str, expression: str | None = None) -> FhirError:
    return FhirError(422, [Issue("error", "processing", message, expression)])


def _standing(tx: SqlTransaction, patient_id: str, role: str) -> dict[str, Any]:
    stored = tx.read("Patient", patient_id)
    if stored is None or stored.deleted or stored.content is None:
        raise _unprocessable(f"the {role} patient Patient/{patient_id} does not exist", role)
    resource: dict[str, Any] = jsonio.loads(stored.content)
    if is_superseded(resource):
        raise _unprocessable(
            f"the {role} patient Patient/{patient_id} was already merged into another", role
        )
    return resource


def rewrite_references(node: Any, source_id: str, target_id: str) -> int:
    """Point every reference to ``Patient/source_id`` in ``node`` at the target, in place.

    Relative and absolute forms are both rewritten (an absolute URL keeps its base).
    Returns how many references were changed.
    """
    changed = 0
    types = load_registry().resource_types
    stack = [node]
    while stack:
        cur = stack.pop()
        if type(cur) is dict:
            ref = cur.get("reference")
            if type(ref) is str and split_reference(ref, types) == ("Patient", source_id):
                head, _sep, tail = ref.rpartition(f"Patient/{source_id}")
                cur["reference"] = f"{head}Patient/{target_id}{tail}"
                changed += 1
            stack.extend(v for v in cur.values() if type(v) in (dict, list))
        elif type(cur) is list:
            stack.extend(v for v in cur if type(v) in (dict, list))
    return changed


def _merged_target(
    target: dict[str, Any], source: dict[str, Any], source_id: str
) -> dict[str, Any]:
    out = copy.deepcopy(target)
    held = {(i.get("system"), i.get("value")) for i in out.get("identifier") or ()}
    for ident in source.get("identifier") or ():
        if (ident.get("system"), ident.get("value")) in held:
            continue
        moved = copy.deepcopy(ident)
        moved["use"] = "old"
        out.setdefault("identifier", []).append(moved)
    links = out.setdefault("link", [])
    if not any(link.get("other", {}).get("reference") == f"Patient/{source_id}" for link in links):
        links.append({"other": {"reference": f"Patient/{source_id}"}, "type": "replaces"})
    return out


def _merged_source(source: dict[str, Any], target_id: str) -> dict[str, Any]:
    out = copy.deepcopy(source)
    out["active"] = False
    links = [
        link
        for link in out.get("link") or ()
        if link.get("other", {}).get("reference") != f"Patient/{target_id}"
    ]
    links.append({"other": {"reference": f"Patient/{target_id}"}, "type": "replaced-by"})
    out["link"] = links
    return out


def merge_patients(
    repo: GuardedRepository,
    source_id: str,
    target_id: str,
    *,
    preview: bool = False,
    result_patient: dict[str, Any] | None = None,
) -> MergeResult:
    """Merge ``Patient/source_id`` into ``Patient/target_id`` (see the module docstring)."""
    if source_id == target_id:
        raise _unprocessable("the source and target patient are the same", "target-patient")
    repo.guard("update", "Patient")
    repo.guard_whole_database()  # a merge walks every record that points at the source
    with repo.writing() as tx:
        tx.lock_keys([f"merge|Patient/{source_id}", f"merge|Patient/{target_id}"])
        source = _standing(tx, source_id, "source-patient")
        target = _standing(tx, target_id, "target-patient")
        if result_patient is not None:
            if result_patient.get("id") != target_id:
                raise _unprocessable(
                    "result-patient must carry the target patient's id", "result-patient"
                )
            target = check_body(
                copy.deepcopy(result_patient),
                "Patient",
                target_id,
                allow_test_identities=repo.settings.allow_test_identities,
            )
        ops: list[WriteOp] = []
        result = MergeResult(source_id, target_id, preview, target)
        for res_type, res_id in repo.referencing(tx, "Patient", source_id):
            if (res_type, res_id) == ("Patient", target_id):
                continue  # the target's own links are set below
            stored = tx.read(res_type, res_id)
            if stored is None or stored.deleted or stored.content is None:
                continue
            resource = jsonio.loads(stored.content)
            n = rewrite_references(resource, source_id, target_id)
            if n:
                result.references += n
                result.moved.append((res_type, res_id))
                ops.append(
                    WriteOp("PUT", res_type, res_id, resource, expected_version=stored.version)
                )
        new_target = _merged_target(target, source, source_id)
        ops.append(WriteOp("PUT", "Patient", target_id, new_target))
        ops.append(WriteOp("PUT", "Patient", source_id, _merged_source(source, target_id)))
        if preview:
            # The same checks as the real merge, so that a preview never promises what
            # the merge would refuse.
            check_unique(tx, ops, repo.patients_with_identifier)
            result.target = new_target
            return result
        for op in ops:
            if op.resource is not None:
                check_body(
                    op.resource,
                    op.res_type,
                    op.resource.get("id"),
                    validate=False,
                    allow_test_identities=repo.settings.allow_test_identities,
                )
        written = repo.apply_many(tx, ops)
        # The merge's own event goes into the hash-chained log, in the merge's transaction.
        event = merge_event(repo.ctx.actor, source_id, target_id, len(result.moved), result.summary)
        seqs = repo.audit_append(tx, [event])
        result.audit_event_id = str(seqs[0]) if seqs else ""
        result.target = next(
            w.stored
            for w in written
            if (w.stored.res_type, w.stored.res_id) == ("Patient", target_id)
        )
        return result
