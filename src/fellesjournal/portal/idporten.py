"""The built-in stand-in for ID-porten: the citizen's side of the authorization-code flow.

In the demo and the tests (only while ``settings.issuer_enabled``) the portal signs
citizens in here, in the shape of ID-porten's OpenID Connect code flow: the portal sends
the browser to :data:`AUTHORIZE_PATH` with ``state``, ``nonce``, an S256
``code_challenge`` and ``acr_values=idporten-loa-high``; the page lists the demo citizens
(``fellesjournal.demo.portal.DEMO_CITIZENS``) and takes any other fødselsnummer; it hands
back a short-lived ``code``, a JWT signed by the built-in issuer (so any worker process
can redeem it) carrying the number as ``sub`` and ``pid`` (ID-porten's claim) and
``acr``; the portal redeems it in process with the PKCE verifier it kept (:func:`redeem`).
Only the portal (client :data:`CLIENT_ID`, its own callback URL, PKCE S256) may use it.

Production signs in through ID-porten itself at level high (``docs/portal.md``): the same
steps over HTTP, as ``web/helseid.py`` takes them with HelseID, with the ``pid`` claim in
place of the HPR-nummer and ``acr`` ``idporten-loa-high`` required. That client is not
built yet; with the built-in issuer off, ``/portal/signin`` answers 503.
"""

from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from fellesjournal.access.resolve import NotResolved, person_system
from fellesjournal.portal.base import Portal, page
from fellesjournal.settings import Settings
from fellesjournal.web import oidc
from fellesjournal.web.oidc import SignInError, SignInRequest

CLIENT_ID: Final = "fellesjournal-portal"
CALLBACK_PATH: Final = "/portal/signin/callback"
AUTHORIZE_PATH: Final = "/auth/idporten/authorize"
#: ID-porten's level of assurance "high" (BankID, Buypass, Commfides): the portal asks
#: for it and refuses a sign-in at any other level.
ACR: Final = "idporten-loa-high"
_PARAMS: Final = ("client_id", "redirect_uri", "state", "nonce", "code_challenge")


@dataclass(frozen=True, slots=True)
class DemoCitizen:
    """A demo citizen on the sign-in page (the shape of ``demo.portal``'s entries)."""

    fnr: str
    name: str
    note: str


@dataclass(frozen=True, slots=True)
class Citizen:
    """Who signed in, as the issuer vouches: the number and (demo only) a name."""

    fnr: str
    name: str


def demo_citizens() -> list[DemoCitizen]:
    """The demo citizens to pick (none until ``fellesjournal.demo.portal`` exists)."""
    name = "fellesjournal.demo.portal"
    if importlib.util.find_spec(name) is None:
        return []
    found = importlib.import_module(name).DEMO_CITIZENS
    return [DemoCitizen(str(c.fnr), str(c.name), str(getattr(c, "note", ""))) for c in found]


def redirect_uri(settings: Settings) -> str:
    return settings.public_base_url + CALLBACK_PATH


def authorize_url(settings: Settings, req: SignInRequest) -> str:
    """Where the portal sends the browser to sign in."""
    return (
        AUTHORIZE_PATH
        + "?"
        + oidc.authorize_query(
            req,
            client_id=CLIENT_ID,
            redirect_uri=redirect_uri(settings),
            scope="openid profile",
            extra={"acr_values": ACR},
        )
    )


def issue_code(settings: Settings, *, fnr: str, name: str, nonce: str, challenge: str) -> str:
    """The issuer's code for a citizen who signed in (a signed, short-lived JWT)."""
    return oidc.sign_code(
        settings,
        client_id=CLIENT_ID,
        redirect_uri=redirect_uri(settings),
        sub=fnr,
        claims={"pid": fnr, "name": name, "acr": ACR},
        nonce=nonce,
        challenge=challenge,
    )


def redeem(settings: Settings, code: str, req: SignInRequest) -> Citizen:
    """Check ``code`` against the sign-in the session started; the citizen it proves.

    Raises :class:`SignInError` (one line) on anything wrong, a level below high too.
    """
    claims = oidc.decode_code(
        settings,
        code,
        client_id=CLIENT_ID,
        redirect_uri=redirect_uri(settings),
        meant_for="the portal",
        require=("acr",),
    )
    if claims.get("acr") != ACR:
        raise SignInError("the sign-in was not at level high")
    oidc.check_session(claims, req)
    fnr = str(claims.get("pid") or claims["sub"])
    return Citizen(fnr, str(claims.get("name") or ""))


class IssuerPage:
    """``/auth/idporten/authorize``: the demo citizens, or a fødselsnummer; no password."""

    def __init__(self, portal: Portal) -> None:
        self.portal = portal

    def _check(self, params: Any) -> dict[str, str] | None:
        """The request's parameters if they come from the portal, else None."""
        settings = self.portal.settings
        values = {name: str(params.get(name) or "") for name in _PARAMS}
        if (
            not settings.issuer_enabled
            or values["client_id"] != CLIENT_ID
            or values["redirect_uri"] != redirect_uri(settings)
            or str(params.get("code_challenge_method") or "") != "S256"
            or str(params.get("acr_values") or ACR) != ACR
            or not all(values.values())
        ):
            return None
        return values

    def _form(self, request: Request, values: dict[str, str], error: str = "") -> Response:
        return page(
            request,
            "portal/idporten_login.html",
            status_code=400 if error else 200,
            params=values,
            acr=ACR,
            citizens=demo_citizens(),
            error=error,
        )

    async def authorize(self, request: Request) -> Response:
        if request.method == "POST":
            return await self._signed_in(request)
        values = self._check(request.query_params)
        if values is None or request.query_params.get("response_type") != "code":
            return page(request, "portal/idporten_refused.html", status_code=400)
        return self._form(request, values)

    async def _signed_in(self, request: Request) -> Response:
        form = await request.form()
        values = self._check(form)
        if values is None:
            return page(request, "portal/idporten_refused.html", status_code=400)
        fnr = str(form.get("fnr") or "").replace(" ", "").strip()
        try:
            person_system(fnr, allow_test_identities=self.portal.settings.allow_test_identities)
        except NotResolved:
            return self._form(request, values, "invalid-fnr")
        names = {c.fnr: c.name for c in demo_citizens()}
        code = issue_code(
            self.portal.settings,
            fnr=fnr,
            name=names.get(fnr, ""),
            nonce=values["nonce"],
            challenge=values["code_challenge"],
        )
        back = values["redirect_uri"] + "?" + urlencode({"code": code, "state": values["state"]})
        return RedirectResponse(back, status_code=303)


def routes(portal: Portal) -> list[BaseRoute]:
    issuer = IssuerPage(portal)
    return [Route(AUTHORIZE_PATH, issuer.authorize, methods=["GET", "POST"])]
