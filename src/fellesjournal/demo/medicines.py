"""Medicines, allergies and critical information for the demo population.

Medicines are coded with ATC (``http://www.whocc.no/atc``, WHO Collaborating Centre for
Drug Statistics Methodology) and carry the Norwegian substance name (as in the Norwegian
ATC index, Legemiddelverket / Folkehelseinstituttet), a strength and form, and a dosage
text the way a Norwegian medication list writes it. Doses are ordinary adult doses,
chosen to look plausible; they are not prescribing advice.

Critical information (kritisk informasjon, CAVE) follows the Kjernejournal categories in
docs/domain.md §1.8: only serious reactions and conditions belong there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

ATC_SYSTEM: Final = "http://www.whocc.no/atc"


@dataclass(frozen=True, slots=True)
class Medicine:
    atc: str
    substance: str  #: Norwegian ATC name
    text: str  #: product description: "Metformin 500 mg tablett"
    dosage: str  #: "1 tablett 2 ganger daglig"
    course_days: int | None = None  #: a short course; None for regular use


def _m(atc: str, substance: str, text: str, dosage: str, days: int | None = None) -> Medicine:
    return Medicine(atc, substance, text, dosage, days)


MEDICINES: Final = {
    "ramipril": _m("C09AA05", "Ramipril", "Ramipril 5 mg tablett", "1 tablett daglig"),
    "amlodipin": _m("C08CA01", "Amlodipin", "Amlodipin 5 mg tablett", "1 tablett daglig"),
    "kandesartan": _m("C09CA06", "Kandesartan", "Kandesartan 8 mg tablett", "1 tablett daglig"),
    "metformin": _m("A10BA02", "Metformin", "Metformin 500 mg tablett",
        "1 tablett 2 ganger daglig"),
    "dapagliflozin": _m("A10BK01", "Dapagliflozin", "Dapagliflozin 10 mg tablett",
        "1 tablett daglig"),
    "semaglutid": _m("A10BJ06", "Semaglutid", "Semaglutid 1 mg injeksjonsvæske, penn",
        "1 mg subkutant 1 gang i uken"),
    "atorvastatin": _m("C10AA05", "Atorvastatin", "Atorvastatin 20 mg tablett",
        "1 tablett om kvelden"),
    "simvastatin": _m("C10AA01", "Simvastatin", "Simvastatin 20 mg tablett",
        "1 tablett om kvelden"),
    "tiotropium": _m("R03BB04", "Tiotropiumbromid", "Tiotropium 18 mikrog inhalasjonspulver",
        "1 inhalasjon daglig"),
    "salbutamol": _m("R03AC02", "Salbutamol", "Salbutamol 0,1 mg/dose inhalasjonsaerosol",
        "1-2 inhalasjoner ved behov, inntil 4 ganger daglig"),
    "salmeterol-flutikason": _m("R03AK06", "Salmeterol og flutikason",
        "Salmeterol/flutikason 50/500 mikrog inhalasjonspulver", "1 inhalasjon 2 ganger daglig"),
    "budesonid": _m("R03BA02", "Budesonid", "Budesonid 200 mikrog/dose inhalasjonspulver",
        "1 inhalasjon 2 ganger daglig"),
    "apiksaban": _m("B01AF02", "Apiksaban", "Apiksaban 5 mg tablett", "1 tablett 2 ganger daglig"),
    "bisoprolol": _m("C07AB07", "Bisoprolol", "Bisoprolol 2,5 mg tablett", "1 tablett daglig"),
    "furosemid": _m("C03CA01", "Furosemid", "Furosemid 40 mg tablett", "1 tablett om morgenen"),
    "metoprolol": _m("C07AB02", "Metoprolol", "Metoprolol 50 mg depottablett", "1 tablett daglig"),
    "acetylsalisylsyre": _m("B01AC06", "Acetylsalisylsyre", "Acetylsalisylsyre 75 mg enterotablett",
        "1 tablett daglig"),
    "nitroglyserin": _m("C01DA02", "Glyseroltrinitrat", "Glyseroltrinitrat 0,5 mg resoribletter",
        "1 tablett under tungen ved brystsmerter"),
    "levotyroksin": _m("H03AA01", "Levotyroksinnatrium", "Levotyroksin 50 mikrog tablett",
        "1 tablett om morgenen"),
    "escitalopram": _m("N06AB10", "Escitalopram", "Escitalopram 10 mg tablett", "1 tablett daglig"),
    "sertralin": _m("N06AB06", "Sertralin", "Sertralin 50 mg tablett", "1 tablett daglig"),
    "mirtazapin": _m("N06AX11", "Mirtazapin", "Mirtazapin 15 mg tablett", "1 tablett om kvelden"),
    "paracetamol": _m("N02BE01", "Paracetamol", "Paracetamol 500 mg tablett",
        "2 tabletter inntil 4 ganger daglig ved behov"),
    "donepezil": _m("N06DA02", "Donepezil", "Donepezil 5 mg tablett", "1 tablett om kvelden"),
    "alendronat": _m("M05BA04", "Alendronsyre", "Alendronat 70 mg tablett",
        "1 tablett 1 gang i uken, fastende"),
    "kalsium-vitd": _m("A12AX", "Kalsium, kombinasjoner med vitamin D og/eller andre midler",
        "Kalsium 500 mg/kolekalsiferol 10 mikrog tyggetablett", "1 tablett 2 ganger daglig"),
    "metylfenidat": _m("N06BA04", "Metylfenidat", "Metylfenidat 18 mg depottablett",
        "1 tablett om morgenen"),
    "penicillin-v": _m("J01CE02", "Fenoksymetylpenicillin", "Fenoksymetylpenicillin 660 mg tablett",
        "1 tablett 4 ganger daglig i 7 dager", 7),
    "pivmecillinam": _m("J01CA08", "Pivmecillinam", "Pivmecillinam 200 mg tablett",
        "1 tablett 3 ganger daglig i 3 dager", 3),
    "zopiklon": _m("N05CF01", "Zopiklon", "Zopiklon 5 mg tablett",
        "1 tablett om kvelden ved behov", 14),
    "hydrokortison": _m("D07AB02", "Hydrokortisonbutyrat", "Hydrokortisonbutyrat 0,1 % krem",
        "Smøres tynt på 1-2 ganger daglig i inntil 2 uker", 14),
    "oksykodon": _m("N02AA05", "Oksykodon", "Oksykodon 5 mg kapsel",
        "1 kapsel inntil 4 ganger daglig ved sterke smerter", 10),
    "pantoprazol": _m("A02BC02", "Pantoprazol", "Pantoprazol 40 mg enterotablett",
        "1 tablett daglig"),
    "tikagrelor": _m("B01AC24", "Tikagrelor", "Tikagrelor 90 mg tablett",
        "1 tablett 2 ganger daglig"),
}  # fmt: skip

#: Medicines started in hospital for an admission reason (clinical.Admission.key).
DISCHARGE_MEDICINES: Final = {
    "nstemi": ("acetylsalisylsyre", "tikagrelor", "atorvastatin"),
    "stroke": ("acetylsalisylsyre", "atorvastatin"),
    "tia": ("acetylsalisylsyre", "atorvastatin"),
    "hip": ("oksykodon", "paracetamol"),
    "gibleed": ("pantoprazol",),
    "afib": ("apiksaban",),
    "heartfailure": ("furosemid",),
}


@dataclass(frozen=True, slots=True)
class Allergy:
    """An allergy or intolerance; ``atc`` for medicines, text only for the rest."""

    key: str
    text: str  #: "Penicilliner"
    category: str  #: FHIR allergy-intolerance-category
    reaction: str  #: the usual manifestation
    prevalence: tuple[float, float]  #: chance for children, adults
    atc: str | None = None
    atc_name: str | None = None
    type: str = "allergy"
    severe: float = 0.05  #: chance the reaction was anaphylaxis (then also critical info)


ALLERGIES: Final = (
    Allergy("penicillin", "Penicilliner", "medication", "Urtikaria", (0.01, 0.05),
            "J01C", "Betalaktamantibakterielle midler, penicilliner", severe=0.08),
    Allergy("sulfa", "Sulfonamider og trimetoprim", "medication", "Utslett", (0.002, 0.01),
            "J01E", "Sulfonamider og trimetoprim"),
    Allergy("nsaid", "NSAIDs", "medication", "Astmaanfall", (0.002, 0.01),
            "M01A", "Antiinflammatoriske og antirevmatiske midler, ekskl. steroider", severe=0.1),
    Allergy("kodein", "Kodein", "medication", "Kvalme og oppkast", (0.0, 0.005),
            "R05DA04", "Kodein", type="intolerance", severe=0.0),
    Allergy("peanut", "Peanøtter", "food", "Hevelse i lepper og svelg", (0.02, 0.01), severe=0.3),
    Allergy("hazelnut", "Hasselnøtt", "food", "Kløe i munnen", (0.01, 0.02), severe=0.02),
    Allergy("shellfish", "Skalldyr", "food", "Urtikaria og oppkast", (0.003, 0.01), severe=0.15),
    Allergy("egg", "Egg", "food", "Eksemforverring", (0.02, 0.002), severe=0.02),
    Allergy("birch", "Bjørkepollen", "environment", "Rennende nese og kløende øyne",
            (0.05, 0.08), severe=0.0),
    Allergy("latex", "Lateks", "environment", "Kontakteksem", (0.001, 0.005), severe=0.1),
    Allergy("wasp", "Vepsegift", "environment", "Generell urtikaria og pustevansker",
            (0.003, 0.01), severe=0.4),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class Critical:
    """Kritisk informasjon (not an allergy): category text, FHIR flag category, text."""

    key: str
    kategori: str  #: Kjernejournal category, Norwegian
    flag_category: str  #: http://terminology.hl7.org/CodeSystem/flag-category code
    text: str


CRITICAL: Final = {
    "anesthesia": Critical("anesthesia", "Komplikasjoner ved anestesi", "clinical",
                           "Malign hypertermi hos nær slektning: unngå suksametonium og "
                           "inhalasjonsanestetika"),
    "addison": Critical("addison", "Kritiske medisinske tilstander", "clinical",
                        "Binyrebarksvikt (Addisons sykdom): trenger stressdose hydrokortison "
                        "ved akutt sykdom"),
    "pacemaker": Critical("pacemaker", "Pågående behandlinger og implantater", "clinical",
                          "Pacemaker (ikke MR-kompatibel)"),
    "dnr": Critical("dnr", "Endringer i behandlingsrutiner", "advance-directive",
                    "Avgrensning av livsforlengende behandling: ikke hjerte-lunge-redning "
                    "(HLR minus), avklart med pasient og pårørende"),
    "mrsa": Critical("mrsa", "Smitte", "safety", "MRSA-bærer: isoleres ved innleggelse"),
}  # fmt: skip
