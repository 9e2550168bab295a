"""The records of the portal's demo family and circle (:mod:`fellesjournal.demo.portal`),
as resources: no I/O.

:func:`history` builds what had happened before the demo starts: Patients, problems,
medicines, allergies, critical information, vaccinations, contacts and stays, documents,
results, appointments, letters and the representations (RelatedPerson). Every case of
the portal's release rules (docs/portal.md) is there once, with Kari:

* documents: an epikrise signed days ago (shown), an epikrise signed two hours before
  ``now`` (not yet shown), an admission note ``34117-2`` and a nursing note ``34746-8``
  (never shown), a note withheld under Volven 9603 ``NORN_FFL`` (its existence is not
  revealed), one under ``NORN_EPO`` (the portal says it is held back), and one labelled
  sensitive (``meta.security`` v3-ActCode ``PSY``);
* results, by their HelsaMi category (``meta.tag`` result-release): automatic (shown);
  clinician, released with a comment (shown); clinician, issued 3 days ago (hidden);
  clinician, issued 20 days ago (shown by the 14-day rule); manual, not released
  (hidden); never (hidden).

Emma has a document withheld from parents (``NORN_FORANS``); Ingrid a sensitive one too,
so that her ``standard`` and ``read-only`` proxies have something they must not see.

Times are relative to ``today`` and ``now`` (naive local time in Norway); ids are fixed
(``portal-kari-enc3``...), so the same day gives the same resources; the ones tests and
docs point at are named: ``portal-kari-discharge`` (shown), ``-discharge-today``,
``-admission-note``, ``-nursing-note``, ``-withheld-ffl``, ``-withheld-epo``,
``-sensitive``; ``portal-kari-result-automatic``, ``-result-released``,
``-result-recent``, ``-result-14-days``, ``-result-manual``, ``-result-never``;
``portal-kari-appointment-gp``, ``-appointment-heart``, ``-appointment-clinic``
(upcoming); ``portal-emma-withheld-from-parents``, ``portal-ingrid-sensitive``.
The referrals and the message thread are not here: they are made through the workflows
(:mod:`fellesjournal.demo.portal_seed`).
"""

from __future__ import annotations

import datetime
from typing import Final

from fellesjournal.demo.clinical import ICPC2_SYSTEM
from fellesjournal.demo.fhirdata import Json
from fellesjournal.demo.medicines import MEDICINES, Medicine
from fellesjournal.demo.notes import ADMISSION, DISCHARGE, NURSING, OUTPATIENT, PROGRESS
from fellesjournal.demo.portal import EMMA, INGRID, JONAS, KARI, LARS, NINA, OLA, PER
from fellesjournal.demo.portal_chart import (
    CONSULTATION,
    DAY_DISCHARGE,
    PortalChart,
    icd,
    icpc,
    security,
)
from fellesjournal.region.model import Region

#: Units of the story (region unit ids).
ORKLAND_GP: Final = "kommune-5059-fastlegekontor"
ORKLAND_LEGEVAKT: Final = "kommune-5059-legevakt"
ORKLAND_HELSESTASJON: Final = "kommune-5059-helsestasjon"
LUNG_WARD: Final = "stolav-lunge-sengepost"
MED_CLINIC: Final = "stolav-medisin-poliklinikk"
HEART_CLINIC: Final = "stolav-hjerte-poliklinikk"
HEART_WARD: Final = "stolav-hjerte-sengepost"
ORTHO_CLINIC: Final = "stolav-ortopedi-poliklinikk"
GYN_CLINIC: Final = "stolav-gyn-poliklinikk"
DPS_CLINIC: Final = "stolav-dps-poliklinikk"
CHILD_CLINIC: Final = "stolav-barn-poliklinikk"
EMERGENCY: Final = "stolav-akuttmottak"
MOHOLT_GP: Final = "kommune-5001-fastlegekontor-2"
LADE_GP: Final = "kommune-5001-fastlegekontor-1"
HOME_CARE: Final = "kommune-5001-hjemmetjeneste-2"

#: The fullmakt levels Ingrid has given (docs/portal.md), and since when (days ago).
FULLMAKTER: Final = (
    (KARI, "full", 400),
    (PER, "standard", 380),
    (OLA, "read-only", 200),
    (NINA, "communicate", 90),
)

_DOXY: Final = Medicine(
    "J01AA02",
    "Doksysyklin",
    "Doksysyklin 100 mg tablett",
    "2 tabletter første dag, deretter 1 tablett daglig i 9 dager",
    10,
)
_ADAPALEN: Final = Medicine("D10AD03", "Adapalen", "Adapalen 0,1 % gel", "Påsmøres om kvelden")

ORKANGER: Final = ("7300", "Orkanger")
TRONDHEIM: Final = ("7030", "Trondheim")


def history(region: Region, today: datetime.date, now: datetime.datetime) -> list[Json]:
    """Every resource of the family's past (see the module docstring), Patients first.

    ``now`` is the moment the demo starts, naive local time in Norway on ``today``."""
    r = PortalChart(region, today, now)
    for citizen, gp, muni, line, post in (
        (KARI, ORKLAND_GP, "5059", "Bakkegata 12", ORKANGER),
        (EMMA, ORKLAND_GP, "5059", "Bakkegata 12", ORKANGER),
        (JONAS, ORKLAND_GP, "5059", "Bakkegata 12", ORKANGER),
        (INGRID, MOHOLT_GP, "5001", "Solbakken 4", TRONDHEIM),
        (PER, LADE_GP, "5001", "Kirkegata 31", ("7010", "Trondheim")),
        (LARS, ORKLAND_GP, "5059", "Fjellvegen 7", ORKANGER),
    ):
        r.patient(citizen, gp, muni, line, post)
    for build in (_kari, _emma, _jonas, _ingrid, _per, _lars):
        r.out.extend(build(r))
    r.representation(EMMA, KARI, "parent", 3000)
    r.representation(JONAS, KARI, "parent", 5000)
    for proxy, level, since in FULLMAKTER:
        r.representation(INGRID, proxy, level, since)
    return r.out


def _kari(r: PortalChart) -> list[Json]:
    c = r.chart(KARI)
    gp, gp_team = r.doctor(ORKLAND_GP), r.team(ORKLAND_GP)
    asthma = c.condition(
        *icd("J459"),
        category="problem-list-item",
        onset=datetime.date(2004, 9, 1),
        recorded=r.day(-900),
        recorder=gp,
    )
    thyroid = c.condition(
        *icd("E039"),
        category="problem-list-item",
        onset=datetime.date(2017, 3, 15),
        recorded=r.day(-900),
        recorder=gp,
    )
    c.medication(
        MEDICINES["levotyroksin"],
        datetime.date(2017, 3, 20),
        end=None,
        asserted=r.at(-95, 9),
        source=gp,
        reason=thyroid,
    )
    c.medication(
        MEDICINES["budesonid"],
        datetime.date(2015, 10, 1),
        end=None,
        asserted=r.at(-95, 9),
        source=gp,
        reason=asthma,
    )
    c.medication(
        MEDICINES["salbutamol"],
        datetime.date(2004, 9, 1),
        end=None,
        asserted=r.at(-95, 9),
        source=gp,
        reason=asthma,
    )
    c.allergy(
        text="Penicillin",
        category="medication",
        kind="allergy",
        atc=("J01CE02", "Fenoksymetylpenicillin"),
        reaction="Elveblest",
        severe=True,
        recorded=datetime.date(2009, 5, 4),
        recorder=gp,
    )
    c.flag(
        kategori="Overfølsomhetsreaksjon: legemiddelreaksjon",
        flag_category="drug",
        text="Anafylaksi ved penicillin",
        start=datetime.date(2009, 5, 4),
        author=gp,
    )
    nurse = gp_team.nurses[0] if gp_team.nurses else None
    r.immunization(c, "dt", datetime.datetime(2019, 6, 12, 10, 30), gp_team, nurse)
    r.immunization(c, "influensa", r.at(-45, 14), gp_team, nurse)
    r.immunization(c, "covid", r.at(-45, 14, 10), gp_team, nurse)

    # Kontroll hos fastlegen for tre måneder siden.
    visit = c.encounter("AMB", gp_team, gp, r.at(-95, 10), r.at(-95, 10, 20), "Konsultasjon")
    r.appointment(c, ORKLAND_GP, r.at(-95, 10), 20, "Kontroll astma og stoffskifte")
    r.note(
        c,
        PROGRESS,
        "Kontroll av astma og stoffskifte. Bruker Symbicort morgen og kveld, "
        "sjelden behov for Ventoline. Lungene er fri ved auskultasjon. Fortsetter som før; "
        "tar TSH før neste kontroll.",
        r.at(-95, 10, 25),
        ORKLAND_GP,
        encounter=visit,
    )

    # Withheld: a note after a conversation with next of kin (NORN_FFL: existence hidden).
    r.note(
        c,
        PROGRESS,
        "Samtale med pårørende. Opplysningene er unntatt innsyn.",
        r.at(-60, 15),
        ORKLAND_GP,
        security=security("NORN_FFL"),
    )
    r.name(c, "withheld-ffl")
    # Held back at her own wish (NORN_EPO: the portal says a document is held back).
    gyn = c.encounter(
        "AMB",
        r.team(GYN_CLINIC),
        r.doctor(GYN_CLINIC),
        r.at(-90, 9),
        r.at(-90, 9, 30),
        "Poliklinisk konsultasjon",
    )
    r.note(
        c,
        OUTPATIENT,
        "Poliklinisk kontroll ved gynekologisk poliklinikk. Normale funn. Ny kontroll ved behov.",
        r.at(-90, 9, 40),
        GYN_CLINIC,
        encounter=gyn,
        security=security("NORN_EPO"),
    )
    r.name(c, "withheld-epo")
    # Sensitive (PSY): seen by Kari, not by proxies without the "sensitive" capability.
    dps = c.encounter(
        "AMB",
        r.team(DPS_CLINIC),
        r.doctor(DPS_CLINIC),
        r.at(-200, 13),
        r.at(-200, 14),
        "Poliklinisk samtale",
    )
    r.note(
        c,
        CONSULTATION,
        "Vurderingssamtale ved DPS etter henvisning for søvnvansker og "
        "uro i en krevende periode. Ingen tegn til alvorlig psykisk lidelse. Avtalt "
        "oppfølging hos fastlegen.",
        r.at(-200, 14, 15),
        DPS_CLINIC,
        encounter=dps,
        security=security("PSY"),
    )
    r.name(c, "sensitive")

    # Results at the fastlege, one per release case.
    r.result(
        c,
        "Blodprøver (fastlege)",
        [("hb", 12.9), ("leukocytter", 6.1), ("crp", 3)],
        r.at(-20, 13),
        ORKLAND_GP,
        "clinician",
    )
    r.name(c, "result-14-days")
    r.narrative_result(
        c,
        ("11529-5", "Surgical pathology study"),
        "Vevsprøve fra hud",
        "Benign pigmentert nevus, fjernet i sin helhet.",
        r.at(-26, 11),
        ORKLAND_GP,
        "manual",
        "SP",
    )
    r.name(c, "result-manual")
    r.narrative_result(
        c,
        ("75622-1", "HIV 1 and 2 tests - Meaningful Use set"),
        "Hiv-test",
        "Hiv-antistoff og antigen ikke påvist.",
        r.at(-38, 12),
        ORKLAND_GP,
        "never",
    )
    r.name(c, "result-never")

    # Sick: the legevakt in Orkland, then a stay at the lung ward at St. Olavs.
    lv_team = r.team(ORKLAND_LEGEVAKT)
    lv = c.encounter(
        "EMER",
        lv_team,
        lv_team.doctors[0],
        r.at(-17, 18, 40),
        r.at(-17, 20, 10),
        "Legevaktkonsultasjon",
    )
    r.note(
        c,
        PROGRESS,
        "Feber i fire dager, tung pust og hoste. CRP 148. Innlegges "
        "St. Olavs hospital, lungemedisinsk avdeling, med spørsmål om lungebetennelse.",
        r.at(-17, 20, 15),
        ORKLAND_LEGEVAKT,
        encounter=lv,
        author=lv_team.doctors[0],
    )
    ward = r.team(LUNG_WARD)
    ward_doctor, ward_nurse = ward.doctors[0], ward.nurses[0]
    stay = c.encounter("IMP", ward, ward_doctor, r.at(-17, 21, 30), r.at(-11, 12), "Innleggelse")
    pneumonia = c.condition(
        *icd("J189"),
        category="encounter-diagnosis",
        onset=r.day(-20),
        recorded=r.day(-17),
        recorder=ward_doctor,
        encounter=stay,
        abated=r.day(-11),
    )
    c.set_diagnosis(stay, [pneumonia])
    r.note(
        c,
        ADMISSION,
        "Innkomst: 45 år gammel kvinne med astma, innlagt fra legevakt med "
        "feber, hoste og tungpust. Krepitasjoner basalt høyre. Røntgen thorax viser "
        "infiltrat i høyre underlapp. Penicillinallergi: starter doksysyklin.",
        r.at(-17, 22, 30),
        LUNG_WARD,
        encounter=stay,
    )
    r.name(c, "admission-note")
    r.note(
        c,
        NURSING,
        "Sovet godt i natt. Feberfri siden i går. Mobiliseres i korridoren.",
        r.at(-14, 7, 10),
        LUNG_WARD,
        encounter=stay,
        author=ward_nurse,
    )
    r.name(c, "nursing-note")
    r.result(
        c,
        "Blodprøver ved innleggelse",
        [("hb", 12.4), ("crp", 148), ("leukocytter", 14.2)],
        r.at(-17, 23),
        LUNG_WARD,
        "automatic",
        encounter=stay,
    )
    c.medication(
        _DOXY,
        r.day(-17),
        end=r.day(-8),
        asserted=r.at(-11, 11),
        source=ward_doctor,
        reason=pneumonia,
    )
    r.note(
        c,
        DISCHARGE,
        "Epikrise. Innlagt med lungebetennelse i høyre underlapp. Behandlet "
        "med doksysyklin på grunn av penicillinallergi, god effekt. Utskrevet til hjemmet "
        "i bedret allmenntilstand. Fullfører doksysyklin i til sammen 10 dager. Kontroll "
        "hos fastlege om en uke med CRP.",
        r.at(-11, 14),
        LUNG_WARD,
        encounter=stay,
    )
    r.name(c, "discharge")

    # Follow-up at the fastlege, with results released and not.
    after = c.encounter("AMB", gp_team, gp, r.at(-8, 8, 30), r.at(-8, 8, 50), "Konsultasjon")
    r.appointment(c, ORKLAND_GP, r.at(-8, 8, 30), 20, "Etterkontroll etter lungebetennelse")
    r.note(
        c,
        PROGRESS,
        "Etterkontroll etter lungebetennelse. Har det bedre, fortsatt noe "
        "slapp. CRP normalisert. Tar TSH i samme runde.",
        r.at(-8, 9),
        ORKLAND_GP,
        encounter=after,
    )
    r.result(
        c,
        "CRP og hemoglobin",
        [("crp", 4), ("hb", 12.8)],
        r.at(-8, 11),
        ORKLAND_GP,
        "automatic",
        encounter=after,
    )
    r.name(c, "result-automatic")
    r.result(
        c,
        "Stoffskifteprøve",
        [("tsh", 2.1)],
        r.at(-8, 14),
        ORKLAND_GP,
        "clinician",
        comment="Stoffskiftet er godt regulert. Fortsett med samme dose Levaxin.",
        encounter=after,
    )
    r.name(c, "result-released")
    r.result(
        c,
        "Kolesterol og blodsukker",
        [("kolesterol", 6.4), ("glukose", 5.2)],
        r.at(-3, 10),
        ORKLAND_GP,
        "clinician",
    )
    r.name(c, "result-recent")

    # Today: a gastroscopy at the medical outpatient clinic, its epikrise two hours old.
    clinic = r.team(MED_CLINIC)
    scope_start = r.now - datetime.timedelta(hours=4)
    scopy = c.encounter(
        "AMB",
        clinic,
        clinic.doctors[0],
        scope_start,
        scope_start + datetime.timedelta(minutes=45),
        "Dagbehandling",
    )
    r.appointment(c, MED_CLINIC, scope_start, 45, "Gastroskopi")
    r.note(
        c,
        DAY_DISCHARGE,
        "Gastroskopi på grunn av sure oppstøt. Lett betennelse i "
        "nedre del av spiserøret, ellers normale funn. Starter pantoprazol i fire uker.",
        r.now - datetime.timedelta(hours=2),
        MED_CLINIC,
        encounter=scopy,
    )
    r.name(c, "discharge-today")

    # Upcoming.
    r.appointment(c, ORKLAND_GP, r.at(9, 10), 20, "Kontroll astma")
    r.name(c, "appointment-gp")
    r.appointment(c, HEART_CLINIC, r.at(21, 9, 30), 45, "Utredning av hjertebank")
    r.name(c, "appointment-heart")
    r.appointment(c, MED_CLINIC, r.at(35, 13), 30, "Samtale om svar etter gastroskopi")
    r.name(c, "appointment-clinic")
    return c.resources


def _emma(r: PortalChart) -> list[Json]:
    c = r.chart(EMMA)
    gp = r.doctor(ORKLAND_GP)
    eczema = c.condition(
        *icpc("S87"),
        category="problem-list-item",
        onset=datetime.date(2019, 2, 1),
        recorded=r.day(-700),
        recorder=gp,
    )
    c.medication(
        MEDICINES["hydrokortison"],
        r.day(-40),
        end=None,
        asserted=r.at(-40, 11),
        source=r.doctor(CHILD_CLINIC),
        reason=eczema,
    )
    station = r.team(ORKLAND_HELSESTASJON)
    r.immunization(c, "mmr", datetime.datetime(2019, 6, 11, 10), station, station.nurses[0])
    r.immunization(c, "dtp-ipv", r.at(-400, 10), station, station.nurses[0])
    child = r.team(CHILD_CLINIC)
    visit = c.encounter(
        "AMB", child, child.doctors[0], r.at(-40, 10), r.at(-40, 10, 40), "Poliklinisk konsultasjon"
    )
    r.appointment(c, CHILD_CLINIC, r.at(-40, 10), 40, "Eksem")
    r.note(
        c,
        OUTPATIENT,
        "Atopisk eksem i albuebøyer og knehaser. Fuktighetskrem to ganger "
        "daglig og hydrokortisonkrem i perioder. Kontroll om tre måneder.",
        r.at(-40, 11),
        CHILD_CLINIC,
        encounter=visit,
    )
    # Withheld from parents (NORN_FORANS): Emma's own talk with the school nurse.
    r.note(
        c,
        PROGRESS,
        "Samtale med helsesykepleier på skolen.",
        r.at(-20, 12),
        ORKLAND_HELSESTASJON,
        author=station.nurses[0],
        security=security("NORN_FORANS"),
    )
    r.name(c, "withheld-from-parents")
    r.appointment(c, CHILD_CLINIC, r.at(14, 14), 30, "Kontroll eksem")
    return c.resources


def _jonas(r: PortalChart) -> list[Json]:
    c = r.chart(JONAS)
    er = r.team(EMERGENCY)
    visit = c.encounter("EMER", er, er.doctors[0], r.at(-70, 17), r.at(-70, 20), "Akuttmottak")
    c.condition(
        *icd("S525"),
        category="encounter-diagnosis",
        onset=r.at(-70, 16),
        recorded=r.day(-70),
        recorder=er.doctors[0],
        encounter=visit,
        abated=r.day(-20),
    )
    r.immunization(c, "hpv", r.at(-500, 9), r.team(ORKLAND_HELSESTASJON), None)
    ortho = r.team(ORTHO_CLINIC)
    control = c.encounter(
        "AMB", ortho, ortho.doctors[0], r.at(-30, 11), r.at(-30, 11, 20), "Poliklinisk kontroll"
    )
    r.appointment(c, ORTHO_CLINIC, r.at(-30, 11), 20, "Kontroll etter håndleddsbrudd")
    r.note(
        c,
        OUTPATIENT,
        "Kontroll seks uker etter brudd i håndleddet. Gipsen fjernet, god "
        "stilling på røntgen. Ny kontroll om seks uker.",
        r.at(-30, 11, 30),
        ORTHO_CLINIC,
        encounter=control,
    )
    r.appointment(c, ORTHO_CLINIC, r.at(6, 11), 20, "Avsluttende kontroll")
    appointment = r.name(c, "appointment-ortho")
    r.letter(
        c,
        "innkalling",
        "Innkalling til time",
        ORTHO_CLINIC,
        r.at(-10, 9),
        "Du har time ved Ortopedisk poliklinikk, St. Olavs hospital. Møt i resepsjonen "
        "ti minutter før timen.",
        f"Appointment/{appointment}",
    )
    return c.resources


def _ingrid(r: PortalChart) -> list[Json]:
    c = r.chart(INGRID)
    gp = r.doctor(MOHOLT_GP)
    problems = {
        key: c.condition(
            *icd(key), category="problem-list-item", onset=onset, recorded=r.day(-800), recorder=gp
        )
        for key, onset in (
            ("I509", datetime.date(2016, 4, 1)),
            ("I489", datetime.date(2014, 8, 1)),
            ("E119", datetime.date(2009, 1, 1)),
            ("M819", datetime.date(2019, 11, 1)),
        )
    }
    for key, since, reason in (
        ("apiksaban", datetime.date(2014, 8, 20), "I489"),
        ("metoprolol", datetime.date(2014, 8, 20), "I489"),
        ("furosemid", datetime.date(2016, 4, 10), "I509"),
        ("metformin", datetime.date(2009, 2, 1), "E119"),
        ("alendronat", datetime.date(2019, 11, 20), "M819"),
        ("paracetamol", datetime.date(2022, 1, 10), None),
    ):
        c.medication(
            MEDICINES[key],
            since,
            end=None,
            asserted=r.at(-30, 10),
            source=gp,
            reason=problems[reason] if reason else None,
        )
    gp_team = r.team(MOHOLT_GP)
    r.immunization(c, "pneumokokk", datetime.datetime(2023, 10, 3, 11), gp_team, None)
    r.immunization(c, "influensa", r.at(-40, 11), gp_team, None)

    home = r.team(HOME_CARE)
    c.episode_of_care(home, home.nurses[0], r.day(-700), None, "Hjemmesykepleie")
    for days, text in (
        (-3, "Morgenbesøk. Medisiner gitt fra dosett. Lett hevelse i begge ankler, veid 64,2 kg."),
        (-1, "Kveldsbesøk. I fin form, har spist middag. Dosett fylt for neste uke."),
    ):
        visit = c.encounter(
            "HH", home, home.nurses[0], r.at(days, 8), r.at(days, 8, 30), "Hjemmebesøk"
        )
        r.note(
            c, NURSING, text, r.at(days, 8, 35), HOME_CARE, encounter=visit, author=home.nurses[0]
        )

    heart = r.team(HEART_WARD)
    stay = c.encounter(
        "IMP", heart, heart.doctors[0], r.at(-190, 14), r.at(-184, 11), "Innleggelse"
    )
    r.note(
        c,
        DISCHARGE,
        "Epikrise. Innlagt med forverring av hjertesvikt. Behandlet med "
        "vanndrivende intravenøst, gått ned 3 kg. Økt dose furosemid. Hjemmesykepleien "
        "veier pasienten to ganger i uken.",
        r.at(-184, 13),
        HEART_WARD,
        encounter=stay,
    )
    dps = r.team(DPS_CLINIC)
    talk = c.encounter(
        "AMB", dps, dps.doctors[0], r.at(-120, 10), r.at(-120, 11), "Poliklinisk samtale"
    )
    r.note(
        c,
        CONSULTATION,
        "Alderspsykiatrisk vurdering etter en periode med nedstemthet "
        "etter at ektemannen døde. Ingen behandling nødvendig nå; samtaler ved behov.",
        r.at(-120, 11, 15),
        DPS_CLINIC,
        encounter=talk,
        security=security("PSY"),
    )
    r.name(c, "sensitive")

    visit = c.encounter("AMB", gp_team, gp, r.at(-30, 10), r.at(-30, 10, 30), "Konsultasjon")
    r.appointment(c, MOHOLT_GP, r.at(-30, 10), 30, "Kontroll hjertesvikt og diabetes")
    r.note(
        c,
        PROGRESS,
        "Kontroll. Stabil hjertesvikt, ingen tungpust i hvile. Blodsukkeret "
        "er fint. Fortsetter uendret.",
        r.at(-30, 10, 40),
        MOHOLT_GP,
        encounter=visit,
    )
    r.result(
        c,
        "Langtidsblodsukker",
        [("hba1c", 6.6)],
        r.at(-12, 12),
        MOHOLT_GP,
        "clinician",
        comment="Blodsukkeret er fint regulert.",
    )
    r.result(
        c,
        "Nyrefunksjon og hjertesviktmarkør",
        [("kreatinin", 96), ("kalium", 4.3), ("ntprobnp", 890)],
        r.at(-5, 13),
        MOHOLT_GP,
        "automatic",
    )

    r.appointment(c, MOHOLT_GP, r.at(12, 9, 30), 30, "Kontroll")
    r.appointment(c, HEART_CLINIC, r.at(30, 10), 30, "Kontroll hjertesvikt")
    heart_clinic = r.name(c, "appointment-heart")
    r.letter(
        c,
        "innkalling",
        "Innkalling til time",
        HEART_CLINIC,
        r.at(-6, 9),
        "Du har time ved Hjertepoliklinikk, St. Olavs hospital. Ta med oversikt over "
        "medisinene dine.",
        f"Appointment/{heart_clinic}",
    )
    return c.resources


def _per(r: PortalChart) -> list[Json]:
    c = r.chart(PER)
    gp = r.doctor(LADE_GP)
    bp = c.condition(
        *icpc("K86"),
        category="problem-list-item",
        onset=datetime.date(2021, 5, 1),
        recorded=r.day(-600),
        recorder=gp,
    )
    c.medication(
        MEDICINES["amlodipin"],
        datetime.date(2021, 5, 10),
        end=None,
        asserted=r.at(-200, 10),
        source=gp,
        reason=bp,
    )
    r.immunization(c, "covid", r.at(-400, 15), r.team(LADE_GP), None)
    return c.resources


def _lars(r: PortalChart) -> list[Json]:
    c = r.chart(LARS)
    gp_team = r.team(ORKLAND_GP)
    gp = gp_team.doctors[0]
    visit = c.encounter("AMB", gp_team, gp, r.at(-25, 15), r.at(-25, 15, 20), "Konsultasjon")
    r.appointment(c, ORKLAND_GP, r.at(-25, 15), 20, "Kviser")
    acne = c.condition(
        ICPC2_SYSTEM,
        "S96",
        "Akne",
        category="encounter-diagnosis",
        onset=r.day(-200),
        recorded=r.day(-25),
        recorder=gp,
        encounter=visit,
    )
    c.medication(
        _ADAPALEN, r.day(-25), end=None, asserted=r.at(-25, 15, 20), source=gp, reason=acne
    )
    r.note(
        c,
        PROGRESS,
        "Kviser i ansiktet og på ryggen i et halvt år. Starter adapalen gel. "
        "Ny time om tre måneder om det ikke blir bedre.",
        r.at(-25, 15, 25),
        ORKLAND_GP,
        encounter=visit,
    )
    r.immunization(c, "hpv", r.at(-1200, 9), r.team(ORKLAND_HELSESTASJON), None)
    r.appointment(c, ORKLAND_GP, r.at(16, 14, 40), 20, "Kontroll kviser")
    return c.resources


#: Every Patient id of the family (for look-ups and tests).
PATIENT_IDS: Final = tuple(str(c.patient) for c in (KARI, EMMA, JONAS, INGRID, PER, LARS))
