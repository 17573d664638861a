"""The city catalogue: ids, names, coordinates, time zones and each source's slug."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from zoneinfo import ZoneInfo


@dataclass(frozen=True, slots=True)
class City:
    id: str  # "<state>--<city-slug>", also Eventbrite's path slug
    name: str
    state: str
    latitude: float
    longitude: float
    timezone: str
    luma_slug: str | None = None  # Luma's city page (lu.ma/<slug>) where it has one
    luma_place_id: str | None = None  # discover place id; else discover by coordinates

    @property
    def slug(self) -> str:
        return self.id.split("--", 1)[1]

    @property
    def slugs(self) -> dict[str, str]:
        """How each source names this city (a source absent here builds no request)."""
        names = {"eventbrite": self.id, "meetup": f"us--{self.id}"}
        if self.luma_place_id:
            names["luma"] = self.luma_place_id
        if region := NINETEEN_HZ_REGIONS.get(self.id):
            names["19hz"] = region
        return names

    @property
    def towns(self) -> tuple[str, ...]:
        """Place names that mean this city on regional listings (19hz's venue towns)."""
        return (self.name, *TOWNS.get(self.id, ()))

    @property
    def tz(self) -> ZoneInfo:
        return _zone(self.timezone)


@cache
def _zone(name: str) -> ZoneInfo:
    return ZoneInfo(name)


_E, _C, _M, _P = "America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles"

CITIES: tuple[City, ...] = (
    City("ca--los-angeles", "Los Angeles", "CA", 34.0522, -118.2437, _P, "la"),
    City("ca--san-francisco", "San Francisco", "CA", 37.7749, -122.4194, _P, "sf"),
    City("ca--oakland", "Oakland", "CA", 37.8044, -122.2712, _P),
    City("ca--san-diego", "San Diego", "CA", 32.7157, -117.1611, _P, "sd"),
    City("ca--san-jose", "San Jose", "CA", 37.3382, -121.8863, _P),
    City("ca--sacramento", "Sacramento", "CA", 38.5816, -121.4944, _P),
    City("or--portland", "Portland", "OR", 45.5152, -122.6784, _P, "portland"),
    City("wa--seattle", "Seattle", "WA", 47.6062, -122.3321, _P, "seattle"),
    City("nv--las-vegas", "Las Vegas", "NV", 36.1699, -115.1398, _P),
    City("az--phoenix", "Phoenix", "AZ", 33.4484, -112.0740, "America/Phoenix", "phoenix"),
    City("az--tucson", "Tucson", "AZ", 32.2226, -110.9747, "America/Phoenix"),
    City("co--denver", "Denver", "CO", 39.7392, -104.9903, _M, "denver"),
    City("ut--salt-lake-city", "Salt Lake City", "UT", 40.7608, -111.8910, _M, "slc"),
    City("nm--albuquerque", "Albuquerque", "NM", 35.0844, -106.6504, _M),
    City("id--boise", "Boise", "ID", 43.6150, -116.2023, "America/Boise"),
    City("tx--austin", "Austin", "TX", 30.2672, -97.7431, _C, "austin"),
    City("tx--houston", "Houston", "TX", 29.7604, -95.3698, _C, "houston"),
    City("tx--dallas", "Dallas", "TX", 32.7767, -96.7970, _C, "dallas"),
    City("tx--san-antonio", "San Antonio", "TX", 29.4241, -98.4936, _C),
    City("tx--el-paso", "El Paso", "TX", 31.7619, -106.4850, _M),
    City("il--chicago", "Chicago", "IL", 41.8781, -87.6298, _C, "chicago"),
    City("mn--minneapolis", "Minneapolis", "MN", 44.9778, -93.2650, _C, "minneapolis"),
    City("mo--st-louis", "St. Louis", "MO", 38.6270, -90.1994, _C),
    City("mo--kansas-city", "Kansas City", "MO", 39.0997, -94.5786, _C),
    City("wi--milwaukee", "Milwaukee", "WI", 43.0389, -87.9065, _C),
    City("tn--nashville", "Nashville", "TN", 36.1627, -86.7816, _C, "nashville"),
    City("tn--memphis", "Memphis", "TN", 35.1495, -90.0490, _C),
    City("la--new-orleans", "New Orleans", "LA", 29.9511, -90.0715, _C, "nola"),
    City("ok--oklahoma-city", "Oklahoma City", "OK", 35.4676, -97.5164, _C),
    City("ny--new-york", "New York", "NY", 40.7128, -74.0060, _E, "nyc"),
    City("ny--brooklyn", "Brooklyn", "NY", 40.6782, -73.9442, _E),
    City("ma--boston", "Boston", "MA", 42.3601, -71.0589, _E, "boston"),
    City("pa--philadelphia", "Philadelphia", "PA", 39.9526, -75.1652, _E, "philly"),
    City("pa--pittsburgh", "Pittsburgh", "PA", 40.4406, -79.9959, _E),
    City(
        "dc--washington",
        "Washington",
        "DC",
        38.9072,
        -77.0369,
        _E,
        "dc",
        "discplace-AANPgOymN6bqFn8",
    ),
    City("md--baltimore", "Baltimore", "MD", 39.2904, -76.6122, _E),
    City("ga--atlanta", "Atlanta", "GA", 33.7490, -84.3880, _E, "atlanta"),
    City("fl--miami", "Miami", "FL", 25.7617, -80.1918, _E, "miami"),
    City("fl--orlando", "Orlando", "FL", 28.5383, -81.3792, _E),
    City("fl--tampa", "Tampa", "FL", 27.9506, -82.4572, _E),
    City("nc--charlotte", "Charlotte", "NC", 35.2271, -80.8431, _E),
    City("nc--raleigh", "Raleigh", "NC", 35.7796, -78.6382, _E),
    City("mi--detroit", "Detroit", "MI", 42.3314, -83.0458, "America/Detroit", "detroit"),
    City("oh--columbus", "Columbus", "OH", 39.9612, -82.9988, _E),
    City("oh--cleveland", "Cleveland", "OH", 41.4993, -81.6944, _E),
    City(
        "in--indianapolis", "Indianapolis", "IN", 39.7684, -86.1581, "America/Indiana/Indianapolis"
    ),
    City("ky--louisville", "Louisville", "KY", 38.2527, -85.7585, "America/Kentucky/Louisville"),
    City("hi--honolulu", "Honolulu", "HI", 21.3069, -157.8583, "Pacific/Honolulu", "honolulu"),
    City("ak--anchorage", "Anchorage", "AK", 61.2181, -149.9003, "America/Anchorage"),
)

CITY_BY_ID: dict[str, City] = {c.id: c for c in CITIES}

# 19hz's region page for each city it covers (https://19hz.info/eventlisting_<region>.php).
NINETEEN_HZ_REGIONS: dict[str, str] = {
    "ca--san-francisco": "BayArea",
    "ca--oakland": "BayArea",
    "ca--san-jose": "BayArea",
    "ca--sacramento": "BayArea",
    "ca--los-angeles": "LosAngeles",
    "ca--san-diego": "LosAngeles",
    "wa--seattle": "Seattle",
    "or--portland": "ORE",
    "tx--austin": "Texas",
    "tx--houston": "Texas",
    "tx--dallas": "Texas",
    "tx--san-antonio": "Texas",
    "tx--el-paso": "Texas",
    "ga--atlanta": "Atlanta",
    "fl--miami": "Miami",
    "fl--orlando": "Miami",
    "fl--tampa": "Miami",
    "dc--washington": "DC",
    "md--baltimore": "DC",
    "mi--detroit": "Detroit",
    "ma--boston": "Massachusetts",
    "nv--las-vegas": "LasVegas",
    "az--phoenix": "Phoenix",
    "az--tucson": "Phoenix",
    "co--denver": "Denver",
    "il--chicago": "CHI",
}

# Neighbouring towns a regional listing names for a city's scene.
TOWNS: dict[str, tuple[str, ...]] = {
    "ca--san-francisco": ("SF", "Daly City", "South San Francisco"),
    "ca--oakland": ("Berkeley", "Emeryville", "Alameda", "Richmond", "El Cerrito"),
    "ca--san-jose": ("Santa Clara", "Sunnyvale", "Mountain View", "Palo Alto", "Campbell"),
    "ca--los-angeles": (
        "LA",
        "Hollywood",
        "West Hollywood",
        "Downtown LA",
        "DTLA",
        "Long Beach",
        "Santa Monica",
        "Pasadena",
        "Burbank",
        "Glendale",
        "Venice",
        "Culver City",
        "Inglewood",
        "Anaheim",
    ),
    "ny--brooklyn": ("Bushwick", "Williamsburg", "Greenpoint"),
    "ny--new-york": ("Manhattan", "NYC", "Queens", "Ridgewood"),
    "wa--seattle": ("Tacoma", "Bellevue"),
    "tx--dallas": ("Fort Worth", "Deep Ellum", "Denton"),
    "dc--washington": ("Washington DC", "DC", "Arlington", "Alexandria"),
    "fl--miami": ("Miami Beach", "Wynwood", "Fort Lauderdale"),
}


def city_for_place(source: str, region: str, place: str) -> City | None:
    """The city of ``source``'s ``region`` whose towns include ``place`` (case-blind)."""
    wanted = " ".join(place.split()).casefold()
    for city in CITIES:
        if city.slugs.get(source) == region and wanted in (t.casefold() for t in city.towns):
            return city
    return None


def get_city(city_id: str) -> City | None:
    return CITY_BY_ID.get(city_id)


def require_city(city_id: str) -> City:
    """The city, or a ValueError that names the unknown id."""
    city = CITY_BY_ID.get(city_id)
    if city is None:
        raise ValueError(f"unknown city id {city_id!r}")
    return city


# What people type for a city besides its name (casefolded, punctuation dropped).
ALIASES: dict[str, str] = {
    "nyc": "ny--new-york",
    "ny": "ny--new-york",
    "new york city": "ny--new-york",
    "manhattan": "ny--new-york",
    "bk": "ny--brooklyn",
    "bklyn": "ny--brooklyn",
    "sf": "ca--san-francisco",
    "san fran": "ca--san-francisco",
    "frisco": "ca--san-francisco",
    "la": "ca--los-angeles",
    "philly": "pa--philadelphia",
    "phl": "pa--philadelphia",
    "dc": "dc--washington",
    "washington dc": "dc--washington",
    "nola": "la--new-orleans",
    "vegas": "nv--las-vegas",
    "slc": "ut--salt-lake-city",
    "atl": "ga--atlanta",
    "chi": "il--chicago",
    "chitown": "il--chicago",
    "htx": "tx--houston",
    "atx": "tx--austin",
    "satx": "tx--san-antonio",
    "pdx": "or--portland",
    "stl": "mo--st-louis",
    "saint louis": "mo--st-louis",
    "kc": "mo--kansas-city",
    "okc": "ok--oklahoma-city",
    "abq": "nm--albuquerque",
    "nashvegas": "tn--nashville",
    "the bay": "ca--san-francisco",
    "motor city": "mi--detroit",
}


def _fold(text: str) -> str:
    kept = "".join(ch if ch.isalnum() else " " for ch in text.casefold())
    return " ".join(kept.split())


def _within_one(a: str, b: str) -> bool:
    """``a`` and ``b`` differ by at most one letter added, dropped, changed or two swapped."""
    if a == b:
        return True
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i, (x, y) in enumerate(zip(a, b, strict=True)) if x != y]
        if len(diff) == 1:
            return True
        i = diff[0]
        return len(diff) == 2 and diff[1] == i + 1 and a[i] == b[i + 1] and a[i + 1] == b[i]
    short, long = (a, b) if len(a) < len(b) else (b, a)
    i = next(
        (i for i, (x, y) in enumerate(zip(short, long[:-1], strict=True)) if x != y), len(short)
    )
    return short[i:] == long[i + 1 :]


def _rank(query: str, city: City) -> int | None:
    """How well ``query`` (folded) names ``city``: 0 best, ``None`` for no match."""
    name = _fold(city.name)
    aliases = [a for a, city_id in ALIASES.items() if city_id == city.id]
    if query in (name, _fold(city.slug), *aliases):
        return 0
    if name.startswith(query) or any(w.startswith(query) for w in name.split()):
        return 1
    if query == city.state.casefold():
        return 2
    if len(query) >= 2 and any(a.startswith(query) for a in aliases):
        return 3
    if len(query) >= 3 and query in name:
        return 3
    if len(query) < 3:
        return None
    if any(_within_one(query, n) for n in (name, *aliases)):
        return 4
    # A misspelt beginning: "philli", "chicag0".
    if len(query) >= 4 and any(
        _within_one(query, name[:n]) for n in (len(query) - 1, len(query), len(query) + 1)
    ):
        return 5
    return None


def search_cities(*, query: str, cities: tuple[City, ...] = CITIES) -> list[City]:
    """The cities ``query`` can mean, best first: a name or alias ("nyc", "philly") said
    whole, then a name's beginning, a part of it, a state, and last a name or alias
    within one letter of the query. An empty query gives every city, in catalogue order."""
    wanted = _fold(query)
    if not wanted:
        return list(cities)
    ranked = [(rank, i, c) for i, c in enumerate(cities) if (rank := _rank(wanted, c)) is not None]
    return [c for _, _, c in sorted(ranked, key=lambda t: (t[0], t[1]))]
