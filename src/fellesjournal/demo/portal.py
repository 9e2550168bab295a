"""The patient portal's demo citizens: a hand-made family and circle with fixed numbers.

The demo sign-in page (``/auth/idporten/authorize`` of the built-in issuer) lists
:data:`DEMO_CITIZENS`, and the browser tests sign in as them. Their records are written
by :func:`fellesjournal.demo.portal_seed.seed_portal` (``fellesjournal demo seed``):

* Kari Lunde (45) has the full record: problems, medicines, an allergy and critical
  information, vaccinations, stays at St. Olavs and in the municipality, documents in
  every release case, results in every HelsaMi category, appointments, referrals and a
  message thread. She is the parent of Emma (8) and Jonas (14) and has full fullmakt
  from her mother Ingrid.
* Ingrid Bakken (84) receives home care and has given fullmakt at each level: Kari
  ``full``, her son Per ``standard``, the neighbour Ola ``read-only`` and Nina
  ``communicate``.
* Per has a small record of his own; Ola and Nina have none (a proxy without a record).
* Lars Moen (17) signs in by himself; Jonas (14) is listed to show that sign-in is
  refused under 16. Emma (8) is not listed: only her parent acts for her.

Every number is a Skatteetaten Tenor *test* number (month + 80): the demo and the tests
accept them (``FELLESJOURNAL_ALLOW_TEST_IDENTITIES=true``), production refuses them.
Birth date and sex read from each number match the record. This module has no heavy
imports: the sign-in page imports it.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from fellesjournal.norway.identifiers import birth_date


@dataclass(frozen=True)
class DemoCitizen:
    """A demo citizen: ``note`` is the one Norwegian line shown on the demo sign-in page.

    ``patient`` is the id of their own Patient, or ``None`` for someone with no record
    of their own (who signs in only to act for others).
    """

    fnr: str
    name: str
    note: str
    patient: str | None = None

    @property
    def birth_date(self) -> datetime.date:
        """The birth date read from the number."""
        born = birth_date(self.fnr)
        assert born is not None, self.fnr  # every demo number is valid (tested)
        return born

    @property
    def given(self) -> str:
        return self.name.rsplit(" ", 1)[0]

    @property
    def family(self) -> str:
        return self.name.rsplit(" ", 1)[1]


KARI = DemoCitizen(
    "14858195293",
    "Kari Lunde",
    "Voksen (45) med journal, prøvesvar, timer og meldinger; mor til Emma (8) og Jonas (14); "
    "full fullmakt fra Ingrid",
    "portal-kari",
)
INGRID = DemoCitizen(
    "03824241448",
    "Ingrid Bakken",
    "Eldre (84) med hjemmesykepleie og legemidler; har gitt fullmakt til Kari, Per, Ola og Nina",
    "portal-ingrid",
)
PER = DemoCitizen(
    "02907607316",
    "Per Bakken",
    "Sønn av Ingrid med standard fullmakt fra henne; lite i egen journal",
    "portal-per",
)
OLA = DemoCitizen(
    "18875535575",
    "Ola Haugen",
    "Nabo til Ingrid med lesetilgang (fullmakt); ingen egen journal",
)
NINA = DemoCitizen(
    "11929040009",
    "Nina Strand",
    "Har fullmakt «bare kommunisere» (timer og meldinger) fra Ingrid; ingen egen journal",
)
LARS = DemoCitizen(
    "27840951745",
    "Lars Moen",
    "Ungdom (17) som logger inn selv",
    "portal-lars",
)
JONAS = DemoCitizen(
    "21881267192",
    "Jonas Lunde",
    "Barn (14): innlogging avvises under 16 år; mor Kari ser timer og meldinger",
    "portal-jonas",
)
EMMA = DemoCitizen(
    "09831881434",
    "Emma Lunde",
    "Barn (8): mor Kari ser journalen hennes",
    "portal-emma",
)

#: The citizens on the demo sign-in page, in the order shown.
DEMO_CITIZENS: tuple[DemoCitizen, ...] = (KARI, INGRID, PER, OLA, NINA, LARS, JONAS)

#: Everyone of the demo family and circle, Emma included (she cannot sign in).
ALL_CITIZENS: tuple[DemoCitizen, ...] = (*DEMO_CITIZENS, EMMA)
