"""Utskrivningsklar pasient: the record on the Encounter, and the days the municipality pays.

**The record.** Every step is one repeating extension :data:`EXTENSION_URL` on the
inpatient Encounter, in the order it happened; its parts (sub-extensions):

* ``event`` (valueCode): :data:`DECLARED` (the hospital declares the patient ready for
  discharge and notifies the municipality), :data:`REPLY` (the municipality answers),
  :data:`WITHDRAWN` (avmelding: the declaration no longer holds, e.g. new illness);
* ``time`` (valueDateTime): when, stamped by the server;
* ``author`` (valueReference): who (a PractitionerRole, or a system client's identifier);
* ``municipality`` (valueReference Organization): the unit notified (declarations);
* ``communication`` (valueReference): the message sent with the step;
* ``canReceive`` (valueDate) or ``cannotReceive`` (valueBoolean true): the reply;
* ``text`` (valueString): free text.

Only the ``$discharge-ready*`` operations write these (``workflows/adt.py`` refuses any
other change to them): they are the basis of an invoice.

**The payment** (forskrift om kommunal medfinansiering av spesialisthelsetjenesten og
kommunal betaling for utskrivningsklare pasienter, FOR-2011-11-18-1115, § 13 as the
Ministry of Health reads it in its letters of 2012 on when the duty starts and on
avmelding). :func:`paid_days` decides day by day (calendar days in Europe/Oslo):

* the duty starts *on* the day the patient is declared ready and the municipality has
  been notified (the later of the two days): "fra og med det døgnet pasienten blir
  erklært utskrivningsklar" once § 10's notice is given. Notified means the message's
  receipt (delivered in the outbox), or the municipality's first reply if that came
  earlier: a reply proves the notice arrived. Never notified: nothing to pay;
* on a day when the municipality's latest word is "cannot receive", or it has not
  answered, the day is paid; once its latest word is "can receive from date X", the
  days from X on are not paid (the Ministry's example: told three days after the
  declaration that a place is ready, the municipality pays three days, not the
  fourth). A later reply replaces an earlier one from the day it is given;
* the day of the discharge is not paid, nor the day of an avmelding, nor any day after:
  a day is a *liggedøgn*, paid when the patient is still in hospital at its end
  (the Ministry: the municipality pays "for de dagene frem til" the re-admission).
  Read this way, "declared and discharged the same day" costs nothing;
* while the patient is still in hospital, the count runs up to yesterday (today is
  not over): the provisional bill is what the municipality would owe on a discharge
  now;
* a new declaration after an avmelding starts a new count; the days of all
  declarations are added (a day is never paid twice).

The rate is Helsedirektoratet's døgnpris for the year of each day (:data:`DAILY_RATE`,
NOK; 5 745 in 2024). Years after the last known rate use the last known rate, and the
bill says which rate it used: the directorate publishes a new rate every year and the
table must then be extended.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

Resource = dict[str, Any]

EXTENSION_URL: Final = "https://fellesjournal.no/fhir/StructureDefinition/discharge-ready"
DECLARED: Final = "declared"
REPLY: Final = "reply"
WITHDRAWN: Final = "withdrawn"
EVENTS: Final = (DECLARED, REPLY, WITHDRAWN)

OSLO: Final = ZoneInfo("Europe/Oslo")
CURRENCY: Final = "NOK"
#: Døgnpris per year (Helsedirektoratet, "Utskrivningsklare pasienter", 2014–2024).
DAILY_RATE: Final[dict[int, int]] = {
    2014: 4255,
    2015: 4387,
    2016: 4505,
    2017: 4622,
    2018: 4747,
    2019: 4885,
    2020: 5036,
    2021: 5167,
    2022: 5306,
    2023: 5508,
    2024: 5745,
}


# -- the record on the Encounter ---------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Event:
    """One step of the utskrivningsklar record (see the module docstring)."""

    event: str
    time: str
    author: Resource | None = None
    municipality: str | None = None
    communication: str | None = None
    can_receive: str | None = None
    cannot_receive: bool = False
    text: str | None = None

    @property
    def at(self) -> datetime:
        return parse_instant(self.time)


def parse_instant(value: str) -> datetime:
    """A FHIR dateTime as an aware datetime (a date, or a year or month, is its first
    midnight in Oslo; a time without a zone is taken as UTC). ValueError when it is none."""
    if len(value) in (4, 7):
        value += "-01" if len(value) == 7 else "-01-01"
    if len(value) == 10:
        return datetime.combine(date.fromisoformat(value), datetime.min.time(), OSLO)
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def local_day(moment: datetime) -> date:
    """The calendar day in Norway of ``moment``."""
    return moment.astimezone(OSLO).date()


def to_extension(ev: Event) -> Resource:
    """``ev`` as the extension written on the Encounter."""
    parts: list[Resource] = [
        {"url": "event", "valueCode": ev.event},
        {"url": "time", "valueDateTime": ev.time},
    ]
    if ev.author:
        parts.append({"url": "author", "valueReference": ev.author})
    if ev.municipality:
        parts.append({"url": "municipality", "valueReference": {"reference": ev.municipality}})
    if ev.communication:
        parts.append({"url": "communication", "valueReference": {"reference": ev.communication}})
    if ev.can_receive:
        parts.append({"url": "canReceive", "valueDate": ev.can_receive})
    if ev.cannot_receive:
        parts.append({"url": "cannotReceive", "valueBoolean": True})
    if ev.text:
        parts.append({"url": "text", "valueString": ev.text})
    return {"url": EXTENSION_URL, "extension": parts}


def _ref(value: Any) -> str | None:
    ref = value.get("reference") if isinstance(value, dict) else None
    return ref if isinstance(ref, str) and ref else None


def from_extension(ext: Resource) -> Event | None:
    """The event an extension holds (None when it is not a well-formed one)."""
    parts: dict[str, Any] = {}
    for part in ext.get("extension") or ():
        if not isinstance(part, dict) or not isinstance(part.get("url"), str):
            continue
        for key, value in part.items():
            if key.startswith("value"):
                parts[part["url"]] = value
    kind, time = parts.get("event"), parts.get("time")
    if kind not in EVENTS or not isinstance(time, str):
        return None
    try:
        parse_instant(time)
    except ValueError:
        return None
    author = parts.get("author")
    can = parts.get("canReceive")
    text = parts.get("text")
    return Event(
        event=str(kind),
        time=time,
        author=author if isinstance(author, dict) else None,
        municipality=_ref(parts.get("municipality")),
        communication=_ref(parts.get("communication")),
        can_receive=can if isinstance(can, str) else None,
        cannot_receive=parts.get("cannotReceive") is True,
        text=text if isinstance(text, str) else None,
    )


def raw_extensions(encounter: Resource | None) -> list[Resource]:
    """The record's extensions as stored (to compare two versions)."""
    return [
        e
        for e in (encounter or {}).get("extension") or ()
        if isinstance(e, dict) and e.get("url") == EXTENSION_URL
    ]


def events_of(encounter: Resource | None) -> list[Event]:
    """The record's events in the order they were written."""
    return [ev for ev in map(from_extension, raw_extensions(encounter)) if ev is not None]


def with_event(encounter: Resource, ev: Event) -> Resource:
    """A copy of ``encounter`` with ``ev`` appended to its record."""
    out = dict(encounter)
    out["extension"] = [*(encounter.get("extension") or ()), to_extension(ev)]
    return out


def active_declaration(events: Sequence[Event]) -> Event | None:
    """The declaration in force: the last one, unless an avmelding followed it."""
    current: Event | None = None
    for ev in events:
        if ev.event == DECLARED:
            current = ev
        elif ev.event == WITHDRAWN:
            current = None
    return current


# -- the payment ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reply:
    """The municipality's answer at ``at``: it can receive from ``can_receive``, or (None)
    it cannot receive yet."""

    at: datetime
    can_receive: date | None = None


@dataclass(frozen=True, slots=True)
class Declaration:
    """One declaration and what followed it, as moments (see :func:`paid_days`)."""

    declared: datetime
    notified: datetime | None  #: when the municipality got the notice (None: not yet)
    replies: tuple[Reply, ...] = ()
    withdrawn: datetime | None = None
    municipality: str | None = None
    communication: str | None = None


def notice(delivered: datetime | None, replies: Iterable[Reply]) -> datetime | None:
    """When the municipality was notified: the message's receipt, or its first reply if
    that came earlier (a reply proves the notice arrived)."""
    moments = [r.at for r in replies]
    if delivered is not None:
        moments.append(delivered)
    return min(moments) if moments else None


def declarations(
    events: Sequence[Event], delivered: Mapping[str, datetime | None] | None = None
) -> list[Declaration]:
    """The declarations in ``events``, each with its replies and avmelding.
    ``delivered`` maps a declaration's message (``Communication/id``) to the moment it
    was delivered to the municipality (None or absent: not delivered)."""
    delivered = delivered or {}
    out: list[Declaration] = []
    current: Event | None = None
    replies: list[Reply] = []

    def close(withdrawn: datetime | None) -> None:
        assert current is not None
        got = delivered.get(current.communication or "")
        out.append(
            Declaration(
                declared=current.at,
                notified=notice(got, replies),
                replies=tuple(replies),
                withdrawn=withdrawn,
                municipality=current.municipality,
                communication=current.communication,
            )
        )

    for ev in events:
        if ev.event == DECLARED:
            if current is not None:  # a declaration over a declaration: the first ends
                close(ev.at)
            current, replies = ev, []
        elif ev.event == REPLY and current is not None:
            can = None
            if ev.can_receive:
                try:
                    can = date.fromisoformat(ev.can_receive)
                except ValueError:
                    can = None
            replies.append(Reply(ev.at, can))
        elif ev.event == WITHDRAWN and current is not None:
            close(ev.at)
            current, replies = None, []
    if current is not None:
        close(None)
    return out


def paid_days(decl: Declaration, discharged: datetime | None, as_of: datetime) -> list[date]:
    """The days the municipality pays for under ``decl`` (module docstring), given the
    discharge (None: still in hospital, counted up to the day before ``as_of``)."""
    if decl.notified is None:
        return []
    first = max(local_day(decl.declared), local_day(decl.notified))
    stops = [local_day(discharged) if discharged is not None else local_day(as_of)]
    if decl.withdrawn is not None:
        stops.append(local_day(decl.withdrawn))
    stop = min(stops)  # not paid itself
    replies = sorted(decl.replies, key=lambda r: r.at)
    days: list[date] = []
    day = first
    while day < stop:
        # The municipality's word on ``day``: its latest reply given that day or before.
        word = None
        for reply in replies:
            if local_day(reply.at) <= day:
                word = reply
        if word is None or word.can_receive is None or day < word.can_receive:
            days.append(day)
        day += timedelta(days=1)
    return days


def rate_for(year: int) -> tuple[int, int]:
    """``(rate, year of the rate)`` for a day in ``year``: that year's døgnpris, or the
    nearest year's when the table has none."""
    if year in DAILY_RATE:
        return DAILY_RATE[year], year
    known = max(DAILY_RATE) if year > max(DAILY_RATE) else min(DAILY_RATE)
    return DAILY_RATE[known], known


@dataclass(frozen=True, slots=True)
class DeclarationBill:
    declaration: Declaration
    days: tuple[date, ...]

    @property
    def amount(self) -> int:
        return sum(rate_for(d.year)[0] for d in self.days)


@dataclass(frozen=True, slots=True)
class Bill:
    """What the municipality owes for one stay."""

    days: tuple[date, ...]  #: every paid day, in order
    amount: int  #: NOK
    final: bool  #: the patient has been discharged: the count is closed
    parts: tuple[DeclarationBill, ...] = field(default=())
    rates: tuple[tuple[int, int], ...] = ()  #: (rate, year of the rate) used, in order

    @property
    def first(self) -> date | None:
        return self.days[0] if self.days else None

    @property
    def last(self) -> date | None:
        return self.days[-1] if self.days else None


def bill(decls: Sequence[Declaration], discharged: datetime | None, as_of: datetime) -> Bill:
    """The bill for a stay with ``decls`` (see :func:`paid_days`)."""
    parts = tuple(DeclarationBill(d, tuple(paid_days(d, discharged, as_of))) for d in decls)
    days = sorted({day for part in parts for day in part.days})
    rates = sorted({rate_for(d.year) for d in days}, key=lambda r: r[1])
    amount = sum(rate_for(d.year)[0] for d in days)
    return Bill(tuple(days), amount, discharged is not None, parts, tuple(rates))
