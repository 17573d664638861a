"""Event links in one canonical form, so one event has one link whichever way it was found."""

from __future__ import annotations

import html
import re
from urllib.parse import quote, unquote, urljoin, urlsplit

from scrapers.clean.text import ENTITY_RE

SITE_BASES: dict[str, str] = {
    "eventbrite": "https://www.eventbrite.com",
    "meetup": "https://www.meetup.com",
    "luma": "https://luma.com",
}

_TRACKING_PARAMS = frozenset(
    {
        "aff",
        "afflink",
        "ref",
        "ref_src",
        "ref_url",
        "referrer",
        "_eboga",
        "_ebsrc",
        "keep_tld",
        "recid",
        "recsource",
        "searchid",
        "eventorigin",
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "yclid",
        "twclid",
        "ttclid",
        "igshid",
        "li_fat_id",
        "mc_cid",
        "mc_eid",
        "mkt_tok",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "s_kwcid",
        "rdt_cid",
        "epik",
        "trk",
    }
)
_TRACKING_PREFIXES = ("utm_",)
_HOST_ALIASES = {
    "lu.ma": "luma.com",
    "www.lu.ma": "luma.com",
    "www.luma.com": "luma.com",
    "meetup.com": "www.meetup.com",
}
_SCHEMELESS_HOST_RE = re.compile(
    r"^(?:www\.)?[a-z0-9-]+(?:\.[a-z0-9-]+)*\.(?:com|ca|org|net|io|ma|co|us|de|fr|es|it|ie"
    r"|co\.uk|com\.au|com\.mx|com\.br)(?=[/?#:]|$)",
    re.IGNORECASE,
)
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"


def _is_tracking(pair: str) -> bool:
    key = pair.split("=", 1)[0]
    if "%" in key or "+" in key:
        key = unquote(key)
    key = key.strip().lower()
    return key in _TRACKING_PARAMS or key.startswith(_TRACKING_PREFIXES)


def canonical_link(url: object, base: str | None = None) -> str | None:
    """The canonical absolute https form of an event link, or None if it is not one.

    Tracking parameters (utm_*, aff, ref, _eboga, recId, recSource, searchId, eventOrigin,
    fbclid, gclid, ...) and the fragment are dropped, the scheme becomes https, the host is
    lower-cased (``lu.ma`` becomes ``luma.com``), and the remaining query keeps its order and
    encoding. A bare slug (``abc123``) or a root-relative path becomes a link on ``base``'s
    site; other relative paths are resolved against ``base``. Anything that is not http(s)
    (``javascript:``, ``mailto:``, ``data:``) gives None.
    """
    if not isinstance(url, str):
        return None
    text = url.strip()
    if not text or any(ch in text for ch in '\n\r\t<>"`'):
        return None
    if "&" in text and ENTITY_RE.search(text):
        text = html.unescape(text)
    if text.startswith("//"):
        text = "https:" + text
    elif not text.startswith(("https://", "http://")) and _SCHEMELESS_HOST_RE.match(text):
        text = "https://" + text
    if text.startswith(("https://", "http://")):
        fast = _fast_https(text)
        if fast is not None:
            return fast
    parts = urlsplit(text)
    if not parts.scheme and not parts.netloc:
        if not base:
            return None
        root = base if "://" in base else "https://" + base
        if not parts.path and not parts.query:
            return None
        if "/" not in parts.path and not text.startswith(("?", ".")):
            origin = urlsplit(root)
            text = f"{origin.scheme}://{origin.netloc}/{text}"
        else:
            text = urljoin(root, text)
        parts = urlsplit(text)
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return None
    host = (parts.hostname or "").rstrip(".")
    if not host or " " in host:
        return None
    try:
        port = parts.port
    except ValueError:
        return None
    return _assemble(host, port, parts.path, parts.query)


def _fast_https(text: str) -> str | None:
    """The common case, an absolute URL with a plain host, without urlsplit's generality;
    None sends anything unusual (userinfo, ports, odd hosts) down the general path."""
    rest = text[8:] if text[4] == "s" else text[7:]
    cut = len(rest)
    for mark in "/?#":
        at = rest.find(mark)
        if at != -1 and at < cut:
            cut = at
    host = rest[:cut]
    if not host or not host.isascii() or any(ch in host for ch in "@:[]% \\"):
        return None
    remainder = rest[cut:].split("#", 1)[0]
    path, _, query = remainder.partition("?")
    return _assemble(host.lower().rstrip("."), None, path, query)


def _assemble(host: str, port: int | None, path: str, query: str) -> str:
    host = _HOST_ALIASES.get(host, host)
    netloc = f"{host}:{port}" if port not in (None, 80, 443) else host
    path = path or "/"
    if not path.isascii() or not path.isprintable() or " " in path:
        path = quote(path, safe=_PATH_SAFE)
    if query:
        query = "&".join(p for p in query.split("&") if p and not _is_tracking(p))
    return f"https://{netloc}{path}?{query}" if query else f"https://{netloc}{path}"
