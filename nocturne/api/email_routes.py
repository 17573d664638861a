"""The links in emails: confirm a subscription, unsubscribe (RFC 8058 one-click).

- ``GET /confirm?token=...`` shows a page with a button; ``POST /confirm?token=...`` (the
  button) activates the subscription. Mail security scanners open links: opening one
  must not subscribe anybody who never read the email.
- ``GET /unsubscribe?token=...`` likewise only shows a page with a button.
- ``POST /unsubscribe?token=...`` with the form body ``List-Unsubscribe=One-Click`` is what
  mail clients send for the ``List-Unsubscribe-Post`` header, and what the button posts.
"""

from __future__ import annotations

import asyncio
from html import escape
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from nocturne import subscriptions, tokens
from nocturne.cities import get_city
from nocturne.db import session_scope
from nocturne.models import Subscription, SubscriptionStatus
from nocturne.settings import settings

router = APIRouter(tags=["email"])


def _page(title: str, body: str, *, status: int = 200) -> HTMLResponse:
    html = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex"><title>{escape(title)} · Nocturne</title>
<link rel="icon" href="/favicon.ico" sizes="32x32">
<link rel="icon" href="/favicon.svg" type="image/svg+xml">
<link rel="manifest" href="/manifest.webmanifest"></head>
<body style="margin:0;background:#111114;color:#ececf1;font-family:Helvetica,Arial,sans-serif;">
<main style="max-width:520px;margin:12vh auto;padding:0 24px;line-height:1.5;">
<p style="letter-spacing:2px;text-transform:uppercase;color:#a98bff;font-weight:bold;">Nocturne</p>
<h1 style="font-size:26px;">{escape(title)}</h1>
{body}
<p><a href="{escape(settings.public_url)}" style="color:#a98bff;">Back to Nocturne</a></p>
</main></body></html>"""
    return HTMLResponse(html, status_code=status)


def _city_name(sub: Subscription) -> str:
    city = get_city(sub.city_id)
    return city.name if city else sub.city_id


def _bad_link(reason: str) -> HTMLResponse:
    return _page(
        "This link doesn't work",
        f"<p>{escape(reason.capitalize())}.</p>"
        "<p>You can subscribe again from the city's page to get a fresh link.</p>",
        status=400,
    )


def _button(path: str, token: str, label: str, field: tuple[str, str] | None = None) -> str:
    """A form posting to ``path?token=...``: the one step a person, not a scanner, takes."""
    action = f"{path}?{urlencode({'token': token})}"
    hidden = (
        f'<input type="hidden" name="{escape(field[0])}" value="{escape(field[1])}">'
        if field
        else ""
    )
    return (
        f'<form method="post" action="{escape(action)}">{hidden}'
        '<button type="submit" style="padding:10px 20px;font-size:16px;border:0;'
        f'border-radius:6px;background:#6b3fd4;color:#fff;cursor:pointer;">{escape(label)}</button>'
        "</form>"
    )


def _subscribed(name: str) -> HTMLResponse:
    return _page(
        "You're subscribed",
        f"<p>The weekly digest for <strong>{escape(name)}</strong> arrives Monday morning.</p>",
    )


@router.get("/confirm", response_class=HTMLResponse)
def confirm_page(token: str = Query(..., max_length=500)) -> HTMLResponse:
    """A confirm link opened: one button that confirms (already active: says so)."""
    try:
        with session_scope(settings.database_url) as session:
            sub = subscriptions.subscription_for_confirm(session=session, token=token)
            name, email = _city_name(sub), sub.email
            active = sub.status == SubscriptionStatus.active
    except tokens.BadToken as exc:
        return _bad_link(str(exc))
    if active:
        return _subscribed(name)
    return _page(
        f"Confirm your {name} digest",
        f"<p>{escape(email)} will get the week's underground events in {escape(name)} "
        "every Monday morning.</p>" + _button("/confirm", token, "Confirm subscription"),
    )


@router.post("/confirm", response_class=HTMLResponse)
def confirm(token: str = Query(..., max_length=500)) -> HTMLResponse:
    """The button on the confirm page: the pending subscription becomes active. Idempotent."""
    try:
        with session_scope(settings.database_url) as session:
            sub = subscriptions.confirm_by_token(session=session, token=token)
            name = _city_name(sub)
    except tokens.BadToken as exc:
        return _bad_link(str(exc))
    return _subscribed(name)


@router.get("/unsubscribe", response_class=HTMLResponse)
def unsubscribe_page(token: str = Query(..., max_length=500)) -> HTMLResponse:
    """The confirmation page: one button that posts the one-click form."""
    try:
        with session_scope(settings.database_url) as session:
            sub = subscriptions.subscription_for_unsubscribe(session=session, token=token)
            name, email, gone = (
                _city_name(sub),
                sub.email,
                sub.status == SubscriptionStatus.unsubscribed,
            )
    except tokens.BadToken as exc:
        return _bad_link(str(exc))
    if gone:
        return _page("You're unsubscribed", f"<p>{escape(email)} gets no more digests.</p>")
    return _page(
        f"Unsubscribe from {name}?",
        f"<p>{escape(email)} will stop getting the weekly digest for {escape(name)}.</p>"
        + _button("/unsubscribe", token, "Unsubscribe", ("List-Unsubscribe", "One-Click")),
    )


@router.post("/unsubscribe", response_class=HTMLResponse)
async def unsubscribe(request: Request, token: str = Query(..., max_length=500)) -> HTMLResponse:
    """RFC 8058 one-click unsubscribe: a soft delete, idempotent."""
    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    if form.get("List-Unsubscribe") != ["One-Click"]:
        return _page(
            "Nothing changed",
            "<p>This address takes the one-click form <code>List-Unsubscribe=One-Click</code>.</p>",
            status=400,
        )

    def _apply() -> tuple[str, str]:
        with session_scope(settings.database_url) as session:
            sub = subscriptions.unsubscribe_by_token(session=session, token=token)
            return sub.email, _city_name(sub)

    try:
        email, name = await asyncio.to_thread(_apply)
    except tokens.BadToken as exc:
        return _bad_link(str(exc))
    return _page(
        "You're unsubscribed",
        f"<p>{escape(email)} gets no more digests for {escape(name)}. "
        "Changed your mind? Subscribe again from the city's page any time.</p>",
    )
