"""The headers every answer carries so that browsers and proxies treat it safely."""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.middleware import PROTECTED_PREFIXES

NOSNIFF = (b"x-content-type-options", b"nosniff")
NO_STORE = b"no-store"


class SecurityHeaders:
    """Adds `X-Content-Type-Options: nosniff` to every answer, and `Cache-Control: no-store` to every answer
    under the authenticated paths (pay and the gift register must never sit in a browser's or a proxy's cache),
    problems included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        protected = scope["path"].startswith(PROTECTED_PREFIXES)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != NOSNIFF[0]]
                headers.append(NOSNIFF)
                if protected:
                    headers = _no_store(headers)
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _no_store(headers: list[tuple[bytes, bytes]]) -> list[tuple[bytes, bytes]]:
    """The headers with `Cache-Control: no-store`, unless the route already said `no-store` (perhaps with more)."""
    given = [v for k, v in headers if k.lower() == b"cache-control"]
    if any(NO_STORE in v.lower() for v in given):
        return headers
    return [(k, v) for k, v in headers if k.lower() != b"cache-control"] + [(b"cache-control", NO_STORE)]
