"""Every read path, for one caller and a group of records: does the caller see exactly
its view of each record?

A *view* is what the rules let the caller see of one record: a set of ``Type/id``,
narrowed here to the types the caller's role and scopes read at all. :class:`Views`
asks the server for all the records of a group at once, in every way there is to read
them, and sorts each answer by record, so that every record is checked on every path.
With access, exactly the view is there. Without it, reads answer 404 (403 to a system
client) and searches and histories hold nothing of the record: no entry, no total, no
include, no chain or ``_has`` match. A record with an empty view may not even be
mentioned: no resource naming its patient may come back.

The paths, per group (searches name every patient of the group, ``subject=A,B,...``):

* as plain requests: a read of each Patient and each PSY Observation; a system-level
  search by ``_id``; ``POST Observation/_search``; ``Observation?subject=`` paged by
  ``_count``, every ``next`` link followed; system history and Observation type history
  since the world was built;
* as the entries of one batch (``api/system.py`` dispatches them as it does plain
  requests; a batch keeps the run fast, since a health worker's request costs tens of
  milliseconds of access SQL): a read and a vread of every other resource; instance
  history of each Patient, its first Observation and every resource whose visibility
  differs from its Patient's; a search by patient of every type; ``_summary=count`` and
  ``_total=accurate``; ``_include`` and ``_revinclude``; ``_has`` on the coded resources
  (one search per kind: the PSY ones, the plain ones...); chains
  (``Observation?subject.name=``, ``{Type}?patient.name=`` for Condition, Encounter and
  Consent); and ``Patient/{id}/$everything`` of each record.

Then the audit log: every read left an AuditEvent about the patient (outcome ``4`` for a
denial; a type the caller's role or scopes do not cover is refused before the record is
known, and that event names the type), a record in view has disclosure events for reads,
vreads, searches, histories (and ``$everything`` when its Patient is in view), and a
record out of view has no disclosure event at all.

Problems are collected per record, so one failing scenario lists every leaking path.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.testclient import TestClient

from fellesjournal.access.actor import actor_from_claims
from fellesjournal.access.resolve import ContextResolver
from fellesjournal.audit import log
from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import FhirError
from fellesjournal.service.context import RequestContext
from fellesjournal.service.repository import GuardedRepository
from tests.access_matrix.world import CODES, Caller, Record, World
from tests.conftest import settle_audit

#: The search parameter that points each type of the records at the patient.
_BY_PATIENT = {"Observation": "subject", "Condition": "subject", "Encounter": "subject"}
#: ``_revinclude`` of every type the records hold, from their Patient.
_REVINCLUDE = (
    "Observation:subject",
    "Condition:subject",
    "Encounter:subject",
    "EpisodeOfCare:patient",
    "ServiceRequest:subject",
    "Appointment:patient",
    "CareTeam:subject",
    "Consent:patient",
)
#: The types searched by a chain through the Patient: clinical, administrative, Consent.
_CHAINED = ("Observation", "Condition", "Encounter", "Consent")
_PATIENT_REF = re.compile(r'"Patient/([A-Za-z0-9.\-]+)"')

Body = dict[str, Any]


def type_of(reference: str) -> str:
    return reference.partition("/")[0]


def fhir_path(url: str) -> str:
    """``/fhir/...`` of an absolute link from a Bundle."""
    return "/fhir/" + url.split("/fhir/", 1)[1]


def entries(body: Body) -> list[tuple[str, str, Body]]:
    """``(Type/id, search mode, resource)`` of a Bundle's entries with a resource."""
    out = []
    for entry in body.get("entry") or ():
        res = entry.get("resource")
        if not isinstance(res, dict) or res.get("resourceType") == "OperationOutcome":
            continue
        mode = (entry.get("search") or {}).get("mode", "")
        out.append((f"{res['resourceType']}/{res['id']}", mode, res))
    return out


def next_link(body: Body) -> str | None:
    for link in body.get("link") or ():
        if link.get("relation") == "next":
            return str(link["url"])
    return None


@dataclass(frozen=True, slots=True)
class Probe:
    """One request (``path`` relative to the base, query encoded), the status it must
    get, and the check of its body when that is 200."""

    path: str
    want: int
    check: Callable[[Body], None] | None = None
    #: The record a failure is reported for (None: every record of the group).
    key: str | None = None


class Views:
    """One caller's views of a group of records, checked path by path."""

    def __init__(
        self,
        http: TestClient,
        world: World,
        caller: Caller,
        items: Iterable[tuple[Record, Iterable[str]]],
    ) -> None:
        self.http = http
        self.world = world
        self.caller = caller
        self.records: dict[str, Record] = {}
        self.views: dict[str, frozenset[str]] = {}
        for rec, allowed in items:
            self.records[rec.key] = rec
            self.views[rec.key] = frozenset(r for r in allowed if caller.reads(type_of(r)))
        #: Which record each resource of the group belongs to.
        self.owner = {r: k for k, rec in self.records.items() for r in rec.all()}
        self.by_patient_id = {rec.patient_id: k for k, rec in self.records.items()}
        self.problems: dict[str, list[str]] = {k: [] for k in self.records}
        self.mentions: dict[str, set[str]] = {k: set() for k in self.records}

    # -- comparing -------------------------------------------------------------------------

    def problem(self, key: str | None, path: str, text: str) -> None:
        """Note a problem of one record (None: of every record of the group)."""
        if len(path) > 160:  # a query naming every patient of a group
            path = path[:150] + "..."
        for k in [key] if key is not None else list(self.records):
            self.problems[k].append(f"{path}: {text}")

    def seen(self, body: Body, mode: str | None = None) -> dict[str, set[str]]:
        """The group's resources in a Bundle, by record (``mode``: only those of that
        search mode); notes other resources that name a patient of the group."""
        out: dict[str, set[str]] = {k: set() for k in self.records}
        for reference, entry_mode, res in entries(body):
            key = self.owner.get(reference)
            if key is not None:
                if mode is None or entry_mode == mode:
                    out[key].add(reference)
                continue
            for pid in set(_PATIENT_REF.findall(jsonio.dumps(res).decode())):
                if pid in self.by_patient_id:
                    self.mentions[self.by_patient_id[pid]].add(reference)
        return out

    def compare(
        self, path: str, seen: dict[str, set[str]], want: Callable[[str], set[str]]
    ) -> None:
        for key in self.records:
            wanted = want(key)
            if seen[key] != wanted:
                leaked, missing = sorted(seen[key] - wanted), sorted(wanted - seen[key])
                self.problem(key, path, f"leaked {leaked}, missing {missing}")

    def of_type(self, key: str, res_type: str) -> set[str]:
        return {r for r in self.views[key] if type_of(r) == res_type}

    def in_view(self, key: str) -> bool:
        return self.records[key].patient in self.views[key]

    def types(self) -> list[str]:
        return sorted({type_of(r) for r in self.owner})

    def denial(self, *, search: bool = False) -> int:
        """The status of a denied request: 404 for reads by anyone but a system client
        (nothing shows that the data exists), 403 otherwise."""
        return 403 if search or self.caller.is_system else 404

    def patients(self) -> str:
        return ",".join(rec.patient for rec in self.records.values())

    # -- the probes ------------------------------------------------------------------------

    def read(self, reference: str, suffix: str = "") -> Probe:
        key = self.owner[reference]
        path = f"{reference}{suffix}"
        if reference not in self.views[key]:
            return Probe(path, self.denial(), key=key)

        def check(body: Body) -> None:
            if suffix == "/_history":
                found = self.seen(body)[key]
                if found != {reference}:
                    self.problem(key, path, f"versions of {sorted(found)}")
            elif f"{body.get('resourceType')}/{body.get('id')}" != reference:
                self.problem(key, path, "answered another resource")

        return Probe(path, 200, check, key)

    def search(
        self, res_type: str, params: list[tuple[str, str]], check: Callable[[str, Body], None]
    ) -> Probe:
        """A search of ``res_type``: 403 when the caller may not search the type at all."""
        path = f"{res_type}?{urlencode(params)}"
        if not self.caller.reads(res_type):
            return Probe(path, self.denial(search=True))
        return Probe(path, 200, lambda body: check(path, body))

    def patient_param(self, res_type: str) -> tuple[str, str]:
        if res_type == "Patient":
            return ("_id", ",".join(rec.patient_id for rec in self.records.values()))
        return (_BY_PATIENT.get(res_type, "patient"), self.patients())

    def by_patient(self, res_type: str) -> Probe:
        return self.search(
            res_type,
            [self.patient_param(res_type), ("_count", "1000")],
            lambda path, body: self.compare(
                path, self.seen(body), lambda k: self.of_type(k, res_type)
            ),
        )

    def counted(self, res_type: str, *extra: tuple[str, str]) -> Probe:
        """``_summary=count`` or ``_total=accurate``: the total counts only the views
        (of the whole group: one number)."""
        want = sum(len(self.of_type(k, res_type)) for k in self.records)
        summary = ("_summary", "count") in extra

        def check(path: str, body: Body) -> None:
            if body.get("total") != want:
                self.problem(None, path, f"total {body.get('total')}, expected {want}")
            found = self.seen(body)
            shown = sum(len(v) for v in found.values())
            if shown > (0 if summary else 1):
                self.problem(None, path, f"{shown} entries")
            self.compare(path, found, lambda k: found[k] & self.of_type(k, res_type))

        return self.search(res_type, [self.patient_param(res_type), *extra], check)

    def include(self) -> Probe:
        def check(path: str, body: Body) -> None:
            self.compare(
                f"{path} (matches)",
                self.seen(body, "match"),
                lambda k: self.of_type(k, "Observation"),
            )
            self.compare(
                f"{path} (included)",
                self.seen(body, "include"),
                lambda k: self.of_type(k, "Patient") if self.of_type(k, "Observation") else set(),
            )

        params = [
            self.patient_param("Observation"),
            ("_include", "Observation:subject"),
            ("_count", "1000"),
        ]
        return self.search("Observation", params, check)

    def revinclude(self) -> Probe:
        def check(path: str, body: Body) -> None:
            self.compare(
                f"{path} (matches)",
                self.seen(body, "match"),
                lambda k: self.of_type(k, "Patient"),
            )
            self.compare(
                f"{path} (included)",
                self.seen(body, "include"),
                lambda k: (
                    set(self.views[k] - {self.records[k].patient}) if self.in_view(k) else set()
                ),
            )

        params = [
            self.patient_param("Patient"),
            *(("_revinclude", r) for r in _REVINCLUDE),
            ("_count", "1000"),
        ]
        return self.search("Patient", params, check)

    def has(self) -> list[Probe]:
        """``Patient?_has:{Type}:subject:code=`` per kind of coded resource (the label
        it has in its record: ``obs``, ``psy``...), naming every such resource of the
        group: a Patient matches when it and that resource are in view."""
        kinds: dict[tuple[str, str], dict[str, str]] = {}
        for key, rec in self.records.items():
            names = {r: n for n, r in rec.refs.items()}
            for reference, code in rec.codes.items():
                if names[reference] != "obs2":  # as ``obs``
                    kinds.setdefault((names[reference], type_of(reference)), {})[key] = code
        return [
            self._has(name, res_type, list(codes.values()))
            for (name, res_type), codes in sorted(kinds.items())
        ]

    def _has(self, name: str, res_type: str, codes: list[str]) -> Probe:
        def want(k: str) -> set[str]:
            rec = self.records[k]
            shown = name in rec.refs and rec.refs[name] in self.views[k]
            return self.of_type(k, "Patient") if shown else set()

        value = ",".join(f"{CODES}|{c}" for c in codes)
        return self.search(
            "Patient",
            [(f"_has:{res_type}:subject:code", value), ("_count", "1000")],
            lambda path, body: self.compare(f"{path} ({name})", self.seen(body), want),
        )

    def chain(self, res_type: str) -> Probe:
        key = "subject.name" if res_type == "Observation" else "patient.name"
        families = ",".join(rec.family for rec in self.records.values())
        return self.search(
            res_type,
            [(key, families), ("_count", "1000")],
            lambda path, body: self.compare(
                path,
                self.seen(body),
                lambda k: self.of_type(k, res_type) if self.in_view(k) else set(),
            ),
        )

    def everything(self, key: str) -> Probe:
        rec = self.records[key]
        path = f"{rec.patient}/$everything"
        if not self.in_view(key):
            return Probe(path, self.denial(), key=key)

        def check(body: Body) -> None:
            found = self.seen(body)[key]
            if found != self.views[key]:
                leaked, missing = sorted(found - self.views[key]), sorted(self.views[key] - found)
                self.problem(key, path, f"leaked {leaked}, missing {missing}")

        return Probe(path, 200, check, key)

    def system_search(self) -> Probe:
        """``GET /fhir?_id=`` with every id of the group, across all types."""
        ids = sorted(r.partition("/")[2] for r in self.owner)
        path = "?" + urlencode([("_id", ",".join(ids)), ("_count", "1000")])
        if not self.caller.system_wide:
            return Probe(path, 403)
        return Probe(
            path,
            200,
            lambda body: self.compare(path, self.seen(body), lambda k: set(self.views[k])),
        )

    def history_refs(self) -> list[str]:
        """The resources whose instance history is asked: each Patient, each plain
        Observation, and every resource whose visibility is not its Patient's (hidden by
        a label, a block of single resources, or shown without the Patient)."""
        out = []
        for key, rec in self.records.items():
            for name, reference in rec.refs.items():
                odd = (reference in self.views[key]) != self.in_view(key)
                if name in ("patient", "obs") or odd:
                    out.append(reference)
        return sorted(out)

    def plain_probes(self) -> list[Probe]:
        reads = [rec.patient for rec in self.records.values()]
        reads += [rec.refs["psy"] for rec in self.records.values() if "psy" in rec.refs]
        return [*(self.read(r) for r in reads), self.system_search()]

    def batch_probes(self) -> list[Probe]:
        plain = {p.path for p in self.plain_probes()}
        refs = sorted(self.owner)
        return [
            *(self.read(r) for r in refs if r not in plain),
            *(self.read(r, "/_history/1") for r in refs),
            *(self.read(r, "/_history") for r in self.history_refs()),
            *(self.by_patient(t) for t in self.types()),
            self.counted("Observation", ("_summary", "count")),
            self.counted("Observation", ("_total", "accurate"), ("_count", "1")),
            self.counted("Patient", ("_summary", "count")),
            self.include(),
            self.revinclude(),
            *self.has(),
            *(self.chain(t) for t in self.types() if t in _CHAINED),
            *(self.everything(k) for k in self.records),
        ]

    # -- running them ----------------------------------------------------------------------

    def get(self, path: str) -> Any:
        return self.http.get(path, headers=self.caller.headers())

    def outcome(self, probe: Probe, status: int, body: Body | None, how: str) -> None:
        if status != probe.want:
            text = jsonio.dumps(body).decode()[:200] if body else ""
            self.problem(
                probe.key, f"{how} {probe.path}", f"status {status}, expected {probe.want} {text}"
            )
        elif status == 200 and probe.check is not None:
            probe.check(body or {})

    def run_plain(self) -> None:
        for probe in self.plain_probes():
            path = f"/fhir{probe.path}" if probe.path.startswith("?") else f"/fhir/{probe.path}"
            resp = self.get(path)
            self.outcome(probe, resp.status_code, resp.json(), "GET")

    def run_batch(self) -> None:
        probes = self.batch_probes()
        bundle = {
            "resourceType": "Bundle",
            "type": "batch",
            "entry": [{"request": {"method": "GET", "url": p.path}} for p in probes],
        }
        resp = self.http.post("/fhir", json=bundle, headers=self.caller.headers())
        if resp.status_code != 200:
            self.problem(None, "batch", f"status {resp.status_code}: {resp.text[:300]}")
            return
        results = resp.json().get("entry") or []
        if len(results) != len(probes):
            self.problem(None, "batch", f"{len(results)} entries for {len(probes)} requests")
            return
        for probe, result in zip(probes, results, strict=True):
            status = int(str(result["response"]["status"]).split()[0])
            self.outcome(probe, status, result.get("resource"), "batch GET")

    def post_search(self) -> None:
        """``POST Observation/_search``, the parameters in a form body."""
        resp = self.http.post(
            "/fhir/Observation/_search",
            data={"subject": self.patients(), "_count": "1000"},
            headers=self.caller.headers(),
        )
        want = 200 if self.caller.reads("Observation") else self.denial(search=True)
        if resp.status_code != want:
            self.problem(None, "POST Observation/_search", f"status {resp.status_code}")
        elif want == 200:
            found = self.seen(resp.json())
            self.compare(
                "POST Observation/_search", found, lambda k: self.of_type(k, "Observation")
            )

    def paging(self) -> None:
        """``_count`` small, then every ``next`` link: the pages together are the views."""
        if not self.caller.reads("Observation"):
            return  # the searches got their 403
        total = sum(len(self.of_type(k, "Observation")) for k in self.records)
        size = max(total // 4, 1)  # a few pages, however large the group
        resp = self.get(f"/fhir/Observation?subject={self.patients()}&_count={size}")
        found: dict[str, set[str]] = {k: set() for k in self.records}
        pages = 0
        while resp.status_code == 200 and pages <= total:
            body = resp.json()
            page = self.seen(body)
            if sum(len(v) for v in page.values()) > size:
                self.problem(None, "paging", "a page larger than _count")
            for k, v in page.items():
                found[k] |= v
            pages += 1
            link = next_link(body)
            if link is None:
                break
            resp = self.get(fhir_path(link))
        if resp.status_code != 200:
            self.problem(None, "paging", f"status {resp.status_code}")
        self.compare("paging", found, lambda k: self.of_type(k, "Observation"))
        if pages != max(-(-total // size), 1):
            self.problem(None, "paging", f"{pages} pages for {total} Observations")

    def charts(self) -> None:
        """The workspace's chart read (``GuardedRepository.chart``, which judges rows in
        Python instead of by the searches' SQL filter): each record's view exactly, and a
        refusal when its Patient is out of view."""
        payload = self.caller.token.split(".")[1]
        claims = jsonio.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        scopes = tuple(str(claims.get("scope") or "").split())
        store, settings = self.world.repo.store, self.world.settings
        actor = ContextResolver(store, settings).resolve(actor_from_claims(claims, scopes))
        for key, rec in self.records.items():
            repo = GuardedRepository(store, settings, RequestContext(actor=actor))
            codes = {c: 10 for r, c in rec.codes.items() if type_of(r) == "Observation"}
            try:
                with repo.reading() as tx:
                    patient, rows = repo.chart(rec.patient_id, self.types(), tx)
                    newest = repo.chart_newest(rec.patient_id, "Observation", "code", codes, tx)
            except FhirError as exc:
                if self.in_view(key):
                    self.problem(key, "chart", f"refused ({exc.status}) though in view")
                continue
            # Resources the world did not write (a break-the-glass grant) are not judged.
            seen = {f"{r.res_type}/{r.res_id}" for r in [patient, *rows]} & set(self.owner)
            if not self.in_view(key):
                self.problem(key, "chart", f"shown {sorted(seen)} with the Patient out of view")
            elif seen != self.views[key]:
                leaked, missing = sorted(seen - self.views[key]), sorted(self.views[key] - seen)
                self.problem(key, "chart", f"leaked {leaked}, missing {missing}")
            by_code = {f"Observation/{o.res_id}" for found in newest.values() for o in found}
            if by_code != self.of_type(key, "Observation"):
                self.problem(key, "chart_newest", f"{sorted(by_code)}")

    def histories(self) -> None:
        """System history and the Observation type history since the world was built."""
        for path, allowed, res_type in (
            ("_history", self.caller.system_wide, None),
            ("Observation/_history", self.caller.reads("Observation"), "Observation"),
        ):
            status, bodies = self.world.history(self.http, self.caller, path)
            if not allowed:
                if status != self.denial():
                    self.problem(None, path, f"status {status}, expected {self.denial()}")
                continue
            if status != 200:
                self.problem(None, path, f"status {status}")
                continue
            found: dict[str, set[str]] = {k: set() for k in self.records}
            for body in bodies:
                for k, v in self.seen(body).items():
                    found[k] |= v
            self.compare(path, found, self._history_view(res_type))

    def _history_view(self, res_type: str | None) -> Callable[[str], set[str]]:
        """What a history shows of a record: its view, or of one type."""
        if res_type is None:
            return lambda k: set(self.views[k])
        return lambda k: self.of_type(k, res_type)

    # -- the audit log ---------------------------------------------------------------------

    def audit(self, after_seq: int) -> None:
        """The AuditEvents the paths left (see the module doc)."""
        settle_audit(self.world.repo.store)
        with self.world.repo.reading() as tx:
            records = list(log.iter_events(tx, after_seq=after_seq))
        if not self.caller.is_system:
            others = {r.agent for r in records} - {self.caller.agent}
            if others:
                self.problem(None, "audit", f"events by others in the window: {sorted(others)}")
        events = [(r, r.event()) for r in records]
        refused_types = {
            w for r, e in events if r.outcome == "4" and r.patient_id is None for w in _whats(e)
        }
        by_patient: dict[str, list[tuple[log.AuditRecord, Body]]] = {}
        for r, e in events:
            if r.patient_id is not None:
                by_patient.setdefault(r.patient_id, []).append((r, e))
        for key, rec in self.records.items():
            mine = by_patient.get(rec.patient_id, [])
            reads = [
                (r, e)
                for r, e in mine
                if _interaction(e) == "read"
                and not any(w.endswith("$everything") for w in _whats(e))
            ]
            for reference in sorted(rec.all()):
                if reference in self.views[key]:
                    hit = any(
                        r.outcome == "0"
                        and any(w.startswith(f"{reference}/_history/") for w in _whats(e))
                        for r, e in reads
                    )
                elif not self.caller.reads(type_of(reference)):
                    hit = type_of(reference) in refused_types
                else:
                    hit = any(r.outcome == "4" and reference in _whats(e) for r, e in reads)
                if not hit:
                    state = "disclosure" if reference in self.views[key] else "denial"
                    self.problem(key, "audit", f"no AuditEvent for the {state} of GET {reference}")
            disclosed = {_interaction(e) for r, e in mine if r.outcome == "0"}
            if not self.views[key]:
                if disclosed:
                    self.problem(key, "audit", f"disclosures without a view: {sorted(disclosed)}")
                continue
            want = {"read", "vread", "search", "history"}
            if self.in_view(key):
                want.add("operation")
            if not want <= disclosed:
                self.problem(key, "audit", f"no disclosure event for {sorted(want - disclosed)}")

    def run(self) -> Views:
        settle_audit(self.world.repo.store)
        with self.world.repo.reading() as tx:
            after_seq = log.head(tx)[0]
        self.run_plain()
        self.post_search()
        self.run_batch()
        self.paging()
        self.histories()
        self.charts()
        for key, mentions in self.mentions.items():
            if not self.views[key] and mentions:
                self.problem(key, "leak", f"resources naming the patient: {sorted(mentions)}")
        self.audit(after_seq)
        return self

    def assert_ok(self, key: str) -> None:
        problems = self.problems[key]
        assert not problems, (
            f"{self.caller.name} on record '{key}' (view: {sorted(self.views[key])}):\n  "
            + "\n  ".join(problems)
        )


def _interaction(event: Body) -> str:
    return str(((event.get("subtype") or [{}])[0]).get("code", ""))


def _whats(event: Body) -> list[str]:
    return [
        str((e.get("what") or {}).get("reference", ""))
        for e in event.get("entity") or ()
        if "what" in e
    ]


def check_view(
    http: TestClient, world: World, caller: Caller, rec: Record, allowed: Iterable[str]
) -> None:
    """Assert that ``caller`` sees exactly ``allowed`` of ``rec`` (narrowed to the types
    it reads at all) through every read path, and that the audit log shows it. Asks
    afresh: for records a test changes."""
    Views(http, world, caller, [(rec, allowed)]).run().assert_ok(rec.key)


def check_in_group(
    http: TestClient,
    world: World,
    group: str,
    caller: Caller,
    items: Callable[[], Iterable[tuple[Record, Iterable[str]]]],
    record: str,
) -> None:
    """:func:`check_view` for one record of a group that is asked once, for all its
    records together (``items``), the first time one of them is checked. For records
    nothing changes: the answers are kept for the rest of the run."""
    views = world.groups.get(group)
    if views is None:
        views = Views(http, world, caller, items()).run()
        world.groups[group] = views
    views.assert_ok(record)


def glance(
    http: TestClient, caller: Caller, rec: Record, *, sees: bool, hidden: tuple[str, ...] = ()
) -> None:
    """A quick look at a record in a state whose like the matrix checks in full on other
    records (before a test changes it): the Patient answers 200 or 404, and
    ``Observation?subject=`` shows the plain Observations (but ``hidden``) or nothing."""
    resp = http.get(f"/fhir/{rec.patient}", headers=caller.headers())
    assert resp.status_code == (200 if sees else 404), resp.text
    if not caller.reads("Observation"):
        return
    resp = http.get(f"/fhir/Observation?subject={rec.patient}", headers=caller.headers())
    assert resp.status_code == 200, resp.text
    found = {ref for ref, _mode, _res in entries(resp.json())}
    shown = {n for n in ("obs", "obs2") if n not in hidden}
    assert found == (set(rec.only(*shown)) if sees else set())
    assert resp.json().get("total") == len(found)
