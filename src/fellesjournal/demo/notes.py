"""Clinical notes in Norwegian bokmål, built from templates and the patient's own data.

Each function returns two to six sentences in the register of a Norwegian record: a
fastlege's consultation note, an admission note (innkomstjournal), a discharge summary
(epikrise), an outpatient note (poliklinisk notat), a home-care nursing note
(sykepleienotat) and an akuttmottak note. The text is made from the same facts as the
coded resources next to it (diagnosis, vital signs, medicines), so they agree.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Final

from fellesjournal.demo.clinical import Acute, Admission, Chronic, Emergency

#: (LOINC code, LOINC display, Norwegian title) of each note type.
PROGRESS: Final = ("11506-3", "Progress note", "Journalnotat")
ADMISSION: Final = ("34117-2", "History and physical note", "Innkomstjournal")
DISCHARGE: Final = ("18842-5", "Discharge summary", "Epikrise")
OUTPATIENT: Final = ("11506-3", "Progress note", "Poliklinisk notat")
NURSING: Final = ("34746-8", "Nurse note", "Sykepleienotat")
EMERGENCY: Final = ("11506-3", "Progress note", "Notat fra akuttmottak")

_FEELING = (
    "Pasienten har det bra og har ingen nye plager.",
    "Føler seg noe slitnere enn vanlig, ellers uendret.",
    "Tar medisinene som forskrevet og merker ingen bivirkninger.",
    "Har vært stabil siden forrige kontroll.",
    "Forteller om noe dårligere søvn, men klarer seg fint i hverdagen.",
)
_PLAN = (
    "Fortsetter uendret behandling. Ny kontroll om seks måneder.",
    "Fortsetter uendret behandling og tar nye blodprøver før neste kontroll.",
    "Drøftet livsstilstiltak. Ny kontroll om tre måneder.",
    "Ny time om tre måneder, tidligere ved behov.",
)
_DAYS = ("to", "tre", "fire", "fem")


def _bp(bp: tuple[int, int] | None) -> str:
    return f" Blodtrykk {bp[0]}/{bp[1]} mmHg." if bp else ""


def gp_followup(
    rng: random.Random,
    chronic: Chronic,
    bp: tuple[int, int] | None,
    medicine: str | None,
    labs: str | None,
) -> str:
    """The fastlege's note from a follow-up of a long-term condition."""
    parts = [f"Kontroll for {chronic.name}.", rng.choice(_FEELING)]
    measured = [f"blodtrykk {bp[0]}/{bp[1]} mmHg"] if bp else []
    if labs:
        measured.append(f"blodprøver: {labs}")
    if measured:
        sentence = "; ".join(measured)
        parts.append(sentence[0].upper() + sentence[1:] + ".")
    if medicine:
        parts.append(f"Bruker {medicine}.")
    parts.append(rng.choice(_PLAN))
    return " ".join(parts)


def gp_acute(rng: random.Random, acute: Acute, temperature: float | None, place: str) -> str:
    """A consultation for a short illness; ``place`` is ``""`` or ``" til legevakten"``."""
    temp = f" Temperatur {temperature:.1f} °C.".replace(".", ",", 1) if temperature else ""
    closing = "" if temperature else " Tar kontakt ved forverring."
    return (
        f"Kommer{place} med {acute.symptoms} siste {rng.choice(_DAYS)} dager. "
        f"{acute.finding}{temp} Vurderes som {acute.name}. {acute.treatment}{closing}"
    )


def admission(
    rng: random.Random,
    adm: Admission,
    age: int,
    female: bool,
    chronic: Sequence[Chronic],
    medicines: Sequence[str],
    vitals: dict[str, float],
) -> str:
    """Innkomstjournal: why the patient came, background, findings, assessment, plan."""
    who = "kvinne" if female else "mann"
    background = (
        "Tidligere frisk." if not chronic else "Kjent med " + _join([c.name for c in chronic]) + "."
    )
    meds = "Ingen faste medisiner." if not medicines else f"Faste medisiner: {_join(medicines)}."
    temp = f"{vitals['temperature']:.1f}".replace(".", ",")
    return (
        f"{age} år gammel {who} innlagt via akuttmottaket med {adm.symptoms}. {background} "
        f"{meds} Ved innkomst blodtrykk {int(vitals['systolic'])}/{int(vitals['diastolic'])} "
        f"mmHg, puls {int(vitals['pulse'])}, temperatur {temp} °C, "
        f"oksygenmetning {int(vitals['spo2'])} %. Vurderes som {adm.name}. "
        + rng.choice(("Innlegges for behandling og observasjon.", "Innlegges i sengepost."))
    )


def discharge(
    rng: random.Random,
    adm: Admission,
    ward: str,
    start: str,
    end: str,
    home_care: bool,
    new_medicines: Sequence[str],
) -> str:
    """Epikrise: stay, treatment, course, where to, follow-up."""
    course = rng.choice(("ukomplisert", "preget av langsom bedring, men uten komplikasjoner"))
    where = "hjemmet med økt hjemmesykepleie" if home_care else "hjemmet"
    meds = f" Nye medisiner: {_join(new_medicines)}." if new_medicines else ""
    return (
        f"Innlagt ved {ward} {start} til {end} for {adm.name}. {adm.treatment} "
        f"Forløpet var {course}.{meds} Utskrives til {where}. "
        + rng.choice(
            (
                "Kontroll hos fastlege om én til to uker.",
                "Kontroll hos fastlege om to uker med nye blodprøver.",
                "Poliklinisk kontroll om seks uker; innkalling kommer.",
            )
        )
    )


def outpatient(rng: random.Random, chronic: Chronic, clinic: str) -> str:
    """Poliklinisk notat from a hospital outpatient clinic."""
    status = rng.choice(
        (
            "Stabil tilstand siden forrige kontroll.",
            "Noe mer plager siste måneder.",
            "God effekt av behandlingen.",
        )
    )
    plan = rng.choice(
        (
            "Ny kontroll om ett år.",
            "Ny kontroll om seks måneder.",
            "Avsluttes her og følges videre av fastlege.",
        )
    )
    return f"Poliklinisk kontroll ved {clinic} for {chronic.name}. {status} {plan}"


def nursing(rng: random.Random, bp: tuple[int, int], medication: bool) -> str:
    """A home-care nurse's note from a visit."""
    state = rng.choice(
        (
            "Pasienten var i godt humør og hadde spist frokost.",
            "Pasienten var noe sliten i dag, men ved godt mot.",
            "Pasienten satt i stolen og ventet på besøket.",
        )
    )
    task = (
        "Medisiner gitt etter multidose."
        if medication
        else rng.choice(("Hjelp med dusj og påkledning.", "Sårstell på leggen, såret gror fint."))
    )
    return f"Hjemmebesøk. {state} {task}{_bp(bp)} " + rng.choice(
        ("Ingen endringer i tiltak.", "Pårørende orientert.")
    )


def ward_nursing(rng: random.Random, bp: tuple[int, int], home_care: bool) -> str:
    """A ward nurse's note on the day of discharge."""
    night = rng.choice(
        ("Pasienten har sovet godt i natt.", "Noe urolig i natt, men sov etter midnatt.")
    )
    moving = rng.choice(
        (
            "Mobiliseres med rullator.",
            "Går selvstendig i korridoren.",
            "Trenger hjelp av én ved forflytning.",
        )
    )
    after = (
        "Hjemmetjenesten er varslet om utreise."
        if home_care
        else "Klar for utreise; pårørende henter."
    )
    return f"{night} {moving}{_bp(bp)} {after}"


def emergency(emergency_: Emergency) -> str:
    """A short note from an akuttmottak visit that ended at home."""
    return f"{emergency_.text} Vurdert som {emergency_.name}. Reiser hjem."


def _join(items: Sequence[str]) -> str:
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " og " + items[-1]
