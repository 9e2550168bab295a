"""The guarded repository: the one chokepoint for patient data.

Every read and write — REST interactions, bundle entries, operations, the CLI's import —
goes through :class:`GuardedRepository`. Each call asks the access policy (through the
request's :class:`~fellesjournal.service.gate.Gate`), calls the store, and records the
AuditEvent: a change's in the change's transaction, a read's before the data is handed
back (:mod:`fellesjournal.service.auditing`). Nothing else in the product touches the
store for resource data.

Audit timing: with ``defer_audit`` (the HTTP endpoint) the caller flushes
:attr:`GuardedRepository.trail` itself before it answers, on the event loop; otherwise
each public call flushes its own events before it returns.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any, TypeVar, cast

import jsonpatch
import sqlalchemy as sa

from fellesjournal.access import orphans
from fellesjournal.access.consents import is_block_naming, is_break_glass_grant
from fellesjournal.access.policy import PRIVACY_OFFICER
from fellesjournal.audit.sink import AuditSink
from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import FhirError, bad_request, error, gone, not_found
from fellesjournal.mpi import identity
from fellesjournal.norway import confidentiality
from fellesjournal.search.params import Parser, SearchRequest
from fellesjournal.service import chart as charts
from fellesjournal.service import references, write_checks
from fellesjournal.service.auditing import AuditTrail
from fellesjournal.service.context import RequestContext
from fellesjournal.service.everything import EverythingPage, everything
from fellesjournal.service.gate import Gate
from fellesjournal.service.history import HistoryPage, history
from fellesjournal.service.searching import Searcher, SearchResult
from fellesjournal.service.writes import check_body, ensure_id, ensure_type, new_id
from fellesjournal.settings import Settings
from fellesjournal.store import schema
from fellesjournal.store.base import StoredResource, WriteOp, WriteResult
from fellesjournal.store.sql import SqlStore, SqlTransaction
from fellesjournal.workflows import reactions

F = TypeVar("F", bound=Callable[..., Any])

#: Search parameters that narrow a search to a few rows: the access filter then tests
#: each row's care relation instead of building the unit's whole set of patients.
_NARROWING = frozenset({"_id", "identifier", "patient", "subject", "encounter", "beneficiary"})


def _narrow(req: SearchRequest) -> bool:
    return req.ids is not None or any(
        getattr(getattr(c, "param", None), "code", None) in _NARROWING
        and getattr(c, "modifier", None) not in ("missing", "not")
        for c in req.criteria
    )


_ACTION = {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}


def _same_record(restrict: Callable[[sa.Table], Any], patient_id: str) -> Callable[[sa.Table], Any]:
    """The history filter of a resource whose current version the caller may see: its
    versions in the same record pass without the filter (versions are judged by the
    current version's labels, and the patient decision is the current one's); a version
    in another record (the resource was moved) is filtered as usual. The filter's care
    relation test cost 0.35 s a note page on the 100,000-patient demo database."""

    def clause(table: sa.Table) -> Any:
        rest = restrict(table)
        same = table.c.patient_id == patient_id
        return same if rest is None else sa.or_(same, rest)

    return clause


def audited(method: F) -> F:
    """Flush the events a public call owes the log before it returns (or raises),
    unless the caller defers that to itself (the HTTP endpoint)."""

    @functools.wraps(method)
    def wrapper(self: GuardedRepository, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        finally:
            if not self.defer_audit:
                self.trail.flush()

    return cast(F, wrapper)


class GuardedRepository:
    """Access decision + store + audit, per request context."""

    def __init__(
        self,
        store: SqlStore,
        settings: Settings,
        ctx: RequestContext,
        *,
        sink: AuditSink | None = None,
        defer_audit: bool = False,
    ) -> None:
        self.store = store
        self.settings = settings
        self.ctx = ctx
        self.defer_audit = defer_audit
        self.trail = AuditTrail(store, sink, enabled=ctx.audited)
        self.gate = Gate(
            ctx.actor, store.registry, settings.relation_settings, self.trail, store.dialect
        )
        self.parser = Parser(
            store.registry,
            default_count=settings.default_page_size,
            max_count=settings.max_page_size,
            strict=ctx.strict,
        )

    def historical(self) -> GuardedRepository:
        """This repository for loading history (an import, the demo seed): the same
        actor and audit, but its writes start no workflows (``workflows/reactions.py``)."""
        ctx = dataclasses.replace(self.ctx, workflows=False)
        return GuardedRepository(
            self.store, self.settings, ctx, sink=self.trail._sink, defer_audit=self.defer_audit
        )

    def workflow_engine(self, depth: int) -> GuardedRepository:
        """The repository the workflows write through when this one's writes react: the
        workflow engine's system actor, this request's id, audited in the same way."""
        ctx = dataclasses.replace(
            self.ctx,
            actor=reactions.WORKFLOW_ACTOR,
            workflow_depth=depth,
            strict=False,
        )
        return GuardedRepository(self.store, self.settings, ctx, defer_audit=True)

    # -- guard ----------------------------------------------------------------------------

    def guard(self, action: str, res_type: str | None) -> None:
        """Raise unless the policy allows ``action`` on ``res_type`` at all (404 for
        reads outside the caller's view, 403 otherwise; the denial is audited)."""
        self.gate.type_check(action, res_type)

    def guard_whole_database(self) -> None:
        """Raise 403 unless a system client asks: these calls (the MPI's scans and
        reference walks behind ``$merge`` and ``$duplicates``) see every record."""
        if not self.ctx.actor.is_system:
            self.gate.deny(
                "search", None, "the master patient index's operations are for system clients"
            )

    def guard_review(self) -> None:
        """Raise 403 unless the actor reviews the audit log (a system client or the
        privacy officer)."""
        actor = self.ctx.actor
        if not actor.is_system and (actor.work is None or actor.work.role != PRIVACY_OFFICER):
            self.gate.deny("search", None, "only the privacy officer reviews the audit log")
        self.gate.type_check("search", "AuditEvent")

    @contextmanager
    def writing(self) -> Iterator[SqlTransaction]:
        with self.store.transaction() as tx:
            yield tx

    @contextmanager
    def savepoint(self, tx: SqlTransaction | None) -> Iterator[SqlTransaction]:
        """A nested, all-or-nothing unit inside ``tx``, or a transaction of its own."""
        if tx is None:
            with self.writing() as t:
                yield t
        else:
            with tx.conn.begin_nested():
                yield tx

    @contextmanager
    def reading(self) -> Iterator[SqlTransaction]:
        with self.store.snapshot() as tx:
            yield tx

    # -- disclosure -------------------------------------------------------------------------

    def disclose(self, stored: StoredResource) -> StoredResource:
        """What this actor may see of ``stored``: protected addresses masked.

        Every resource leaving the repository passes here; the pre-check on the raw
        text keeps the common case free of any parsing.
        """
        content = stored.content
        if (
            content is None
            or not confidentiality.may_hold_protected(content)
            or self.ctx.actor.sees_protected_addresses
        ):
            return stored
        masked = confidentiality.mask(jsonio.loads(content))
        if masked is None:
            return stored
        return dataclasses.replace(stored, content=jsonio.dumps(masked).decode())

    def _disclose_versions(self, versions: list[StoredResource]) -> list[StoredResource]:
        """:meth:`disclose` for versions from the history: an earlier version of a
        resource whose address is protected now is masked as the current one is."""
        if self.ctx.actor.sees_protected_addresses:
            return versions
        now: dict[tuple[str, str], tuple[str | None, int]] = {}
        out = []
        for v in versions:
            key = (v.res_type, v.res_id)
            if v.content is None or v.res_type not in confidentiality.ADDRESS_TYPES:
                out.append(self.disclose(v))
                continue
            if key not in now:
                current = self.store.read_current(v.res_type, v.res_id)
                now[key] = (
                    (
                        confidentiality.strictest_protection(jsonio.loads(current.content)),
                        current.version,
                    )
                    if current is not None and current.content
                    else (None, 0)
                )
            grade, current_version = now[key]
            if grade is None or v.version == current_version:
                out.append(self.disclose(v))
                continue
            masked = confidentiality.mask_earlier_version(jsonio.loads(v.content), grade)
            out.append(dataclasses.replace(v, content=jsonio.dumps(masked).decode()))
        return out

    def disclose_resource(self, resource: dict[str, Any]) -> dict[str, Any]:
        """:meth:`disclose` for a resource not (yet) stored, e.g. a preview."""
        if self.ctx.actor.sees_protected_addresses:
            return resource
        return confidentiality.mask(resource) or resource

    def _disclosed(self, result: WriteResult) -> WriteResult:
        stored = self.disclose(result.stored)
        return result if stored is result.stored else dataclasses.replace(result, stored=stored)

    # -- reads ----------------------------------------------------------------------------

    @audited
    def read(
        self,
        res_type: str,
        res_id: str,
        tx: SqlTransaction | None = None,
        *,
        audit: bool = True,
    ) -> StoredResource:
        """The current version; 404 if unknown (or not the caller's to see), 410 if
        deleted. ``audit=False`` for reads that are a step of another audited call."""
        ensure_type(res_type)
        self.guard("read", res_type)
        stored = (
            self.store.read_current(res_type, res_id) if tx is None else tx.read(res_type, res_id)
        )
        if stored is None:
            raise not_found(f"{res_type}/{res_id} not found")
        self._check_read(stored, "read", tx)
        if stored.deleted:
            raise FhirError(
                410, gone(f"{res_type}/{res_id} was deleted").issues, {"ETag": stored.etag}
            )
        if audit:
            self.gate.disclosed(None, "read", [stored])
        return self.disclose(stored)

    def _check_read(self, stored: StoredResource, action: str, tx: SqlTransaction | None) -> None:
        """The access decision on one resource (in ``tx``, or a snapshot of its own)."""
        if self.ctx.actor.is_system or (
            stored.patient_id is None and stored.res_type not in orphans.record_types()
        ):
            self.gate.resource(cast(SqlTransaction, tx), stored, action)
            return
        if tx is not None:
            self.gate.resource(tx, stored, action)
            return
        with self.reading() as snap:
            self.gate.resource(snap, stored, action)

    @audited
    def vread(self, res_type: str, res_id: str, version: str) -> StoredResource:
        ensure_type(res_type)
        self.guard("vread", res_type)
        if not version.isdigit():
            raise not_found(f"{res_type}/{res_id} has no version '{version}'")
        with self.reading() as tx:
            stored = tx.vread(res_type, res_id, int(version))
            if stored is None:
                raise not_found(f"{res_type}/{res_id} has no version {version}")
            self.gate.resource(tx, stored, "vread")
            current = tx.read(res_type, res_id)
            if current is not None and current.patient_id != stored.patient_id:
                # A resource moved between records is judged in both.
                self.gate.resource(tx, current, "vread")
        if stored.deleted:
            raise FhirError(
                410,
                gone(f"{res_type}/{res_id} version {version} is a deletion").issues,
                {"ETag": stored.etag},
            )
        self.gate.disclosed(None, "vread", [stored])
        return self._disclose_versions([stored])[0]

    @audited
    def search(
        self,
        res_type: str | None,
        items: list[tuple[str, str]],
        tx: SqlTransaction | None = None,
        *,
        audit: bool = True,
    ) -> SearchResult:
        """A search, filtered in SQL to what the caller may see (results, totals,
        includes, chains and ``_has`` alike); one AuditEvent per patient shown."""
        if res_type is not None:
            ensure_type(res_type)
        self.guard("search", res_type)
        req = self.parser.parse(res_type, items)
        restrict = self.gate.restrict(schema.resources, per_row=_narrow(req))
        if tx is not None:
            result = Searcher(tx, self.store.registry, restrict).run(req)
            if audit:
                self._audit_search(tx, res_type, items, result)
        else:
            with self.reading() as tx2:
                result = Searcher(tx2, self.store.registry, restrict).run(req)
                if audit:
                    self._audit_search(tx2, res_type, items, result)
        result.matches = [self.disclose(m) for m in result.matches]
        result.included = [self.disclose(m) for m in result.included]
        return result

    def _audit_search(
        self,
        tx: SqlTransaction,
        res_type: str | None,
        items: list[tuple[str, str]],
        result: SearchResult,
    ) -> None:
        from urllib.parse import urlencode

        query = f"{res_type or ''}?{urlencode(items)}"
        self.gate.disclosed(
            tx,
            "search",
            [*result.matches, *result.included],
            query=query,
            always=not self.ctx.actor.is_system,
        )

    @audited
    def history(
        self,
        res_type: str | None,
        res_id: str | None,
        *,
        since: str | None,
        at: str | None,
        count: int,
        offset: int,
    ) -> HistoryPage:
        """One page of versions, newest first (of one resource, a type, or everything),
        filtered to what the caller may see."""
        self.guard("history", res_type)
        gate = self.gate
        with self.reading() as tx:
            restrict: Callable[[sa.Table], Any] = functools.partial(
                gate.restrict, per_row=res_id is not None
            )
            if res_type is not None and res_id is not None:
                current = tx.read(res_type, res_id)
                if current is not None:
                    gate.resource(tx, current, "history")
                    if current.patient_id is not None and not self.ctx.actor.is_system:
                        restrict = _same_record(restrict, current.patient_id)
            page = history(
                tx,
                res_type,
                res_id,
                since=since,
                at=at,
                count=count,
                offset=offset,
                restrict=restrict,
            )
            gate.disclosed(tx, "history", page.entries)
        page.entries = self._disclose_versions(page.entries)
        return page

    @audited
    def everything(
        self,
        patient_id: str,
        *,
        since: str | None,
        start: str | None,
        end: str | None,
        count: int | None,
        offset: int,
    ) -> EverythingPage:
        """The patient's compartment (``Patient/[id]/$everything``), as far as the
        caller may see it."""
        self.read("Patient", patient_id, audit=False)  # 404/410 and the patient decision
        self.guard("operation", "Patient")
        with self.reading() as tx:
            page = everything(
                tx,
                patient_id,
                since=since,
                start=start,
                end=end,
                count=count,
                offset=offset,
                restrict=self.gate.restrict(schema.resources),
            )
            self.gate.disclosed(
                tx, "operation", page.entries, query=f"Patient/{patient_id}/$everything"
            )
        page.entries = [self.disclose(e) for e in page.entries]
        return page

    def chart(
        self, patient_id: str, types: Iterable[str], tx: SqlTransaction
    ) -> tuple[StoredResource, list[StoredResource]]:
        """The Patient and the current resources of ``types`` in their record, as far as
        the caller may see them, read in ``tx`` for a page that shows a whole chart.

        The Patient read decides access (404/410 as :meth:`read`); the record's rows are
        then fetched by patient in one query and judged one by one as reads by id are
        (types, labels, blocks on single resources), which gives the rows the searches'
        SQL filter gives without testing the care relation again per row. Nothing is
        audited here: the caller notes what it shows (``gate.disclosed``), once.
        """
        patient = self.read("Patient", patient_id, tx, audit=False)
        rows = charts.compartment_rows(tx, patient_id, [t for t in types if t != "Patient"])
        visible = self.gate.visible_in(tx, patient_id, rows)
        return patient, [self.disclose(r) for r in visible]

    def chart_newest(
        self,
        patient_id: str,
        res_type: str,
        token_param: str,
        counts: Mapping[str, int],
        tx: SqlTransaction,
        *,
        date_param: str = "date",
    ) -> dict[str, list[StoredResource]]:
        """Per code of ``token_param``, the newest (by ``date_param``) resources of
        ``res_type`` in the patient's record carrying it, at most ``counts[code]``, as
        far as the caller may see them: what ``{res_type}?subject=…&{token_param}=code
        &_sort=-{date_param}&_count=n`` finds, for a page showing a whole chart.

        Chosen by the index tables, so only the resources returned are read; each is
        judged as a read by id is. Call it after :meth:`chart` (its Patient read decides
        access); nothing is audited here.
        """
        ensure_type(res_type)
        order = charts.newest_by_code(
            tx, patient_id, res_type, token_param, counts.keys(), date_param
        )
        out: dict[str, list[StoredResource]] = {}
        for code, ids in order.items():
            wanted, start = counts[code], 0
            kept: list[StoredResource] = []
            # Read in batches of what is still missing: hidden ones are rare, so one
            # batch is the rule.
            while len(kept) < wanted and start < len(ids):
                batch = ids[start : start + wanted - len(kept)]
                start += len(batch)
                rows = {r.res_id: r for r in charts.rows_by_id(tx, patient_id, res_type, batch)}
                present = [rows[i] for i in batch if i in rows]
                kept.extend(self.gate.visible_in(tx, patient_id, present))
            out[code] = [self.disclose(r) for r in kept]
        return out

    def referencing(self, tx: SqlTransaction, res_type: str, res_id: str) -> list[tuple[str, str]]:
        """``(type, id)`` of the current resources that point at ``res_type/res_id``."""
        self.guard_whole_database()
        return references.referencing(tx, res_type, res_id)

    def compartment_counts(self, tx: SqlTransaction, patient_id: str) -> dict[str, int]:
        """Current resources per type in a patient's compartment."""
        self.guard_whole_database()
        return references.compartment_counts(tx, patient_id)

    def scan(self, tx: SqlTransaction, res_type: str) -> Iterator[StoredResource]:
        """Every current resource of a type, as this actor may see it."""
        ensure_type(res_type)
        self.guard("search", res_type)
        self.guard_whole_database()
        for stored in references.scan(tx, res_type):
            yield self.disclose(stored)

    def parse_search(self, res_type: str | None, items: list[tuple[str, str]]) -> SearchRequest:
        return self.parser.parse(res_type, items)

    def find(self, tx: SqlTransaction, res_type: str, query: str) -> list[str]:
        """Ids matching a conditional query (``identifier=x|y``), at most 2 (for 'one')."""
        from urllib.parse import parse_qsl

        items = parse_qsl(query, keep_blank_values=True)
        if not items:
            raise bad_request(f"empty search criteria for {res_type}")
        req = self.parser.parse(res_type, items)
        if req.ignored:
            raise bad_request(f"unknown search parameter(s) in condition: {', '.join(req.ignored)}")
        req.count = 2
        req.total = "none"
        # Only what the caller may see: a condition must not reveal other records.
        restrict = self.gate.restrict(schema.resources, per_row=True)
        return Searcher(tx, self.store.registry, restrict).ids(req)

    def _find_one(self, tx: SqlTransaction, res_type: str, query: str, what: str) -> str | None:
        """The one id matching a condition (None for none; 412 for several).

        Takes the condition's lock first, so concurrent conditional writes with the same
        condition see each other's results.
        """
        tx.lock_key(f"{res_type}?{query}")
        ids = self.find(tx, res_type, query)
        if len(ids) > 1:
            raise error(412, "multiple-matches", f"{what} matched {len(ids)} {res_type} resources")
        return ids[0] if ids else None

    # -- writes ---------------------------------------------------------------------------

    @audited
    def create(
        self,
        res_type: str,
        body: Any,
        *,
        if_none_exist: str | None = None,
        tx: SqlTransaction | None = None,
    ) -> WriteResult:
        """Create with a server-assigned id; with ``If-None-Exist``, return the match instead.

        Two matches for the condition answer 412.
        """
        ensure_type(res_type)
        self.guard("create", res_type)
        resource = check_body(
            body, res_type, None, allow_test_identities=self.settings.allow_test_identities
        )
        resource.pop("id", None)
        with self._tx(tx) as t:
            if if_none_exist:
                found = self._find_one(t, res_type, if_none_exist, "If-None-Exist")
                if found:
                    existing = t.read(res_type, found)
                    assert existing is not None
                    self.gate.disclosed(t, "read", [existing])
                    return self._disclosed(WriteResult(existing, created=False, noop=True))
            return self._write(t, [WriteOp("POST", res_type, new_id(), resource)])[0]

    @audited
    def update(
        self,
        res_type: str,
        res_id: str,
        body: Any,
        *,
        if_match: int | None = None,
        tx: SqlTransaction | None = None,
    ) -> WriteResult:
        """Update, or create with the client's id when it does not exist (update-as-create)."""
        ensure_type(res_type)
        ensure_id(res_id)
        self.guard("update", res_type)
        resource = check_body(
            body, res_type, res_id, allow_test_identities=self.settings.allow_test_identities
        )
        with self._tx(tx) as t:
            op = WriteOp("PUT", res_type, res_id, resource, expected_version=if_match)
            return self._write(t, [op])[0]

    @audited
    def conditional_update(
        self, res_type: str, query: str, body: Any, tx: SqlTransaction | None = None
    ) -> WriteResult:
        ensure_type(res_type)
        self.guard("update", res_type)
        with self._tx(tx) as t:
            found = self._find_one(t, res_type, query, "conditional update")
            if isinstance(body, dict) and found and body.get("id") not in (None, found):
                raise bad_request(
                    f"id '{body.get('id')}' does not match the resource found ({found})", "id"
                )
            res_id = found or (body.get("id") if isinstance(body, dict) else None)
            res_id = res_id or new_id()
            if isinstance(body, dict):
                body.setdefault("id", res_id)
            return self.update(res_type, res_id, body, tx=t)

    @audited
    def patch(
        self, res_type: str, res_id: str, patch: Any, *, if_match: int | None = None
    ) -> WriteResult:
        """Apply a JSON Patch (RFC 6902) to the current version; the result is validated."""
        ensure_type(res_type)
        self.guard("patch", res_type)
        if not isinstance(patch, list):
            raise bad_request("a JSON Patch body is an array of operations")
        with self.writing() as t:
            current = self.read(res_type, res_id, tx=t, audit=False)  # as this actor may see it
            if if_match is not None and if_match != current.version:
                raise error(
                    412,
                    "conflict",
                    f"{res_type}/{res_id} is at version "
                    f"{current.version}, If-Match asked for {if_match}",
                )
            assert current.content is not None
            doc = jsonio.loads(current.content)
            try:
                patched = jsonpatch.apply_patch(doc, patch)
            except jsonpatch.JsonPatchTestFailed as exc:
                raise error(422, "processing", f"patch test failed: {exc}") from None
            except (
                jsonpatch.JsonPatchException,
                jsonpatch.JsonPointerException,
                TypeError,
                KeyError,
                ValueError,
            ) as exc:
                raise error(422, "processing", f"patch could not be applied: {exc}") from None
            resource = check_body(
                patched, res_type, res_id, allow_test_identities=self.settings.allow_test_identities
            )
            op = WriteOp("PATCH", res_type, res_id, resource, expected_version=current.version)
            return self._write(t, [op])[0]

    @audited
    def delete(self, res_type: str, res_id: str, tx: SqlTransaction | None = None) -> WriteResult:
        """Logical delete (a new, deleted version); deleting a deleted resource is a no-op."""
        ensure_type(res_type)
        self.guard("delete", res_type)
        with self._tx(tx) as t:
            return self._write(t, [WriteOp("DELETE", res_type, res_id)])[0]

    @audited
    def conditional_delete(self, res_type: str, query: str) -> list[WriteResult]:
        """Delete the one match (0 matches: nothing; more than one: 412)."""
        ensure_type(res_type)
        self.guard("delete", res_type)
        with self.writing() as t:
            found = self._find_one(t, res_type, query, "conditional delete")
            return self._write(t, [WriteOp("DELETE", res_type, found)]) if found else []

    @audited
    def apply_many(self, tx: SqlTransaction, ops: list[WriteOp]) -> list[WriteResult]:
        """Bulk writes for bundles; each op's type was guarded by the caller."""
        for op in ops:
            self.guard(
                {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}[
                    op.method
                ],
                op.res_type,
            )
        return self._write(tx, ops)

    def _write(self, tx: SqlTransaction, ops: list[WriteOp]) -> list[WriteResult]:
        """The one way into the store for writes: the access checks, the domain rules,
        the write and its AuditEvents, in ``tx``.

        Checks the current version of each changed resource (the caller must be allowed
        to see it: 404 otherwise) and the result (403 unless the caller may see what they
        wrote). Keeps protected addresses that the writer cannot see, keeps national
        identifiers unique among Patients (409), and answers as the writer may see the
        result.
        """
        actor = self.ctx.actor
        # The current versions, read once for the access check and the address rule.
        currents: dict[int, StoredResource | None] = {}
        for i, op in enumerate(ops):
            if actor.is_system:
                continue
            current = None if op.method == "POST" else tx.read(op.res_type, op.res_id)
            currents[i] = current
            if current is not None and not current.deleted:
                self.gate.resource(tx, current, _ACTION[op.method])
            if op.res_type == "Consent" and (
                is_break_glass_grant(op.resource) or is_break_glass_grant(current)
            ):
                # A grant made by hand would open a record without the break-the-glass
                # event and the privacy officer's review: only $break-glass makes them.
                self.gate.deny(
                    _ACTION[op.method],
                    None,
                    "break-the-glass grants are made by Patient/$break-glass only",
                )
            if (
                op.res_type == "Consent"
                and actor.work is not None
                and current is not None
                and is_block_naming(current, actor.work)
            ):
                # Whoever a block names may not lift or narrow it, not even after
                # breaking the glass: the patient (or other staff for them) may.
                self.gate.deny(
                    _ACTION[op.method],
                    current.patient_id,
                    "a block (sperring) that names you cannot be changed by you",
                )
        if actor.citizen is not None:
            write_checks.citizen_rules(actor, tx, ops, currents)
        if not actor.sees_protected_addresses:
            for i, op in enumerate(ops):
                if op.resource is not None and confidentiality.needs_restore_check(
                    op.res_type, op.resource
                ):
                    current = currents[i] if i in currents else tx.read(op.res_type, op.res_id)
                    if (
                        current is not None
                        and current.content
                        and not current.deleted
                        and confidentiality.may_hold_protected(current.content)
                    ):
                        op.resource = confidentiality.restore_protected(
                            op.resource, jsonio.loads(current.content)
                        )
        previous = write_checks.workflow_rules(self.ctx, tx, ops, currents)
        identity.check_unique(tx, ops, self.patients_with_identifier)
        results = tx.apply_many(ops)
        for op, result in zip(ops, results, strict=True):
            if not result.noop:
                self.gate.after_write(tx, result.stored, _ACTION[op.method])
        by_action: dict[str, list[StoredResource]] = {}
        for op, result in zip(ops, results, strict=True):
            if not result.noop:
                by_action.setdefault(_ACTION[op.method], []).append(result.stored)
        for action, stored in by_action.items():
            self.gate.changed(tx, action, stored)
        if self.ctx.workflows and previous is not None:
            reactions.react(
                self,
                tx,
                [op for op, r in zip(ops, results, strict=True) if not r.noop],
                [r.stored for r in results if not r.noop],
                {
                    j: previous[i]
                    for j, i in enumerate(i for i, r in enumerate(results) if not r.noop)
                    if i in previous
                },
                self.ctx.workflow_depth,
            )
        return [self._disclosed(r) for r in results]

    def audit_append(self, tx: SqlTransaction, events: list[dict[str, Any]]) -> list[int]:
        """Append events made by an operation (a merge, break-the-glass) in its
        transaction; their seqs (empty when the request is not audited)."""
        return self.trail.append_in(tx, events)

    def patients_with_identifier(self, tx: SqlTransaction, tokens: list[str]) -> list[str]:
        """Ids of current Patients matching any ``system|value`` token (MPI checks)."""
        found: list[str] = []
        for start in range(0, len(tokens), 100):
            value = ",".join(tokens[start : start + 100])
            req = self.parser.parse("Patient", [("identifier", value)])
            req.count = 1000
            req.total = "none"
            found += Searcher(tx, self.store.registry).ids(req)
        return found

    @contextmanager
    def _tx(self, tx: SqlTransaction | None) -> Iterator[SqlTransaction]:
        if tx is not None:
            yield tx
        else:
            with self.writing() as t:
                yield t
