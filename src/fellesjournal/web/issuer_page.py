"""The built-in issuer's sign-in page (``/auth/authorize``): stands in for HelseID.

It lists the demo health workers (``demo_users.py``) with their role and unit, and takes
any other HPR-nummer of the staff directory. There is no password: the built-in issuer
exists for the demo and the tests, and only while ``FELLESJOURNAL_ISSUER_ENABLED``.
Only the workspace (client ``fellesjournal-workspace``, its own callback URL, PKCE S256)
may use it.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from fellesjournal.web import oidc
from fellesjournal.web.demo_users import demo_users
from fellesjournal.web.render import render
from fellesjournal.web.workspace import Workspace

_PARAMS = ("client_id", "redirect_uri", "state", "nonce", "code_challenge")


class IssuerPage:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def _check(self, params: Any) -> dict[str, str] | None:
        """The request's parameters if they come from the workspace, else None."""
        values = {name: str(params.get(name) or "") for name in _PARAMS}
        if (
            not self.ws.settings.issuer_enabled
            or values["client_id"] != oidc.CLIENT_ID
            or values["redirect_uri"] != oidc.redirect_uri(self.ws.settings)
            or str(params.get("code_challenge_method") or "") != "S256"
            or not all(values.values())
        ):
            return None
        return values

    async def authorize(self, request: Request) -> Response:
        if request.method == "POST":
            return await self._signed_in(request)
        values = self._check(request.query_params)
        if values is None or request.query_params.get("response_type") != "code":
            return render(request, "issuer_refused.html", status_code=400)
        return render(request, "issuer_login.html", params=values, users=demo_users(), error="")

    async def _signed_in(self, request: Request) -> Response:
        form = await request.form()
        values = self._check(form)
        if values is None:
            return render(request, "issuer_refused.html", status_code=400)
        hpr = str(form.get("hpr") or "").strip()
        found = self.ws.directory.practitioner_by_hpr(hpr) if hpr.isdigit() else None
        if found is None:
            return render(
                request,
                "issuer_login.html",
                status_code=400,
                params=values,
                users=demo_users(),
                error="unknown-hpr",
            )
        practitioner_id, _name = found
        code = oidc.issue_code(
            self.ws.settings,
            hpr=hpr,
            practitioner_id=practitioner_id,
            nonce=values["nonce"],
            challenge=values["code_challenge"],
        )
        back = values["redirect_uri"] + "?" + urlencode({"code": code, "state": values["state"]})
        return RedirectResponse(back, status_code=303)
