"""Plain text, numbers and one-line addresses from what sources send."""

from __future__ import annotations

import html
import math
import re
import unicodedata

_BLOCK_RE = re.compile(r"<(script|style|template|noscript)\b[^>]*>.*?</\1\s*>", re.I | re.S)
_COMMENT_RE = re.compile(r"<!--.*?(?:-->|$)", re.S)
_BREAK_RE = re.compile(
    r"<\s*/?\s*(?:br|p|div|li|ul|ol|h[1-6]|tr|td|th|table|section|article|header|footer"
    r"|blockquote|hr|pre)\b[^>]*>",
    re.I,
)
_TAG_RE = re.compile(r"</?[a-zA-Z][^>]*(?:>|$)|<![^>]*(?:>|$)|</?[a-zA-Z]*$", re.S)
ENTITY_RE = re.compile(r"&(?:#\d+|#x[0-9a-fA-F]+|[a-zA-Z][a-zA-Z0-9]{1,31});")
_INVISIBLE = ("\u200b", "\u2060", "\ufeff", "\u00ad")
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
_MANY_NEWLINES_RE = re.compile(r"\n\s*\n\s*(?:\n\s*)+")


def _strip_markup(text: str) -> str:
    if "<" not in text:
        return text
    text = _COMMENT_RE.sub(" ", _BLOCK_RE.sub(" ", text))
    text = _BREAK_RE.sub("\n", text)
    return _TAG_RE.sub("", text)


def clean_text(value: object, *, multiline: bool = False) -> str:
    """Plain text from a source string: entities unescaped, tags dropped, spaces collapsed.

    The result never holds markup: tags (also ones that only appear after unescaping a
    double-escaped ``&amp;lt;b&amp;gt;``) are removed, so ``<img src=x onerror=...>`` leaves
    nothing behind. Zero-width characters go. With ``multiline`` paragraph breaks survive
    (at most one blank line); otherwise all whitespace becomes single spaces.
    Non-strings give ``""``.
    """
    if not isinstance(value, str) or not value:
        return ""
    text = value
    if "<" in text or "&" in text:
        for _ in range(3):
            text = _strip_markup(text)
            if "&" not in text or not ENTITY_RE.search(text):
                break
            text = html.unescape(text)
        text = _strip_markup(text)
    if not text.isascii():
        for char in _INVISIBLE:
            if char in text:
                text = text.replace(char, "")
        text = unicodedata.normalize("NFC", text)
    if not text.isprintable():
        text = _CONTROL_RE.sub(" ", text.replace("\r\n", "\n").replace("\r", "\n"))
    if not multiline:
        return " ".join(text.split())
    lines = [" ".join(line.split()) for line in text.split("\n")]
    return _MANY_NEWLINES_RE.sub("\n\n", "\n".join(lines)).strip()


def to_float(value: object) -> float | None:
    """A finite float from a number or numeric string; None otherwise."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def _address_parts(text: str) -> list[str]:
    text = re.sub(r"\s+,", ",", " ".join(text.split()))
    parts: list[str] = []
    for raw in text.split(","):
        part = raw.strip()
        if part and (not parts or part.casefold() != parts[-1].casefold()):
            parts.append(part)
    return parts


def join_address(
    street: object,
    locality: object = None,
    region: object = None,
    postal_code: object = None,
) -> str | None:
    """A one-line address from parts, without repeating what the street line already says.

    Sources often repeat the city in the street line (``260 Queen St W, Toronto, ON M5V 1Z4,
    Canada, Toronto, ON``); the trailing repeat is dropped.
    """
    street_parts = _address_parts(clean_text(street))
    city = clean_text(locality).strip(" ,")
    state = clean_text(region).strip(" ,")
    postal = clean_text(postal_code)
    tail = [p for p in _address_parts(", ".join(x for x in (city, state) if x))]
    if tail and len(street_parts) > len(tail):
        head, end = street_parts[: -len(tail)], street_parts[-len(tail) :]
        said_before = ", ".join(head).casefold()
        if [p.casefold() for p in end] == [p.casefold() for p in tail] and (
            tail[0].casefold() in said_before
        ):
            street_parts = head
    joined = ", ".join(street_parts)
    folded = joined.casefold()
    extra: list[str] = []
    if city and city.casefold() not in folded:
        extra.append(city)
    region_line = " ".join(x for x in (state, postal) if x)
    if state and re.search(rf"\b{re.escape(state.casefold())}\b", folded):
        region_line = postal if postal and postal.casefold() not in folded else ""
    elif postal and postal.casefold() in folded:
        region_line = state
    if region_line:
        extra.append(region_line)
    result = ", ".join(x for x in (joined, *extra) if x)
    return result or None
