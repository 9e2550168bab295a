"""The builder behind the portal demo's records (:mod:`fellesjournal.demo.portal_records`).

:class:`PortalChart` adds to :class:`~fellesjournal.demo.encounters.Chart` what the
population's records do not have and the portal shows: Patients with fixed numbers,
representations (RelatedPerson, docs/portal.md), vaccinations (Immunization, ATC-coded
as SYSVAK does), appointments, documents withheld or labelled (``meta.security``),
results tagged with their HelsaMi release category (and a clinician's release comment),
and letters already delivered to the patient. No I/O.
"""

from __future__ import annotations

import datetime
import random
from dataclasses import dataclass
from typing import Final

from fellesjournal.demo import clock
from fellesjournal.demo.clinical import ICD10_SYSTEM, ICD10_TEXT, ICPC2_SYSTEM, ICPC2_TEXT
from fellesjournal.demo.encounters import Chart, staff_ref, unit_ref
from fellesjournal.demo.fhirdata import V3_ACT, Json, coding, concept, ref
from fellesjournal.demo.medicines import ATC_SYSTEM
from fellesjournal.demo.person import address
from fellesjournal.demo.places import Team
from fellesjournal.demo.portal import DemoCitizen
from fellesjournal.norway.identifiers import FNR_SYSTEM, HER_SYSTEM
from fellesjournal.region.model import Region, Staff

#: Volven 9603 (withheld documents) and the result-release categories (docs/portal.md).
WITHHOLD_SYSTEM: Final = "urn:oid:2.16.578.1.12.4.1.1.9603"
RELEASE_SYSTEM: Final = "https://fellesjournal.no/fhir/CodeSystem/result-release"
RELEASE_COMMENT_URL: Final = "https://fellesjournal.no/fhir/StructureDefinition/release-comment"
PROXY_SYSTEM: Final = "https://fellesjournal.no/fhir/CodeSystem/proxy-access"
ROLE_CODE: Final = "http://terminology.hl7.org/CodeSystem/v3-RoleCode"
LOINC: Final = "http://loinc.org"
_V2_0074: Final = "http://terminology.hl7.org/CodeSystem/v2-0074"

CONSULTATION: Final = ("11488-4", "Consult note", "Konsultasjonsnotat")
DAY_DISCHARGE: Final = ("18842-5", "Discharge summary", "Epikrise etter dagbehandling")


@dataclass(frozen=True, slots=True)
class Vaccine:
    atc: str
    name: str


VACCINES: Final = {
    "influensa": Vaccine("J07BB02", "Influensavaksine"),
    "covid": Vaccine("J07BX03", "Koronavaksine (covid-19)"),
    "dt": Vaccine("J07AM51", "Difteri- og tetanusvaksine"),
    "dtp-ipv": Vaccine("J07CA02", "Difteri-, tetanus-, kikhoste- og poliovaksine"),
    "mmr": Vaccine("J07BD52", "Meslinger-, kusma- og røde hunder-vaksine (MMR)"),
    "hpv": Vaccine("J07BM03", "HPV-vaksine"),
    "pneumokokk": Vaccine("J07AL02", "Pneumokokkvaksine"),
}


class PortalChart:
    """The builder of the family's records: the region's units and staff the story
    uses, the clock (``today``, and ``now`` as naive local time in Norway), and the
    resources made so far (:attr:`out`, besides each person's :class:`Chart`)."""

    def __init__(self, region: Region, today: datetime.date, now: datetime.datetime) -> None:
        self.today = today
        self.now = now
        self.rng = random.Random("fellesjournal-portal-demo")
        self.teams = {u.id: Team.of(u) for u in region.units()}
        self.region = region
        self.out: list[Json] = []

    def team(self, unit_id: str) -> Team:
        return self.teams[unit_id]

    def doctor(self, unit_id: str) -> Staff:
        return self.team(unit_id).doctors[0]

    def nurse(self, unit_id: str) -> Staff:
        return self.team(unit_id).nurses[0]

    def at(self, days: int, hour: int, minute: int = 0) -> datetime.datetime:
        """Local time ``hour:minute`` on ``today + days`` (negative: before)."""
        day = self.today + datetime.timedelta(days=days)
        return datetime.datetime.combine(day, datetime.time(hour, minute))

    def day(self, days: int) -> datetime.date:
        return self.today + datetime.timedelta(days=days)

    def chart(self, citizen: DemoCitizen) -> Chart:
        assert citizen.patient is not None
        return Chart(citizen.patient, self.rng, citizen.fnr[8] in "02468")

    # -- people ----------------------------------------------------------------------------
    def patient(
        self, citizen: DemoCitizen, gp_unit: str, muni: str, line: str, postcode: tuple[str, str]
    ) -> None:
        team = self.team(gp_unit)
        doctor = team.doctors[0]
        org = unit_ref(team)
        if team.unit.her_id:
            org["identifier"] = {"system": HER_SYSTEM, "value": team.unit.her_id}
        female = citizen.fnr[8] in "02468"
        resource: Json = {
            "resourceType": "Patient",
            "id": citizen.patient,
            "identifier": [{"use": "official", "system": FNR_SYSTEM, "value": citizen.fnr}],
            "active": True,
            "name": [
                {
                    "use": "official",
                    "text": citizen.name,
                    "family": citizen.family,
                    "given": citizen.given.split(),
                }
            ],
            "gender": "female" if female else "male",
            "birthDate": citizen.birth_date.isoformat(),
            "address": [address("ugradert", self.region.municipality(muni), line, postcode)],
            "communication": [
                {"language": concept("urn:ietf:bcp:47", "nb", "Norsk bokmål"), "preferred": True}
            ],
            "generalPractitioner": [
                ref("Practitioner", doctor.practitioner_id, f"{doctor.given} {doctor.family}"),
                org,
            ],
        }
        self.out.append(resource)

    def representation(
        self, child_or_giver: DemoCitizen, proxy: DemoCitizen, code: str, since_days: int
    ) -> None:
        """A RelatedPerson in ``child_or_giver``'s record: ``proxy`` acts for them."""
        codings = [coding(PROXY_SYSTEM, code)]
        if code == "parent":
            codings.append(coding(ROLE_CODE, "PRN", "parent"))
        start = clock.instant(self.at(-since_days, 12))
        self.out.append(
            {
                "resourceType": "RelatedPerson",
                "id": f"{child_or_giver.patient}-rp-{proxy.given.lower()}",
                "active": True,
                "patient": ref("Patient", str(child_or_giver.patient), child_or_giver.name),
                "identifier": [{"system": FNR_SYSTEM, "value": proxy.fnr}],
                "name": [{"text": proxy.name, "family": proxy.family, "given": [proxy.given]}],
                "relationship": [{"coding": codings}],
                "period": {"start": start},
            }
        )

    # -- resources the chart does not make ----------------------------------------------------
    def immunization(
        self, chart: Chart, key: str, when: datetime.datetime, team: Team, nurse: Staff | None
    ) -> None:
        vaccine = VACCINES[key]
        resource: Json = {
            "resourceType": "Immunization",
            "id": chart.new_id("imm"),
            "status": "completed",
            "vaccineCode": concept(ATC_SYSTEM, vaccine.atc, vaccine.name, vaccine.name),
            "patient": chart.subject,
            "occurrenceDateTime": clock.instant(when),
            "recorded": clock.instant(when),
            "primarySource": True,
            "performer": [{"actor": unit_ref(team)}],
        }
        if nurse is not None:
            resource["performer"].append({"actor": staff_ref(nurse)})
        chart.resources.append(resource)

    def appointment(
        self,
        chart: Chart,
        unit_id: str,
        start: datetime.datetime,
        minutes: int,
        text: str,
        *,
        clinician: Staff | None = None,
    ) -> str:
        """Booked when ``start`` is after now, else fulfilled."""
        team = self.team(unit_id)
        who = clinician or team.doctors[0]
        booked = start > self.now
        app_id = chart.new_id("app")
        chart.resources.append(
            {
                "resourceType": "Appointment",
                "id": app_id,
                "status": "booked" if booked else "fulfilled",
                "serviceType": [{"text": team.unit.name}],
                "description": text,
                "start": clock.instant(start),
                "end": clock.instant(start + datetime.timedelta(minutes=minutes)),
                "minutesDuration": minutes,
                "created": clock.instant(start - datetime.timedelta(days=30)),
                "participant": [
                    {"actor": chart.subject, "required": "required", "status": "accepted"},
                    {
                        "actor": ref(
                            "PractitionerRole",
                            who.role_id,
                            f"{who.given} {who.family}, {team.unit.name}",
                        ),
                        "required": "required",
                        "status": "accepted",
                    },
                ],
            }
        )
        return app_id

    def note(
        self,
        chart: Chart,
        kind: tuple[str, str, str],
        text: str,
        when: datetime.datetime,
        unit_id: str,
        *,
        encounter: str | None = None,
        author: Staff | None = None,
        security: list[Json] | None = None,
    ) -> str:
        team = self.team(unit_id)
        doc_id = chart.note(kind, text, when, author or team.doctors[0], team, encounter)
        if security:
            chart.resources[-1]["meta"] = {"security": security}
        return doc_id

    def result(
        self,
        chart: Chart,
        title: str,
        values: list[tuple[str, float]],
        issued: datetime.datetime,
        unit_id: str,
        category: str,
        *,
        comment: str | None = None,
        encounter: str | None = None,
    ) -> str:
        """Lab Observations and their DiagnosticReport, tagged with a release category;
        ``comment``: released by the clinician with that comment."""
        chart.lab_report(
            values, issued - datetime.timedelta(hours=3), encounter, unit_ref(self.team(unit_id))
        )
        report = chart.resources[-1]
        stamp = clock.instant(issued)
        for res in chart.resources[-1 - len(values) :]:
            res["issued"] = stamp
        report["code"]["text"] = title
        self._release(report, category, comment)
        return str(report["id"])

    def narrative_result(
        self,
        chart: Chart,
        code: tuple[str, str],
        title: str,
        conclusion: str,
        issued: datetime.datetime,
        unit_id: str,
        category: str,
        service: str = "LAB",
    ) -> str:
        """A DiagnosticReport with a conclusion only (pathology, a virology test)."""
        report: Json = {
            "resourceType": "DiagnosticReport",
            "id": chart.new_id("rep"),
            "status": "final",
            "category": [concept(_V2_0074, service)],
            "code": concept(LOINC, code[0], code[1], title),
            "subject": chart.subject,
            "effectiveDateTime": clock.instant(issued - datetime.timedelta(days=3)),
            "issued": clock.instant(issued),
            "performer": [unit_ref(self.team(unit_id))],
            "conclusion": conclusion,
        }
        self._release(report, category, None)
        chart.resources.append(report)
        return str(report["id"])

    @staticmethod
    def name(chart: Chart, key: str) -> str:
        """Give the resource made last the id ``{patient id}-{key}`` (for the resources
        the tests and the docs point at); returns it."""
        res_id = f"{chart.pid}-{key}"
        chart.resources[-1]["id"] = res_id
        return res_id

    @staticmethod
    def _release(report: Json, category: str, comment: str | None) -> None:
        tags = [coding(RELEASE_SYSTEM, category)]
        if comment is not None:
            tags.append(coding(RELEASE_SYSTEM, "released"))
            report["extension"] = [{"url": RELEASE_COMMENT_URL, "valueString": comment}]
        report["meta"] = {"tag": tags}

    def letter(
        self,
        chart: Chart,
        kind: str,
        display: str,
        unit_id: str,
        when: datetime.datetime,
        text: str,
        about: str | None = None,
    ) -> None:
        """A letter to the patient sent before the demo starts (already delivered)."""
        resource: Json = {
            "resourceType": "Communication",
            "id": chart.new_id("letter"),
            "status": "completed",
            "category": [
                {
                    "coding": [
                        coding(
                            "https://fellesjournal.no/fhir/CodeSystem/message-kind", kind, display
                        )
                    ]
                }
            ],
            "subject": chart.subject,
            "sent": clock.instant(when),
            "received": clock.instant(when + datetime.timedelta(minutes=2)),
            "recipient": [chart.subject],
            "sender": unit_ref(self.team(unit_id)),
            "payload": [{"contentString": text}],
        }
        if about:
            resource["about"] = [{"reference": about}]
        chart.resources.append(resource)


def security(code: str) -> list[Json]:
    """``meta.security``: v3-ActCode ``PSY`` (sensitive) or a Volven 9603 code (withheld)."""
    if code == "PSY":
        return [coding(V3_ACT, "PSY", "psychiatry information sensitivity")]
    return [coding(WITHHOLD_SYSTEM, code)]


def icd(code: str) -> tuple[str, str, str]:
    return ICD10_SYSTEM, code, ICD10_TEXT[code]


def icpc(code: str) -> tuple[str, str, str]:
    return ICPC2_SYSTEM, code, ICPC2_TEXT[code]
