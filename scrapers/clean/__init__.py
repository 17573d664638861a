"""Field cleaners: turn what a source says into the values of one event.

Everything here is pure: no I/O, no clock. List policy (spam, merging, filtering) is in
``scrapers.dedupe``.
"""

from scrapers.clean.links import SITE_BASES, canonical_link
from scrapers.clean.price import Price, parse_price
from scrapers.clean.text import clean_text, join_address, to_float
from scrapers.clean.time import combine_local, is_date_only, parse_datetime, parse_duration, zone

__all__ = [
    "SITE_BASES",
    "Price",
    "canonical_link",
    "clean_text",
    "combine_local",
    "is_date_only",
    "join_address",
    "parse_datetime",
    "parse_duration",
    "parse_price",
    "to_float",
    "zone",
]
