"""A local HTTP server that speaks SendGrid's v3 mail-send API, for tests.

``POST /v3/mail/send`` is checked against the documented body: a Bearer API key; JSON;
``personalizations`` (1 to 1000, each with ``to`` [{email, name?}]); ``from.email``; a
``subject`` (top level or in every personalization); ``content`` of {type, value} with
text/plain first and text/html after it, each once; ``headers`` as string values without
the reserved ones. A valid request is answered 202 with an ``X-Message-Id``, an invalid
one 400 with SendGrid's ``{"errors": [{"message", "field", "help"}]}``. A test can queue
other answers (401, 413, 429 with Retry-After, 500...) for the next requests.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

RESERVED_HEADERS = {
    "x-sg-id", "x-sg-eid", "received", "dkim-signature", "content-type",
    "content-transfer-encoding", "to", "from", "subject", "reply-to", "cc", "bcc",
}  # fmt: skip
MAX_BODY = 30 * 1024 * 1024


@dataclass
class Canned:
    status: int
    headers: dict[str, str] = field(default_factory=dict)
    message: str = ""


@dataclass
class SendGridState:
    api_key: str
    accepted: list[dict[str, Any]] = field(default_factory=list)
    requests: int = 0
    script: deque[Canned] = field(default_factory=deque)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer_next(self, *answers: Canned) -> None:
        """Answer the next requests with these, in order, before going back to checking."""
        with self.lock:
            self.script.extend(answers)


def _error(message: str, field_: str | None = None) -> dict[str, Any]:
    return {"message": message, "field": field_, "help": None}


def validate(body: Any) -> list[dict[str, Any]]:
    """SendGrid's parameter errors for a mail-send body ([] when it is valid)."""
    if not isinstance(body, dict):
        return [_error("Bad Request", None)]
    errors = []
    pers = body.get("personalizations")
    if not isinstance(pers, list) or not pers:
        errors.append(_error("You must have at least one personalization.", "personalizations"))
        pers = []
    elif len(pers) > 1000:
        errors.append(_error("The personalization block is limited to 1000.", "personalizations"))
    for i, p in enumerate(pers):
        to = p.get("to") if isinstance(p, dict) else None
        if not isinstance(to, list) or not to:
            errors.append(_error("The to array is required for all personalization objects, "
                                 "and must have at least one email object with a valid email "
                                 "address.", f"personalizations.{i}.to"))  # fmt: skip
            continue
        for r in to:
            if not isinstance(r, dict) or "@" not in str(r.get("email", "")):
                errors.append(
                    _error("Does not contain a valid address.", f"personalizations.{i}.to")
                )
        if not body.get("subject") and not (isinstance(p, dict) and p.get("subject")):
            errors.append(_error("The subject is required. You can get around this requirement "
                                 "if you use a template with a subject defined or if every "
                                 "personalization has a subject defined.", "subject"))  # fmt: skip
    sender = body.get("from")
    if not isinstance(sender, dict) or "@" not in str(sender.get("email", "")):
        errors.append(_error("The from object must be provided for every email send. "
                             "It is an object that requires the email parameter, but may "
                             "also contain a name parameter.", "from.email"))  # fmt: skip
    content = body.get("content")
    if not isinstance(content, list) or not content:
        errors.append(_error("Unless a valid template_id is provided, the content parameter "
                             "is required.", "content"))  # fmt: skip
        content = []
    types = [c.get("type") if isinstance(c, dict) else None for c in content]
    for i, c in enumerate(content):
        if not isinstance(c, dict) or not isinstance(c.get("value"), str) or not c["value"]:
            errors.append(_error("The content value must be a string at least one character "
                                 "in length.", f"content.{i}.value"))  # fmt: skip
    if types.count("text/plain") > 1 or types.count("text/html") > 1:
        errors.append(_error("If present, text/plain and text/html may only be provided once.",
                             "content"))  # fmt: skip
    if "text/plain" in types and types[0] != "text/plain":
        errors.append(_error("The text/plain content type must be first, followed by "
                             "text/html, then any other content.", "content"))  # fmt: skip
    if "text/html" in types and types.index("text/html") > (1 if "text/plain" in types else 0):
        errors.append(_error("text/html must follow text/plain.", "content"))
    headers = body.get("headers", {})
    if not isinstance(headers, dict):
        errors.append(_error("Invalid type. Expected: object, given: array.", "headers"))
        headers = {}
    for name, value in headers.items():
        if not isinstance(value, str):
            errors.append(_error("Invalid type. Expected: string.", f"headers.{name}"))
        if name.lower() in RESERVED_HEADERS:
            errors.append(_error(f"The header {name} is reserved and cannot be set.", "headers"))
    return errors


def _handler_for(state: SendGridState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            return None

        def _reply(self, status: int, payload: Any = None, headers: dict[str, str] | None = None):  # type: ignore[no-untyped-def]
            data = b"" if payload is None else json.dumps(payload).encode()
            self.send_response(status)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            if data:
                self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            with state.lock:
                state.requests += 1
                canned = state.script.popleft() if state.script else None
            if self.path != "/v3/mail/send":
                self._reply(404, {"errors": [_error("Not found")]})
                return
            if self.headers.get("Authorization") != f"Bearer {state.api_key}":
                self._reply(401, {"errors": [_error("The provided authorization grant is "
                                                    "invalid, expired, or revoked")]})  # fmt: skip
                return
            if canned is not None:
                self._reply(canned.status, {"errors": [_error(canned.message or "scripted")]},
                            canned.headers)  # fmt: skip
                return
            if length > MAX_BODY:
                self._reply(413, {"errors": [_error("Payload Too Large")]})
                return
            if not (self.headers.get("Content-Type") or "").startswith("application/json"):
                self._reply(415, {"errors": [_error("Content-Type should be application/json.")]})
                return
            try:
                body = json.loads(raw)
            except ValueError:
                self._reply(400, {"errors": [_error("Bad Request")]})
                return
            errors = validate(body)
            if errors:
                self._reply(400, {"errors": errors})
                return
            with state.lock:
                state.accepted.append(body)
            self._reply(202, None, {"X-Message-Id": uuid.uuid4().hex[:22]})

    return Handler


@contextmanager
def sendgrid_server(api_key: str = "SG.test-key") -> Iterator[tuple[str, SendGridState]]:
    """Serve the fake API on a free port; yields (base_url, state)."""
    state = SendGridState(api_key=api_key)
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)
