"""A real SMTP server for tests (aiosmtpd in a thread) that keeps every message it accepts.

It can refuse or defer recipients, answer DATA with an error, require STARTTLS or speak
implicit TLS, require a login, and hold (never answer) the message after the first N, so
a test can kill a sender mid-batch at a known point.
"""

from __future__ import annotations

import asyncio
import email
import email.policy
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def self_signed_cert(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1/localhost and its key, made with the openssl CLI."""
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            "openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
            "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
            "-keyout", str(key), "-out", str(cert),
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip
    return cert, key


@dataclass
class Received:
    mail_from: str
    rcpt_tos: list[str]
    data: bytes
    peer: Any

    @property
    def message(self) -> EmailMessage:
        return email.message_from_bytes(self.data, policy=email.policy.default)  # type: ignore[return-value]


@dataclass
class RecordingHandler:
    refuse: set[str] = field(default_factory=set)  # recipients answered 550
    defer_next: int = 0  # this many RCPTs answered 451 first
    data_error: str | None = None  # e.g. "554 5.6.0 content rejected"
    hold_after: int | None = None  # messages after this many are held, never answered
    messages: list[Received] = field(default_factory=list)
    held: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    peers: set[Any] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # type: ignore[no-untyped-def]
        if address in self.refuse:
            return "550 5.1.1 mailbox unavailable"
        if self.defer_next > 0:
            self.defer_next -= 1
            return "451 4.3.0 try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # type: ignore[no-untyped-def]
        if self.hold_after is not None and len(self.messages) >= self.hold_after:
            self.held.set()
            while not self.release.is_set():
                await asyncio.sleep(0.02)
            return "451 4.3.0 server shutting down"
        if self.data_error:
            return self.data_error
        with self.lock:
            self.peers.add(session.peer)
            self.messages.append(
                Received(
                    envelope.mail_from, list(envelope.rcpt_tos), envelope.content, session.peer
                )
            )
        return "250 2.0.0 queued"

    def to(self, address: str) -> list[Received]:
        with self.lock:
            return [m for m in self.messages if address in m.rcpt_tos]


class _Authenticator:
    def __init__(self, username: str, password: str) -> None:
        self.username, self.password = username.encode(), password.encode()

    def __call__(self, server, session, envelope, mechanism, auth_data):  # type: ignore[no-untyped-def]
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login == self.username
            and auth_data.password == self.password
        )
        return AuthResult(success=ok, handled=False)


@dataclass
class SmtpServer:
    host: str
    port: int
    handler: RecordingHandler
    cafile: Path | None = None

    def client_tls_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's self-signed certificate."""
        return ssl.create_default_context(cafile=str(self.cafile))


@contextmanager
def smtp_server(
    *,
    security: str = "none",
    cert_dir: Path | None = None,
    login: tuple[str, str] | None = None,
    handler: RecordingHandler | None = None,
) -> Iterator[SmtpServer]:
    """Serve SMTP on a free port: ``security`` none | starttls (required) | tls (implicit)."""
    handler = handler or RecordingHandler()
    port = free_port()
    kwargs: dict[str, Any] = {}
    cafile = None
    if security != "none":
        if cert_dir is None:
            raise ValueError("TLS needs cert_dir")
        cafile, key = self_signed_cert(cert_dir)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(str(cafile), str(key))
        if security == "starttls":
            kwargs.update(tls_context=context, require_starttls=True)
        else:
            kwargs.update(ssl_context=context, server_hostname="localhost")
    if login is not None:
        kwargs.update(authenticator=_Authenticator(*login), auth_required=True)
        kwargs.setdefault("auth_require_tls", security != "none")
    controller = Controller(handler, hostname="127.0.0.1", port=port, **kwargs)
    controller.start()
    try:
        yield SmtpServer("127.0.0.1", port, handler, cafile)
    finally:
        handler.release.set()
        controller.stop()
