"""The only code that sends email: SMTP (aiosmtplib), SendGrid's v3 HTTP API, or an outbox.

A :class:`Mailer` holds the providers for one batch (one SMTP connection reused for all
its messages), throttles to ``EMAIL_RATE_PER_SECOND``, retries transient failures with
exponential backoff, falls back to the next provider when one cannot send, and reports
every attempt in :class:`SendResult` (the caller writes them to ``EmailLog``).

Providers are chosen by ``EMAIL_PROVIDER``: ``auto`` picks SMTP when ``SMTP_HOST`` is set,
else SendGrid when ``SENDGRID_API_KEY`` is set, else the outbox (``.eml`` files in
``EMAIL_OUTBOX_DIR``); the other configured provider is the fallback.
"""

from __future__ import annotations

import asyncio
import binascii
import hashlib
import logging
import re
import ssl
import time
from dataclasses import dataclass, field
from email.header import Header
from email.headerregistry import Address
from email.utils import formataddr, formatdate, getaddresses
from pathlib import Path
from types import TracebackType
from typing import Any, Protocol

import aiosmtplib
import httpx

from nocturne.settings import Settings, settings

log = logging.getLogger(__name__)

ONE_CLICK = "List-Unsubscribe=One-Click"


class EmailError(Exception):
    """A failed attempt. Subclasses say whether to retry and whether to fall back."""

    retry = False
    fallback = True


class TransientEmailError(EmailError):
    """Worth retrying after a pause: a timeout, a dropped connection, a 4xx, a 429 or 5xx."""

    retry = True

    def __init__(self, message: str, *, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ProviderEmailError(EmailError):
    """This provider cannot send (bad credentials, refused sender): try the next one."""


class RejectedEmailError(EmailError):
    """The message or recipient was refused for good; no other provider will do better."""

    fallback = False


@dataclass(frozen=True, slots=True)
class OutgoingEmail:
    to: str
    subject: str
    html: str
    text: str
    kind: str  # confirm | digest
    message_id: str  # deterministic per email, so a resend after a crash can be deduped
    unsubscribe_url: str
    subscription_id: int | None = None
    digest_week: str | None = None


@dataclass(frozen=True, slots=True)
class Attempt:
    provider: str
    number: int
    ok: bool
    error: str | None = None
    provider_message_id: str | None = None
    retryable: bool = False


@dataclass(slots=True)
class SendResult:
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.attempts) and self.attempts[-1].ok

    @property
    def provider(self) -> str | None:
        return self.attempts[-1].provider if self.attempts else None

    @property
    def provider_message_id(self) -> str | None:
        return self.attempts[-1].provider_message_id if self.attempts else None

    @property
    def retryable(self) -> bool:
        """Failed, but on a transient error: worth another try of the whole job later."""
        return not self.ok and bool(self.attempts) and self.attempts[-1].retryable

    @property
    def error(self) -> str | None:
        return None if self.ok or not self.attempts else self.attempts[-1].error


def make_message_id(key: str, *, sender: str) -> str:
    """``<key@sender-domain>``: the same key always gives the same Message-ID."""
    _name, address = getaddresses([sender])[0]
    domain = address.rpartition("@")[2] or "nocturne.local"
    safe = re.sub(r"[^A-Za-z0-9.\-]", "-", key)
    return f"<{safe}@{domain}>"


@dataclass(frozen=True, slots=True)
class BuiltMessage:
    """An email as it goes on the wire (RFC 5322 bytes, CRLF) and who it is from."""

    raw: bytes
    sender: str  # the From header: "Name <addr>"
    envelope_from: str  # the bare address for SMTP's MAIL FROM


def _header(value: str) -> str:
    value = value.replace("\r", " ").replace("\n", " ")  # no header injection
    return value if value.isascii() else Header(value, "utf-8").encode()


def _qp(text: str) -> bytes:
    body = text.replace("\r\n", "\n").encode("utf-8")
    return binascii.b2a_qp(body, istext=True).replace(b"\n", b"\r\n")


def build_message(email: OutgoingEmail, *, sender: str) -> BuiltMessage:
    """The MIME message: text/plain then text/html, with RFC 8058 one-click headers.

    Written directly rather than through ``email.message``: for a 25 KiB digest that
    package's build and flatten cost ~8 ms a message, more than the SMTP exchange itself.
    Both parts are UTF-8 quoted-printable; the result parses back with ``email``.
    """
    name, address = getaddresses([sender])[0]
    boundary = "=_nocturne_" + hashlib.sha1(email.message_id.encode()).hexdigest()[:24]
    headers = [
        ("From", formataddr((name, address), charset="utf-8")),
        ("To", _header(email.to)),
        ("Subject", _header(email.subject)),
        ("Date", formatdate(localtime=False, usegmt=True)),
        ("Message-ID", _header(email.message_id)),
        # A one-off reply to the reader's own request (a suggestion's decision) has no list.
        *(
            [
                ("List-Unsubscribe", _header(f"<{email.unsubscribe_url}>")),
                ("List-Unsubscribe-Post", ONE_CLICK),
            ]
            if email.unsubscribe_url
            else []
        ),
        *([("Precedence", "bulk")] if email.kind == "digest" else []),
        ("MIME-Version", "1.0"),
        ("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
    ]
    head = "".join(f"{k}: {v}\r\n" for k, v in headers).encode("ascii")
    delimiter = f"\r\n--{boundary}\r\n".encode()
    part = (
        'Content-Type: text/{}; charset="utf-8"\r\n'
        "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
    )
    raw = b"".join(
        [
            head,
            b"\r\nThis is a multipart message in MIME format.\r\n",
            delimiter,
            part.format("plain").encode(),
            _qp(email.text),
            delimiter,
            part.format("html").encode(),
            _qp(email.html),
            f"\r\n--{boundary}--\r\n".encode(),
        ]
    )
    return BuiltMessage(raw=raw, sender=sender, envelope_from=address)


class Provider(Protocol):
    name: str

    async def send(self, msg: BuiltMessage, email: OutgoingEmail) -> str | None:
        """Send one message; return the provider's id for it, or raise an EmailError."""
        ...

    async def close(self) -> None: ...


class SmtpProvider:
    """SMTP over one connection, opened on first use and reused for the whole batch."""

    name = "smtp"

    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str | None = None,
        password: str | None = None,
        security: str = "starttls",
        timeout: float = 30.0,
        tls_context: ssl.SSLContext | None = None,
    ) -> None:
        self.host, self.port, self.security = host, port, security
        self._kwargs: dict[str, Any] = {
            "hostname": host,
            "port": port,
            "username": username or None,
            "password": password or None,
            "timeout": timeout,
            "use_tls": security == "tls",
            "start_tls": security == "starttls",
            "tls_context": tls_context,
        }
        self._smtp: aiosmtplib.SMTP | None = None
        self.connections = 0  # opened so far (tests check the reuse)

    async def _connection(self) -> aiosmtplib.SMTP:
        if self._smtp is not None and self._smtp.is_connected:
            return self._smtp
        smtp = aiosmtplib.SMTP(**self._kwargs)
        await smtp.connect()
        self.connections += 1
        self._smtp = smtp
        return smtp

    async def _drop(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None and smtp.is_connected:
            smtp.close()

    async def send(self, msg: BuiltMessage, email: OutgoingEmail) -> str | None:
        try:
            smtp = await self._connection()
            await smtp.sendmail(msg.envelope_from, [email.to], msg.raw)
        except aiosmtplib.SMTPAuthenticationError as exc:
            await self._drop()
            raise ProviderEmailError(f"SMTP login refused: {exc.code} {exc.message}") from exc
        except aiosmtplib.SMTPNotSupported as exc:
            await self._drop()
            raise ProviderEmailError(f"SMTP server lacks a needed feature: {exc}") from exc
        except aiosmtplib.SMTPRecipientsRefused as exc:
            await self._drop()
            codes = [e.code for e in exc.recipients]
            if all(400 <= c < 500 for c in codes):
                raise TransientEmailError(f"SMTP recipient deferred: {exc.recipients}") from exc
            raise RejectedEmailError(f"SMTP recipient refused: {exc.recipients}") from exc
        except aiosmtplib.SMTPSenderRefused as exc:
            await self._drop()
            if 400 <= exc.code < 500:
                raise TransientEmailError(f"SMTP sender deferred: {exc.code}") from exc
            raise ProviderEmailError(f"SMTP sender refused: {exc.code} {exc.message}") from exc
        except aiosmtplib.SMTPResponseException as exc:
            await self._drop()
            if 400 <= exc.code < 500:
                raise TransientEmailError(f"SMTP {exc.code} {exc.message}") from exc
            raise RejectedEmailError(f"SMTP {exc.code} {exc.message}") from exc
        except (
            aiosmtplib.SMTPConnectError,
            aiosmtplib.SMTPServerDisconnected,
            aiosmtplib.SMTPTimeoutError,
            OSError,
            TimeoutError,
        ) as exc:
            await self._drop()
            raise TransientEmailError(f"SMTP {type(exc).__name__}: {exc}") from exc
        except aiosmtplib.SMTPException as exc:  # e.g. no AUTH offered: a setup problem
            await self._drop()
            raise ProviderEmailError(f"SMTP {type(exc).__name__}: {exc}") from exc
        return email.message_id

    async def close(self) -> None:
        smtp, self._smtp = self._smtp, None
        if smtp is not None and smtp.is_connected:
            try:
                await smtp.quit()
            except (aiosmtplib.SMTPException, OSError):
                smtp.close()


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        reset = response.headers.get("X-RateLimit-Reset")
        if reset and reset.isdigit():
            return max(0.0, int(reset) - time.time())
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


def _sendgrid_errors(response: httpx.Response) -> str:
    try:
        errors = response.json().get("errors") or []
        return "; ".join(str(e.get("message")) for e in errors) or response.text[:300]
    except ValueError:
        return response.text[:300]


class SendGridProvider:
    """SendGrid's v3 mail-send API (``POST /v3/mail/send``) over one HTTP client."""

    name = "sendgrid"

    def __init__(self, *, api_key: str, base_url: str, timeout: float = 30.0) -> None:
        self.url = f"{base_url.rstrip('/')}/v3/mail/send"
        self._client = httpx.AsyncClient(
            timeout=timeout, headers={"Authorization": f"Bearer {api_key}"}
        )

    @staticmethod
    def body(msg: BuiltMessage, email: OutgoingEmail) -> dict[str, Any]:
        """The documented v3 body: text/plain must come before text/html in ``content``."""
        name, address = getaddresses([msg.sender])[0]
        from_: dict[str, str] = {"email": address}
        if name:
            from_["name"] = name
        return {
            "personalizations": [{"to": [{"email": email.to}]}],
            "from": from_,
            "subject": email.subject,
            "content": [
                {"type": "text/plain", "value": email.text},
                {"type": "text/html", "value": email.html},
            ],
            "headers": {
                "List-Unsubscribe": f"<{email.unsubscribe_url}>",
                "List-Unsubscribe-Post": ONE_CLICK,
            },
            "custom_args": {"kind": email.kind, "nocturne_message_id": email.message_id},
        }

    async def send(self, msg: BuiltMessage, email: OutgoingEmail) -> str | None:
        try:
            response = await self._client.post(self.url, json=self.body(msg, email))
        except httpx.TransportError as exc:
            raise TransientEmailError(f"SendGrid {type(exc).__name__}: {exc}") from exc
        status = response.status_code
        if status in (200, 202):
            return response.headers.get("X-Message-Id")
        detail = f"SendGrid {status}: {_sendgrid_errors(response)}"
        if status == 429 or status >= 500:
            raise TransientEmailError(detail, retry_after=_retry_after(response))
        if status == 400:
            raise RejectedEmailError(detail)
        raise ProviderEmailError(detail)  # 401/403 credentials, 413 size, anything else

    async def close(self) -> None:
        await self._client.aclose()


class OutboxProvider:
    """No provider configured: each message becomes an ``.eml`` file in a folder."""

    name = "outbox"

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    async def send(self, msg: BuiltMessage, email: OutgoingEmail) -> str | None:
        digest = hashlib.sha1(email.message_id.encode()).hexdigest()[:12]
        stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
        path = self.directory / f"{stamp}-{email.kind}-{digest}.eml"
        data = msg.raw
        try:
            await asyncio.to_thread(self._write, path, data)
        except OSError as exc:
            raise ProviderEmailError(f"outbox: cannot write {path}: {exc}") from exc
        log.info("email to %s (%s) written to %s", email.to, email.kind, path)
        return str(path)

    @staticmethod
    def _write(path: Path, data: bytes) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)

    async def close(self) -> None:
        return None


class Throttle:
    """At most ``rate`` sends per second, evenly spaced (0 or less: no limit)."""

    def __init__(self, rate: float) -> None:
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self._next = 0.0

    async def wait(self) -> None:
        if not self.interval:
            return
        now = asyncio.get_running_loop().time()
        slot = max(self._next, now)
        self._next = slot + self.interval
        if slot > now:
            await asyncio.sleep(slot - now)


def providers_from_settings(cfg: Settings = settings) -> list[Provider]:
    """The primary provider first, then the fallback, as ``EMAIL_PROVIDER`` says."""
    smtp: Provider | None = None
    sendgrid: Provider | None = None
    if cfg.smtp_host:
        smtp = SmtpProvider(
            host=cfg.smtp_host,
            port=cfg.smtp_port,
            username=cfg.smtp_username,
            password=cfg.smtp_password,
            security=cfg.smtp_security,
            timeout=cfg.smtp_timeout_seconds,
        )
    if cfg.sendgrid_api_key:
        sendgrid = SendGridProvider(api_key=cfg.sendgrid_api_key, base_url=cfg.sendgrid_base_url)
    choice = cfg.email_provider
    if choice == "smtp" and smtp is None:
        raise ValueError("EMAIL_PROVIDER=smtp needs SMTP_HOST")
    if choice == "sendgrid" and sendgrid is None:
        raise ValueError("EMAIL_PROVIDER=sendgrid needs SENDGRID_API_KEY")
    if choice == "outbox":
        return [OutboxProvider(cfg.email_outbox_dir)]
    order = [sendgrid, smtp] if choice == "sendgrid" else [smtp, sendgrid]
    chosen = [p for p in order if p is not None]
    return chosen or [OutboxProvider(cfg.email_outbox_dir)]


class Mailer:
    """Sends a batch: throttled, retried with backoff, with fallback. ``async with`` it."""

    def __init__(
        self,
        providers: list[Provider],
        *,
        sender: str | None = None,
        rate_per_second: float | None = None,
        max_attempts: int | None = None,
        retry_seconds: float | None = None,
    ) -> None:
        if not providers:
            raise ValueError("a Mailer needs at least one provider")
        self.providers = providers
        self.sender = sender or settings.email_from
        self.throttle = Throttle(
            settings.email_rate_per_second if rate_per_second is None else rate_per_second
        )
        self.max_attempts = max(1, max_attempts or settings.email_max_attempts)
        self.retry_seconds = (
            settings.email_retry_seconds if retry_seconds is None else retry_seconds
        )
        Address(addr_spec=getaddresses([self.sender])[0][1])  # refuse a bad EMAIL_FROM early

    @classmethod
    def from_settings(cls, cfg: Settings = settings) -> Mailer:
        return cls(
            providers_from_settings(cfg),
            sender=cfg.email_from,
            rate_per_second=cfg.email_rate_per_second,
            max_attempts=cfg.email_max_attempts,
            retry_seconds=cfg.email_retry_seconds,
        )

    @property
    def provider_names(self) -> list[str]:
        return [p.name for p in self.providers]

    async def __aenter__(self) -> Mailer:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()

    async def close(self) -> None:
        for provider in self.providers:
            try:
                await provider.close()
            except Exception as exc:  # closing must not hide the batch's own outcome
                log.warning("email: closing %s failed: %s", provider.name, exc)

    def message_id(self, key: str) -> str:
        return make_message_id(key, sender=self.sender)

    async def send(self, email: OutgoingEmail) -> SendResult:
        """Try each provider in turn, retrying transient failures; never raises EmailError."""
        msg = build_message(email, sender=self.sender)
        result = SendResult()
        number = 0
        for provider in self.providers:
            for attempt in range(1, self.max_attempts + 1):
                await self.throttle.wait()
                number += 1
                try:
                    provider_id = await provider.send(msg, email)
                except EmailError as exc:
                    result.attempts.append(
                        Attempt(provider.name, number, False, str(exc)[:1000], None, exc.retry)
                    )
                    log.warning(
                        "email: %s to %s via %s failed (attempt %d): %s",
                        email.kind, email.to, provider.name, attempt, exc,
                    )  # fmt: skip
                    if not exc.fallback:
                        return result
                    if not exc.retry or attempt == self.max_attempts:
                        break
                    wait = self.retry_seconds * 2 ** (attempt - 1)
                    retry_after = getattr(exc, "retry_after", None)
                    await asyncio.sleep(min(max(wait, retry_after or 0.0), 300.0))
                    continue
                result.attempts.append(Attempt(provider.name, number, True, None, provider_id))
                return result
        return result
