"""Signing in to the portal, choosing whose record, signing out, the language.

``/portal/signin`` starts the code flow at the built-in ID-porten stand-in
(``idporten.py``; 503 when it is off: the production ID-porten client is not built);
``/portal/signin/callback`` checks what comes back against the session, refuses anyone
under 16 (age from the fødselsnummer) and starts the portal session;
``/portal/acting-for`` lists whom the citizen may act for (themselves, when a Patient
holds their number, and everyone they represent: ``access/proxy.py``), choosing
straight away when there is only one, and each choice is audited as a sign-in in that
record; ``/portal/signout`` ends the portal session. All changes are POSTs with the
session's CSRF token.
"""

from __future__ import annotations

import datetime
import logging
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from fellesjournal.access.actor import Actor
from fellesjournal.audit.events import login_event
from fellesjournal.fhir import jsonio
from fellesjournal.fhir.errors import FhirError
from fellesjournal.norway.identifiers import birth_date
from fellesjournal.portal import idporten
from fellesjournal.portal.base import Portal, answers, checked_form, page
from fellesjournal.portal.session import PortalUser, set_citizen, sign_in, sign_out
from fellesjournal.web import i18n
from fellesjournal.web.directory import person_name
from fellesjournal.web.oidc import SignInError, SignInRequest
from fellesjournal.web.render import LOCALE_KEY
from fellesjournal.web.session import remember, take

#: Citizens sign in by themselves from this age (pasient- og brukerrettighetsloven § 3-1:
#: from 16 the patient exercises their own rights).
MIN_AGE = 16
_PENDING = "portal_signin"
_log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Choice:
    """Whose record the citizen may act in: their own (``relation`` ``self``) or a
    represented patient's (``parent`` or a fullmakt level)."""

    patient_id: str
    name: str
    relation: str
    level: str


def old_enough(fnr: str, today: datetime.date | None = None) -> bool:
    """Is the holder of ``fnr`` :data:`MIN_AGE` or older (``today``: in Oslo)?"""
    born = birth_date(fnr)
    try:
        age = i18n.age(born, today) if born is not None else None
    except ValueError:  # born after today: not a number of anyone living
        return False
    return age is not None and age >= MIN_AGE


class SignIn:
    def __init__(self, portal: Portal) -> None:
        self.portal = portal

    async def start(self, request: Request) -> Response:
        if not self.portal.settings.issuer_enabled:
            return page(request, "portal/signin_unavailable.html", status_code=503)
        req = SignInRequest.new()
        remember(request, _PENDING, [req.state, req.nonce, req.verifier])
        return RedirectResponse(idporten.authorize_url(self.portal.settings, req), 303)

    async def callback(self, request: Request) -> Response:
        pending = take(request, _PENDING)
        state = request.query_params.get("state", "")
        code = request.query_params.get("code", "")
        if not (isinstance(pending, list) and len(pending) == 3 and pending[0] == state):
            return page(request, "portal/signin_failed.html", status_code=400, reason="state")
        try:
            who = idporten.redeem(self.portal.settings, code, SignInRequest(*pending))
        except SignInError as exc:
            _log.info("portal sign-in refused: %s", exc)
            return page(request, "portal/signin_failed.html", status_code=400, reason="code")
        if not old_enough(who.fnr):
            return page(request, "portal/signin_refused.html", status_code=403, min_age=MIN_AGE)
        user = PortalUser(who.fnr, who.name)
        own = self._own(user)
        if own is not None:
            user = PortalUser(who.fnr, who.name or own[1], own[0])
        locale = request.session.get(LOCALE_KEY)
        sign_in(request, user)
        if locale:
            request.session[LOCALE_KEY] = locale
        return RedirectResponse("/portal/acting-for", status_code=303)

    def _own(self, user: PortalUser) -> tuple[str, str] | None:
        """(id, name) of the citizen's own Patient, or None when no record holds the
        number (a parent or a fullmakt holder who has never been a patient here)."""
        try:
            actor = self.portal.resolve(user, None)
        except FhirError:
            return None
        assert actor.citizen is not None
        patient_id = actor.citizen.patient_id
        stored = self.portal.guarded(actor).read("Patient", patient_id, audit=False)
        return patient_id, person_name(jsonio.loads(stored.content or "{}"))

    def choices(self, user: PortalUser) -> list[Choice]:
        """Whose records ``user`` may act in now: their own first, then by name."""
        out = []
        if user.patient_id is not None:
            out.append(Choice(user.patient_id, user.name, "self", "self"))
        for rep in self.portal.resolver.representations(user.fnr):
            if rep.patient_id != user.patient_id:
                out.append(Choice(rep.patient_id, rep.name, rep.relation, rep.level))
        return out

    @answers
    async def acting_for(self, request: Request) -> Response:
        user = self.portal.citizen(request, chosen=False)
        choices = self.choices(user)
        if request.method == "POST":
            form = await checked_form(request)
            chosen = str(form.get("patient_id") or "")
            found = [c for c in choices if c.patient_id == chosen]
            if not found:
                return page(request, "portal/forbidden.html", status_code=403, reason="access")
            return self._choose(request, user, found[0])
        if user.acting_for is None and len(choices) == 1:
            return self._choose(request, user, choices[0])
        if not choices:
            sign_out(request)
            return page(request, "portal/no_record.html", status_code=403)
        return page(request, "portal/acting_for.html", citizen=user, choices=choices)

    def _choose(self, request: Request, user: PortalUser, choice: Choice) -> Response:
        chosen = user.acting(choice.patient_id, choice.name)
        actor: Actor = self.portal.actor(request, chosen)
        set_citizen(request, chosen)
        repo = self.portal.guarded(actor)
        with repo.writing() as tx:
            repo.audit_append(tx, [login_event(actor)])
        return RedirectResponse("/portal", status_code=303)

    @answers
    async def signout(self, request: Request) -> Response:
        await checked_form(request)
        sign_out(request)
        return page(request, "portal/signed_out.html")

    @answers
    async def language(self, request: Request) -> Response:
        form = await checked_form(request)
        chosen = str(form.get("locale") or "")
        if chosen in i18n.LOCALES:
            request.session[LOCALE_KEY] = chosen
        back = str(form.get("back") or "/portal")
        safe = back.startswith("/portal") and "//" not in back
        return RedirectResponse(back if safe else "/portal", status_code=303)


def routes(portal: Portal) -> list[BaseRoute]:
    signin = SignIn(portal)
    return [
        Route("/portal/signin", signin.start),
        Route("/portal/signin/callback", signin.callback),
        Route("/portal/acting-for", signin.acting_for, methods=["GET", "POST"]),
        Route("/portal/signout", signin.signout, methods=["POST"]),
        Route("/portal/language", signin.language, methods=["POST"]),
    ]
