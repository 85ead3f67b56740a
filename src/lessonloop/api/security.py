"""Security headers on every response, and the API docs page with a CSP of its own.

Every response gets, unless the handler set them already:

* ``X-Content-Type-Options: nosniff`` — a JSON body is never sniffed into HTML or script;
* ``X-Frame-Options: DENY`` — nothing is framed (clickjacking);
* ``Referrer-Policy: no-referrer`` — URLs (ids, search words) do not leak to other sites.

Responses under ``/api/`` (and ``/healthz``) also get ``Content-Security-Policy: default-src
'none'; frame-ancestors 'none'; …`` — a JSON answer loads nothing, so nothing is allowed, and an
answer opened in a browser can run nothing — and ``Cache-Control: no-store``, so private data is
not kept by shared caches. The web pages set their own CSP (``lessonloop.web``); this middleware
never overrides a header that is already there.

The interactive docs (``/api/v1/docs``) are an HTML page that loads Swagger UI from its CDN; its
CSP allows exactly that script, its one inline script by hash, and requests to this origin.
"""

from __future__ import annotations

import base64
import hashlib
import re

from fastapi import FastAPI
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

BASE_HEADERS: dict[str, str] = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}
API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
SWAGGER_CDN = "https://cdn.jsdelivr.net"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.S)


class SecurityHeaders:
    """Pure ASGI middleware (streams pass through untouched)."""

    def __init__(self, app: ASGIApp, *, api_prefix: str) -> None:
        self.app = app
        self.api_prefix = api_prefix.rstrip("/") + "/"

    def _is_api(self, path: str) -> bool:
        return path.startswith(self.api_prefix) or path in {self.api_prefix.rstrip("/"), "/healthz"}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = self._is_api(scope.get("path", ""))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in BASE_HEADERS.items():
                    headers.setdefault(name, value)
                if api:
                    headers.setdefault("Content-Security-Policy", API_CSP)
                    headers.setdefault("Cache-Control", "no-store")
            await send(message)

        await self.app(scope, receive, send_with_headers)


def docs_csp(html: str) -> str:
    """The CSP for a Swagger UI page: its CDN, its inline scripts by hash, this origin."""
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in _INLINE_SCRIPT.findall(html)
    )
    return (
        f"default-src 'none'; script-src {SWAGGER_CDN} {hashes}; "
        f"style-src {SWAGGER_CDN} 'unsafe-inline'; img-src 'self' data: https://fastapi.tiangolo.com; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


def install_security(app: FastAPI, *, api_prefix: str, docs_url: str) -> None:
    """Add the headers middleware and the docs page (create the app with ``docs_url=None``)."""
    app.add_middleware(SecurityHeaders, api_prefix=api_prefix)

    @app.get(docs_url, include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        page = get_swagger_ui_html(
            openapi_url=str(app.openapi_url),
            title=f"{app.title} - Swagger UI",
            oauth2_redirect_url=None,
            swagger_ui_parameters={"persistAuthorization": False},
        )
        html = bytes(page.body).decode()
        return HTMLResponse(html, headers={"Content-Security-Policy": docs_csp(html)})
