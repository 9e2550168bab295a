"""Curated diagnoses for the demo population: what people have and why they see whom.

Codes are written as Norwegian practice writes them: ICD-10 without the dot (``E119``,
``I10``) in ``http://hl7.org/fhir/sid/icd-10-no``, ICPC-2 in
``http://hl7.org/fhir/sid/icpc-2``. The display texts are the official Norwegian ones,
copied from npm ``@navikt/diagnosekoder`` 1.2026.0 (MIT licence, NAV), files
``lib/ICD10.json`` and ``lib/ICPC2.json``; a test checks every code and text against that
list. Prevalences and visit patterns are rough figures for Norway (Folkehelseinstituttet's
Folkehelserapporten and common clinical knowledge), meant to look plausible, not to be
epidemiology.

* :data:`CHRONIC` long-term conditions: an ICPC-2 problem at the fastlege, the ICD-10
  code the hospital uses for the same disease, the medicines and lab tests that follow
  it, and how often the hospital's outpatient clinic sees it.
* :data:`ACUTE` problems seen at the fastlege or the legevakt (ICPC-2).
* :data:`ADMISSIONS` reasons for a hospital stay (ICD-10), with ward, stay length and
  the sentences the admission and discharge notes are built from.
* :data:`EMERGENCY` akuttmottak visits that end without admission (ICD-10).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

ICD10_SYSTEM: Final = "http://hl7.org/fhir/sid/icd-10-no"
ICPC2_SYSTEM: Final = "http://hl7.org/fhir/sid/icpc-2"

#: Official Norwegian texts of every ICD-10 code used here.
ICD10_TEXT: Final = {
    "I10": "Essensiell (primær) hypertensjon",
    "E119": "Diabetes mellitus type 2 uten kompl",
    "E785": "Uspesifisert hyperlipidemi",
    "J449": "Uspesifisert kronisk obstruktiv lungesykdom",
    "J459": "Uspesifisert astma",
    "I489": "Uspesifisert atrieflimmer og atrieflutter",
    "I480": "Paroksysmal atrieflimmer",
    "I509": "Uspesifisert hjertesvikt",
    "I500": "Kongestiv hjertesvikt",
    "I209": "Uspesifisert angina pectoris",
    "I214": "Akutt subendokardialt infarkt",
    "E039": "Uspesifisert hypotyreose",
    "F329": "Uspesifisert depressiv episode",
    "M179": "Uspesifisert kneleddsartrose",
    "F03": "Uspesifisert demens",
    "N183": "Kronisk nyresykdom, stadium 3",
    "M819": "Uspesifisert osteoporose",
    "F900": "Forstyrrelser av aktivitet og oppmerksomhet",
    "C509": "Ondartet svulst i bryst, uspesifisert",
    "C61": "Ondartet svulst i blærehalskjertel",
    "C189": "Ondartet svulst i tykktarm, uspesifisert",
    "J189": "Uspesifisert pneumoni",
    "J441": "Kronisk obstruktiv lungesykdom med akutt uspes. forverring",
    "I639": "Uspesifisert hjerneinfarkt",
    "S720": "Brudd i lårhals",
    "N390": "Urinveisinfeksjon med uspesifisert lokalisasjon",
    "A419": "Uspesifisert sepsis",
    "K358": "Akutt appendisitt, annen og uspesifisert",
    "K802": "Gallesten uten galleblærebetennelse",
    "R074": "Uspesifisert brystsmerte",
    "E86": "Dehydrering",
    "K922": "Uspesifisert gastrointestinal blødning",
    "S060": "Hjernerystelse",
    "R55": "Synkope og kollaps",
    "G459": "Uspesifisert forbigående cerebralt iskemisk anfall",
    "S525": "Brudd i distal ende av radius",
    "S934": "Forstuving og forstrekking av ankelligament",
    "S610": "Åpent sår på finger uten skade på negl",
}

#: Official Norwegian texts of every ICPC-2 code used here.
ICPC2_TEXT: Final = {
    "K86": "Hypertensjon ukomplisert",
    "T90": "Diabetes type 2",
    "T93": "Lipidstoffskifte forstyrrelse",
    "R95": "Kronisk obstruktiv lungesykdom",
    "R96": "Astma",
    "K78": "Atrieflimmer/flutter",
    "K77": "Hjertesvikt",
    "K74": "Iskemisk hjertesykdom med angina",
    "T86": "Hypotyreose/myksødem",
    "P76": "Depressiv lidelse",
    "L90": "Kneleddsartrose",
    "P70": "Demens",
    "U99": "Urinveissykdom IKA",
    "L95": "Osteoporose",
    "P81": "Hyperkinetisk forstyrrelse",
    "X76": "Ondartet svulst bryst (K)",
    "Y77": "Ondartet svulst prostata",
    "D75": "Ondartet svulst tykktarm/endetarm",
    "R74": "Akutt øvre luftveisinfeksjon",
    "R78": "Akutt bronkitt/bronkiolitt",
    "R72": "Streptokokkhals",
    "R75": "Bihulebetennelse",
    "R81": "Lungebetennelse",
    "R80": "Influensa",
    "U71": "Cystitt/urinveisinfeksjon IKA",
    "H71": "Mellomørebetennelse akutt",
    "D73": "Gastroenteritt antatt infeksiøs",
    "L03": "Korsrygg symptomer/plager",
    "N01": "Hodepine",
    "A04": "Slapphet/tretthet",
    "P06": "Søvnforstyrrelse",
    "S87": "Atopisk dermatitt/eksem",
    "L81": "Skade muskel-skj-syst IKA",
    "S18": "Åpent sår/kutt",
    "F70": "Infeksiøs konjunktivitt",
    "P74": "Angstlidelse",
    "A98": "Individforebyggende tiltak",
    "K85": "Forhøyet blodtrykk IKA",
    "L15": "Kne symptomer/plager",
    "N17": "Svimmelhet IKA",
    "A03": "Feber",
    "D11": "Diaré",
}


def _prevalence(text: str) -> tuple[tuple[int, float, float], ...]:
    """``"40:7/9 60:30"`` → ``((40, .07, .09), (60, .30, .30))``: from age, % women/men."""
    out = []
    for part in text.split():
        age, _, pct = part.partition(":")
        female, _, male = pct.partition("/")
        out.append((int(age), float(female) / 100, float(male or female) / 100))
    return tuple(out)


@dataclass(frozen=True, slots=True)
class Chronic:
    """A long-term condition: GP problem list (ICPC-2) and hospital diagnosis (ICD-10)."""

    key: str
    name: str  #: lay Norwegian name for notes ("diabetes type 2")
    icpc: str
    icd: str
    prevalence: tuple[tuple[int, float, float], ...]  #: (from age, p women, p men)
    #: keys in medicines.MEDICINES, the first always, the rest sometimes; "a|b" picks one
    medicines: tuple[str, ...] = ()
    labs: tuple[str, ...] = ()  #: keys in measurements.LABS checked at follow-up
    clinic: tuple[str, ...] = ()  #: words to find the hospital outpatient clinic by
    outpatient: float = 0.0  #: chance of a hospital outpatient follow-up
    bp: bool = False  #: blood pressure measured at GP follow-up

    def chance(self, age: int, female: bool) -> float:
        p = 0.0
        for start, pf, pm in self.prevalence:
            if age >= start:
                p = pf if female else pm
        return p


CHRONIC: Final = (
    Chronic(
        "hypertension", "høyt blodtrykk", "K86", "I10",
        _prevalence("30:3/4 40:7/9 50:16/19 60:28/30 70:40 80:50/45"),
        ("ramipril|kandesartan", "amlodipin"), ("kreatinin", "kalium", "natrium"), bp=True,
    ),
    Chronic(
        "diabetes2", "diabetes type 2", "T90", "E119",
        _prevalence("30:1/1.5 40:2.5/3.5 50:5/7 60:8/11 70:11/14"),
        ("metformin", "dapagliflozin|semaglutid"), ("hba1c", "kreatinin", "kolesterol"),
        ("endokrin", "diabetes", "medisinsk"), 0.15, bp=True,
    ),
    Chronic(
        "lipids", "høyt kolesterol", "T93", "E785", _prevalence("40:3 50:9/11 60:18/22 70:28"),
        ("atorvastatin|simvastatin",), ("kolesterol",),
    ),
    Chronic(
        "copd", "kols", "R95", "J449", _prevalence("45:2 55:4 65:7 75:9"),
        ("tiotropium", "salbutamol", "salmeterol-flutikason"), (), ("lunge",), 0.2,
    ),
    Chronic(
        "asthma", "astma", "R96", "J459", _prevalence("5:6/8 18:6 60:5"),
        ("budesonid", "salbutamol"), (), ("lunge", "barn"), 0.05,
    ),
    Chronic(
        "afib", "atrieflimmer", "K78", "I489", _prevalence("55:1.5/2.5 65:4/6 75:9/11 85:13/15"),
        ("apiksaban", "bisoprolol"), ("kreatinin", "hb"), ("hjerte", "kardio"), 0.25, bp=True,
    ),
    Chronic(
        "heartfailure", "hjertesvikt", "K77", "I509", _prevalence("65:2 75:5 85:10"),
        ("furosemid", "bisoprolol|metoprolol"),
        ("ntprobnp", "kreatinin", "kalium", "natrium"), ("hjerte", "kardio"), 0.3, bp=True,
    ),
    Chronic(
        "angina", "angina pectoris", "K74", "I209", _prevalence("55:1/3 65:3/6 75:6/10"),
        ("acetylsalisylsyre", "atorvastatin|simvastatin", "nitroglyserin"), ("kolesterol",),
        ("hjerte", "kardio"), 0.2, bp=True,
    ),
    Chronic(
        "hypothyroid", "lavt stoffskifte", "T86", "E039",
        _prevalence("30:4/1 50:8/1.5 70:10/2"), ("levotyroksin",), ("tsh",),
    ),
    Chronic(
        "depression", "depresjon", "P76", "F329", _prevalence("16:5/3 25:7/4 65:5/4"),
        ("escitalopram|sertralin|mirtazapin",),
    ),
    Chronic(
        "kneeoa", "kneleddsartrose", "L90", "M179", _prevalence("50:6/4 60:11/8 70:16/12"),
        ("paracetamol",), (), ("ortoped",), 0.2,
    ),
    Chronic(
        "dementia", "demens", "P70", "F03", _prevalence("70:3 80:10/9 90:25/20"),
        ("donepezil",), ("hb", "tsh"), ("geriatri", "alderspsykiatri", "hukommelse"), 0.3,
    ),
    Chronic(
        "ckd", "nedsatt nyrefunksjon", "U99", "N183", _prevalence("65:3 75:7 85:10"),
        (), ("kreatinin", "kalium", "hb"), ("nyre", "medisinsk"), 0.2, bp=True,
    ),
    Chronic(
        "osteoporosis", "beinskjørhet", "L95", "M819", _prevalence("60:6/1 70:12/3 80:18/5"),
        ("alendronat", "kalsium-vitd"),
    ),
    Chronic(
        "adhd", "ADHD", "P81", "F900", _prevalence("7:3/5 18:2/3 30:1/1.5 50:0"),
        ("metylfenidat",), (), ("barn", "psykisk"), 0.3,
    ),
    Chronic(
        "breastcancer", "brystkreft", "X76", "C509", _prevalence("45:1/0 60:2/0 80:2/0"),
        (), ("hb",), ("kreft", "onkolog", "bryst", "kirurg"), 0.9,
    ),
    Chronic(
        "prostatecancer", "prostatakreft", "Y77", "C61", _prevalence("55:0/1 65:0/3 75:0/5"),
        (), ("hb",), ("urolog", "kreft", "onkolog", "kirurg"), 0.9,
    ),
    Chronic(
        "coloncancer", "tykktarmskreft", "D75", "C189", _prevalence("50:0.3 70:0.8"),
        (), ("hb",), ("kreft", "onkolog", "gastro", "kirurg"), 0.9,
    ),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Acute:
    """A short illness seen by the fastlege or the legevakt (ICPC-2)."""

    icpc: str
    name: str  #: lay Norwegian name ("urinveisinfeksjon")
    weights: tuple[int, int, int]  #: relative frequency for children, adults, elderly
    symptoms: str  #: "svie ved vannlating"
    finding: str  #: one sentence of findings
    treatment: str  #: one sentence of advice or treatment
    medicine: str | None = None  #: a short course (key in medicines.MEDICINES)
    legevakt: bool = False  #: typical at the legevakt too
    temperature: bool = False  #: temperature measured


ACUTE: Final = (
    Acute("R74", "forkjølelse", (20, 14, 8), "sår hals, tett nese og lett feber",
          "Lett rødt svelg, ellers normale funn.", "Symptomatisk behandling og rikelig drikke.",
          legevakt=True, temperature=True),
    Acute("R78", "akutt bronkitt", (6, 5, 6), "hoste i over en uke",
          "Spredte knatrelyder, ingen dempning.",
          "Ingen antibiotika nå; ny vurdering ved forverring."),
    Acute("R72", "halsbetennelse", (6, 4, 1), "sår hals og feber",
          "Belegg på mandlene, positiv hurtigtest for streptokokker.",
          "Startet fenoksymetylpenicillin.", "penicillin-v", temperature=True),
    Acute("R75", "bihulebetennelse", (2, 5, 2), "trykk over kinnene og tett nese",
          "Ømhet over kjevebihulene.", "Nesespray og smertestillende; antibiotika ikke indisert."),
    Acute("R81", "lungebetennelse", (2, 2, 5), "feber, hoste og tungpust",
          "Knatrelyder basalt på høyre side, CRP forhøyet.",
          "Fenoksymetylpenicillin i sju dager.", "penicillin-v", temperature=True),
    Acute("R80", "influensa", (4, 4, 3), "høy feber, muskelverk og hoste",
          "Allmennpåvirket, men ingen tegn til lungebetennelse.", "Hvile og febernedsettende.",
          legevakt=True, temperature=True),
    Acute("U71", "urinveisinfeksjon", (1, 6, 6), "svie ved vannlating og hyppig vannlating",
          "Urinstiks positiv for leukocytter og nitritt.", "Pivmecillinam i tre dager.",
          "pivmecillinam", legevakt=True),
    Acute("H71", "ørebetennelse", (10, 1, 0), "øresmerter og feber",
          "Rød og bulende trommehinne.", "Smertestillende; penicillin ved vedvarende plager.",
          "penicillin-v", temperature=True),
    Acute("D73", "omgangssyke", (6, 3, 2), "oppkast og diaré siden i går",
          "Bløt buk, normal hudturgor.", "Rikelig drikke; ta kontakt ved tegn til uttørking.",
          legevakt=True),
    Acute("L03", "vondt i korsryggen", (0, 8, 5), "smerter i korsryggen etter et løft",
          "Ingen nevrologiske utfall.", "Råd om å holde seg i aktivitet; paracetamol ved behov.",
          "paracetamol"),
    Acute("N01", "hodepine", (2, 4, 1), "hodepine i flere dager",
          "Normal nevrologisk undersøkelse.", "Paracetamol ved behov; hodepinedagbok."),
    Acute("A04", "slapphet", (1, 4, 3), "uvanlig slapphet siste måneder",
          "Ingen sikre funn ved undersøkelse; tatt blodprøver.",
          "Ny time når prøvesvarene foreligger."),
    Acute("P06", "søvnvansker", (0, 3, 4), "vansker med å sovne og tidlig oppvåkning",
          "Normal somatisk status.", "Råd om søvnhygiene; zopiklon i kort periode.",
          "zopiklon"),
    Acute("S87", "eksem", (5, 2, 1), "kløende utslett i albuebøyene",
          "Tørr hud med eksem i albuebøyene.", "Hydrokortisonbutyrat krem og fuktighetskrem.",
          "hydrokortison"),
    Acute("L81", "forstuet ledd", (4, 4, 2), "vondt etter et fall",
          "Hevelse og ømhet, god bevegelighet.", "Ro, is, kompresjon og høyleie.",
          legevakt=True),
    Acute("S18", "kuttskade", (4, 3, 2), "kuttet seg på en kniv",
          "Tre centimeter langt sår uten skade på sener.", "Sydd med tre sting.",
          legevakt=True),
    Acute("F70", "øyekatarr", (4, 1, 1), "røde og klebrige øyne",
          "Injisert konjunktiva bilateralt.", "Råd om hygiene; skylling med saltvann."),
    Acute("P74", "angst", (0, 4, 1), "uro, hjertebank og søvnvansker",
          "Normal somatisk status.", "Samtale; henvist til psykolog i kommunen."),
    Acute("A98", "helsekontroll", (3, 3, 2), "ønske om en helsesjekk",
          "Normale funn.", "Ingen tiltak nødvendig."),
    Acute("K85", "forhøyet blodtrykk", (0, 3, 2), "høyt blodtrykk målt på apoteket",
          "Lett forhøyet blodtrykk i dag.", "Hjemmemålinger og ny kontroll om fire uker."),
    Acute("L15", "knesmerter", (1, 3, 3), "smerter i kneet ved gange",
          "Lett hevelse, stabilt kne.", "Fysioterapi og paracetamol ved behov.", "paracetamol"),
    Acute("N17", "svimmelhet", (0, 2, 4), "svimmelhet ved brå bevegelser",
          "Normalt blodtrykk, ingen nevrologiske utfall.", "Råd om å reise seg rolig."),
    Acute("A03", "feber", (6, 1, 1), "feber siden i går",
          "Allmenntilstand god, ingen fokus for infeksjon.",
          "Avventende; ny kontakt ved forverring.", legevakt=True, temperature=True),
    Acute("D11", "diaré", (3, 2, 2), "løs avføring i tre dager",
          "Bløt og uøm buk.", "Rikelig drikke; avføringsprøve ved vedvarende plager.",
          legevakt=True),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Admission:
    """A reason for a hospital stay, with what the notes about it say."""

    key: str
    icd: str
    name: str  #: lay Norwegian name
    weights: tuple[int, int, int, int]  #: frequency for ages 0-17, 18-49, 50-74, 75+
    ward: tuple[str, ...]  #: words to find the ward by, best first
    days: tuple[int, int]  #: shortest and longest stay
    symptoms: str  #: "brystsmerter med utstråling til venstre arm"
    treatment: str  #: one sentence of what was done
    labs: tuple[str, ...] = ()  #: extra lab tests beyond the admission panel
    requires: str | None = None  #: only for patients with this chronic condition
    fever: bool = False
    low_sat: bool = False


ADMISSIONS: Final = (
    Admission("pneumonia", "J189", "lungebetennelse", (3, 3, 8, 14),
              ("lunge", "infeksjon", "medisin"), (3, 7), "feber, hoste og tungpust",
              "Behandlet med intravenøs benzylpenicillin, deretter fenoksymetylpenicillin "
              "peroralt.", ("leukocytter",), fever=True, low_sat=True),
    Admission("copd", "J441", "kolsforverring", (0, 0, 10, 10), ("lunge", "medisin"), (3, 8),
              "økende tungpust og hoste med misfarget oppspytt", "Behandlet med inhalasjoner, "
              "prednisolon og antibiotika.", ("leukocytter",), requires="copd", low_sat=True),
    Admission("nstemi", "I214", "hjerteinfarkt", (0, 2, 8, 6), ("hjerte", "kardio", "medisin"),
              (2, 5), "trykkende brystsmerter med utstråling til venstre arm",
              "Koronar angiografi med blokking og stent; startet dobbel platehemming.",
              ("troponin",)),
    Admission("stroke", "I639", "hjerneslag", (0, 1, 6, 8), ("slag", "nevro", "medisin"), (5, 12),
              "akutt innsettende svakhet i høyre arm og talevansker",
              "Gitt trombolyse med god effekt; startet sekundærforebygging.", ("kolesterol",)),
    Admission("hip", "S720", "lårhalsbrudd", (0, 0, 3, 12), ("ortoped", "kirurg"), (4, 10),
              "fall i hjemmet med smerter i hoften og forkortet, utadrotert bein",
              "Operert med hemiprotese dagen etter innleggelse; mobilisert med fysioterapeut.",
              ("inr",)),
    Admission("uti", "N390", "urinveisinfeksjon", (1, 1, 3, 10),
              ("medisin", "geriatri", "infeksjon"), (2, 5), "feber og akutt forvirring",
              "Behandlet med intravenøs ampicillin og gentamicin, deretter pivmecillinam.",
              ("leukocytter",), fever=True),
    Admission("heartfailure", "I500", "forverring av hjertesvikt", (0, 0, 6, 10),
              ("hjerte", "kardio", "medisin"), (3, 8), "økende tungpust og hevelse i beina",
              "Behandlet med intravenøs furosemid med god diurese og vektnedgang.",
              ("ntprobnp",), requires="heartfailure", low_sat=True),
    Admission("sepsis", "A419", "blodforgiftning", (1, 1, 2, 4), ("infeksjon", "medisin"), (5, 10),
              "høy feber, frysninger og lavt blodtrykk", "Behandlet med intravenøs væske og "
              "bredspektret antibiotika.", ("leukocytter",), fever=True, low_sat=True),
    Admission("appendicitis", "K358", "blindtarmbetennelse", (8, 6, 2, 0), ("gastro", "kirurg"),
              (1, 3), "smerter i nedre høyre del av magen og kvalme",
              "Operert med laparoskopisk appendektomi uten komplikasjoner.", ("leukocytter",),
              fever=True),
    Admission("gallstone", "K802", "gallestein", (0, 4, 4, 2), ("gastro", "kirurg"), (1, 3),
              "sterke smerter under høyre ribbensbue etter fet mat",
              "Smertelindret; planlagt kikkhullsoperasjon av galleblæren.", ("alat",)),
    Admission("chestpain", "R074", "brystsmerter", (0, 4, 6, 4), ("hjerte", "kardio", "medisin"),
              (1, 2), "brystsmerter i hvile", "Utredet med EKG og gjentatte troponinmålinger uten "
              "holdepunkt for hjerteinfarkt.", ("troponin",)),
    Admission("dehydration", "E86", "uttørking", (2, 0, 1, 6), ("geriatri", "medisin"), (2, 4),
              "lite drikke siste dager, svimmelhet og slapphet",
              "Rehydrert med intravenøs væske; fast drikkeliste.", ()),
    Admission("gibleed", "K922", "blødning fra mage-tarm", (0, 1, 4, 5), ("gastro", "medisin"),
              (2, 5), "svart avføring og svimmelhet", "Gastroskopi med behandling av blødende sår; "
              "startet protonpumpehemmer.", ("inr",)),
    Admission("concussion", "S060", "hjernerystelse", (6, 3, 1, 2),
              ("nevro", "kirurg", "observasjon"), (1, 2), "hodeskade med kortvarig bevissthetstap",
              "Observert med nevrologiske kontroller; CT caput uten blødning.", ()),
    Admission("syncope", "R55", "besvimelse", (0, 1, 3, 5), ("medisin", "hjerte", "geriatri"),
              (1, 3), "besvimte hjemme", "Utredet med telemetri og ortostatisk blodtrykksmåling "
              "uten alvorlige funn.", ()),
    Admission("afib", "I480", "anfall med atrieflimmer", (0, 1, 4, 3), ("hjerte", "kardio"),
              (1, 3), "hjertebank og uregelmessig puls", "Elektrokonvertert til sinusrytme; "
              "startet antikoagulasjon.", ("tsh",)),
    Admission("tia", "G459", "drypp (TIA)", (0, 0, 3, 3), ("slag", "nevro", "medisin"), (1, 3),
              "forbigående lammelse i venstre hånd", "Utredet med CT, MR og ultralyd av halskar; "
              "startet platehemmer og statin.", ("kolesterol",)),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Emergency:
    """An akuttmottak visit that ends with the patient going home (ICD-10)."""

    icd: str
    name: str
    weights: tuple[int, int, int, int]
    text: str  #: one sentence for the note


EMERGENCY: Final = (
    Emergency("S525", "håndleddsbrudd", (4, 2, 4, 5), "Falt på utstrakt hånd. Røntgen viser "
              "brudd i håndleddet; lukket reponert og gipset."),
    Emergency("S934", "forstuet ankel", (5, 6, 2, 1), "Vrikket ankelen. Røntgen uten brudd; "
              "elastisk bind og krykker."),
    Emergency("R074", "brystsmerter", (0, 4, 5, 4), "Brystsmerter i hvile. Normalt EKG og "
              "troponin; utskrevet med kontroll hos fastlege."),
    Emergency("S610", "kuttskade i finger", (3, 5, 2, 1), "Kuttskade i finger uten skade på "
              "sener eller nerver; sydd."),
)  # fmt: skip

CHRONIC_BY_KEY: Final = {c.key: c for c in CHRONIC}
