"""``/portal/proxies``: fullmakt I have given and fullmakt I hold; give and revoke.

A fullmakt is a RelatedPerson of my record (docs/portal.md, "Representation"), given by
the citizen themselves (the ``proxies`` capability: never a proxy) to someone 18 or older
at one of four levels, each explained on the form; revoking it is an update to
``active: false`` with ``period.end``, after a confirmation. The access layer checks the
same rules on write (``access/citizen_writes.py``) and the representation on every
request of the proxy, so a revoked fullmakt stops their next request.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from fellesjournal.access.proxy import FULLMAKT_LEVELS, PROXY_MIN_AGE, PROXY_SYSTEM
from fellesjournal.access.resolve import NotResolved, person_system
from fellesjournal.fhir.errors import FhirError
from fellesjournal.norway.identifiers import birth_date
from fellesjournal.portal.base import Portal, answers, checked_form, page
from fellesjournal.portal.reading import Resource, code, load, read_chart, sort_key
from fellesjournal.portal.session import PortalUser
from fellesjournal.web import i18n

#: The fullmakt levels a citizen gives, widest first (docs/portal.md).
LEVELS: Final = tuple(FULLMAKT_LEVELS)
MAX_NAME: Final = 200


@dataclass(frozen=True)
class Given:
    id: str
    name: str
    level: str
    start: str
    end: str
    active: bool


@dataclass(frozen=True)
class Held:
    patient_id: str
    name: str
    relation: str
    level: str


def _now() -> str:
    return datetime.datetime.now(i18n.OSLO).isoformat(timespec="seconds")


def _given(related: Resource) -> Given | None:
    level = next(
        (code(r, PROXY_SYSTEM) for r in related.get("relationship") or () if code(r, PROXY_SYSTEM)),
        "",
    )
    if level not in LEVELS:
        return None  # a parent's representation: from the register, not given here
    period = related.get("period") or {}
    end = str(period.get("end") or "")
    ended = bool(end) and sort_key(end) <= sort_key(_now())
    names = [str(n.get("text") or "") for n in related.get("name") or () if isinstance(n, dict)]
    return Given(
        id=str(related.get("id") or ""),
        name=next((n for n in names if n), ""),
        level=level,
        start=str(period.get("start") or ""),
        end=end,
        active=related.get("active") is not False and not ended,
    )


def held(portal: Portal, user: PortalUser) -> list[Held]:
    """Everyone the signed-in person may act for now (their own record left out)."""
    return [
        Held(r.patient_id, r.name, r.relation, r.level)
        for r in portal.resolver.representations(user.fnr)
        if r.patient_id != user.patient_id
    ]


def fullmakt(patient_id: str, fnr: str, system: str, name: str, level: str) -> dict[str, Any]:
    """A fullmakt at ``level`` for the holder of ``fnr``, from now on."""
    return {
        "resourceType": "RelatedPerson",
        "patient": {"reference": f"Patient/{patient_id}"},
        "active": True,
        "identifier": [{"system": system, "value": fnr}],
        "name": [{"text": name}],
        "relationship": [{"coding": [{"system": PROXY_SYSTEM, "code": level}]}],
        "period": {"start": _now()},
    }


def check_grant(
    user: PortalUser, fnr: str, name: str, level: str, allow_test: bool
) -> dict[str, str]:
    """What is wrong with a grant (field -> error code); empty when it may be sent."""
    errors: dict[str, str] = {}
    try:
        person_system(fnr, allow_test_identities=allow_test)
    except NotResolved:
        errors["fnr"] = "invalid"
    else:
        born = birth_date(fnr)
        today = datetime.datetime.now(i18n.OSLO).date()
        try:
            age = i18n.age(born, today) if born else None
        except ValueError:
            age = None
        if fnr == user.fnr:
            errors["fnr"] = "self"
        elif age is None or age < PROXY_MIN_AGE:
            errors["fnr"] = "too-young"
    if not name or len(name) > MAX_NAME:
        errors["name"] = "missing"
    if level not in LEVELS:
        errors["level"] = "missing"
    return errors


def routes(portal: Portal) -> list[BaseRoute]:
    @answers
    async def overview(request: Request) -> Response:
        repo, patient_id = portal.page_repository(request, "proxies")
        _patient, found = read_chart(
            repo, patient_id, ("RelatedPerson",), f"portal/proxies/{patient_id}"
        )
        given = [g for r in found["RelatedPerson"] if (g := _given(r)) is not None]
        given.sort(key=lambda g: (not g.active, g.name))
        user = portal.citizen(request)
        return page(
            request, "portal/proxies.html", given=given, held=held(portal, user), levels=LEVELS
        )

    @answers
    async def new(request: Request) -> Response:
        repo = portal.repository(request)
        portal.require(request, "proxies")
        values = {"fnr": "", "name": "", "level": ""}
        if request.method == "GET":
            return page(request, "portal/proxy_new.html", levels=LEVELS, values=values, errors={})
        form = await checked_form(request)
        values = {
            "fnr": str(form.get("fnr") or "").replace(" ", "").strip(),
            "name": " ".join(str(form.get("name") or "").split()),
            "level": str(form.get("level") or ""),
        }
        user = portal.citizen(request)
        errors = check_grant(
            user,
            values["fnr"],
            values["name"],
            values["level"],
            portal.settings.allow_test_identities,
        )
        if not errors:
            system = person_system(
                values["fnr"], allow_test_identities=portal.settings.allow_test_identities
            )
            resource = fullmakt(
                portal.patient_id(request), values["fnr"], system, values["name"], values["level"]
            )
            try:
                repo.create("RelatedPerson", resource)
            except FhirError as exc:
                if exc.status not in (400, 422):
                    raise
                errors = {"form": "refused"}
            else:
                return RedirectResponse("/portal/proxies?given=1", status_code=303)
        return page(
            request,
            "portal/proxy_new.html",
            status_code=400,
            levels=LEVELS,
            values=values,
            errors=errors,
        )

    @answers
    async def revoke(request: Request) -> Response:
        repo = portal.repository(request)
        portal.require(request, "proxies")
        related_id = str(request.path_params["related_id"])
        stored = repo.read("RelatedPerson", related_id)
        grant = _given(load(stored))
        if grant is None or not grant.active:
            return page(request, "portal/not_found.html", status_code=404)
        if request.method == "GET":
            return page(request, "portal/proxy_revoke.html", grant=grant)
        await checked_form(request)
        resource = load(stored)
        resource["active"] = False
        resource["period"] = {**(resource.get("period") or {}), "end": _now()}
        repo.update("RelatedPerson", related_id, resource, if_match=stored.version)
        return RedirectResponse("/portal/proxies?revoked=1", status_code=303)

    return [
        Route("/portal/proxies", overview),
        Route("/portal/proxies/new", new, methods=["GET", "POST"]),
        Route("/portal/proxies/{related_id}/revoke", revoke, methods=["GET", "POST"]),
    ]
