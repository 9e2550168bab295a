"""Every read path, for one caller and one record: does the caller see exactly its view?

:func:`check_view` asks the server for the record in every way there is to read it and
compares each answer with the *view*: the record's resources that the rules let the
caller see. With access, exactly the view is there. Without it, reads answer 404 (403 to
a system client), and searches and histories hold nothing of the record: no entry, no
total, no include, no chain or ``_has`` match. When the view is empty, no answer may
mention the patient at all.

The paths (each a :class:`Probe`), as plain requests: a read of every resource in the
record; vread and instance history of the Patient; ``Observation?subject=`` with
``_summary=count``, ``_total=accurate``, ``_include`` and paging (``_count=1``, then every
``next`` link); ``Patient?_id=`` with ``_revinclude``; ``_has`` on a visible and on a
hidden Observation; ``Observation?subject.name=``; ``$everything``; system history and
Observation type history (since the world was built). And as the entries of one batch:
read, vread and instance history of every resource, a search of every type by patient,
``_has`` on every coded resource and a chain from every type. A request answers the same
as a plain request or as a batch entry (``api/system.py`` dispatches both alike); the
batch keeps the run fast, since every request of a health worker costs tens of
milliseconds. The two histories are shared between scenarios with the same caller while
nothing has changed (:meth:`World.changed`): they list the whole world.

Then the audit log: each plain read left an AuditEvent (outcome ``4`` for a denial), a
caller who saw something has disclosure events for it (read, vread, search, history and,
when the Patient is in view, ``$everything``), and one who saw nothing has no disclosure
event about the patient.

Every problem is collected, so one failing scenario lists every leaking path at once.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from starlette.testclient import TestClient

from fellesjournal.audit import log
from fellesjournal.fhir import jsonio
from tests.access_matrix.world import CODES, Caller, Record, World

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


class View:
    """One caller's view of one record, checked path by path (see the module doc)."""

    def __init__(
        self, http: TestClient, world: World, caller: Caller, rec: Record, allowed: Iterable[str]
    ) -> None:
        self.http = http
        self.world = world
        self.caller = caller
        self.rec = rec
        #: The view: what the patient-level and resource-level rules allow, narrowed to
        #: the types the caller's role and scopes read at all.
        self.expected = frozenset(r for r in allowed if caller.reads(type_of(r)))
        self.in_view = rec.patient in self.expected
        self.problems: list[str] = []
        #: Resources outside the record that mention the patient and came back.
        self.mentions: set[str] = set()

    # -- comparing -------------------------------------------------------------------------

    def problem(self, path: str, text: str) -> None:
        self.problems.append(f"{path}: {text}")

    def seen(self, body: Body, mode: str | None = None) -> set[str]:
        """The record's resources in a Bundle (``mode``: only those of that search mode);
        notes resources outside the record that mention the patient."""
        out = set()
        record = self.rec.all()
        for reference, entry_mode, res in entries(body):
            if reference in record:
                if mode is None or entry_mode == mode:
                    out.add(reference)
            elif self.rec.patient in jsonio.dumps(res).decode():
                self.mentions.add(reference)
        return out

    def compare(self, path: str, seen: set[str], want: Iterable[str]) -> None:
        wanted = set(want)
        if seen != wanted:
            self.problem(path, f"leaked {sorted(seen - wanted)}, missing {sorted(wanted - seen)}")

    def of_type(self, res_type: str) -> set[str]:
        return {r for r in self.expected if type_of(r) == res_type}

    def types(self) -> list[str]:
        return sorted({type_of(r) for r in self.rec.all()})

    def denial(self, *, search: bool = False) -> int:
        """The status of a denied request: 404 for reads by anyone but a system client
        (nothing shows that the data exists), 403 otherwise."""
        return 403 if search or self.caller.is_system else 404

    # -- the probes ------------------------------------------------------------------------

    @staticmethod
    def url(path: str, params: list[tuple[str, str]]) -> str:
        return f"{path}?{urlencode(params)}"

    def read(self, reference: str, suffix: str = "") -> Probe:
        path = f"{reference}{suffix}"
        if reference not in self.expected:
            return Probe(path, self.denial())

        def check(body: Body) -> None:
            if suffix == "/_history":
                self.compare(path, self.seen(body), {reference})
            elif f"{body.get('resourceType')}/{body.get('id')}" != reference:
                self.problem(path, "answered another resource")

        return Probe(path, 200, check)

    def search(
        self, res_type: str, params: list[tuple[str, str]], check: Callable[[str, Body], None]
    ) -> Probe:
        """A search of ``res_type``: 403 when the caller may not search the type at all."""
        path = self.url(res_type, params)
        if not self.caller.reads(res_type):
            return Probe(path, self.denial(search=True))
        return Probe(path, 200, lambda body: check(path, body))

    def by_patient(self, res_type: str, *extra: tuple[str, str]) -> Probe:
        if res_type == "Patient":
            params = [("_id", self.rec.patient_id)]
        else:
            params = [(_BY_PATIENT.get(res_type, "patient"), self.rec.patient)]
        want = self.of_type(res_type)
        return self.search(
            res_type,
            [*params, *extra],
            lambda path, body: self.compare(path, self.seen(body), want),
        )

    def counted(self, res_type: str, *extra: tuple[str, str]) -> Probe:
        """``_summary=count`` or ``_total=accurate``: the total counts only the view."""
        want = self.of_type(res_type)
        summary = ("_summary", "count") in extra

        def check(path: str, body: Body) -> None:
            if body.get("total") != len(want):
                self.problem(path, f"total {body.get('total')}, expected {len(want)}")
            found = self.seen(body)
            if not found <= want or len(found) > (0 if summary else 1):
                self.problem(path, f"entries {sorted(found)}")

        if res_type == "Patient":
            params = [("_id", self.rec.patient_id)]
        else:
            params = [(_BY_PATIENT.get(res_type, "patient"), self.rec.patient)]
        return self.search(res_type, [*params, *extra], check)

    def include(self) -> Probe:
        obs = self.of_type("Observation")

        def check(path: str, body: Body) -> None:
            self.compare(f"{path} (matches)", self.seen(body, "match"), obs)
            want = {self.rec.patient} & self.expected if obs else set()
            self.compare(f"{path} (included)", self.seen(body, "include"), want)

        params = [("subject", self.rec.patient), ("_include", "Observation:subject")]
        return self.search("Observation", params, check)

    def revinclude(self) -> Probe:
        patient = {self.rec.patient} & self.expected

        def check(path: str, body: Body) -> None:
            self.compare(f"{path} (matches)", self.seen(body, "match"), patient)
            want = self.expected - patient if patient else set()
            self.compare(f"{path} (included)", self.seen(body, "include"), want)

        params = [("_id", self.rec.patient_id), *(("_revinclude", r) for r in _REVINCLUDE)]
        return self.search("Patient", params, check)

    def has(self, reference: str) -> Probe:
        key = f"_has:{type_of(reference)}:subject:code"
        want = {self.rec.patient} & self.expected if reference in self.expected else set()
        return self.search(
            "Patient",
            [(key, f"{CODES}|{self.rec.codes[reference]}")],
            lambda path, body: self.compare(f"{path} ({reference})", self.seen(body), want),
        )

    def chain(self, res_type: str) -> Probe:
        key = "subject.name" if res_type == "Observation" else "patient.name"
        want = self.of_type(res_type) if self.in_view else set()
        return self.search(
            res_type,
            [(key, self.rec.family)],
            lambda path, body: self.compare(path, self.seen(body), want),
        )

    def everything(self) -> Probe:
        path = f"{self.rec.patient}/$everything"
        if not self.in_view:
            return Probe(path, self.denial())
        return Probe(path, 200, lambda body: self.compare(path, self.seen(body), self.expected))

    def plain_probes(self) -> list[Probe]:
        coded = sorted(self.rec.codes)
        hidden = [r for r in coded if r not in self.expected]
        shown = [r for r in coded if r in self.expected]
        return [
            *(self.read(r) for r in sorted(self.rec.all())),
            self.read(self.rec.patient, "/_history/1"),
            self.read(self.rec.patient, "/_history"),
            self.by_patient("Observation"),
            self.counted("Observation", ("_summary", "count")),
            self.counted("Observation", ("_total", "accurate"), ("_count", "1")),
            self.include(),
            self.revinclude(),
            *(self.has(r) for r in (hidden[:1] + shown[:1])),
            self.chain("Observation"),
            self.everything(),
        ]

    def batch_probes(self) -> list[Probe]:
        refs = sorted(self.rec.all())
        return [
            *(self.read(r) for r in refs),
            *(self.read(r, "/_history/1") for r in refs),
            *(self.read(r, "/_history") for r in refs),
            *(self.by_patient(t) for t in self.types()),
            self.counted("Patient", ("_summary", "count")),
            *(self.has(r) for r in sorted(self.rec.codes)),
            *(self.chain(t) for t in self.types() if t != "Patient"),
        ]

    # -- running them ----------------------------------------------------------------------

    def get(self, path: str) -> Any:
        return self.http.get(path, headers=self.caller.headers())

    def outcome(self, probe: Probe, status: int, body: Body | None, how: str) -> None:
        if status != probe.want:
            text = jsonio.dumps(body).decode()[:300] if body else ""
            self.problem(f"{how} {probe.path}", f"status {status}, expected {probe.want} {text}")
        elif status == 200 and probe.check is not None:
            probe.check(body or {})

    def run_plain(self) -> None:
        for probe in self.plain_probes():
            resp = self.get(f"/fhir/{probe.path}")
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
            self.problem("batch", f"status {resp.status_code}: {resp.text[:300]}")
            return
        results = resp.json().get("entry") or []
        if len(results) != len(probes):
            self.problem("batch", f"{len(results)} entries for {len(probes)} requests")
            return
        for probe, result in zip(probes, results, strict=True):
            status = int(str(result["response"]["status"]).split()[0])
            self.outcome(probe, status, result.get("resource"), "batch GET")

    def paging(self) -> None:
        """``_count=1``, then every ``next`` link: the pages together are the view."""
        if not self.caller.reads("Observation"):
            return  # the searches above got their 403
        obs = self.of_type("Observation")
        resp = self.get(f"/fhir/Observation?subject={self.rec.patient}&_count=1")
        found: set[str] = set()
        pages = 0
        while resp.status_code == 200 and pages <= len(obs) + 1:
            body = resp.json()
            page = self.seen(body)
            if len(page) > 1:
                self.problem("paging", f"a page of _count=1 held {sorted(page)}")
            found |= page
            pages += 1
            link = next_link(body)
            if link is None:
                break
            resp = self.get(fhir_path(link))
        if resp.status_code != 200:
            self.problem("paging", f"status {resp.status_code}")
        self.compare("paging", found, obs)
        if pages != max(len(obs), 1):
            self.problem("paging", f"{pages} pages for {len(obs)} Observations")

    def histories(self) -> None:
        """System history and the Observation type history since the world was built."""
        for path, allowed, want in (
            ("_history", self.caller.wildcard, set(self.expected)),
            ("Observation/_history", self.caller.reads("Observation"), self.of_type("Observation")),
        ):
            status, bodies = self.world.history(self.http, self.caller, path)
            if not allowed:
                if status != self.denial():
                    self.problem(path, f"status {status}, expected {self.denial()}")
                continue
            if status != 200:
                self.problem(path, f"status {status}")
                continue
            found: set[str] = set()
            for body in bodies:
                found |= self.seen(body)
            self.compare(path, found, want)

    # -- the audit log ---------------------------------------------------------------------

    def audit(self, after_seq: int) -> None:
        """The AuditEvents the paths left (see the module doc)."""
        with self.world.repo.reading() as tx:
            records = list(log.iter_events(tx, after_seq=after_seq))
        if not self.caller.is_system:
            others = {r.agent for r in records} - {self.caller.agent}
            if others:
                self.problem("audit", f"events by others in the window: {sorted(others)}")
        events = [(r, r.event()) for r in records]

        def interaction(event: Body) -> str:
            return str(((event.get("subtype") or [{}])[0]).get("code", ""))

        def whats(event: Body) -> list[str]:
            return [
                str((e.get("what") or {}).get("reference", ""))
                for e in event.get("entity") or ()
                if "what" in e
            ]

        for reference in sorted(self.rec.all()):
            res_type = type_of(reference)
            if reference in self.expected:
                hit = any(
                    r.outcome == "0"
                    and interaction(e) == "read"
                    and r.patient_id == self.rec.patient_id
                    and any(w.startswith(f"{reference}/_history/") for w in whats(e))
                    for r, e in events
                )
            else:
                hit = any(
                    r.outcome == "4"
                    and interaction(e) == "read"
                    and (
                        (r.patient_id == self.rec.patient_id and reference in whats(e))
                        # A type the role or scopes do not cover is refused before the
                        # store is asked: the event names the type, not the record.
                        or (not self.caller.reads(res_type) and res_type in whats(e))
                    )
                    for r, e in events
                )
            if not hit:
                state = "disclosure" if reference in self.expected else "denial"
                self.problem("audit", f"no AuditEvent for the {state} of GET {reference}")
        disclosed = {
            interaction(e)
            for r, e in events
            if r.outcome == "0" and r.patient_id == self.rec.patient_id
        }
        if not self.expected:
            if disclosed:
                self.problem("audit", f"disclosure events without a view: {sorted(disclosed)}")
            return
        want = {"read", "vread", "search", "history"} | ({"operation"} if self.in_view else set())
        if not want <= disclosed:
            self.problem("audit", f"no disclosure event for {sorted(want - disclosed)}")

    def run(self) -> None:
        with self.world.repo.reading() as tx:
            after_seq = log.head(tx)[0]
        self.run_plain()
        self.run_batch()
        self.paging()
        self.histories()
        if not self.expected and self.mentions:
            self.problem("leak", f"resources about the patient came back: {sorted(self.mentions)}")
        self.audit(after_seq)


def check_view(
    http: TestClient, world: World, caller: Caller, rec: Record, allowed: Iterable[str]
) -> None:
    """Assert that ``caller`` sees exactly ``allowed`` of ``rec`` (narrowed to the types
    it reads at all) through every read path, and that the audit log shows it."""
    view = View(http, world, caller, rec, allowed)
    view.run()
    assert not view.problems, (
        f"{caller.name} on record '{rec.key}' (view: {sorted(view.expected)}):\n  "
        + "\n  ".join(view.problems)
    )
