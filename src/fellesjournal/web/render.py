"""Templates to responses: one Jinja2 environment per language, and the page headers.

Every page carries a strict Content-Security-Policy (scripts, styles and images from the
application only; no inline script or style, no framing, forms post only to us) and
``Cache-Control: no-store`` (patient data must not stay in a shared browser's cache).
The language is the user's choice (kept in the session), else the browser's.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import jinja2
from starlette.requests import Request
from starlette.responses import HTMLResponse

from fellesjournal.access import roles
from fellesjournal.web import i18n
from fellesjournal.web.session import csrf_token

TEMPLATES = Path(__file__).parent / "templates"
#: The portal's templates (``portal/...`` names), in the same environments and catalogs.
PORTAL_TEMPLATES = Path(__file__).parent.parent / "portal" / "templates"

PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": PAGE_CSP,
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
}
LOCALE_KEY = "locale"


@functools.cache
def environment(locale: str) -> jinja2.Environment:
    """The template environment of ``locale`` (built once; templates are cached)."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader([TEMPLATES, PORTAL_TEMPLATES]),
        autoescape=True,
        extensions=["jinja2.ext.i18n"],
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    i18n.install(env, locale)
    env.filters["age"] = i18n.age
    env.globals["may_write"] = may_write
    return env


def may_write(work: Any, res_type: str) -> bool:
    """Does the work context's role write ``res_type`` (to show only actions it may do)?"""
    return work is not None and roles.allows(work.role, "write", res_type)


def locale_of(request: Request) -> str:
    chosen = request.session.get(LOCALE_KEY) if "session" in request.scope else None
    return i18n.negotiate(request.headers.get("accept-language"), chosen)


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    """``template`` rendered in the request's language, with the page headers."""
    locale = locale_of(request)
    page = environment(locale).get_template(template)
    shared = getattr(request.state, "page", None) or {}
    html = page.render(
        # What the page passes wins over the header's defaults (the context page passes
        # its user itself: ``page.render(**shared, user=...)`` would raise a TypeError).
        **{"user": None, "work": None, **shared, **context},
        request=request,
        locale=locale,
        locales=[(code, i18n.LOCALE_NAMES[code]) for code in i18n.LOCALES],
        csrf=csrf_token(request) if "session" in request.scope else "",
    )
    return HTMLResponse(html, status_code=status_code, headers=PAGE_HEADERS)
