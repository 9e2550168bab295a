"""A plausible record across levels of care for one synthetic person.

:func:`build_record` decides what happened to a person and writes it with
:class:`~fellesjournal.demo.encounters.Chart`:

* **Long-term conditions** on the problem list (ICPC-2, recorded by the fastlege; for
  people in municipalities that have not joined the shared record, ICD-10 recorded by the
  hospital), with their regular medicines (ATC).
* **The fastlege** (member municipalities only; the others keep their own records):
  follow-up consultations for long-term conditions with blood pressure and lab tests,
  and consultations for short illnesses (ICPC-2); some at the **legevakt**.
* **The hospital** (everyone): stays (IMP) at a ward of the catchment trust with an
  ICD-10 diagnosis, vital signs, an admission lab panel, an admission note and a
  discharge summary, new medicines at discharge; outpatient follow-ups (AMB) of
  long-term conditions; akuttmottak visits (EMER) that end at home; and a few stays that
  are **in progress today**, so that wards have patients now.
* **Home care** (member municipalities): an active EpisodeOfCare at the hjemmetjeneste for
  some elderly people, with home visits, nursing notes and blood pressure.
* **Allergies** and **critical information** (Flags).

Older and sicker people get more of everything. Nothing happens after a person's death,
and nothing is dated after ``today`` (the anchor date of the run).
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Final

from fellesjournal.demo import clock, notes
from fellesjournal.demo.clinical import (
    ACUTE,
    ADMISSIONS,
    EMERGENCY,
    ICD10_SYSTEM,
    ICD10_TEXT,
    ICPC2_SYSTEM,
    ICPC2_TEXT,
    Acute,
    Admission,
)
from fellesjournal.demo.encounters import Chart, unit_ref
from fellesjournal.demo.fhirdata import Json
from fellesjournal.demo.identity import Weighted
from fellesjournal.demo.measurements import (
    ADMISSION_PANEL,
    FATIGUE_PANEL,
    LABS,
    height_cm,
    lab_value,
    weight_kg,
)
from fellesjournal.demo.medicines import ALLERGIES, CRITICAL, DISCHARGE_MEDICINES, MEDICINES
from fellesjournal.demo.person import Person, showcase
from fellesjournal.demo.places import Places, Team
from fellesjournal.region.model import Staff

#: How far back the generated history reaches (days): GP and outpatient care, hospital.
GP_WINDOW: Final = 730
HOSPITAL_WINDOW: Final = 5 * 365


def _age_band(age: int) -> int:
    return 0 if age < 18 else 1 if age < 50 else 2 if age < 75 else 3


class _Story:
    """The state of one person's record while it is written."""

    def __init__(self, person: Person, places: Places, today: datetime.date) -> None:
        self.p = person
        self.rng = person.rng
        self.places = places
        self.today = today
        self.end = person.deceased.date() if person.deceased else today
        self.chart = Chart(person.pid, person.rng, person.female)
        self.gp_team: Team | None = person.gp[0] if person.gp else None
        self.gp: Staff | None = person.gp[1] if person.gp else None
        self.medicines: dict[str, str] = {}  #: medicine key → MedicationStatement id
        self.started: dict[str, datetime.date] = {}  #: medicine key → start
        self.problems: dict[str, str] = {}  #: chronic key → Condition id
        keys = {c.key for c in person.chronic}
        age = person.age
        self.systolic = (
            104 + 0.45 * age + self.rng.gauss(0, 8) + (10 if "hypertension" in keys else 0)
        )
        self.diastolic = min(88.0, 64 + 0.18 * age + self.rng.gauss(0, 5))
        self.pulse = self.rng.uniform(58, 82) + (12 if "afib" in keys else 0)
        self.keys = keys
        self.height = height_cm(age, person.female, self.rng)
        self._weight = weight_kg(self.height, age, self.rng)

    # -- helpers ------------------------------------------------------------------------------
    def day_back(self, longest: int, shortest: int = 1, weekday: bool = False) -> datetime.date:
        """A day ``shortest..longest`` days before the end of the record, never before birth
        (a weekday, moved back to Friday, if asked)."""
        lived = (self.end - self.p.born).days
        longest = min(longest, lived)
        shortest = min(shortest, longest)
        day = self.end - datetime.timedelta(days=self.rng.randint(shortest, longest))
        if weekday and day.weekday() >= 5:
            day -= datetime.timedelta(days=day.weekday() - 4)
        return max(day, self.p.born)

    def office_hours(self, day: datetime.date) -> datetime.datetime:
        return clock.at(day, 8 * 60 + 15 * self.rng.randrange(30))

    def bp(self) -> tuple[int, int]:
        return (
            int(max(95, min(200, self.systolic + self.rng.gauss(0, 6)))),
            int(max(50, min(115, self.diastolic + self.rng.gauss(0, 4)))),
        )

    def age_on(self, day: datetime.date) -> int:
        born = self.p.born
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))

    def heart_rate(self) -> int:
        return int(max(45, min(140, self.pulse + self.rng.gauss(0, 5))))

    def weight(self) -> float:
        return round(self._weight + self.rng.gauss(0, 1.2), 1)

    def lab_level(self, key: str, adm: Admission | None = None) -> str:
        if key in ("crp", "leukocytter") and adm is not None and adm.fever:
            return "high"
        if adm is not None and (
            (key == "troponin" and adm.key == "nstemi")
            or (key == "ntprobnp" and adm.key == "heartfailure")
            or (key == "alat" and adm.key == "gallstone")
        ):
            return "high"
        if key == "hb" and adm is not None and adm.key == "gibleed":
            return "low"
        if key == "natrium" and adm is not None and adm.key == "dehydration":
            return "high"
        checks = {
            "hba1c": "diabetes2",
            "kreatinin": "ckd",
            "ntprobnp": "heartfailure",
            "tsh": "hypothyroid",
            "kolesterol": "lipids",
            "glukose": "diabetes2",
        }
        if checks.get(key) in self.keys and self.rng.random() < 0.6:
            return "high"
        return "normal"

    def labs(
        self,
        keys: Sequence[str],
        when: datetime.datetime,
        encounter: str | None,
        performer: Json,
        adm: Admission | None = None,
    ) -> list[tuple[str, float]]:
        values = [
            (k, lab_value(LABS[k], self.rng, self.p.female, self.lab_level(k, adm))) for k in keys
        ]
        self.chart.lab_report(values, when, encounter, performer)
        return values

    def add_medicine(
        self,
        key: str,
        start: datetime.date,
        source: Staff | None,
        reason: str | None,
        encounter: str | None = None,
    ) -> None:
        med = MEDICINES[key]
        if start > self.end or any(
            MEDICINES[k].atc[:5] == med.atc[:5] for k in self.medicines
        ):  # one medicine per ATC chemical subgroup: no two statins, no two beta blockers
            return
        end = None
        if med.course_days is not None:
            end = min(start + datetime.timedelta(days=med.course_days), self.end)
        elif not self.p.alive:
            end = self.end
        asserted = clock.at(max(start, self.end - datetime.timedelta(days=90)), 10 * 60)
        self.started[key] = start
        self.medicines[key] = self.chart.medication(
            med,
            start,
            end=end,
            asserted=asserted,
            source=source,
            reason=reason,
            encounter=encounter,
        )

    def regular_medicine_names(self, on: datetime.date) -> list[str]:
        """Regular medicines started before ``on`` (for an admission note)."""
        return [
            MEDICINES[k].substance.lower()
            for k, started in self.started.items()
            if MEDICINES[k].course_days is None and started < on
        ]

    # -- long-term conditions -------------------------------------------------------------------
    def problem_list(self) -> None:
        for chronic in self.p.chronic:
            first_age = next(
                (a for a, pf, pm in chronic.prevalence if (pf if self.p.female else pm) > 0), 0
            )
            years = self.rng.randint(1, max(1, min(15, self.p.age - first_age)))
            onset = self.end - datetime.timedelta(days=years * 365 + self.rng.randrange(300))
            onset = max(onset, self.p.born + datetime.timedelta(days=30))
            source: Staff | None = self.gp
            if self.p.member and self.gp is not None:
                cid = self.chart.condition(
                    ICPC2_SYSTEM, chronic.icpc, ICPC2_TEXT[chronic.icpc],
                    category="problem-list-item", onset=onset, recorded=onset, recorder=self.gp,
                )  # fmt: skip
            else:
                team = self.places.outpatient(self.p.local, chronic.clinic, self.rng)
                doctor = team.doctor(self.rng) if team else None
                cid = self.chart.condition(
                    ICD10_SYSTEM, chronic.icd, ICD10_TEXT[chronic.icd],
                    category="problem-list-item", onset=onset, recorded=onset, recorder=doctor,
                )  # fmt: skip
                source = doctor
            self.problems[chronic.key] = cid
            for i, choice in enumerate(chronic.medicines):
                if i == 0 or self.rng.random() < 0.35:
                    key = self.rng.choice(choice.split("|"))
                    start = onset + datetime.timedelta(days=self.rng.randint(0, 60))
                    self.add_medicine(key, min(start, self.end), source, cid)

    # -- fastlege and legevakt ---------------------------------------------------------------
    def gp_followups(self) -> None:
        if not (self.p.member and self.gp_team and self.gp and self.p.chronic):
            return
        visits = min(6, 2 + len(self.p.chronic) // 2 + (self.rng.random() < 0.4))
        for n in range(visits):
            focus = self.rng.sample(self.p.chronic, min(len(self.p.chronic), 2))
            day = self.day_back(GP_WINDOW, weekday=True)
            start = self.office_hours(day)
            enc = self.chart.encounter(
                "AMB", self.gp_team, self.gp, start, start + datetime.timedelta(minutes=20),
                "Konsultasjon hos fastlege",
            )  # fmt: skip
            self.chart.set_diagnosis(enc, [self.problems[c.key] for c in focus])
            bp = None
            when = start + datetime.timedelta(minutes=5)
            if any(c.bp for c in focus) or self.p.age >= 60:
                bp = self.bp()
                self.chart.blood_pressure(*bp, when, enc)
                self.chart.vital("pulse", self.heart_rate(), when, enc)
            if self.keys & {"diabetes2", "heartfailure"}:
                self.chart.vital("weight", self.weight(), when, enc)
            if n == 0 and self.rng.random() < 0.4:
                self.chart.vital("height", self.height, when, enc)
                if not self.keys & {"diabetes2", "heartfailure"}:
                    self.chart.vital("weight", self.weight(), when, enc)
            lab_keys = list(dict.fromkeys(k for c in focus for k in c.labs))[:4]
            lab_text = None
            if lab_keys and self.rng.random() < 0.6:
                values = self.labs(
                    lab_keys, start + datetime.timedelta(minutes=10), enc, unit_ref(self.gp_team)
                )
                lab_text = ", ".join(
                    f"{LABS[k].name} {_number(v)} {LABS[k].unit}" for k, v in values
                )
            if self.rng.random() < 0.75:
                med = next(
                    (MEDICINES[m].substance.lower() for c in focus for choice in c.medicines
                     for m in choice.split("|") if m in self.medicines), None,
                )  # fmt: skip
                text = notes.gp_followup(self.rng, focus[0], bp, med, lab_text)
                self.chart.note(
                    notes.PROGRESS, text, start + datetime.timedelta(minutes=20), self.gp,
                    self.gp_team, enc,
                )  # fmt: skip

    def short_illnesses(self) -> None:
        if not (self.p.member and self.gp_team and self.gp):
            return
        band = 0 if self.p.age < 18 else 1 if self.p.age < 67 else 2
        rate = (1.8, 1.3, 1.6)[band]
        count = sum(self.rng.random() < rate / 4 for _ in range(4))
        if not count:
            return
        table = Weighted(
            [(a, a.weights[band] * (0.3 if a.icpc == "U71" and not self.p.female else 1.0))
             for a in ACUTE if a.weights[band] > 0]
        )  # fmt: skip
        legevakt = self.p.local.legevakt
        for _ in range(count):
            acute = table.pick(self.rng)
            if acute.legevakt and legevakt and self.rng.random() < 0.3:
                self.legevakt_visit(acute, self.rng.choice(legevakt))
            else:
                self.gp_visit(acute)

    def gp_visit(self, acute: Acute) -> None:
        assert self.gp_team is not None
        day = self.day_back(GP_WINDOW, weekday=True)
        start = self.office_hours(day)
        self._acute_contact(acute, self.gp_team, self.gp, start, "Konsultasjon hos fastlege", "")

    def legevakt_visit(self, acute: Acute, team: Team) -> None:
        day = self.day_back(GP_WINDOW)
        start = clock.at(day, 16 * 60 + 10 * self.rng.randrange(40))
        self._acute_contact(
            acute, team, team.doctor(self.rng), start, "Legevaktkonsultasjon", " til legevakten"
        )

    def _acute_contact(
        self,
        acute: Acute,
        team: Team,
        doctor: Staff | None,
        start: datetime.datetime,
        kind: str,
        place: str,
    ) -> None:
        cls = "EMER" if kind.startswith("Legevakt") else "AMB"
        end = start + datetime.timedelta(minutes=20)
        enc = self.chart.encounter(cls, team, doctor, start, end, kind)
        abated = min(start.date() + datetime.timedelta(days=self.rng.randint(5, 14)), self.end)
        cid = self.chart.condition(
            ICPC2_SYSTEM, acute.icpc, ICPC2_TEXT[acute.icpc], category="encounter-diagnosis",
            onset=max(self.p.born, start.date() - datetime.timedelta(days=self.rng.randint(1, 5))),
            recorded=start.date(), recorder=doctor, encounter=enc,
            abated=abated if abated < self.today else None,
        )  # fmt: skip
        self.chart.set_diagnosis(enc, [cid])
        temperature = None
        if acute.temperature and self.rng.random() < 0.7:
            temperature = round(self.rng.uniform(37.6, 39.6), 1)
            self.chart.vital("temperature", temperature, start + datetime.timedelta(minutes=4), enc)
        if acute.icpc == "A04":
            self.labs(FATIGUE_PANEL, start + datetime.timedelta(minutes=15), enc, unit_ref(team))
        if acute.medicine and self.rng.random() < 0.7:
            self.add_medicine(acute.medicine, start.date(), doctor, cid, enc)
        if self.rng.random() < 0.6:
            text = notes.gp_acute(self.rng, acute, temperature, place)
            self.chart.note(notes.PROGRESS, text, end, doctor, team, enc)

    # -- hospital -------------------------------------------------------------------------------
    def admissions(self) -> None:
        chance = (0.08, 0.12, 0.28, 0.5)[_age_band(self.p.age)]
        stays = sum(self.rng.random() < c for c in (chance, chance * 0.35, chance * 0.15))
        for _ in range(stays):
            adm = self._admission_reason()
            if adm is not None:
                self.admission(adm, in_progress=False)
        now = 0.004 if self.p.age < 65 else 0.02 if self.p.age < 80 else 0.04
        now *= showcase(self.p.k, 4)  # so that even a small demo has patients on the wards
        if self.p.alive and self.rng.random() < now:
            adm = self._admission_reason()
            if adm is not None:
                self.admission(adm, in_progress=True)

    def _admission_reason(self) -> Admission | None:
        band = _age_band(self.p.age)
        pairs = [
            (a, a.weights[band]) for a in ADMISSIONS
            if a.weights[band] > 0 and (a.requires is None or a.requires in self.keys)
        ]  # fmt: skip
        return Weighted(pairs).pick(self.rng) if pairs else None

    def admission(self, adm: Admission, *, in_progress: bool) -> None:
        team = self.places.ward(self.p.local, adm.ward, self.rng, child=self.p.age < 16)
        if team is None:
            return
        doctor, nurse = team.doctor(self.rng), team.nurse(self.rng)
        days = self.rng.randint(*adm.days)
        if in_progress:
            first = self.today - datetime.timedelta(days=self.rng.randint(1, min(6, max(1, days))))
            start = clock.at(first, self.rng.randrange(24 * 60))
            end = None
        else:
            first = self.day_back(HOSPITAL_WINDOW, shortest=days + 1)
            start = clock.at(first, self.rng.randrange(24 * 60))
            end = clock.at(first + datetime.timedelta(days=days), 11 * 60 + self.rng.randrange(240))
        enc = self.chart.encounter("IMP", team, doctor, start, end, "Innleggelse")
        onset = start - datetime.timedelta(hours=self.rng.randint(2, 48))
        cid = self.chart.condition(
            ICD10_SYSTEM, adm.icd, ICD10_TEXT[adm.icd], category="encounter-diagnosis",
            onset=max(clock.at(self.p.born, 0), onset),
            recorded=start.date(), recorder=doctor, encounter=enc,
            abated=end.date() if end else None,
        )  # fmt: skip
        self.chart.set_diagnosis(enc, [cid])
        vitals = self.admission_vitals(adm, start + datetime.timedelta(minutes=30), enc)
        labs = [*ADMISSION_PANEL, *(k for k in adm.labs if k not in ADMISSION_PANEL)]
        self.labs(labs, start + datetime.timedelta(minutes=45), enc, unit_ref(team), adm)
        meds_before = self.regular_medicine_names(start.date())
        text = notes.admission(
            self.rng, adm, self.age_on(start.date()), self.p.female, self.p.chronic, meds_before,
            vitals,
        )  # fmt: skip
        self.chart.note(
            notes.ADMISSION, text, start + datetime.timedelta(hours=2), doctor, team, enc,
            (start, end),
        )  # fmt: skip
        if end is None:
            return
        later = end - datetime.timedelta(hours=3)
        self.chart.blood_pressure(*self.bp(), later, enc)
        self.chart.vital("temperature", round(self.rng.uniform(36.4, 37.3), 1), later, enc)
        new = []
        for key in DISCHARGE_MEDICINES.get(adm.key, ()):
            if key not in self.medicines:
                self.add_medicine(key, end.date(), doctor, cid, enc)
                new.append(MEDICINES[key].substance.lower())
        if nurse is not None and self.p.age >= 75 and self.rng.random() < 0.5:
            self.chart.note(
                notes.NURSING, notes.ward_nursing(self.rng, self.bp(), self.p.age >= 80),
                end - datetime.timedelta(hours=2), nurse, team, enc,
            )  # fmt: skip
        text = notes.discharge(
            self.rng, adm, team.unit.name, _norwegian_date(start.date()),
            _norwegian_date(end.date()), self.p.age >= 80, new,
        )  # fmt: skip
        self.chart.note(
            notes.DISCHARGE, text, end + datetime.timedelta(hours=1), doctor, team, enc,
            (start, end),
        )  # fmt: skip

    def admission_vitals(
        self, adm: Admission, when: datetime.datetime, enc: str
    ) -> dict[str, float]:
        systolic, diastolic = self.bp()
        values: dict[str, float] = {
            "systolic": systolic,
            "diastolic": diastolic,
            "pulse": int(self.pulse + (25 if adm.fever else 8) * self.rng.random()),
            "temperature": round(
                self.rng.uniform(38.3, 39.8) if adm.fever else self.rng.uniform(36.3, 37.4), 1
            ),
            "respiration": self.rng.randint(20, 28) if adm.low_sat else self.rng.randint(12, 18),
            "spo2": self.rng.randint(86, 93) if adm.low_sat else self.rng.randint(95, 99),
        }
        self.chart.blood_pressure(systolic, diastolic, when, enc)
        for key in ("pulse", "temperature", "respiration", "spo2"):
            self.chart.vital(key, values[key], when, enc)
        return values

    def outpatient(self) -> None:
        for chronic in self.p.chronic:
            if self.rng.random() >= chronic.outpatient:
                continue
            team = self.places.outpatient(self.p.local, chronic.clinic, self.rng, self.p.age < 16)
            if team is None:
                continue
            doctor = team.doctor(self.rng)
            start = self.office_hours(self.day_back(GP_WINDOW, weekday=True))
            end = start + datetime.timedelta(minutes=30)
            enc = self.chart.encounter("AMB", team, doctor, start, end, "Poliklinisk konsultasjon")
            cid = self.chart.condition(
                ICD10_SYSTEM, chronic.icd, ICD10_TEXT[chronic.icd], category="encounter-diagnosis",
                onset=self.p.born + datetime.timedelta(days=365 * max(0, self.p.age - 2)),
                recorded=start.date(), recorder=doctor, encounter=enc,
            )  # fmt: skip
            self.chart.set_diagnosis(enc, [cid])
            if chronic.labs and self.rng.random() < 0.5:
                self.labs(
                    chronic.labs[:3], start - datetime.timedelta(minutes=40), enc, unit_ref(team)
                )
            if self.rng.random() < 0.85:
                text = notes.outpatient(self.rng, chronic, team.unit.name)
                self.chart.note(notes.OUTPATIENT, text, end, doctor, team, enc)

    def emergency_visit(self) -> None:
        band = _age_band(self.p.age)
        if self.rng.random() >= (0.05, 0.04, 0.04, 0.06)[band]:
            return
        pairs = [(e, e.weights[band]) for e in EMERGENCY if e.weights[band] > 0]
        visit = Weighted(pairs).pick(self.rng)
        team = self.places.emergency(self.p.local, self.rng)
        if team is None:
            return
        doctor = team.doctor(self.rng)
        start = clock.at(self.day_back(HOSPITAL_WINDOW), self.rng.randrange(24 * 60))
        end = start + datetime.timedelta(minutes=self.rng.randint(90, 300))
        enc = self.chart.encounter("EMER", team, doctor, start, end, "Akuttmottak")
        cid = self.chart.condition(
            ICD10_SYSTEM, visit.icd, ICD10_TEXT[visit.icd], category="encounter-diagnosis",
            onset=max(clock.at(self.p.born, 0), start - datetime.timedelta(hours=2)),
            recorded=start.date(), recorder=doctor,
            encounter=enc, abated=min(end.date() + datetime.timedelta(days=21), self.end),
        )  # fmt: skip
        self.chart.set_diagnosis(enc, [cid])
        self.chart.note(notes.EMERGENCY, notes.emergency(visit), end, doctor, team, enc)

    # -- home care ------------------------------------------------------------------------------
    def home_care(self) -> bool:
        """Home care for some elderly people in member municipalities; True if given."""
        if not (self.p.member and self.p.local.home_care and self.p.age >= 67):
            return False
        chance = 0.25 if self.p.age >= 80 else 0.06
        chance += 0.3 if "dementia" in self.keys else 0.05 * max(0, len(self.p.chronic) - 2)
        chance *= showcase(self.p.k, 2)
        if self.rng.random() >= chance:
            return False
        team = self.rng.choice(self.p.local.home_care)
        manager = team.nurse(self.rng)
        start = self.day_back(4 * 365, shortest=120)
        episode = self.chart.episode_of_care(
            team, manager, start, None if self.p.alive else self.end, "Helsetjenester i hjemmet"
        )
        for _ in range(self.rng.randint(1, 2)):
            day = self.day_back(90)
            begin = clock.at(day, 7 * 60 + 15 * self.rng.randrange(50))
            nurse = team.nurse(self.rng)
            enc = self.chart.encounter(
                "HH", team, nurse, begin, begin + datetime.timedelta(minutes=30), "Hjemmebesøk",
                episode=episode,
            )  # fmt: skip
            bp = self.bp()
            self.chart.blood_pressure(*bp, begin + datetime.timedelta(minutes=10), enc)
            text = notes.nursing(self.rng, bp, medication=bool(self.medicines))
            self.chart.note(
                notes.NURSING, text, begin + datetime.timedelta(minutes=30), nurse, team, enc
            )
        return True

    # -- allergies and critical information -------------------------------------------------
    def allergies(self) -> None:
        child = self.p.age < 18
        found = [a for a in ALLERGIES if self.rng.random() < a.prevalence[0 if child else 1]]
        for allergy in found[:3]:
            severe = self.rng.random() < allergy.severe
            recorded = self.day_back(min(3650, max(30, self.p.age * 365)), shortest=30)
            self.chart.allergy(
                text=allergy.text, category=allergy.category, kind=allergy.type,
                atc=(allergy.atc, allergy.atc_name or allergy.text) if allergy.atc else None,
                reaction=allergy.reaction, severe=severe, recorded=recorded, recorder=self.gp,
            )  # fmt: skip
            if severe:
                kategori = (
                    "Overfølsomhetsreaksjon: legemiddelreaksjon"
                    if allergy.category == "medication"
                    else "Overfølsomhetsreaksjon: annen allergi"
                )
                self.chart.flag(
                    kategori=kategori, flag_category="drug" if allergy.atc else "clinical",
                    text=f"Anafylaksi ved {allergy.text.lower()}", start=recorded, author=self.gp,
                )  # fmt: skip

    def critical(self) -> None:
        chances = {
            "anesthesia": 0.001,
            "addison": 0.0005,
            "mrsa": 0.002,
            "pacemaker": 0.15 if self.keys & {"afib", "heartfailure"} else 0.0,
            "dnr": 0.3 if (self.p.age >= 85 and "dementia" in self.keys) else 0.0,
        }
        for key, chance in chances.items():
            if self.rng.random() < chance:
                info = CRITICAL[key]
                self.chart.flag(
                    kategori=info.kategori, flag_category=info.flag_category, text=info.text,
                    start=self.day_back(1500, shortest=10), author=self.gp,
                )  # fmt: skip


def build_record(person: Person, places: Places, today: datetime.date) -> list[Json]:
    """The clinical resources of ``person`` (not the Patient itself), in a fixed order."""
    story = _Story(person, places, today)
    story.problem_list()
    story.gp_followups()
    story.short_illnesses()
    story.outpatient()
    story.admissions()
    story.emergency_visit()
    story.home_care()
    story.allergies()
    story.critical()
    return story.chart.resources


def _number(value: float) -> str:
    return (f"{value:g}").replace(".", ",")


def _norwegian_date(day: datetime.date) -> str:
    return f"{day.day}.{day.month}.{day.year}"
