"""Dispatch a :class:`FhirRequest` to its interaction, by path shape and method.

The shapes are those of https://hl7.org/fhir/R4/http.html; the operations come from the
declared conformance (``api/conformance.py``). Unknown types answer 404, known paths
with the wrong method 405 — always as an OperationOutcome.
"""

from __future__ import annotations

from collections.abc import Callable

from fellesjournal.api import (
    access,
    adt,
    instance,
    mpi,
    operations,
    referrals,
    results,
    review,
    summary,
    system,
    terminology,
    type_level,
    workflows,
)
from fellesjournal.api.conformance import find_operation
from fellesjournal.api.request import FhirRequest
from fellesjournal.api.responses import FhirResponse
from fellesjournal.fhir.errors import FhirError, error
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.service.writes import ensure_type

Handler = Callable[[FhirRequest, GuardedRepository, str], FhirResponse]

_OPERATION_HANDLERS: dict[str, Handler] = {
    "everything": operations.patient_everything,
    "summary": summary.patient_summary,
    "validate": operations.validate,
    "merge": mpi.patient_merge,
    "duplicates": mpi.patient_duplicates,
    "break-glass": access.break_glass,
    "access-explain": access.access_explain,
    "review": review.review,
    "lookup": terminology.codesystem_lookup,
    "expand": terminology.valueset_expand,
    "validate-code": terminology.validate_code,  # CodeSystem or ValueSet, by the path
    "queues": workflows.queue_dashboard,
    "delivery": workflows.delivery_state,
    "discharge-ready": adt.discharge_ready,
    "discharge-ready-reply": adt.discharge_ready_reply,
    "discharge-ready-withdraw": adt.discharge_ready_withdraw,
    "discharge-ready-billing": adt.discharge_ready_billing,
    "assess": referrals.assess,
    "start-care": referrals.start_care,
    "breaches": referrals.breaches,
    "acknowledge": results.acknowledge,
    "release": results.release_result,
}
_SYSTEM_OPERATION_HANDLERS: dict[str, Handler] = {
    "process-message": workflows.process_message,
}


def _method_not_allowed(method: str, allowed: dict[str, Handler]) -> FhirError:
    exc = error(
        405, "not-supported", f"{method} is not allowed here; use {', '.join(sorted(allowed))}"
    )
    exc.headers["Allow"] = ", ".join(sorted(allowed))
    return exc


def _pick(req: FhirRequest, table: dict[str, Handler]) -> Handler:
    method = "GET" if req.method == "HEAD" else req.method
    handler = table.get(method)
    if handler is None:
        raise _method_not_allowed(req.method, table)
    return handler


def _system_search(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    return type_level.search(req, repo, base, None)


def _type_search(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    return type_level.search(req, repo, base, req.path[0])


def _system_history(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    return type_level.history_response(req, repo, base, None, None)


def _bundle(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    return system.bundle(req, repo, base, dispatch)


_NOT_QUICK = ("_include", "_revinclude", "_has", "_sort", "_elements", "_summary")
QUICK_MAX_COUNT = 100
#: Terminology type-ahead: answered from an in-memory index in microseconds.
_QUICK_OPERATIONS = ("$expand", "$lookup")


def is_quick(req: FhirRequest) -> bool:
    """Requests answered on the event loop, without a hop to the thread pool.

    Reads by id, terminology look-ups, and type-level searches without includes, chains,
    ``_has``, sorting or large pages: they take well under a millisecond, and measured on
    two cores the hop plus threads contending for the GIL cost more than the work
    (docs/benchmarks.md).
    """
    if req.method not in ("GET", "HEAD"):
        return False
    p = req.path
    n = len(p)
    if n == 2 and p[1] in _QUICK_OPERATIONS:
        return True
    if n == 2 or (n == 4 and p[2] == "_history"):
        return not req.query and not p[1].startswith(("$", "_"))
    if n != 1 or p[0].startswith("_") or p[0] == "AuditEvent":
        # Reading the log first waits for this process's queued events (audit/sink.py).
        return False
    for key, value in req.query:
        if key.startswith(_NOT_QUICK) or "." in key or key.endswith(":contains"):
            return False
        if key == "_count" and not (value.isdigit() and int(value) <= QUICK_MAX_COUNT):
            return False
    return True


def dispatch(req: FhirRequest, repo: GuardedRepository, base: str) -> FhirResponse:
    """Answer one FHIR request (raises :class:`FhirError` for every failure)."""
    p = req.path
    n = len(p)
    if n == 0:
        return _pick(req, {"POST": _bundle, "GET": _system_search})(req, repo, base)
    if p[0] == "_history" and n == 1:
        return _pick(req, {"GET": _system_history})(req, repo, base)
    if p[0] == "_search" and n == 1:
        return _pick(req, {"POST": _system_search, "GET": _system_search})(req, repo, base)
    if n == 1 and p[0].startswith("$"):
        handler = _SYSTEM_OPERATION_HANDLERS.get(p[0][1:])
        if handler is None:
            raise error(404, "not-supported", f"operation {p[0]} is not supported at the base")
        return _pick(req, {"POST": handler})(req, repo, base)
    ensure_type(p[0])
    if n == 1:
        return _pick(
            req,
            {
                "GET": _type_search,
                "POST": type_level.create,
                "PUT": type_level.conditional_update,
                "DELETE": type_level.conditional_delete,
            },
        )(req, repo, base)
    if n == 2 and p[1] == "_search":
        return _pick(req, {"POST": _type_search, "GET": _type_search})(req, repo, base)
    if n == 2 and p[1] == "_history":
        return _pick(req, {"GET": type_level.history_type})(req, repo, base)
    if n == 2 and p[1].startswith("$"):
        return _operation(req, repo, base, p[1][1:], instance=False)
    if n == 2:
        return _pick(
            req,
            {
                "GET": instance.read,
                "PUT": instance.update,
                "PATCH": instance.patch,
                "DELETE": instance.delete,
            },
        )(req, repo, base)
    if n == 3 and p[2] == "_history":
        return _pick(req, {"GET": instance.history_instance})(req, repo, base)
    if n == 3 and p[2].startswith("$"):
        return _operation(req, repo, base, p[2][1:], instance=True)
    if n == 4 and p[2] == "_history":
        return _pick(req, {"GET": instance.vread})(req, repo, base)
    raise error(404, "not-found", f"no FHIR interaction at /{'/'.join(p)}")


def _operation(
    req: FhirRequest, repo: GuardedRepository, base: str, name: str, instance: bool
) -> FhirResponse:
    op = find_operation(name, req.path[0], instance)
    if op is None:
        raise error(
            404,
            "not-supported",
            f"operation ${name} is not supported on "
            f"{req.path[0]}{' instances' if instance else ''}",
        )
    handler = _OPERATION_HANDLERS[op.name]
    return _pick(req, {"GET": handler, "POST": handler})(req, repo, base)
