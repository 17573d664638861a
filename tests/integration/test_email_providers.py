"""Providers against real servers: aiosmtpd (plain, STARTTLS, TLS, login), a local server
speaking SendGrid's v3 API (202, 400, 401, 413, 429, 500), the outbox, fallback, throttle."""

from __future__ import annotations

import email
import email.policy
import logging
import time
from pathlib import Path

import pytest

from nocturne.settings import Settings
from tests.support.sendgrid_server import Canned, sendgrid_server, validate
from tests.support.smtp import RecordingHandler, free_port, smtp_server
from workers.email.send import (
    Mailer,
    OutboxProvider,
    OutgoingEmail,
    SendGridProvider,
    SmtpProvider,
    build_message,
    providers_from_settings,
)


def _mail(to: str = "reader@example.com", n: int = 0) -> OutgoingEmail:
    return OutgoingEmail(
        to=to,
        subject=f"Digest {n}",
        html=f"<p>Events &amp; more {n}</p>",
        text=f"Events & more {n}",
        kind="digest",
        message_id=f"<digest.2030-05-06.{n}@nocturne.test>",
        unsubscribe_url=f"https://n.example/unsubscribe?token=T{n}",
        subscription_id=None,
        digest_week="2030-05-06",
    )


def _mailer(*providers, **kw) -> Mailer:  # type: ignore[no-untyped-def]
    kw.setdefault("rate_per_second", 0)
    kw.setdefault("retry_seconds", 0.01)
    return Mailer(list(providers), sender="Nocturne <digest@nocturne.test>", **kw)


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_smtp_over_tls_reuses_one_connection(tmp_path: Path, security: str):
    # aiosmtpd only counts STARTTLS as TLS for AUTH, so the login is tested over STARTTLS.
    login = ("night", "s3cret") if security == "starttls" else None
    with smtp_server(security=security, cert_dir=tmp_path, login=login) as server:
        provider = SmtpProvider(
            host="localhost", port=server.port, username=login and login[0],
            password=login and login[1], security=security,
            tls_context=server.client_tls_context(),
        )  # fmt: skip
        async with _mailer(provider) as mailer:
            results = [await mailer.send(_mail(n=i)) for i in range(3)]
    assert all(r.ok and r.provider == "smtp" for r in results)
    assert provider.connections == 1 and len(server.handler.peers) == 1
    msgs = [m.message for m in server.handler.messages]
    assert [m["Subject"] for m in msgs] == ["Digest 0", "Digest 1", "Digest 2"]
    assert msgs[0]["List-Unsubscribe"] == "<https://n.example/unsubscribe?token=T0>"
    assert msgs[0].get_body(("html",)).get_content().strip() == "<p>Events &amp; more 0</p>"


async def test_smtp_wrong_password_is_a_provider_failure(tmp_path: Path):
    with smtp_server(security="starttls", cert_dir=tmp_path, login=("night", "s3cret")) as server:
        provider = SmtpProvider(
            host="localhost", port=server.port, username="night", password="nope",
            security="starttls", tls_context=server.client_tls_context(),
        )  # fmt: skip
        async with _mailer(provider) as mailer:
            result = await mailer.send(_mail())
    assert not result.ok and len(result.attempts) == 1 and "login refused" in result.error
    assert server.handler.messages == []


async def test_smtp_refusal_is_final_but_a_deferral_is_retried():
    handler = RecordingHandler(refuse={"gone@example.com"}, defer_next=2)
    with smtp_server(handler=handler) as server:
        async with _mailer(SmtpProvider(host=server.host, port=server.port, security="none")) as m:
            deferred = await m.send(_mail("ok@example.com"))
            refused = await m.send(_mail("gone@example.com"))
    assert deferred.ok and [a.ok for a in deferred.attempts] == [False, False, True]
    assert not refused.ok and len(refused.attempts) == 1 and "550" in refused.error
    assert not refused.retryable
    assert [m.rcpt_tos for m in handler.messages] == [["ok@example.com"]]


async def test_sendgrid_body_matches_the_documented_v3_shape():
    with sendgrid_server() as (base, state):
        async with _mailer(SendGridProvider(api_key="SG.test-key", base_url=base)) as mailer:
            result = await mailer.send(_mail())
    assert result.ok and result.provider == "sendgrid" and result.provider_message_id
    [body] = state.accepted
    assert body["personalizations"] == [{"to": [{"email": "reader@example.com"}]}]
    assert body["from"] == {"email": "digest@nocturne.test", "name": "Nocturne"}
    assert [c["type"] for c in body["content"]] == ["text/plain", "text/html"]
    assert body["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_the_fake_sendgrid_refuses_what_sendgrid_refuses():
    msg = build_message(_mail(), sender="Nocturne <digest@nocturne.test>")
    good = SendGridProvider.body(msg, _mail())
    assert validate(good) == []
    html_first = {**good, "content": list(reversed(good["content"]))}
    assert any("text/plain" in e["message"] for e in validate(html_first))
    reserved = {**good, "headers": {"Subject": "x"}}
    assert any("reserved" in e["message"] for e in validate(reserved))
    assert validate({**good, "personalizations": []})[0]["field"] == "personalizations"


async def test_sendgrid_429_and_500_are_retried_with_backoff():
    with sendgrid_server() as (base, state):
        state.answer_next(Canned(429, {"Retry-After": "0"}), Canned(500))
        async with _mailer(SendGridProvider(api_key="SG.test-key", base_url=base)) as mailer:
            t0 = time.monotonic()
            ok = await mailer.send(_mail())
            took = time.monotonic() - t0
            state.answer_next(Canned(503), Canned(503), Canned(503))
            down = await mailer.send(_mail())
    assert ok.ok and [a.ok for a in ok.attempts] == [False, False, True]
    assert "429" in ok.attempts[0].error and "500" in ok.attempts[1].error
    assert took >= 0.01 + 0.02  # 10 ms, then 20 ms
    assert not down.ok and len(down.attempts) == 3 and down.retryable


@pytest.mark.parametrize(
    ("answer", "attempts", "falls_back"),
    [(Canned(401), 1, True), (Canned(413), 1, True), (Canned(400, message="bad to"), 1, False)],
)
async def test_sendgrid_errors_fall_back_to_smtp_unless_the_message_is_refused(
    answer, attempts, falls_back
):
    with sendgrid_server() as (base, state), smtp_server() as server:
        state.answer_next(answer)
        sendgrid = SendGridProvider(api_key="SG.test-key", base_url=base)
        smtp = SmtpProvider(host=server.host, port=server.port, security="none")
        async with _mailer(sendgrid, smtp) as mailer:
            result = await mailer.send(_mail())
    assert [a.provider for a in result.attempts][:attempts] == ["sendgrid"] * attempts
    assert str(answer.status) in result.attempts[0].error
    assert result.ok is falls_back
    assert len(server.handler.messages) == (1 if falls_back else 0)


async def test_smtp_down_falls_back_to_sendgrid_after_retries():
    dead = SmtpProvider(host="127.0.0.1", port=free_port(), security="none", timeout=2)
    with sendgrid_server() as (base, state):
        sendgrid = SendGridProvider(api_key="SG.test-key", base_url=base)
        async with _mailer(dead, sendgrid, max_attempts=2) as mailer:
            result = await mailer.send(_mail())
    assert result.ok and result.provider == "sendgrid"
    assert [(a.provider, a.ok) for a in result.attempts] == [
        ("smtp", False),
        ("smtp", False),
        ("sendgrid", True),
    ]
    assert len(state.accepted) == 1


async def test_outbox_when_nothing_is_configured(tmp_path: Path, caplog):
    cfg = Settings(_env_file=None, email_outbox_dir=tmp_path / "outbox", email_provider="auto")
    [provider] = providers_from_settings(cfg)
    assert isinstance(provider, OutboxProvider)
    with caplog.at_level(logging.INFO, logger="workers.email.send"):
        async with Mailer.from_settings(cfg) as mailer:
            result = await mailer.send(_mail())
    [path] = (tmp_path / "outbox").glob("*.eml")
    assert result.ok and result.provider_message_id == str(path)
    assert any(str(path) in r.getMessage() for r in caplog.records)
    msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
    assert msg["To"] == "reader@example.com"
    assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_provider_choice_follows_settings(tmp_path: Path):
    both = {"smtp_host": "127.0.0.1", "sendgrid_api_key": "SG.k", "_env_file": None}
    assert [p.name for p in providers_from_settings(Settings(**both))] == ["smtp", "sendgrid"]
    picked = Settings(**both, email_provider="sendgrid")
    assert [p.name for p in providers_from_settings(picked)] == ["sendgrid", "smtp"]
    only_sg = Settings(_env_file=None, sendgrid_api_key="SG.k")
    assert [p.name for p in providers_from_settings(only_sg)] == ["sendgrid"]
    with pytest.raises(ValueError, match="SMTP_HOST"):
        providers_from_settings(Settings(_env_file=None, email_provider="smtp"))


async def test_sending_is_throttled_to_the_configured_rate():
    with smtp_server() as server:
        provider = SmtpProvider(host=server.host, port=server.port, security="none")
        async with _mailer(provider, rate_per_second=25) as mailer:
            t0 = time.monotonic()
            for i in range(6):
                assert (await mailer.send(_mail(n=i))).ok
            took = time.monotonic() - t0
    assert took >= 5 / 25 - 0.01  # six sends, five intervals of 40 ms
