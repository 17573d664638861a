"""The classifier: vocabulary tags, an age limit and ``after_dark`` for one event.

Pure rules over what an event already says (title, the source's own categories,
description, venue, local start hour, price, online): no I/O, no model file, no nocturne
import. Every signal that counts carries a short human phrase, so the verdict can say why
("club night", "10 PM", "at a nightclub").

``after_dark`` weighs the signals: a kind of event that is not nightlife (a conference, a
webinar, a class, a children's event...) pulls down hard, a nightlife kind (club night,
concert, comedy, drag, a screening...) pulls up, and the hour, the venue and the source
tip the borderline cases. The title and the source's categories count more than the
description, which often lists everything the organiser could think of.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from scrapers.event import ScrapedEvent

RULES_VERSION = 1

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


def _fold(text: str) -> str:
    """Lower case without accents, so "FIESTA", "Fiesta" and "fiésta" read alike."""
    text = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in text if not unicodedata.combining(c))


def _words(alternatives: str) -> re.Pattern[str]:
    """A pattern matching any of the `` | ``-separated regexes as whole words."""
    parts = re.split(r"\s+\|\s+", alternatives.strip())
    return re.compile(r"(?<!\w)(?:" + "|".join(parts) + r")(?!\w)")


# Each tag: words that show it. Matched on folded text at word boundaries.
_TAG_WORDS: dict[str, re.Pattern[str]] = {
    "music": _words(
        r"music | musica | musique | concerts? | concierto | konzert | "
        r"live band | band | dj'?s? | djs? | techno | house | disco | jazz | "
        r"blues | funk | soul | hip[- ]?hop | rap | punk | metal | rock | indie | "
        r"folk | bluegrass | country | americana | reggae | salsa | bachata | "
        r"cumbia | edm | dubstep | drum (?:&|and|n) bass | dnb | trance | "
        r"electro\w* | bass | singer[- ]songwriter | orchestra | symphony | "
        r"choir | opera | acoustic | album release | tour | on tour | "
        r"live music | karaoke | open mic | songwriters? | hardcore | emo | "
        r"ambient | experimental | breaks | garage | afrobeats? | amapiano | "
        r"r&b | vinyl"
    ),
    "club-night": _words(
        r"club night | nightclub | rave | afters | after[- ]?hours | dj'?s? | "
        r"djs? | dj set | techno | house music | deep house | tech house | "
        r"dance party | dance night | warehouse | underground | nightlife | edm | "
        r"dubstep | drum (?:&|and|n) bass | trance | bass music | disco | "
        r"boiler room | b2b | all night long"
    ),
    "party": _words(
        r"party | parties | fiesta | fete | soiree | bash | celebration | "
        r"rooftop | pool party | day party | block party | afterparty | "
        r"after party | gala | nye | new year'?s eve | halloween | rave"
    ),
    "live-show": _words(
        r"live | concerts? | in concert | tour | on tour | live band | "
        r"live music | headlin\w+ | support(?:ing)? acts? | doors | "
        r"with special guests? | special guests? | album release | "
        r"record release | showcase | gig"
    ),
    "arts": _words(
        r"art | arts | artist | gallery | exhibit\w* | exposicion | museum | "
        r"opening reception | art opening | vernissage | painting | sculpture | "
        r"photography | printmaking | zine | craft | design | mural"
    ),
    "film": _words(
        r"film | films | movie | movies | cinema | cine | screening | "
        r"documentary | premiere | shorts | matinee"
    ),
    "comedy": _words(
        r"comedy | comedian | comedians | stand[- ]?up | improv | sketch | "
        r"comedia | roast | funny"
    ),
    "performance": _words(
        r"drag | drag show | drag brunch | burlesque | cabaret | theatre | "
        r"theater | teatro | play | musical | poetry | poets? | spoken word | "
        r"slam | dance performance | ballet | circus | magic | variety show | "
        r"performance | performances | storytelling | reading"
    ),
    "community": _words(
        r"community | meetup | meet[- ]up | social | mixer | volunteer\w* | "
        r"fundraiser | benefit | potluck | club | game night | board games? | "
        r"trivia | book club | neighbou?rhood | gathering | mutual aid | "
        r"activis\w+ | rally | march | festival | fair"
    ),
    "queer": _words(
        r"queer | lgbt\w* | lgbtq\w* | gay | lesbian | trans | pride | drag | "
        r"sapphic | dyke | 2slgbtq\w*"
    ),
    "food-drink": _words(
        r"food | dinner | brunch | lunch | breakfast | tasting | wine | beer | "
        r"brew\w* | cocktails? | drinks? | happy hour | bar crawl | pub crawl | "
        r"whiskey | whisky | tequila | mezcal | sake | coffee | chef | "
        r"supper club | food trucks? | pop[- ]up dinner | bbq | taco | pizza"
    ),
    "outdoors": _words(
        r"outdoors? | hike | hiking | park | picnic | garden | beach | camping | "
        r"bike ride | cycling | kayak\w* | trail | open air | open-air | "
        r"rooftop | boat party | cruise"
    ),
    "wellness": _words(
        r"yoga | meditation | meditate | breathwork | sound bath | wellness | "
        r"mindful\w* | healing | reiki | health | fitness | run club | pilates | "
        r"self[- ]care | mental health | ecstatic dance | sober"
    ),
    "tech": _words(
        r"tech | technology | ai | a\.i\. | artificial intelligence | "
        r"machine learning | ml | data science | data | software | developers? | "
        r"devs? | coding | code | programming | python | javascript | cloud | "
        r"hackathon | startups? | saas | crypto | blockchain | web3 | llms? | "
        r"cyber\w* | engineering | engineers? | product managers? | robotics | "
        r"devops | open source | gpu | agents?"
    ),
    "business": _words(
        r"business | career | careers | career fair | job fair | hiring | "
        r"recruit\w* | networking | professionals? | entrepreneurs? | founders? | "
        r"investors? | investing | investment | real estate | wealth | finance | "
        r"financial | marketing | sales | leadership | conference | summit | "
        r"expo | trade show | b2b | symposium | seminar | webinar | vc | "
        r"venture | pitch | executives? | ceo | industry"
    ),
    "class": _words(
        r"class | classes | workshop | workshops | course | lesson | lessons | "
        r"training | bootcamp | tutorial | masterclass | learn | learning | "
        r"seminar | lecture | how to | certification | beginners?"
    ),
    "family": _words(
        r"kids? | children'?s? | child | family | families | toddlers? | "
        r"bab(?:y|ies) | all ages | storytime | story time | teens? | youth | "
        r"parents? | school | students?"
    ),
    "online": _words(
        r"online | virtual | webinar | zoom | livestream | live stream | "
        r"streamed | remote"
    ),
}

# Eventbrite's, Meetup's and Luma's own categories that map straight to a tag.
_SOURCE_TAGS: dict[str, tuple[str, ...]] = {
    "music": ("music",),
    "nightlife": ("club-night", "party"),
    "party or social gathering": ("party", "community"),
    "concert or performance": ("live-show", "music"),
    "performing & visual arts": ("arts", "performance"),
    "film, media & entertainment": ("film",),
    "film & media": ("film",),
    "screening": ("film",),
    "comedy": ("comedy",),
    "community & culture": ("community",),
    "community": ("community",),
    "lgbt": ("queer",),
    "lgbtq": ("queer",),
    "food & drink": ("food-drink",),
    "travel & outdoor": ("outdoors",),
    "sports & fitness": ("wellness",),
    "health & wellness": ("wellness",),
    "health": ("wellness",),
    "science & technology": ("tech",),
    "ai/ml": ("tech",),
    "ai": ("tech",),
    "data science": ("tech",),
    "crypto": ("tech",),
    "tech": ("tech",),
    "business & professional": ("business",),
    "business": ("business",),
    "networking event": ("business",),
    "conference": ("business",),
    "seminar or talk": ("business", "class"),
    "class, training, or workshop": ("class",),
    "family & education": ("family", "class"),
    "tour": ("outdoors",),
    "festival or fair": ("community",),
}

# --------------------------------------------------------------------------- after dark
# (pattern, weight, phrase): title and source categories count fully, the description at
# half, the venue only through _VENUE_SIGNALS.
_KIND_SIGNALS: tuple[tuple[re.Pattern[str], int, str], ...] = (
    # not after dark
    (
        _words(
            r"career fair | job fair | hiring event | career expo | recruit\w* | "
            r"job seekers? | resume"
        ),
        -6,
        "career fair",
    ),
    (
        _words(
            r"conference | summit | expo | convention | trade show | forum | "
            r"congress"
        ),
        -5,
        "conference",
    ),
    (
        _words(r"symposium | colloquium | grand rounds | cme | medical education"),
        -6,
        "symposium",
    ),
    (
        _words(r"webinar | virtual event | online event | zoom | livestream only"),
        -6,
        "online",
    ),
    (
        _words(
            r"tech talk | techtalk | hackathon | demo day | developers? | "
            r"engineers? | data science | machine learning | ai | llms? | saas | "
            r"devops | cloud | python | startups? | founders? | product managers? | "
            r"ai/ml | science & technology"
        ),
        -3,
        "tech talk",
    ),
    (
        _words(
            r"seminar | investing | investors? | investment | real estate | wealth | "
            r"financial freedom | passive income | trading | forex | mortgage | "
            r"business & professional | networking event | networking | "
            r"entrepreneurs? | professionals? | leadership | marketing"
        ),
        -3,
        "business seminar",
    ),
    (
        _words(
            r"launch event | product launch | in[- ]store | brand activation | "
            r"sampling | makeup | lipstick | cosmetics | beauty | skincare | "
            r"promotion | free gift | giveaway"
        ),
        -4,
        "brand promotion",
    ),
    (
        _words(
            r"class | classes | workshop | course | training | bootcamp | lesson | "
            r"lessons | masterclass | tutorial | certification | "
            r"class, training, or workshop"
        ),
        -4,
        "class",
    ),
    (
        _words(
            r"kids? | children'?s? | toddlers? | storytime | story time | "
            r"family fun | family friendly | family day | bab(?:y|ies) | "
            r"family & education"
        ),
        -4,
        "children's event",
    ),
    (
        _words(
            r"walking tour | guided tour | museum tour | food tour | history tour | "
            r"tour of"
        ),
        -3,
        "tour",
    ),
    # after dark
    (
        _words(
            r"club night | nightclub | rave | afters | after[- ]?hours | dj'?s? | "
            r"djs? | dj set | techno | house music | deep house | tech house | "
            r"dance party | dance night | warehouse | nightlife | boiler room | b2b | "
            r"edm | drum (?:&|and|n) bass | dubstep | trance"
        ),
        5,
        "club night",
    ),
    (
        _words(
            r"concerts? | live music | live band | in concert | on tour | tour | "
            r"album release | record release | headlin\w+ | gig | concierto | "
            r"konzert | concert or performance | with special guests?"
        ),
        4,
        "concert",
    ),
    (
        _words(
            r"party | parties | afterparty | after party | fiesta | soiree | fete | "
            r"party or social gathering | bash | nye"
        ),
        4,
        "party",
    ),
    (
        _words(
            r"art opening | opening reception | vernissage | gallery opening | "
            r"exhibition opening | art show | art night | art walk"
        ),
        4,
        "art opening",
    ),
    (
        _words(r"comedy | comedian | comedians | stand[- ]?up | improv | comedia"),
        5,
        "comedy",
    ),
    (_words(r"drag | burlesque | cabaret | variety show | vaudeville"), 5, "drag"),
    (
        _words(
            r"screening | film | films | movie | movies | cinema | cine | "
            r"documentary"
        ),
        3,
        "screening",
    ),
    (
        _words(
            r"open mic | open mike | poetry slam | spoken word | slam | karaoke | "
            r"jam session | jam"
        ),
        5,
        "open mic",
    ),
    (
        _words(
            r"theatre | theater | play | musical | performance | teatro | "
            r"storytelling | poetry"
        ),
        3,
        "performance",
    ),
    (
        _words(
            r"happy hour | drinks | cocktails? | mixer | social | bar crawl | "
            r"pub crawl | trivia | game night | board games? | wine | beer | "
            r"tasting | speed dating | singles"
        ),
        2,
        "evening social",
    ),
    (
        _words(
            r"music | musica | musique | band | jazz | blues | funk | soul | "
            r"hip[- ]?hop | punk | metal | rock | indie | folk | bluegrass | "
            r"americana | reggae | salsa | bachata | cumbia | disco | house | "
            r"afrobeats? | amapiano | r&b | singer[- ]songwriter | orchestra | "
            r"symphony | opera | acoustic | songwriters? | hardcore | emo | "
            r"nightlife"
        ),
        3,
        "music",
    ),
)

_VENUE_SIGNALS: tuple[tuple[re.Pattern[str], int, str], ...] = (
    (_words(r"nightclub | night club | club | lounge | discotheque"), 3, "at a nightclub"),
    (
        _words(
            r"bar | pub | tavern | saloon | brewery | brewing | taproom | tap room | "
            r"cantina | speakeasy | cocktail"
        ),
        2,
        "at a bar",
    ),
    (
        _words(
            r"music hall | ballroom | theatre | theater | fillmore | amphitheat\w+ | "
            r"arena | auditorium | concert hall | jazz club | listening room | "
            r"warehouse | gallery | cinema | comedy club | stage"
        ),
        2,
        "at a music venue",
    ),
    (
        _words(
            r"hotel | convention cent(?:er|re) | conference cent(?:er|re) | office | "
            r"headquarters | hq | campus | university | library | school | "
            r"coworking | wework | hospital | medical cent(?:er|re)"
        ),
        -2,
        "at an office or campus",
    ),
)

_AGE_RE = re.compile(
    r"(?<![\w$])(?:(?P<n>21|18)\s*(?:\+|and (?:over|up)|&\s*(?:over|up)|or older)"
    r"|(?P<all>all[- ]ages?))(?!\w)"
)
_AGE_WORDS = {"21": "21+", "18": "18+"}
_SOURCE_AGE = {
    "21+": "21+",
    "18+": "18+",
    "all ages": "all-ages",
    "all-ages": "all-ages",
    "all age": "all-ages",
}
# Nightlife sources: a listing there is after dark unless something says otherwise.
_NIGHT_SOURCES = {"19hz": "19hz listing"}
_THRESHOLD = 3


def _local_hour(start: datetime | None, timezone: str | None) -> int | None:
    if start is None or start.tzinfo is None:
        return None
    if timezone:
        with contextlib.suppress(ZoneInfoNotFoundError, ValueError):
            start = start.astimezone(ZoneInfo(timezone))
    return start.hour


def _clock(hour: int, minute: int = 0) -> str:
    suffix = "AM" if hour < 12 else "PM"
    shown = hour % 12 or 12
    return f"{shown}:{minute:02d} {suffix}" if minute else f"{shown} {suffix}"


def _age_of(*, age: str | None, source_tags: Sequence[str], text: str) -> str | None:
    if age in AGES:
        return age
    for tag in (*source_tags, age or ""):
        found = _SOURCE_AGE.get(_fold(tag).strip())
        if found:
            return found
    match = _AGE_RE.search(text)
    if match is None:
        return None
    return "all-ages" if match["all"] else _AGE_WORDS[match["n"]]


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
    head = _fold(" | ".join([title, *source_tags]))
    body = _fold(description or "")
    place = _fold(venue or "")

    tag_scores: dict[str, float] = {}
    for tag in source_tags:
        for slug in _SOURCE_TAGS.get(_fold(tag).strip(), ()):
            tag_scores[slug] = tag_scores.get(slug, 0) + 3
    for slug, pattern in _TAG_WORDS.items():
        if pattern.search(head):
            tag_scores[slug] = tag_scores.get(slug, 0) + 2
        if body and pattern.search(body):
            tag_scores[slug] = tag_scores.get(slug, 0) + 1
    if is_online:
        tag_scores["online"] = tag_scores.get("online", 0) + 5
    if source in _NIGHT_SOURCES:
        tag_scores["music"] = tag_scores.get("music", 0) + 3
        tag_scores["club-night"] = tag_scores.get("club-night", 0) + 2

    signals: list[tuple[int, str]] = []
    for pattern, weight, phrase in _KIND_SIGNALS:
        if pattern.search(head):
            signals.append((weight, phrase))
        elif body and pattern.search(body):
            signals.append((weight // 2 if weight > 0 else -((-weight) // 2), phrase))
    if is_online:
        signals.append((-8, "online only"))
    if source in _NIGHT_SOURCES:
        signals.append((4, _NIGHT_SOURCES[source]))
    for pattern, weight, phrase in _VENUE_SIGNALS:
        if place and pattern.search(place):
            signals.append((weight, phrase))
            break
    hour = None if date_only else _local_hour(start, timezone)
    if hour is not None and start is not None:
        minute = start.astimezone(ZoneInfo(timezone)).minute if timezone else start.minute
        if hour >= 20 or hour < 4:
            signals.append((3, _clock(hour, minute)))
        elif hour >= 17:
            signals.append((1, _clock(hour, minute)))
        elif 6 <= hour < 16:
            signals.append((-2, _clock(hour, minute)))

    score = sum(weight for weight, _ in signals)
    after_dark = score >= _THRESHOLD
    deciding = sorted(
        (s for s in signals if (s[0] > 0) == after_dark and s[0] != 0), key=lambda s: -abs(s[0])
    )
    reasons = tuple(dict.fromkeys(phrase for _, phrase in deciding))[:4]

    tags = tuple(
        slug
        for slug, _ in sorted(
            tag_scores.items(), key=lambda item: (-item[1], list(TAGS).index(item[0]))
        )
        if slug in TAGS
    )
    return Verdict(
        tags=tags,
        after_dark=after_dark,
        reasons=reasons,
        age=_age_of(age=age, source_tags=source_tags, text=f"{head} {body}"),
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
