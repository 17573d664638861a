"""Security headers, request size limits and CORS for the whole backend.

The API app is Reflex's ``api_transformer``: Reflex mounts its own routes inside it, so
these middlewares wrap the pages' backend too, not only the JSON routes.
"""

from __future__ import annotations

import json

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from nocturne.settings import Settings, settings

# Swagger UI and ReDoc (nocturne.api.docs) load from this site only: an inline script starts
# Swagger UI, both inject styles, ReDoc searches in a blob: worker. No eval, no outside host.
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; worker-src 'self' blob:; "
    "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
DOCS_PATHS = ("/api/docs", "/api/redoc")


def content_security_policy() -> str:
    """The configured policy; an empty setting (a copied .env.example) means the default."""
    default = Settings.model_fields["content_security_policy"].default
    return settings.content_security_policy.strip() or default


class SecurityHeadersMiddleware:
    """Adds CSP, frame denial, nosniff, referrer policy (and HSTS on https) to responses."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        csp = DOCS_CSP if path.startswith(DOCS_PATHS) else content_security_policy()
        extra = [
            (b"content-security-policy", csp.encode()),
            (b"x-frame-options", b"DENY"),
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"strict-origin-when-cross-origin"),
            (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
            (b"cross-origin-opener-policy", b"same-origin"),
        ]
        if settings.public_url.startswith("https://"):
            extra.append((b"strict-transport-security", b"max-age=31536000; includeSubDomains"))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *(h for h in extra if h[0] not in present),
                ]
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodySizeLimitMiddleware:
    """Refuses bodies over ``settings.max_request_bytes`` with 413, declared or streamed."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = settings.max_request_bytes
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                await _reply(send, 400, "Content-Length is not a number")
                return
            if too_big:
                await _reply(send, 413, f"Request body larger than {limit} bytes")
                return
        received = 0
        too_large = replied = False

        async def counting_receive() -> Message:
            nonlocal received, too_large
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    # Looks like a client gone to the app, which stops reading; the reply
                    # it then makes is swapped for the 413 below.
                    too_large = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal replied
            if not too_large:
                await send(message)
            elif not replied and message["type"] == "http.response.start":
                replied = True
                await _reply(send, 413, f"Request body larger than {limit} bytes")

        await self.app(scope, counting_receive, guarded_send)
        if too_large and not replied:
            await _reply(send, 413, f"Request body larger than {limit} bytes")


async def _reply(send: Send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


def cors_kwargs() -> dict[str, object]:
    """CORSMiddleware options from settings: only the listed origins, no credentials."""
    return {
        "allow_origins": list(settings.cors_origins),
        "allow_methods": ["GET", "POST", "DELETE", "OPTIONS"],
        "allow_headers": ["Authorization", "Content-Type", "X-Request-ID"],
        "expose_headers": ["Link", "X-Next-Cursor", "Retry-After", "X-Request-ID"],
        "max_age": 600,
    }


__all__ = [
    "BodySizeLimitMiddleware",
    "CORSMiddleware",
    "SecurityHeadersMiddleware",
    "content_security_policy",
    "cors_kwargs",
]
