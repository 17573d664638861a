"""Prices: numbers or strings at either end, a currency, and whether the event is free."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import NamedTuple

from scrapers.clean.text import to_float

_CURRENCY_SYMBOLS = {
    "CA$": "CAD",
    "C$": "CAD",
    "US$": "USD",
    "A$": "AUD",
    "$": None,  # dollars: the currency argument (or USD) decides
    "€": "EUR",
    "£": "GBP",
    "¥": "JPY",
    "₹": "INR",
}
_PRICE_NUMBER_RE = re.compile(r"\d[\d,]*(?:\.\d+)?|\.\d+")
_CURRENCY_CODES = frozenset(
    {"USD", "CAD", "EUR", "GBP", "AUD", "NZD", "MXN", "JPY", "INR", "CHF", "SEK", "BRL"}
)
_CODE_RE = re.compile(r"\b(" + "|".join(sorted(_CURRENCY_CODES)) + r")\b", re.I)
_FREE_WORDS_RE = re.compile(r"\b(free|gratis|no cost|complimentary)\b", re.I)


class Price(NamedTuple):
    """``(min, max, currency, is_free)``; unknown parts are None."""

    min: float | None
    max: float | None
    currency: str | None
    is_free: bool | None


def _amount(value: object) -> tuple[float | None, str | None, bool]:
    """(number, currency found in the text, text said 'free')."""
    if value is None or isinstance(value, bool):
        return None, None, False
    if isinstance(value, int | float | Decimal):
        return to_float(value), None, False
    if not isinstance(value, str):
        return None, None, False
    text = value.strip()
    if not text:
        return None, None, False
    currency: str | None = None
    for symbol, code in _CURRENCY_SYMBOLS.items():
        if symbol in text:
            currency = code or currency
            break
    code_match = _CODE_RE.search(text)
    if code_match:
        currency = code_match.group(1).upper()
    number_match = _PRICE_NUMBER_RE.search(text)
    if number_match:
        try:
            number = float(Decimal(number_match.group(0).replace(",", "")))
        except InvalidOperation:
            number = None
        return number, currency, False
    return None, currency, bool(_FREE_WORDS_RE.search(text))


def parse_price(
    low: object = None,
    high: object = None,
    *,
    currency: object = None,
    is_free: bool | None = None,
) -> Price:
    """Normalise a price: numbers or strings (``"$10"``, ``"CA$15.50"``, ``"Free"``,
    ``"$10 - $25"``) for the low and high ends, an ISO currency, and a source's own
    free flag (which wins when given).

    Currency is upper-cased and dropped for free events (sources put a default currency
    on zero prices). ``is_free`` is derived from the prices when the source has no flag.
    """
    lo, lo_cur, lo_free = _amount(low)
    hi, hi_cur, hi_free = _amount(high)
    if isinstance(low, str) and high is None:
        numbers = _PRICE_NUMBER_RE.findall(low)
        if len(numbers) >= 2 and re.search(r"\d\s*(?:-|\u2013|to)\s*\D{0,4}\d", low):
            hi = to_float(numbers[-1].replace(",", ""))
    if lo_free or hi_free:
        lo = 0.0 if lo is None else lo
    code = currency.strip().upper() if isinstance(currency, str) and currency.strip() else None
    code = code or lo_cur or hi_cur
    if lo is not None and hi is not None and hi < lo:
        lo, hi = hi, lo
    if lo is not None and lo < 0:
        lo = None
    if hi is not None and hi < 0:
        hi = None
    free = is_free
    if free is None and (lo is not None or hi is not None):
        free = (hi if hi is not None else lo) == 0
    if free and not (hi or lo):
        lo = 0.0 if lo is None else lo
        hi = 0.0 if hi is None else hi
        code = None
    if lo is None and hi is None and not free:
        code = None
    elif code is None and (lo_cur is None and hi_cur is None) and _has_dollar(low, high):
        code = "USD"
    if lo is not None and hi is None:
        hi = lo
    return Price(lo, hi, code, free)


def _has_dollar(*values: object) -> bool:
    return any(isinstance(v, str) and "$" in v for v in values)
