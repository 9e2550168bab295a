"""What every portal page shares: settings, store, the token resolver, the audit sink,
and the step from a signed-in citizen's session to a guarded repository.

A page's data comes from :meth:`Portal.repository`: the citizen's actor (or the proxy's,
on behalf of the patient they represent), resolved as the FHIR API resolves a citizen's
token, so the portal has no side door to the record: what the access layer releases to
a patient actor is all a page can show (``docs/portal.md``).
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from fellesjournal.access import proxy
from fellesjournal.access.actor import Actor, actor_from_claims
from fellesjournal.access.resolve import ContextResolver
from fellesjournal.audit.sink import AuditSink
from fellesjournal.auth.tokens import invalid_token
from fellesjournal.fhir.errors import FhirError
from fellesjournal.portal.session import PortalUser, current_citizen, sign_out
from fellesjournal.service.context import RequestContext
from fellesjournal.service.repository import GuardedRepository
from fellesjournal.settings import Settings
from fellesjournal.store.sql import SqlStore
from fellesjournal.web.render import render
from fellesjournal.web.session import csrf_ok
from fellesjournal.web.workspace import Answered

__all__ = ["Answered", "Portal", "answers", "checked_form", "page"]

SCOPES: Final = ("patient/*.*",)
SIGNIN: Final = "/portal/signin"
CHOOSE: Final = "/portal/acting-for"


def page(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """A portal template rendered with the header's defaults: the signed-in ``citizen``
    and the ``capabilities`` of the chosen representation (both set by
    :meth:`Portal.repository` in ``request.state.page``; none on the sign-in pages)."""
    shared = getattr(request.state, "page", None) or {}
    defaults: dict[str, Any] = {"citizen": None, "capabilities": frozenset()}
    return render(request, template, status_code, **{**defaults, **shared, **context})


Handler = Callable[..., Awaitable[Response]]


def answers(handler: Handler) -> Handler:
    """A portal handler (a function of the request, or a method) that may raise
    :class:`Answered` anywhere, and whose repository's refusals become pages: bad input
    (400, 422), not allowed (403), not there or not theirs to see (404, 410: the same
    page, so nothing about another's record leaks), and a change that came too late
    (409, 412)."""

    @functools.wraps(handler)
    async def wrapper(*args: Any) -> Response:
        request: Request = args[-1]
        try:
            return await handler(*args)
        except Answered as exc:
            return exc.response
        except FhirError as exc:
            if exc.status in (400, 422):
                return page(request, "portal/bad_request.html", status_code=exc.status)
            if exc.status == 403:
                return page(request, "portal/forbidden.html", status_code=403, reason="access")
            if exc.status in (404, 410):
                return page(request, "portal/not_found.html", status_code=404)
            if exc.status in (409, 412):
                return page(request, "portal/conflict.html", status_code=409)
            raise

    return wrapper


async def checked_form(request: Request) -> Any:
    """The POSTed form, once its CSRF token is the session's; else the 403 page."""
    form = await request.form()
    if not csrf_ok(request, form.get("csrf")):
        raise Answered(page(request, "portal/forbidden.html", status_code=403, reason="csrf"))
    return form


@dataclass
class Portal:
    settings: Settings
    store: SqlStore
    resolver: ContextResolver
    sink: AuditSink

    @property
    def idle_seconds(self) -> float:
        return self.settings.web_idle_minutes * 60

    def citizen(self, request: Request, *, chosen: bool = True) -> PortalUser:
        """The signed-in citizen (who has chosen whom to act for, unless
        ``chosen=False``); raises :class:`Answered` redirecting to sign-in or the choice."""
        user = current_citizen(request, self.idle_seconds)
        if user is None:
            raise Answered(RedirectResponse(SIGNIN, status_code=303))
        if chosen and user.acting_for is None:
            raise Answered(RedirectResponse(CHOOSE, status_code=303))
        return user

    def claims(self, user: PortalUser, patient_id: str | None) -> dict[str, Any]:
        """The token claims a citizen's request carries, acting for ``patient_id``
        (their own record: no ``fj_on_behalf_of``)."""
        claims: dict[str, Any] = {"sub": user.fnr, "fhir_actor": "patient", "scope": SCOPES[0]}
        if patient_id is not None and patient_id != user.patient_id:
            claims[proxy.ON_BEHALF_CLAIM] = f"Patient/{patient_id}"
        return claims

    def resolve(self, user: PortalUser, patient_id: str | None) -> Actor:
        """The citizen's actor acting for ``patient_id``, checked against the stored
        data (raises the resolver's 401 :class:`FhirError` when it does not hold: no
        record holds the number, a fullmakt was revoked...)."""
        actor = self.resolver.resolve(actor_from_claims(self.claims(user, patient_id), SCOPES))
        citizen = actor.citizen
        if citizen is None or (patient_id is not None and citizen.patient_id != patient_id):
            # Never show one record under another's name.
            raise invalid_token("the citizen's context is not the patient chosen")
        return actor

    def actor(self, request: Request, user: PortalUser) -> Actor:
        """The actor of a page request; when it no longer holds the portal session ends."""
        try:
            return self.resolve(user, user.acting_for)
        except FhirError:
            sign_out(request)
            raise Answered(RedirectResponse(SIGNIN, status_code=303)) from None

    def guarded(self, actor: Actor) -> GuardedRepository:
        """A guarded repository acting as ``actor``; reads' events go to the sink."""
        return GuardedRepository(
            self.store, self.settings, RequestContext(actor=actor), sink=self.sink
        )

    def repository(self, request: Request) -> GuardedRepository:
        """The repository of one page request, acting for the patient chosen; sets the
        page header (the citizen, whom they act for, what they may do)."""
        user = self.citizen(request)
        actor = self.actor(request, user)
        request.state.page = {"citizen": user, "capabilities": proxy.capabilities(actor.citizen)}
        return self.guarded(actor)

    def patient_id(self, request: Request) -> str:
        """The patient the signed-in citizen acts for (call after :meth:`repository`)."""
        user = self.citizen(request)
        assert user.acting_for is not None
        return user.acting_for

    def page_repository(self, request: Request, capability: str) -> tuple[GuardedRepository, str]:
        """:meth:`repository` and :meth:`patient_id` of a page that needs ``capability``
        of the chosen representation (else the 403 page, as :meth:`require`)."""
        repo = self.repository(request)
        self.require(request, capability)
        return repo, self.patient_id(request)

    @staticmethod
    def require(request: Request, capability: str) -> None:
        """Raise :class:`Answered` (403 page) unless the chosen representation has
        ``capability`` (call after :meth:`repository`)."""
        shared = getattr(request.state, "page", None) or {}
        if capability not in shared.get("capabilities", ()):
            raise Answered(
                page(request, "portal/forbidden.html", status_code=403, reason="capability")
            )
