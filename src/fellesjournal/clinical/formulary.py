"""A short list of common medicines in Norway, to start one with a pick instead of typing.

Source: ATC codes from the WHO Collaborating Centre for Drug Statistics Methodology's
ATC/DDD index (https://atcddd.fhi.no/atc_ddd_index/), Norwegian substance names as in the
Norwegian ATC index; strengths and forms are ones sold in Norway (Felleskatalogen). The
suggested dosage is an ordinary adult dose, a starting point the prescriber changes;
it is not prescribing advice. A real installation takes this list from FEST (the
national medicines catalogue, domain.md §5), with FEST codes, which this list lacks.
Anything else is typed as free text (then without a code).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Final

from fellesjournal.clinical.dosage import Dosage

ATC: Final = "http://www.whocc.no/atc"


@dataclass(frozen=True, slots=True)
class Medicine:
    key: str
    text: str  #: product description as the list shows it: "Paracetamol 500 mg tablett"
    atc: str
    substance: str  #: Norwegian ATC name
    dosage: Dosage  #: the suggested dosage

    def concept(self) -> dict[str, Any]:
        """``medicationCodeableConcept``: ATC coded, with the product text."""
        return {
            "coding": [{"system": ATC, "code": self.atc, "display": self.substance}],
            "text": self.text,
        }


def _m(
    key: str,
    text: str,
    atc: str,
    substance: str,
    dose: str,
    unit: str,
    per_day: int | None = None,
    *,
    prn: bool = False,
    times: tuple[str, ...] = (),
    route: str = "oral",
    free_text: str = "",
) -> Medicine:
    dosage = (
        Dosage(route=route, free_text=free_text)
        if free_text
        else Dosage(Decimal(dose), unit, per_day or len(times), times, prn, None, route)
    )
    return Medicine(key, text, atc, substance, dosage)


MEDICINES: Final = tuple(
    [
        _m("paracetamol-500", "Paracetamol 500 mg tablett", "N02BE01", "Paracetamol",
           "2", "tablett", 4),
        _m("paracetamol-1g", "Paracetamol 1 g tablett", "N02BE01", "Paracetamol",
           "1", "tablett", 4),
        _m("ibuprofen-400", "Ibuprofen 400 mg tablett", "M01AE01", "Ibuprofen",
           "1", "tablett", 3, prn=True),
        _m("naproksen-250", "Naproksen 250 mg tablett", "M01AE02", "Naproksen",
           "1", "tablett", 2),
        _m("paracetamol-kodein", "Paracetamol/kodein 400 mg/30 mg tablett", "N02AJ06",
           "Kodein og paracetamol", "1", "tablett", 4, prn=True),
        _m("tramadol-50", "Tramadol 50 mg kapsel", "N02AX02", "Tramadol",
           "1", "kapsel", 4, prn=True),
        _m("oksykodon-5", "Oksykodon 5 mg kapsel", "N02AA05", "Oksykodon",
           "1", "kapsel", 4, prn=True),
        _m("morfin-10", "Morfin 10 mg tablett", "N02AA01", "Morfin", "1", "tablett", 4, prn=True),
        _m("metoklopramid-10", "Metoklopramid 10 mg tablett", "A03FA01", "Metoklopramid",
           "1", "tablett", 3, prn=True),
        _m("ondansetron-4", "Ondansetron 4 mg tablett", "A04AA01", "Ondansetron",
           "1", "tablett", 2, prn=True),
        _m("laktulose", "Laktulose 670 mg/ml mikstur", "A06AD11", "Laktulose", "15", "ml", 1),
        _m("makrogol", "Makrogol med elektrolytter pulver til mikstur, dosepose", "A06AD65",
           "Makrogol, kombinasjoner", "1", "pose", 1),
        _m("omeprazol-20", "Omeprazol 20 mg enterokapsel", "A02BC01", "Omeprazol",
           "1", "kapsel", 1),
        _m("pantoprazol-40", "Pantoprazol 40 mg enterotablett", "A02BC02", "Pantoprazol",
           "1", "tablett", 1),
        _m("metformin-500", "Metformin 500 mg tablett", "A10BA02", "Metformin",
           "1", "tablett", 2),
        _m("levotyroksin-50", "Levotyroksin 50 mikrog tablett", "H03AA01",
           "Levotyroksinnatrium", "1", "tablett", times=("07:00",)),
        _m("prednisolon-5", "Prednisolon 5 mg tablett", "H02AB06", "Prednisolon",
           "1", "tablett", 1),
        _m("asa-75", "Acetylsalisylsyre 75 mg enterotablett", "B01AC06", "Acetylsalisylsyre",
           "1", "tablett", 1),
        _m("apiksaban-5", "Apiksaban 5 mg tablett", "B01AF02", "Apiksaban", "1", "tablett", 2),
        _m("rivaroksaban-20", "Rivaroksaban 20 mg tablett", "B01AF01", "Rivaroksaban",
           "1", "tablett", 1),
        _m("warfarin-2.5", "Warfarin 2,5 mg tablett", "B01AA03", "Warfarin", "", "",
           free_text="Etter INR-skjema"),
        _m("dalteparin-5000", "Dalteparin 5000 IE injeksjonsvæske, ferdigfylt sprøyte",
           "B01AB04", "Dalteparin", "5000", "IE", 1, route="subcutaneous"),
        _m("furosemid-40", "Furosemid 40 mg tablett", "C03CA01", "Furosemid",
           "1", "tablett", 1),
        _m("metoprolol-50", "Metoprolol 50 mg depottablett", "C07AB02", "Metoprolol",
           "1", "tablett", 1),
        _m("amlodipin-5", "Amlodipin 5 mg tablett", "C08CA01", "Amlodipin", "1", "tablett", 1),
        _m("ramipril-5", "Ramipril 5 mg tablett", "C09AA05", "Ramipril", "1", "tablett", 1),
        _m("losartan-50", "Losartan 50 mg tablett", "C09CA01", "Losartan", "1", "tablett", 1),
        _m("atorvastatin-20", "Atorvastatin 20 mg tablett", "C10AA05", "Atorvastatin",
           "1", "tablett", 1),
        _m("simvastatin-20", "Simvastatin 20 mg tablett", "C10AA01", "Simvastatin",
           "1", "tablett", 1),
        _m("fenoksymetylpenicillin-660", "Fenoksymetylpenicillin 660 mg tablett", "J01CE02",
           "Fenoksymetylpenicillin", "1", "tablett", 4),
        _m("amoksicillin-500", "Amoksicillin 500 mg kapsel", "J01CA04", "Amoksicillin",
           "1", "kapsel", 3),
        _m("pivmecillinam-200", "Pivmecillinam 200 mg tablett", "J01CA08", "Pivmecillinam",
           "1", "tablett", 3),
        _m("salbutamol", "Salbutamol 0,1 mg/dose inhalasjonsaerosol", "R03AC02", "Salbutamol",
           "2", "dose", 4, prn=True, route="inhalation"),
        _m("cetirizin-10", "Cetirizin 10 mg tablett", "R06AE07", "Cetirizin", "1", "tablett", 1),
        _m("escitalopram-10", "Escitalopram 10 mg tablett", "N06AB10", "Escitalopram",
           "1", "tablett", 1),
        _m("sertralin-50", "Sertralin 50 mg tablett", "N06AB06", "Sertralin",
           "1", "tablett", 1),
        _m("zopiklon-5", "Zopiklon 5 mg tablett", "N05CF01", "Zopiklon",
           "1", "tablett", times=("22:00",), prn=True),
        _m("oksazepam-10", "Oksazepam 10 mg tablett", "N05BA04", "Oksazepam",
           "1", "tablett", 3, prn=True),
        _m("melatonin-2", "Melatonin 2 mg depottablett", "N05CH01", "Melatonin",
           "1", "tablett", times=("22:00",)),
    ]
)  # fmt: skip

BY_KEY: Final = {m.key: m for m in MEDICINES}


def _norm(text: str) -> str:
    return " ".join(text.split()).casefold()


_BY_TEXT: Final = {_norm(m.text): m for m in MEDICINES}


def find(text: str) -> Medicine | None:
    """The listed medicine whose text is ``text`` (case and spacing aside), else None."""
    return _BY_TEXT.get(_norm(text))


def matching(query: str) -> list[Medicine]:
    """The listed medicines whose text contains every word of ``query``."""
    words = _norm(query).split()
    return [m for m in MEDICINES if all(w in _norm(m.text) for w in words)]
