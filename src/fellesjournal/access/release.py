"""What of their own record is released to a citizen (and to those who act for them).

The rules of docs/portal.md, as one SQL clause (:func:`clause`) used for searches and,
row by row, for reads by id (``service/gate.py`` asks the same clause about the one
row), so the portal, the FHIR API and the downloads agree:

* **Withheld** (Volven 9603, ``meta.security``): any code but ``N`` and ``NORS``
  withholds the resource; ``NORN_FORANS`` only from parents.
* **Documents** (DocumentReference, Composition): only the types of
  :data:`DOCUMENT_TYPES`, final (not preliminary or in error), and only
  :data:`DOCUMENT_DELAY_HOURS` after signing.
* **Results** (DiagnosticReport, and laboratory Observations through the report that
  lists them): the HelsaMi categories of :data:`RELEASE_SYSTEM`.
* **Messages** (Communication): the kinds between patient and units
  (:data:`CITIZEN_MESSAGE_KINDS`) and letters addressed to the patient; never the
  messages between units.
* Never: work items (Task) and the audit log (read through ``AuditEvent?patient=``).

What a proxy sees is narrower still (``access/proxy.py``): without the ``read``
capability only :data:`COMMUNICATION_TYPES`, without ``sensitive`` nothing with a
sensitivity label.
"""

from __future__ import annotations

from typing import Any, Final

import sqlalchemy as sa

from fellesjournal.access import labels
from fellesjournal.access.compiled import compiled_timed
from fellesjournal.access.context import CitizenContext
from fellesjournal.access.proxy import capabilities as proxy_capabilities
from fellesjournal.store import schema

TOK = schema.idx_token
REF = schema.idx_reference
DATE = schema.idx_date
_HOUR_US: Final = 3_600_000_000

WITHHOLD_SYSTEM: Final = "urn:oid:2.16.578.1.12.4.1.1.9603"
#: Volven 9603 "Sperring og nekting av dokumenter", with the words the portal uses.
WITHHOLD_CODES: Final[dict[str, str]] = {
    "N": "Normal",
    "NORN_FFL": "Nektet innsyn: fare for liv eller alvorlig helseskade",
    "NORN_KUT": "Nektet innsyn: klart utilrådelig av hensyn til nærstående",
    "NORN_EPO": "Holdt tilbake etter pasientens eget ønske",
    "NORN_ALL": "Nektet innsyn i alle dokumenter",
    "NORN_FOR": "Eldre enn start for elektronisk innsyn",
    "NORN_FORANS": "Nektet innsyn for foreldre",
    "NORN_UNGDOM": "Nektet innsyn for ungdom 12–16 år",
    "NORN_FFH": "Nektet innsyn: fare for helsepersonell",
    "NORN_FPB": "Nektet innsyn: forsvarlig pasientbehandling",
    "NORN_DUP": "Duplikat",
    "NORN_ANG": "Nektet innsyn: annen grunn",
    "NORU": "Utsatt innsyn",
    "NORS": "Sperret av pasienten for helsepersonell",
}
#: Codes that do not withhold from the citizen.
NOT_WITHHOLDING: Final = frozenset({"N", "NORS"})
#: Withheld from parents only (pbrl § 3-4 third paragraph).
FROM_PARENTS: Final = "NORN_FORANS"
#: Withheld, but the portal may say that a document is held back (date and type).
REVEALED: Final = frozenset({"NORN_EPO", "NORN_FOR", "NORU"})

LOINC: Final = "http://loinc.org"
#: Document types (LOINC) a citizen sees, :data:`DOCUMENT_DELAY_HOURS` after signing:
#: epikrise, outpatient and GP notes, consultation notes, procedure and operation notes,
#: summaries, plans. Admission notes (34117-2), nursing (PLO) notes (34746-8) and every
#: other type are not shown.
DOCUMENT_TYPES: Final = frozenset(
    {"18842-5", "11506-3", "11488-4", "28570-0", "11504-8", "60591-5", "18776-5"}
)
DOCUMENT_DELAY_HOURS: Final = 24
DOCUMENT_RESOURCES: Final = ("DocumentReference", "Composition")

RELEASE_SYSTEM: Final = "https://fellesjournal.no/fhir/CodeSystem/result-release"
RELEASE_COMMENT_URL: Final = "https://fellesjournal.no/fhir/StructureDefinition/release-comment"
AUTOMATIC: Final = "automatic"
CLINICIAN: Final = "clinician"
MANUAL: Final = "manual"
NEVER: Final = "never"
RELEASED: Final = "released"
CATEGORIES: Final = (AUTOMATIC, CLINICIAN, MANUAL, NEVER)
#: A clinician-category result not released by hand is shown this many days after issue.
SAFETY_NET_DAYS: Final = 14

MESSAGE_KIND_SYSTEM: Final = "https://fellesjournal.no/fhir/CodeSystem/message-kind"
CITIZEN_MESSAGE_KINDS: Final = frozenset(
    {"pasientmelding", "timeforesporsel", "avbestilling", "vurderingsbrev", "innkalling"}
)

#: Never part of the citizen's view of their record.
NOT_SHOWN: Final = frozenset({"Task", "AuditEvent", "Provenance"})
#: What a proxy without the ``read`` capability sees (appointments and messages).
COMMUNICATION_TYPES: Final = frozenset({"Patient", "Appointment", "Communication"})
#: Seen only with the capability that uses them.
CAPABILITY_TYPES: Final[dict[str, str]] = {"Consent": "blocks", "RelatedPerson": "proxies"}


def _token(table: Any, param: str, system: str, codes: Any) -> Any:
    return sa.exists().where(
        TOK.c.res_type == table.c.res_type,
        TOK.c.res_id == table.c.res_id,
        TOK.c.param == param,
        TOK.c.system == system,
        TOK.c.code.in_(sorted(codes)),
    )


def _withheld(table: Any, citizen: CitizenContext) -> Any:
    codes = set(WITHHOLD_CODES) - NOT_WITHHOLDING
    proxy = citizen.proxy
    if proxy is None or proxy.relation != "parent":
        codes.discard(FROM_PARENTS)
    return _token(table, "_security", WITHHOLD_SYSTEM, codes)


def _document_ok(table: sa.Table, now_us: int) -> Any:
    signed_before = now_us - DOCUMENT_DELAY_HOURS * _HOUR_US

    def late(param: str) -> Any:
        return sa.exists().where(
            DATE.c.res_type == table.c.res_type,
            DATE.c.res_id == table.c.res_id,
            DATE.c.param == param,
            DATE.c.high > signed_before,
        )

    dated = sa.exists().where(
        DATE.c.res_type == table.c.res_type,
        DATE.c.res_id == table.c.res_id,
        DATE.c.param == "date",
    )
    not_final = sa.exists().where(
        TOK.c.res_type == table.c.res_type,
        TOK.c.res_id == table.c.res_id,
        TOK.c.param.in_(("doc-status", "status")),
        TOK.c.code.in_(("preliminary", "entered-in-error")),
    )
    return sa.and_(
        _token(table, "type", LOINC, DOCUMENT_TYPES),
        dated,
        sa.not_(late("date")),
        sa.not_(late("signed")),
        sa.not_(not_final),
    )


def _report_ok(res_type: Any, res_id: Any, now_us: int) -> Any:
    """SQL: the DiagnosticReport (or Observation) at (``res_type``, ``res_id``) is released."""

    def tagged(*codes: str) -> Any:
        return sa.exists().where(
            TOK.c.res_type == res_type,
            TOK.c.res_id == res_id,
            TOK.c.param == "_tag",
            TOK.c.system == RELEASE_SYSTEM,
            TOK.c.code.in_(codes),
        )

    safety_net = now_us - SAFETY_NET_DAYS * 24 * _HOUR_US
    old_enough = sa.exists().where(
        DATE.c.res_type == res_type,
        DATE.c.res_id == res_id,
        DATE.c.param == "issued",
        DATE.c.high <= safety_net,
    )
    unfinished = sa.exists().where(
        TOK.c.res_type == res_type,
        TOK.c.res_id == res_id,
        TOK.c.param == "status",
        TOK.c.code.in_(("registered", "cancelled", "entered-in-error")),
    )
    return sa.and_(
        sa.not_(tagged(NEVER)),
        sa.not_(unfinished),
        sa.or_(tagged(AUTOMATIC, RELEASED), sa.and_(sa.not_(tagged(MANUAL)), old_enough)),
    )


def _observation_ok(
    table: sa.Table, citizen: CitizenContext, capabilities: frozenset[str], now_us: int
) -> Any:
    """A laboratory Observation follows the report that lists it (or its own tags):
    a report the citizen sees, so one withheld or labelled beyond their capabilities
    does not show its values through its Observations."""
    report = schema.resources.alias("release_report")
    report_seen = [_report_ok(report.c.res_type, report.c.res_id, now_us)]
    report_seen.append(sa.not_(_withheld(report, citizen)))
    if "sensitive" not in capabilities:
        report_seen.append(
            sa.not_(labels.hidden_clause(report.c.res_type, report.c.res_id, frozenset()))
        )
    listed_in_released = sa.exists().where(
        REF.c.res_type == "DiagnosticReport",
        REF.c.param == "result",
        REF.c.target_type == "Observation",
        REF.c.target_id == table.c.res_id,
        report.c.res_type == "DiagnosticReport",
        report.c.res_id == REF.c.res_id,
        report.c.deleted.is_(False),
        *report_seen,
    )
    laboratory = _token(
        table,
        "category",
        "http://terminology.hl7.org/CodeSystem/observation-category",
        ("laboratory",),
    )
    return sa.or_(
        sa.not_(laboratory),
        listed_in_released,
        _report_ok(table.c.res_type, table.c.res_id, now_us),
    )


def _communication_ok(table: sa.Table) -> Any:
    to_patient = sa.exists().where(
        REF.c.res_type == table.c.res_type,
        REF.c.res_id == table.c.res_id,
        REF.c.param == "recipient",
        REF.c.target_type == "Patient",
        REF.c.target_id == table.c.patient_id,
    )
    return sa.or_(_token(table, "category", MESSAGE_KIND_SYSTEM, CITIZEN_MESSAGE_KINDS), to_patient)


def clause(
    table: sa.Table,
    citizen: CitizenContext,
    capabilities: frozenset[str],
    now_us: int,
    dialect: str | None = None,
) -> Any:
    """SQL over ``table`` (``resources`` or ``resource_history``): the rows of the
    citizen's record (``patient_id`` already narrowed by the caller) released to them.

    ``dialect`` (``sqlite`` or ``postgresql``): as SQL text compiled once per shape
    (``access/compiled.py``; built, the clause costs about 15 ms a request); None builds
    the expression. The table must then be used unaliased."""
    if dialect is not None:
        parent = citizen.proxy is not None and citizen.proxy.relation == "parent"
        key = ("release", tuple(sorted(capabilities)), parent)
        return compiled_timed(
            key, lambda now: _clause(table, citizen, capabilities, now), now_us, dialect, table
        )
    return _clause(table, citizen, capabilities, now_us)


def _clause(
    table: sa.Table, citizen: CitizenContext, capabilities: frozenset[str], now_us: int
) -> Any:
    res_type = table.c.res_type
    conds: list[Any] = [res_type.not_in(sorted(NOT_SHOWN))]
    if "read" not in capabilities:
        conds.append(res_type.in_(sorted(COMMUNICATION_TYPES)))
    for type_, capability in CAPABILITY_TYPES.items():
        if capability not in capabilities:
            conds.append(res_type != type_)
    if "sensitive" not in capabilities:
        conds.append(sa.not_(labels.hidden_clause(res_type, table.c.res_id, frozenset())))
    conds.append(sa.not_(_withheld(table, citizen)))
    special = (*DOCUMENT_RESOURCES, "DiagnosticReport", "Observation", "Communication")
    conds.append(
        sa.or_(
            res_type.not_in(special),
            sa.and_(res_type.in_(DOCUMENT_RESOURCES), _document_ok(table, now_us)),
            sa.and_(
                res_type == "DiagnosticReport",
                _report_ok(table.c.res_type, table.c.res_id, now_us),
            ),
            sa.and_(
                res_type == "Observation", _observation_ok(table, citizen, capabilities, now_us)
            ),
            sa.and_(res_type == "Communication", _communication_ok(table)),
        )
    )
    return sa.and_(*conds)


def held_back_clause(
    table: sa.Table, citizen: CitizenContext, capabilities: frozenset[str] | None = None
) -> Any:
    """SQL: the documents of the citizen's record withheld under a code that lets the
    portal say they exist (:data:`REVEALED`), and under no code that hides them; for
    someone without the ``sensitive`` capability (``capabilities``, default the
    citizen's), none with a sensitivity label, whose type alone says too much."""
    hidden = set(WITHHOLD_CODES) - NOT_WITHHOLDING - REVEALED
    proxy = citizen.proxy
    if proxy is None or proxy.relation != "parent":
        hidden.discard(FROM_PARENTS)
    conds = [
        table.c.patient_id == citizen.patient_id,
        table.c.res_type.in_(DOCUMENT_RESOURCES),
        table.c.deleted.is_(False),
        # Only a type the citizen would see once released: an admission note held back
        # is not announced, as it would not be shown either.
        _token(table, "type", LOINC, DOCUMENT_TYPES),
        _token(table, "_security", WITHHOLD_SYSTEM, REVEALED),
        sa.not_(_token(table, "_security", WITHHOLD_SYSTEM, hidden)),
    ]
    caps = proxy_capabilities(citizen) if capabilities is None else capabilities
    if "sensitive" not in caps:
        conds.append(sa.not_(labels.hidden_clause(table.c.res_type, table.c.res_id, frozenset())))
    return sa.and_(*conds)
