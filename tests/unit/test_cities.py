import re
from zoneinfo import ZoneInfo

import pytest

from nocturne.cities import CITIES, CITY_BY_ID, get_city, require_city


def test_catalogue_has_forty_plus_unique_well_formed_cities():
    assert len(CITIES) >= 40
    assert len(CITY_BY_ID) == len(CITIES)
    for city in CITIES:
        assert re.fullmatch(r"[a-z]{2}--[a-z0-9-]+", city.id), city.id
        assert city.id.startswith(city.state.lower() + "--")
        assert 18 < city.latitude < 72 and -170 < city.longitude < -66, city.id
        ZoneInfo(city.timezone)
        assert city.slugs["meetup"] == f"us--{city.id}" and city.slugs["eventbrite"] == city.id


@pytest.mark.parametrize(
    ("city_id", "zone"),
    [
        ("az--phoenix", "America/Phoenix"),
        ("co--denver", "America/Denver"),
        ("hi--honolulu", "Pacific/Honolulu"),
        ("ak--anchorage", "America/Anchorage"),
        ("ca--los-angeles", "America/Los_Angeles"),
        ("ny--new-york", "America/New_York"),
        ("tx--el-paso", "America/Denver"),
        ("il--chicago", "America/Chicago"),
    ],
)
def test_time_zones_that_matter(city_id, zone):
    assert require_city(city_id).timezone == zone


def test_unknown_city():
    assert get_city("zz--nowhere") is None
    with pytest.raises(ValueError, match="zz--nowhere"):
        require_city("zz--nowhere")


def test_a_city_lists_19hz_only_where_a_region_covers_it():
    from nocturne.settings import settings
    from scrapers.crawl import city_sources, site_options

    def sources(city_id: str) -> list[str]:
        city = require_city(city_id)
        return city_sources(city, settings.source_base_urls, site_options(settings))

    assert sources("il--chicago") == ["eventbrite", "meetup", "luma", "19hz"]
    assert sources("ak--anchorage") == ["eventbrite", "meetup", "luma"]
