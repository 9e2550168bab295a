"""The guarded repository: the one chokepoint for patient data.

Every read and write — REST interactions, bundle entries, operations, the CLI's import —
goes through :class:`GuardedRepository`. Each call asks the access policy, calls the
store inside one transaction, and (with the audit issue) records the event in that same
transaction. Nothing else in the product touches the store for resource data.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import jsonpatch

from fellesjournal.access.policy import decide
from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import FhirError, bad_request, error, gone, not_found
from fellesjournal.search.params import Parser, SearchRequest
from fellesjournal.service.context import RequestContext
from fellesjournal.service.searching import Searcher, SearchResult
from fellesjournal.service.writes import check_body, ensure_id, ensure_type, new_id
from fellesjournal.settings import Settings
from fellesjournal.store.base import StoredResource, WriteOp, WriteResult
from fellesjournal.store.sql import SqlStore, SqlTransaction


class GuardedRepository:
    """Access decision + store + audit, per request context."""

    def __init__(self, store: SqlStore, settings: Settings, ctx: RequestContext) -> None:
        self.store = store
        self.settings = settings
        self.ctx = ctx
        self.parser = Parser(
            store.registry,
            default_count=settings.default_page_size,
            max_count=settings.max_page_size,
            strict=ctx.strict,
        )

    # -- guard ----------------------------------------------------------------------------

    def guard(self, action: str, res_type: str | None) -> None:
        """Raise unless the policy allows; reads outside the caller's view answer 404."""
        decision = decide(actor=self.ctx.actor, action=action, res_type=res_type)
        if decision.allowed:
            return
        if action in ("read", "vread", "history") and not self.ctx.actor.is_system:
            raise not_found(f"{res_type or 'resource'} not found")
        raise error(403, "forbidden", f"not allowed: {decision.reason}")

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

    # -- reads ----------------------------------------------------------------------------

    def read(self, res_type: str, res_id: str, tx: SqlTransaction | None = None) -> StoredResource:
        """The current version; 404 if unknown, 410 if deleted."""
        ensure_type(res_type)
        self.guard("read", res_type)
        stored = (
            self.store.read_current(res_type, res_id) if tx is None else tx.read(res_type, res_id)
        )
        if stored is None:
            raise not_found(f"{res_type}/{res_id} not found")
        if stored.deleted:
            raise FhirError(
                410, gone(f"{res_type}/{res_id} was deleted").issues, {"ETag": stored.etag}
            )
        return stored

    def vread(self, res_type: str, res_id: str, version: str) -> StoredResource:
        ensure_type(res_type)
        self.guard("vread", res_type)
        if not version.isdigit():
            raise not_found(f"{res_type}/{res_id} has no version '{version}'")
        with self.reading() as tx:
            stored = tx.vread(res_type, res_id, int(version))
        if stored is None:
            raise not_found(f"{res_type}/{res_id} has no version {version}")
        if stored.deleted:
            raise FhirError(
                410,
                gone(f"{res_type}/{res_id} version {version} is a deletion").issues,
                {"ETag": stored.etag},
            )
        return stored

    def search(
        self, res_type: str | None, items: list[tuple[str, str]], tx: SqlTransaction | None = None
    ) -> SearchResult:
        if res_type is not None:
            ensure_type(res_type)
        self.guard("search", res_type)
        req = self.parser.parse(res_type, items)
        if tx is not None:
            return Searcher(tx, self.store.registry).run(req)
        with self.reading() as tx2:
            return Searcher(tx2, self.store.registry).run(req)

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
        return Searcher(tx, self.store.registry).ids(req)

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
                    return WriteResult(existing, created=False, noop=True)
            return t.apply(WriteOp("POST", res_type, new_id(), resource))

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
            return t.apply(WriteOp("PUT", res_type, res_id, resource, expected_version=if_match))

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

    def patch(
        self, res_type: str, res_id: str, patch: Any, *, if_match: int | None = None
    ) -> WriteResult:
        """Apply a JSON Patch (RFC 6902) to the current version; the result is validated."""
        ensure_type(res_type)
        self.guard("patch", res_type)
        if not isinstance(patch, list):
            raise bad_request("a JSON Patch body is an array of operations")
        with self.writing() as t:
            current = self.read(res_type, res_id, tx=t)
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
            return t.apply(
                WriteOp("PATCH", res_type, res_id, resource, expected_version=current.version)
            )

    def delete(self, res_type: str, res_id: str, tx: SqlTransaction | None = None) -> WriteResult:
        """Logical delete (a new, deleted version); deleting a deleted resource is a no-op."""
        ensure_type(res_type)
        self.guard("delete", res_type)
        with self._tx(tx) as t:
            return t.apply(WriteOp("DELETE", res_type, res_id))

    def conditional_delete(self, res_type: str, query: str) -> list[WriteResult]:
        """Delete the one match (0 matches: nothing; more than one: 412)."""
        ensure_type(res_type)
        self.guard("delete", res_type)
        with self.writing() as t:
            found = self._find_one(t, res_type, query, "conditional delete")
            return [t.apply(WriteOp("DELETE", res_type, found))] if found else []

    def apply_many(self, tx: SqlTransaction, ops: list[WriteOp]) -> list[WriteResult]:
        """Bulk writes for bundles; each op's type was guarded by the caller."""
        for op in ops:
            self.guard(
                {"POST": "create", "PUT": "update", "PATCH": "patch", "DELETE": "delete"}[
                    op.method
                ],
                op.res_type,
            )
        return tx.apply_many(ops)

    @contextmanager
    def _tx(self, tx: SqlTransaction | None) -> Iterator[SqlTransaction]:
        if tx is not None:
            yield tx
        else:
            with self.writing() as t:
                yield t
