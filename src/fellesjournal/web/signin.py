"""Signing in to the workspace, choosing a work context, signing out, the language.

``/signin`` starts the code flow at the issuer: HelseID (or any OpenID Connect issuer)
when ``settings.oidc_issuer`` names one (``helseid.py``), else the built-in issuer
(``oidc.py``), else it answers 503; ``/signin/callback`` checks what comes back against
the session, finds the health worker in the staff directory by HPR-nummer and starts the
session; ``/context`` lists the
health worker's work contexts (organisation, unit, role) and switches between them
without signing out, each choice audited as a sign-in in that context; ``/signout``
ends the session. All changes are POSTs with the session's CSRF token.
"""

from __future__ import annotations

import logging

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from fellesjournal.audit.events import login_event
from fellesjournal.web import helseid, i18n, oidc
from fellesjournal.web.render import LOCALE_KEY, render
from fellesjournal.web.session import (
    WebUser,
    csrf_ok,
    remember,
    set_user,
    sign_in,
    sign_out,
    take,
)
from fellesjournal.web.workspace import Workspace, answers

_PENDING = "signin"
_log = logging.getLogger(__name__)


class SignIn:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        settings = ws.settings
        self.external = helseid.ExternalIssuer(settings) if settings.oidc_issuer else None

    async def start(self, request: Request) -> Response:
        if self.external is None and not self.ws.settings.issuer_enabled:
            return render(request, "signin_unavailable.html", status_code=503)
        req = oidc.SignInRequest.new()
        if self.external is None:
            where = oidc.authorize_url(self.ws.settings, req)
        else:
            try:
                where = await self.external.authorize_url(req)
            except oidc.SignInError as exc:
                _log.warning("sign-in at %s could not start: %s", self.external.issuer, exc)
                return render(request, "signin_failed.html", status_code=502, reason="provider")
        remember(request, _PENDING, [req.state, req.nonce, req.verifier])
        return RedirectResponse(where, status_code=303)

    async def callback(self, request: Request) -> Response:
        pending = take(request, _PENDING)
        state = request.query_params.get("state", "")
        code = request.query_params.get("code", "")
        if not (isinstance(pending, list) and len(pending) == 3 and pending[0] == state):
            return render(request, "signin_failed.html", status_code=400, reason="state")
        req = oidc.SignInRequest(*pending)
        if self.external is not None:
            return await self._external_callback(request, code, req)
        try:
            who = oidc.redeem(self.ws.settings, code, req)
        except oidc.SignInError:
            return render(request, "signin_failed.html", status_code=400, reason="code")
        return self._signed_in(request, who)

    async def _external_callback(
        self, request: Request, code: str, req: oidc.SignInRequest
    ) -> Response:
        assert self.external is not None
        issuer, query = self.external.issuer, request.query_params
        if "error" in query or not code:
            _log.warning("sign-in at %s: %s", issuer, query.get("error", "no code"))
            return render(request, "signin_failed.html", status_code=400, reason="code")
        try:
            hpr = await self.external.redeem(code, req, iss=query.get("iss"))
        except oidc.SignInError as exc:
            _log.warning("sign-in at %s failed: %s", issuer, exc)
            if isinstance(exc, helseid.Refused):
                return render(request, "signin_refused.html", status_code=403, reason=exc.reason)
            if isinstance(exc, helseid.ProviderError):
                return render(request, "signin_failed.html", status_code=502, reason="provider")
            return render(request, "signin_failed.html", status_code=400, reason="code")
        found = self.ws.directory.practitioner_by_hpr(hpr)
        if found is None:
            _log.warning("sign-in at %s refused: HPR-nummer %s not in the directory", issuer, hpr)
            return render(request, "signin_refused.html", status_code=403, reason="unknown-hpr")
        return self._signed_in(request, oidc.Identity(hpr, found[0]))

    def _signed_in(self, request: Request, who: oidc.Identity) -> Response:
        """Start the session of ``who``, keeping the language chosen before signing in."""
        locale = request.session.get(LOCALE_KEY)
        name = self.ws.directory.name_of(who.practitioner_id)
        sign_in(request, WebUser(who.hpr, who.practitioner_id, name))
        if locale:
            request.session[LOCALE_KEY] = locale
        return RedirectResponse("/context", status_code=303)

    @answers
    async def context(self, request: Request) -> Response:
        user = self.ws.user(request, context=False)
        choices = self.ws.directory.roles_of(user.hpr, user.practitioner_id)
        if request.method == "POST":
            form = await request.form()
            if not csrf_ok(request, form.get("csrf")):
                return render(request, "forbidden.html", status_code=403)
            chosen = str(form.get("role_id") or "")
            if chosen not in {c.role_id for c in choices}:
                return render(request, "forbidden.html", status_code=403)
            return self._choose(request, user, chosen)
        if user.role_id is None and len(choices) == 1:
            return self._choose(request, user, choices[0].role_id)
        return render(request, "context.html", user=user, choices=choices)

    def _choose(self, request: Request, user: WebUser, role_id: str) -> Response:
        chosen = WebUser(user.hpr, user.practitioner_id, user.name, role_id)
        actor = self.ws.actor(request, chosen)
        set_user(request, chosen)
        repo = self.ws.repository(request, chosen)
        with repo.writing() as tx:
            repo.audit_append(tx, [login_event(actor)])
        return RedirectResponse("/", status_code=303)

    async def signout(self, request: Request) -> Response:
        form = await request.form()
        if not csrf_ok(request, form.get("csrf")):
            return render(request, "forbidden.html", status_code=403)
        sign_out(request)
        return render(request, "signed_out.html")

    async def language(self, request: Request) -> Response:
        form = await request.form()
        if not csrf_ok(request, form.get("csrf")):
            return render(request, "forbidden.html", status_code=403)
        chosen = str(form.get("locale") or "")
        if chosen in i18n.LOCALES:
            request.session[LOCALE_KEY] = chosen
        back = str(form.get("back") or "/")
        return RedirectResponse(back if back.startswith("/") and "//" not in back else "/", 303)
