"""Facts about the region that the seed is built from: municipalities and hospital units.

Everything here is data, written by hand. What is real and what is invented:

* **Real, public**: the municipality numbers and names (from
  :mod:`fellesjournal.norway.municipalities`), the health trusts' and the RHF's
  organisasjonsnummer (Enhetsregisteret; each passes the mod-11 check), which trust's
  catchment a municipality lies in (the former Nord-Trøndelag municipalities belong to
  Helse Nord-Trøndelag, the rest of Trøndelag to St. Olavs hospital, Møre og Romsdal to
  Helse Møre og Romsdal), and the postcodes (postnummer and poststed: one to five per
  municipality, the administrative centre or a well-known place in it, written down
  from general knowledge, not copied from Posten's register).
* **Approximate**: the populations (rounded, about 2024; good to roughly ±10 %, enough
  to weight the demo population).
* **Realistic, not registered**: the hospital units' names follow the trusts' own naming
  (Helse Møre og Romsdal writes nynorsk: "sjukehus", "Personvernombodet") but the set is
  a simplification, and municipal unit names are made from the municipality's and its
  districts' names.
* **Invented**: which municipalities are members of the shared record (the demo's
  choice), and every identifier of a unit or person (see :mod:`fellesjournal.region.seed`).

Volven 8655 (helsehjelpsområde) codes: ``S03`` Indremedisin and ``S0208`` Ortopedisk
kirurgi are confirmed by HL7 Norway's examples; ``S0303`` Fordøyelsessykdommer,
``S0305`` Hjertesykdommer and ``S0307`` Lungesykdommer are read from the list's
numbering of the indremedisin branches and must be checked against Volven before
production use. Units without a code that fits have none.
"""

from __future__ import annotations

from typing import Final

#: Helse Midt-Norge RHF (Enhetsregisteret).
RHF_ORGNR: Final = "983658776"
RHF_NAME: Final = "Helse Midt-Norge RHF"

#: The health trusts: key, name, orgnr (Enhetsregisteret), digit used in synthetic ids.
TRUSTS: Final = (
    ("stolav", "St. Olavs hospital HF", "883974832", 1),
    ("hmr", "Helse Møre og Romsdal HF", "997005562", 2),
    ("hnt", "Helse Nord-Trøndelag HF", "983974899", 3),
)

#: Municipalities that are members of the shared record in the seed; the rest hold an
#: option.
MEMBERS: Final = frozenset({"5001", "5031", "5028", "5059", "1508", "1506", "1505", "5037"})

#: The former Nord-Trøndelag municipalities: Helse Nord-Trøndelag's catchment.
HNT_CATCHMENT: Final = frozenset(
    {
        "5006", "5007", "5034", "5035", "5036", "5037", "5038", "5041", "5042",
        "5043", "5044", "5045", "5046", "5047", "5049", "5052", "5053", "5060",
    }
)  # fmt: skip

#: Names used in unit names where the register name carries a Sami name or a county.
SHORT_NAMES: Final = {"1515": "Herøy", "5041": "Snåsa", "5043": "Røyrvik"}

#: kommunenummer → (approximate population, ((postnummer, poststed), ...)).
MUNICIPALITY_FACTS: Final[dict[str, tuple[int, tuple[tuple[str, str], ...]]]] = {
    # Møre og Romsdal
    "1505": (24_000, (("6509", "Kristiansund N"),)),
    "1506": (32_500, (("6413", "Molde"),)),
    "1508": (58_000, (("6002", "Ålesund"), ("6004", "Ålesund"), ("6260", "Skodje"))),
    "1511": (3_000, (("6143", "Fiskåbygd"),)),
    "1514": (2_400, (("6084", "Larsnes"),)),
    "1515": (9_000, (("6090", "Fosnavåg"),)),
    "1516": (8_900, (("6065", "Ulsteinvik"),)),
    "1517": (5_200, (("6060", "Hareid"),)),
    "1520": (10_900, (("6150", "Ørsta"),)),
    "1525": (4_400, (("6200", "Stranda"),)),
    "1528": (7_600, (("6230", "Sykkylven"),)),
    "1531": (9_900, (("6030", "Langevåg"),)),
    "1532": (8_700, (("6050", "Valderøya"),)),
    "1535": (6_700, (("6390", "Vestnes"),)),
    "1539": (7_400, (("6300", "Åndalsnes"),)),
    "1547": (3_600, (("6480", "Aukra"),)),
    "1554": (5_900, (("6530", "Averøy"),)),
    "1557": (2_500, (("6631", "Batnfjordsøra"),)),
    "1560": (3_000, (("6630", "Tingvoll"),)),
    "1563": (7_000, (("6600", "Sunndalsøra"),)),
    "1566": (5_900, (("6650", "Surnadal"),)),
    "1573": (2_100, (("6570", "Smøla"),)),
    "1576": (3_500, (("6690", "Aure"),)),
    "1577": (11_000, (("6100", "Volda"),)),
    "1578": (2_500, (("6210", "Valldal"),)),
    "1579": (13_400, (("6440", "Elnesvågen"), ("6490", "Eide"))),
    "1580": (9_600, (("6270", "Brattvåg"),)),
    # Trøndelag
    "5001": (
        214_000,
        (
            ("7010", "Trondheim"),
            ("7030", "Trondheim"),
            ("7040", "Trondheim"),
            ("7050", "Trondheim"),
            ("7080", "Heimdal"),
        ),
    ),
    "5006": (24_500, (("7713", "Steinkjer"),)),
    "5007": (15_400, (("7800", "Namsos"),)),
    "5014": (5_300, (("7260", "Sistranda"),)),
    "5020": (950, (("7740", "Steinsdalen"),)),
    "5021": (7_100, (("7340", "Oppdal"),)),
    "5022": (2_400, (("7391", "Rennebu"),)),
    "5025": (5_600, (("7374", "Røros"),)),
    "5026": (1_950, (("7380", "Ålen"),)),
    "5027": (6_300, (("7290", "Støren"),)),
    "5028": (17_400, (("7224", "Melhus"), ("7232", "Lundamo"))),
    "5029": (8_800, (("7353", "Børsa"),)),
    "5031": (14_600, (("7550", "Hommelvik"), ("7560", "Vikhammer"))),
    "5032": (4_100, (("7580", "Selbu"),)),
    "5033": (770, (("7590", "Tydal"),)),
    "5034": (2_400, (("7530", "Meråker"),)),
    "5035": (25_000, (("7500", "Stjørdal"),)),
    "5036": (2_700, (("7633", "Frosta"),)),
    "5037": (20_500, (("7600", "Levanger"),)),
    "5038": (15_100, (("7650", "Verdal"),)),
    "5041": (2_000, (("7760", "Snåsa"),)),
    "5042": (1_300, (("7882", "Nordli"),)),
    "5043": (460, (("7898", "Limingen"),)),
    "5044": (820, (("7890", "Namsskogan"),)),
    "5045": (2_350, (("7870", "Grong"),)),
    "5046": (1_200, (("7977", "Høylandet"),)),
    "5047": (3_900, (("7863", "Overhalla"),)),
    "5049": (1_100, (("7770", "Flatanger"),)),
    "5052": (560, (("7994", "Leka"),)),
    "5053": (6_900, (("7670", "Inderøy"),)),
    "5054": (10_000, (("7100", "Rissa"), ("7120", "Leksvik"))),
    "5055": (5_900, (("7200", "Kyrksæterøra"),)),
    "5056": (5_200, (("7240", "Hitra"),)),
    "5057": (10_600, (("7130", "Brekstad"),)),
    "5058": (4_300, (("7170", "Åfjord"),)),
    "5059": (18_800, (("7300", "Orkanger"), ("7320", "Fannrem"), ("7336", "Meldal"))),
    "5060": (9_800, (("7900", "Rørvik"), ("7970", "Kolvereid"))),
    "5061": (2_000, (("6657", "Rindal"),)),
}

#: Place names for municipalities with several units of a kind (districts, bydeler).
DISTRICTS: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "5001": {
        "fastlegekontor": ("Lade", "Moholt", "Byåsen", "Saupstad", "Heimdal", "Midtbyen"),
        "hjemmetjeneste": ("Midtbyen", "Østbyen", "Lerkendal", "Heimdal"),
        "sykehjem": ("Tempe", "Havstad", "Moholt"),
        "helsestasjon": ("Midtbyen", "Heimdal"),
    },
    "1508": {
        "fastlegekontor": ("Sentrum", "Spjelkavik", "Skodje"),
        "hjemmetjeneste": ("Sentrum", "Spjelkavik"),
        "sykehjem": ("Åse", "Skodje"),
    },
}

# ------------------------------------------------------------------ hospital units
#: A hospital unit: (slug, name, kind, Volven 8655 specialty or None).
UnitSpec = tuple[str, str, str, str | None]
#: A top-level unit with the units under it.
ClinicSpec = tuple[UnitSpec, tuple[UnitSpec, ...]]


def _site(slug: str, site: str, place: str, extra: tuple[UnitSpec, ...] = ()) -> ClinicSpec:
    """A hospital site of HMR/HNT with its emergency department, two wards and a clinic."""
    return (
        (slug, site, "clinic", None),
        (
            (f"{slug}-akuttmottak", f"Akuttmottaket {place}", "emergency", None),
            (f"{slug}-medisin", f"Medisinsk sengepost {place}", "ward", "S03"),
            (f"{slug}-kirurgi", f"Kirurgisk sengepost {place}", "ward", None),
            (f"{slug}-poliklinikk", f"Medisinsk poliklinikk {place}", "outpatient", "S03"),
            *extra,
        ),
    )


#: The units of each trust, clinic by clinic. Unit ids are ``{trust}-{slug}``.
HOSPITAL_UNITS: Final[dict[str, tuple[ClinicSpec, ...]]] = {
    "stolav": (
        (
            ("akutt", "Akutt- og beredskapsklinikken", "clinic", None),
            (
                ("akuttmottak", "Akuttmottaket", "emergency", None),
                ("intensiv", "Intensivavdelingen", "ward", None),
            ),
        ),
        (
            ("hjerte", "Klinikk for hjertemedisin", "clinic", "S0305"),
            (
                ("hjerte-sengepost", "Hjertemedisinsk sengepost", "ward", "S0305"),
                ("hjerte-poliklinikk", "Hjertepoliklinikk", "outpatient", "S0305"),
            ),
        ),
        (
            ("medisin", "Medisinsk klinikk", "clinic", "S03"),
            (
                ("lunge-sengepost", "Lungemedisinsk sengepost", "ward", "S0307"),
                ("gastro-sengepost", "Gastromedisinsk sengepost", "ward", "S0303"),
                ("medisin-poliklinikk", "Medisinsk poliklinikk", "outpatient", "S03"),
            ),
        ),
        (
            ("ortopedi", "Ortopedisk klinikk", "clinic", "S0208"),
            (
                ("ortopedi-sengepost", "Ortopedisk sengepost", "ward", "S0208"),
                ("ortopedi-poliklinikk", "Ortopedisk poliklinikk", "outpatient", "S0208"),
            ),
        ),
        (
            ("kirurgi", "Klinikk for kirurgi", "clinic", None),
            (
                ("gastrokirurgi-sengepost", "Gastrokirurgisk sengepost", "ward", None),
                ("kirurgi-poliklinikk", "Kirurgisk poliklinikk", "outpatient", None),
            ),
        ),
        (
            ("kvinne", "Kvinneklinikken", "clinic", None),
            (
                ("fodeavdeling", "Fødeavdelingen", "ward", None),
                ("barsel", "Barselavdelingen", "ward", None),
                ("gyn-poliklinikk", "Gynekologisk poliklinikk", "outpatient", None),
            ),
        ),
        (
            ("barn", "Barne- og ungdomsklinikken", "clinic", None),
            (
                ("barn-sengepost", "Barnemedisinsk sengepost", "ward", None),
                ("barn-poliklinikk", "Barne- og ungdomspoliklinikken", "outpatient", None),
            ),
        ),
        (
            ("psykisk", "Klinikk for psykisk helsevern", "clinic", None),
            (
                ("psyk-akuttpost", "Psykiatrisk akuttpost", "ward", None),
                ("dps-poliklinikk", "DPS poliklinikk", "outpatient", None),
            ),
        ),
        (
            ("nevro", "Nevroklinikken", "clinic", None),
            (
                ("nevro-sengepost", "Nevrologisk sengepost", "ward", None),
                ("nevro-poliklinikk", "Nevrologisk poliklinikk", "outpatient", None),
            ),
        ),
        (("personvern", "Personvernombudet", "clinic", None), ()),
    ),
    "hmr": (
        _site(
            "alesund",
            "Ålesund sjukehus",
            "Ålesund",
            (("alesund-ortopedi", "Ortopedisk sengepost Ålesund", "ward", "S0208"),),
        ),
        _site("molde", "Molde sjukehus", "Molde"),
        _site("kristiansund", "Kristiansund sjukehus", "Kristiansund"),
        _site("volda", "Volda sjukehus", "Volda"),
        (("personvern", "Personvernombodet", "clinic", None), ()),
    ),
    "hnt": (
        _site(
            "levanger",
            "Sykehuset Levanger",
            "Levanger",
            (("levanger-fode", "Fødeavdelingen Levanger", "ward", None),),
        ),
        _site(
            "namsos",
            "Sykehuset Namsos",
            "Namsos",
            (("namsos-ortopedi", "Ortopedisk poliklinikk Namsos", "outpatient", "S0208"),),
        ),
        (("personvern", "Personvernombudet", "clinic", None), ()),
    ),
}

#: Volven 8624 (organisatorisk betegnelse) for top-level units that are not a "klinikk":
#: hospital sites and the privacy office (a staff unit). Keyed by slug.
DESIGNATION_BY_SLUG: Final = {
    "alesund": ("01", "Sykehus"),
    "molde": ("01", "Sykehus"),
    "kristiansund": ("01", "Sykehus"),
    "volda": ("01", "Sykehus"),
    "levanger": ("01", "Sykehus"),
    "namsos": ("01", "Sykehus"),
    "personvern": ("73", "Stab"),
}

#: Display texts of the Volven 8655 codes used above.
SPECIALTIES: Final = {
    "S03": "Indremedisin",
    "S0208": "Ortopedisk kirurgi",
    "S0303": "Fordøyelsessykdommer",
    "S0305": "Hjertesykdommer",
    "S0307": "Lungesykdommer",
}
