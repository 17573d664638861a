"""The classifier: vocabulary tags, an age limit and ``after_dark`` for one event.

Pure rules over what an event already says (title, the source's own categories,
description, venue, local start hour): no I/O, no model file, no nocturne import. Every
signal that counts carries a short human phrase, so a verdict says why ("club night",
"10 PM", "at a nightclub").

``after_dark`` adds up weighed signals. A kind of event that is not nightlife (a career
fair, a conference, a webinar, a class, a children's event...) pulls down; a nightlife
kind (club night, concert, party, comedy, drag, a screening...) pulls up; the hour, the
venue and the source tip the borderline cases. The title and the source's categories
count fully, the description at half: descriptions list everything an organiser can think
of. Text is matched as words and two- or three-word phrases looked up in sets, not by
regular expressions, so a 1,000-event page costs milliseconds.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import pairwise
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from scrapers.event import ScrapedEvent

RULES_VERSION = 2  # 1: the first, untuned rules (73f5a43)

TAGS: dict[str, str] = {
    "music": "Music",
    "club-night": "Club night",
    "party": "Party",
    "live-show": "Live show",
    "arts": "Arts",
    "film": "Film",
    "comedy": "Comedy",
    "performance": "Performance",
    "community": "Community",
    "queer": "Queer",
    "food-drink": "Food & drink",
    "outdoors": "Outdoors",
    "wellness": "Wellness",
    "tech": "Tech",
    "business": "Business & career",
    "class": "Class",
    "family": "Family",
    "online": "Online",
}
AGES: dict[str, str] = {"21+": "21+", "18+": "18+", "all-ages": "All ages"}


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the classifier says of one event."""

    tags: tuple[str, ...]  # slugs of TAGS, most telling first
    after_dark: bool
    reasons: tuple[str, ...]  # the phrases that decided after_dark
    age: str | None  # a key of AGES, or None when nothing says


@dataclass(frozen=True, slots=True)
class _Kind:
    reason: str  # the phrase a verdict shows
    weight: int  # toward after_dark; negative: not after dark
    tags: tuple[str, ...]


# What the words of a title, a source category or a description say the event is.
# (reason, weight, tags, phrases): phrases are folded words separated by " | "; a final
# "s" is tried too, so "concert" also reads "concerts".
_KIND_TABLE: tuple[tuple[str, int, tuple[str, ...], str], ...] = (
    # --- not after dark
    (
        "career fair",
        -7,
        ("business",),
        "career fair | job fair | hiring event | career expo | recruiting | recruiter"
        " | recruitment | job seeker | resume | hiring | career",
    ),
    (
        "conference",
        -5,
        ("business",),
        "conference | summit | expo | convention | trade show | forum | congress | tedx"
        " | keynote | agm | roundtable | round table | panel discussion | panel",
    ),
    (
        "symposium",
        -6,
        ("business",),
        "symposium | colloquium | grand rounds | cme | rheumatology | cardiology | clinical",
    ),
    (
        "online",
        -6,
        ("online",),
        "webinar | virtual event | online event | virtual | online | zoom | livestream only"
        " | on line",
    ),
    (
        "tech talk",
        -4,
        ("tech",),
        "tech talk | techtalk | hackathon | demo day | developer | engineer | engineering"
        " | software | data science | machine learning | ai | llm | saas | devops | cloud"
        " | python | java | javascript | startup | founder | product manager | ai ml"
        " | langchain | agentic | copilot | github | coding | hardware | cybersecurity"
        " | data visualization | data | defense tech | hypersonics | science technology"
        " | technology | tech | dev | devs | ux | blockchain | crypto | web3 | fintech",
    ),
    (
        "business seminar",
        -4,
        ("business",),
        "seminar | investing | investor | investment | real estate | wealth"
        " | financial freedom | passive income | trading | forex | mortgage"
        " | business professional | networking event | networking | entrepreneur"
        " | professional | leadership | marketing | business | industry | policy"
        " | institute | career development | certification | accelerator"
        " | application session | pitch night | pitch competition | venture capital"
        " | vc | markets",
    ),
    (
        "brand promotion",
        -6,
        ("business",),
        "launch event | product launch | pre launch | launch | in store | brand activation"
        " | sampling | makeup | lipstick | cosmetics | skincare | promotion | free gift"
        " | giveaway | pre game",
    ),
    (
        "class",
        -4,
        ("class",),
        "class | workshop | course | training | bootcamp | lesson | masterclass | tutorial"
        " | dance class | dance lesson | class training or workshop | sip and paint"
        " | sip & paint | paint and sip"
        " | lecture | talk | seminar or talk | learn | bedazzling | hands on"
        " | tournament | study | book club | reading group | writing",
    ),
    (
        "children's event",
        -5,
        ("family",),
        "kids | kid | children | children's | childrens | toddler | storytime | story time"
        " | family fun | family friendly | family day | baby | babies | family education"
        " | school activities | teens",
    ),
    (
        "daytime tour",
        -3,
        ("outdoors",),
        "walking tour | guided tour | museum tour | food tour | history tour | tour of"
        " | bus tour | boat tour | city tour | brewery tour | distillery tour | tours"
        " | sightseeing | nyctour | nycwalkingtour",
    ),
    (
        "wellness",
        -3,
        ("wellness",),
        "yoga | meditation | meditate | breathwork | sound bath | soundbath | reiki"
        " | healing | pilates | fitness | run club | bootcamp workout | workout"
        " | self care | mindfulness",
    ),
    (
        "faith",
        -3,
        ("community",),
        "worship | church | church service | bible | prayer | sermon | ministry | faith",
    ),
    (
        "games club",
        -1,
        ("community",),
        "mahjong | mahjongg | chess | open play",
    ),
    # --- after dark
    (
        "club night",
        5,
        ("club-night", "music", "party"),
        "club night | nightclub | rave | afters | after hours | afterhours | dj | djs"
        " | dj's | dj set | techno | house music | deep house | tech house | dance party"
        " | dance night | warehouse | nightlife | boiler room | b2b | edm | drum and bass"
        " | drum n bass | dnb | dubstep | trance | bass music | open to close | club music"
        " | nite | ladies night | ladies night out | saturday night | friday night",
    ),
    (
        "concert",
        4,
        ("live-show", "music"),
        "concert | live music | live band | in concert | on tour | tour | world tour"
        " | album release | album launch | record release | headline | headlining | headliner | gig"
        " | concierto | konzert | concert or performance | with special guest"
        " | special guest | an evening with | farewell tour | orchestra | symphony"
        " | quartet | quintet | string band | band | choir | opera | recital",
    ),
    (
        "party",
        5,
        ("party",),
        "party | parties | afterparty | after party | fiesta | soiree | fete | bash | nye"
        " | new year's eve | day party | block party | pool party | rooftop party"
        " | yacht party | boat party | tea dance | jouvert | j'ouvert | carnival"
        " | halloween | masquerade | ball",
    ),
    (
        "art opening",
        4,
        ("arts",),
        "art opening | opening reception | vernissage | gallery opening | exhibition opening"
        " | art show | art night | art walk | drink and draw | drink & draw | life drawing",
    ),
    (
        "comedy",
        5,
        ("comedy",),
        "comedy | comedian | comedians | stand up | standup | improv | comedia | roast"
        " | sketch comedy | comedy show",
    ),
    (
        "drag",
        5,
        ("performance", "queer"),
        "drag | drag show | drag brunch | burlesque | cabaret | variety show | vaudeville"
        " | drag queen | drag king",
    ),
    (
        "screening",
        4,
        ("film",),
        "screening | film | films | movie | movies | cinema | cine | documentary"
        " | film festival | premiere",
    ),
    (
        "open mic",
        5,
        ("performance",),
        "open mic | open mike | poetry slam | spoken word | slam | karaoke",
    ),
    (
        "jam session",
        5,
        ("music", "live-show"),
        "jam session | bluegrass jam | old time jam | music session | jam | jams",
    ),
    (
        "performance",
        3,
        ("performance",),
        "theatre | theater | musical | performance | teatro | storytelling | poetry"
        " | dance performance | ballet | circus | magic show | show",
    ),
    (
        "dancing",
        4,
        ("music", "party"),
        "dancing | line dancing | salsa night | swing dance | dance | bachata | two step | disco",
    ),
    (
        "evening social",
        2,
        ("community", "food-drink"),
        "happy hour | drinks | drink | cocktail | mixer | social | bar crawl | pub crawl"
        " | trivia | trivia night | pub quiz | game night | board game | games | wine"
        " | beer | tasting | speed dating | singles | tequila | spirits | social club"
        " | dinner party | supper club | hang out | hangout | girlsnightout",
    ),
    (
        "music",
        4,
        ("music",),
        "music | musica | musique | jazz | blues | funk | soul | hip hop | hiphop | rap"
        " | punk | metal | rock | indie | folk | bluegrass | americana | reggae | salsa"
        " | cumbia | afrobeat | afrobeats | amapiano | r&b | rnb | singer songwriter"
        " | acoustic | songwriter | hardcore | emo | ambient | ambient set | trap | jungle"
        " | glitch hop | moombahton | synthpop | electro | future beats | turntablism"
        " | world music | bass house | g house | jackin house | funky house | new wave"
        " | 80s | genre | musicians | fiddle | banjo | irish music | old time music"
        " | country | pop | caribbean | listening session | listening party | vinyl"
        " | immersive listening | rock and roll | slow jams",
    ),
    (
        "festival",
        3,
        ("community",),
        "festival | fest | festival or fair | street fair",
    ),
)

# Tags that do not move after_dark, from words alone.
_TAG_WORDS: dict[str, str] = {
    "arts": "art | arts | artist | gallery | exhibit | exhibition | museum | painting"
    " | sculpture | photography | printmaking | zine | craft | mural | draw | drawing"
    " | performing visual arts | fashion show",
    "community": "community | meetup | meet up | volunteer | fundraiser | benefit"
    " | potluck | neighborhood | gathering | mutual aid | activism | rally | march"
    " | community culture | club | group | roundup | open house | pop up",
    "queer": "queer | lgbt | lgbtq | lgbtqia | gay | lesbian | trans | pride | sapphic"
    " | dyke | dykes | 2slgbtq | 2slgbtqia | out in",
    "food-drink": "food | dinner | brunch | lunch | breakfast | wine | beer | brewery"
    " | brewing | cocktail | drinks | happy hour | whiskey | whisky | tequila | mezcal"
    " | sake | coffee | chef | supper | food truck | bbq | taco | pizza | paella"
    " | food drink | spirits | tasting | cooking | ice cream | bakes",
    "outdoors": "outdoors | outdoor | hike | hiking | park | picnic | garden | beach"
    " | camping | bike ride | cycling | kayak | kayaking | trail | open air | rooftop"
    " | boat party | yacht | cruise | travel outdoor | nature | bikes",
    "wellness": "yoga | meditation | breathwork | sound bath | wellness | mindfulness"
    " | healing | reiki | health | fitness | run club | pilates | self care"
    " | mental health | ecstatic dance | sober | spirituality | spiritual"
    " | health wellness | sports fitness | religion spirituality",
    "tech": "ai | tech | technology | software | developer | coding | startup | data",
    "business": "business | career | networking | professional | entrepreneur | founder"
    " | investor | industry",
    "online": "online | virtual | webinar | zoom | livestream | live streamed",
    "family": "family | families | kids | children | parents",
}

# Where an event is held. (reason, weight, tags, phrases)
_VENUE_TABLE: tuple[tuple[str, int, tuple[str, ...], str], ...] = (
    ("online only", -6, ("online",), "virtual event | online | virtual | zoom"),
    (
        "at a nightclub",
        3,
        ("club-night",),
        "nightclub | night club | lounge | discotheque | club",
    ),
    (
        "at a music venue",
        2,
        ("live-show", "music"),
        "music hall | ballroom | theatre | theater | amphitheatre | amphitheater | arena"
        " | auditorium | concert hall | jazz club | listening room | warehouse | stage"
        " | bandshell",
    ),
    (
        "at a bar",
        2,
        ("food-drink",),
        "bar | pub | tavern | saloon | brewery | brewing | taproom | tap room | cantina"
        " | speakeasy | beer garden | biergarten | cocktail | wine bar",
    ),
    ("on a rooftop", 2, ("outdoors",), "rooftop | roof deck | roof"),
    ("in a park", 0, ("outdoors",), "park | beach | garden | gardens | plaza | lawn | pier"),
    ("at a gallery", 1, ("arts",), "gallery | art space | studio"),
    ("at a cafe", 0, ("food-drink",), "coffee bar | cafe | coffee shop | food hall"),
    (
        "at an office or campus",
        -2,
        (),
        "convention center | convention centre | conference center | office"
        " | offices | headquarters | hq | campus | university | library | school"
        " | coworking | wework | hospital | medical center | institute | museum"
        " | discovery district | innovation | marriott | hyatt | hilton"
        " | international centre | station dc | housing center",
    ),
    ("at a hotel", -1, (), "hotel | inn | suites"),
)

# Source categories that mean one kind, whatever their words (Eventbrite's formats).
_CATEGORY_KINDS: dict[str, tuple[str, int, tuple[str, ...]]] = {
    "party or social gathering": ("party", 4, ("party", "community")),
    "nightlife": ("club night", 5, ("club-night", "party")),
    "concert or performance": ("concert", 4, ("live-show", "music")),
    "music": ("music", 3, ("music",)),
    "film media entertainment": ("screening", 1, ()),
    "screening": ("screening", 4, ("film",)),
    "performing visual arts": ("arts", 1, ("arts", "performance")),
    "seminar or talk": ("class", -4, ("class",)),
    "class training or workshop": ("class", -5, ("class",)),
    "business professional": ("business seminar", -4, ("business",)),
    "meeting or networking event": ("business seminar", -4, ("business",)),
    "science technology": ("tech talk", -4, ("tech",)),
    "conference": ("conference", -5, ("business",)),
    "tour": ("daytime tour", -3, ("outdoors",)),
    "family education": ("children's event", -4, ("family",)),
    "festival or fair": ("festival", 2, ("community",)),
    "game or competition": ("evening social", 1, ("community",)),
    # schema.org subtypes, as scrapers.sites.common names them
    "music event": ("concert", 4, ("music", "live-show")),
    "comedy event": ("comedy", 5, ("comedy",)),
    "theater event": ("performance", 3, ("performance",)),
    "dance event": ("dancing", 4, ("music", "party")),
    "screening event": ("screening", 4, ("film",)),
    "visual arts event": ("art opening", 2, ("arts",)),
    "exhibition event": ("art opening", 1, ("arts",)),
    "literary event": ("performance", 1, ("performance",)),
    "social event": ("evening social", 2, ("community",)),
    "food event": ("evening social", 1, ("food-drink",)),
    "festival": ("festival", 3, ("community",)),
    "education event": ("class", -5, ("class",)),
    "childrens event": ("children's event", -5, ("family",)),
    "business event": ("business seminar", -5, ("business",)),
    "sports event": ("sports", 0, ("outdoors",)),
}

# What a listing on a source says by itself: 19hz lists electronic music nights; the
# calendar and schema.org sources read the feeds and pages of venues someone added.
_SOURCE_PRIORS: dict[str, tuple[str, int, tuple[str, ...]]] = {
    "19hz": ("19hz listing", 4, ("music", "club-night")),
    "ical": ("venue calendar", 2, ()),
    "schema_org": ("venue calendar", 2, ()),
}
_THRESHOLD = 3
_SUMMARY_CHARS = 300
_BODY_CHARS = 1500  # the start of a description says what it is; the rest costs time

_TOKEN_RE = re.compile(r"[a-z0-9]+(?:['&][a-z0-9]+)*")
_AGE_RE = re.compile(
    r"(?<![\w$])(?:(21|18)\s*(?:\+|and (?:over|up)|& (?:over|up)|or older)|(all[- ]ages?))"
)


def _fold(text: str) -> str:
    """Lower case without accents, so "FIESTA", "Fiesta" and "fiésta" read alike."""
    text = text.casefold()
    if text.isascii():
        return text
    # only ASCII words are matched: dropping the rest drops the accents too
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()


def _phrases(spec: str) -> list[str]:
    found: list[str] = []
    for phrase in spec.split(" | "):
        words = " ".join(_TOKEN_RE.findall(_fold(phrase)))
        found += [words, words + "s"] if not words.endswith("s") else [words]
    return found


def _index(
    table: Iterable[tuple[str, int, tuple[str, ...], str]],
) -> dict[str, tuple[_Kind, ...]]:
    index: dict[str, tuple[_Kind, ...]] = {}
    for reason, weight, tags, spec in table:
        kind = _Kind(reason, weight, tags)
        for phrase in _phrases(spec):
            if kind not in index.get(phrase, ()):
                index[phrase] = (*index.get(phrase, ()), kind)
    return index


_KINDS = _index(_KIND_TABLE)
_VENUES = _index(_VENUE_TABLE)
_TAG_INDEX: dict[str, tuple[str, ...]] = {}
for _slug, _spec in _TAG_WORDS.items():
    for _phrase in _phrases(_spec):
        _TAG_INDEX[_phrase] = (*_TAG_INDEX.get(_phrase, ()), _slug)
_TAG_ORDER = {slug: i for i, slug in enumerate(TAGS)}
# ties between reasons go to the kind listed first (sets have no order to fall back on)
_REASON_ORDER = {
    reason: i
    for i, reason in enumerate(
        dict.fromkeys(r for r, *_ in (*_KIND_TABLE, *_VENUE_TABLE, *_SOURCE_PRIORS.values()))
    )
}
_KEYS = frozenset(_KINDS) | frozenset(_TAG_INDEX)
_CATEGORIES = {" ".join(_TOKEN_RE.findall(k)): v for k, v in _CATEGORY_KINDS.items()}


def _grams(text: str) -> set[str]:
    """The words of ``text`` and its two- and three-word phrases."""
    words = _TOKEN_RE.findall(text)
    grams = set(words)
    if len(words) > 1:
        grams.update(map(" ".join, pairwise(words)))
        grams.update(map(" ".join, zip(words, words[1:], words[2:], strict=False)))
    return grams


def _known(grams: set[str]) -> set[str]:
    """The known phrases among ``grams``, the longest winning: "walking tour" hides "tour",
    "tech house" hides "tech"."""
    found = grams & _KEYS
    for gram in [g for g in found if " " in g]:
        words = gram.split(" ")
        found.difference_update(words)
        if len(words) == 3:
            found.difference_update((f"{words[0]} {words[1]}", f"{words[1]} {words[2]}"))
    return found


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo | None:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return None


def _local(moment: datetime | None, timezone: str | None) -> datetime | None:
    if moment is None or moment.tzinfo is None:
        return None
    zone = _zone(timezone) if timezone else None
    return moment.astimezone(zone) if zone else moment


def _clock(moment: datetime) -> str:
    hour = moment.hour % 12 or 12
    suffix = "AM" if moment.hour < 12 else "PM"
    return f"{hour}:{moment.minute:02d} {suffix}" if moment.minute else f"{hour} {suffix}"


def _age(age: str | None, source_tags: Sequence[str], text: str) -> str | None:
    if age in AGES:
        return age
    for tag in (age or "", *source_tags):
        folded = _fold(tag).strip().replace(" ", "-")
        if folded in ("21+", "18+"):
            return folded
        if folded in ("all-ages", "all-age"):
            return "all-ages"
    match = _AGE_RE.search(text)
    if match is None:
        return None
    return "all-ages" if match[2] else f"{match[1]}+"


def classify(
    *,
    title: str,
    description: str | None = None,
    venue: str | None = None,
    start: datetime | None = None,
    end: datetime | None = None,
    timezone: str | None = None,
    is_free: bool | None = None,
    price_min: float | None = None,
    is_online: bool = False,
    date_only: bool = False,
    source: str | None = None,
    source_tags: Sequence[str] = (),
    age: str | None = None,
) -> Verdict:
    """Tags, ``after_dark`` (with its reasons) and the age limit of one event."""
    # kind reason -> weight, the strongest of where it was read
    signals: dict[str, int] = {}
    tag_scores: dict[str, int] = {}

    kind_tags: dict[str, Sequence[str]] = {}

    def signal(reason: str, weight: int, tags: Sequence[str], tag_weight: int) -> None:
        if abs(weight) > abs(signals.get(reason, 0)):
            signals[reason] = weight
        kind_tags[reason] = (*kind_tags.get(reason, ()), *tags)
        for tag in tags:
            tag_scores[tag] = tag_scores.get(tag, 0) + tag_weight

    head = _grams(_fold(title))
    for category in source_tags:
        folded = _fold(category)
        known = _CATEGORIES.get(" ".join(_TOKEN_RE.findall(folded)))
        if known:
            signal(*known, 3)
        else:
            head |= _grams(folded)
    for gram in _known(head):
        for kind in _KINDS.get(gram, ()):
            signal(kind.reason, kind.weight, kind.tags, 2)
        for tag in _TAG_INDEX.get(gram, ()):
            tag_scores[tag] = tag_scores.get(tag, 0) + 2

    folded_body = _fold(description[:_BODY_CHARS]) if description else ""
    if folded_body:
        # a short description is a summary: its words tag as much as the title's
        tag_weight = 2 if len(folded_body) <= _SUMMARY_CHARS else 1
        for gram in _known(_grams(folded_body)):
            for kind in _KINDS.get(gram, ()):
                half = kind.weight // 2 if kind.weight > 0 else -(-kind.weight // 2)
                signal(kind.reason, half, kind.tags, tag_weight)
            for tag in _TAG_INDEX.get(gram, ()):
                tag_scores[tag] = tag_scores.get(tag, 0) + tag_weight

    if venue:
        place = _grams(_fold(venue)) & _VENUES.keys()
        where = {kind for gram in place for kind in _VENUES[gram]}
        for reason, weight, tags, _ in _VENUE_TABLE:
            if any(kind.reason == reason for kind in where):
                signal(reason, weight, tags, 2)
                break
    if is_online:
        signal("online only", -8, ("online",), 5)
    if source in _SOURCE_PRIORS:
        signal(*_SOURCE_PRIORS[source], 3)

    local_start = None if date_only else _local(start, timezone)
    if local_start is not None:
        hour = local_start.hour
        if hour >= 20 or hour < 5:
            signals[_clock(local_start)] = 3
        elif hour >= 17:
            signals[_clock(local_start)] = 1
        else:
            signals.pop("evening social", None)  # drinks at 2 PM are not an evening out
        if 5 <= hour < 12:
            signals[_clock(local_start)] = -2
        elif 12 <= hour < 15:
            signals[_clock(local_start)] = -1
        local_end = _local(end, timezone)
        if (
            local_end is not None
            and local_end - local_start < timedelta(hours=14)
            and (local_end.hour >= 21 or local_end.date() > local_start.date())
        ):
            signals[f"until {_clock(local_end)}"] = 1

    score = sum(signals.values())
    after_dark = score >= _THRESHOLD
    deciding = sorted(
        ((w, r) for r, w in signals.items() if (w > 0) == after_dark and w),
        key=lambda s: (-abs(s[0]), _REASON_ORDER.get(s[1], len(_REASON_ORDER)), s[1]),
    )
    if deciding:  # what decided it is the most telling tag
        for tag in kind_tags.get(deciding[0][1], ()):
            tag_scores[tag] = tag_scores.get(tag, 0) + 3
    tags = tuple(
        sorted(
            (t for t, s in tag_scores.items() if s >= 2),
            key=lambda t: (-tag_scores[t], _TAG_ORDER[t]),
        )
    )
    return Verdict(
        tags=tags,
        after_dark=after_dark,
        reasons=tuple(r for _, r in deciding[:4]),
        age=_age(age, source_tags, f"{_fold(title)} {folded_body}"),
    )


def classify_scraped(event: ScrapedEvent) -> Verdict:
    """:func:`classify` of a parsed event."""
    return classify(
        title=event.title,
        description=event.description,
        venue=event.venue,
        start=event.start,
        end=event.end,
        timezone=event.timezone,
        is_free=event.is_free,
        price_min=event.price_min,
        is_online=event.is_online,
        date_only=event.date_only,
        source=event.source,
        source_tags=event.tags,
        age=event.age,
    )


__all__ = ["AGES", "RULES_VERSION", "TAGS", "Verdict", "classify", "classify_scraped"]
