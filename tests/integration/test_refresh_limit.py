"""The per-session refresh: claimed once, and it says when it comes back (both modes)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from nocturne import refresh_limit
from nocturne.settings import settings


@pytest.fixture(params=["memory", "redis"])
def limit_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    url = request.getfixturevalue("redis_url") if request.param == "redis" else None
    monkeypatch.setattr(settings, "redis_url", url)
    return request.param


async def test_a_used_refresh_says_when_it_comes_back(limit_mode):
    sid = f"sid-{limit_mode}-{datetime.now(UTC).timestamp()}"
    assert await refresh_limit.comes_back(sid) is None  # unused: nothing to come back
    assert await refresh_limit.claim(sid) is True
    assert await refresh_limit.claim(sid) is False
    back = await refresh_limit.comes_back(sid)
    expected = datetime.now(UTC) + timedelta(seconds=refresh_limit.TTL_SECONDS)
    assert back is not None and abs((back - expected).total_seconds()) < 5
    await refresh_limit.release(sid)
    assert await refresh_limit.comes_back(sid) is None
    assert await refresh_limit.comes_back("") is None
