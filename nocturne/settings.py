"""One settings object for the app, the API, the workers, alembic and rxconfig."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal
from urllib.parse import urlsplit

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRET = "dev-secret-change-me"
DEFAULT_PORT = 3000


def local_url() -> str:
    """``http://localhost:<port>``, the port being the one this app serves its pages on.

    ``reflex run --frontend-port N`` (``make run`` passes ``$(PORT)``) exports
    ``REFLEX_FRONTEND_PORT=N`` to itself and the web workers it starts; a process that
    `reflex run` did not start (an arq worker) reads ``PORT`` instead, which the Makefile
    exports; else 3000. Read at each call: `reflex run` sets the port after this module
    was imported.
    """
    for name in ("REFLEX_FRONTEND_PORT", "PORT"):
        value = os.environ.get(name, "").strip()
        if value.isdigit():
            return f"http://localhost:{int(value)}"
    return f"http://localhost:{DEFAULT_PORT}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    environment: Literal["development", "test", "production"] = "development"
    database_url: str = f"sqlite:///{ROOT / 'nocturne.db'}"
    shared_database_url: str | None = None
    redis_url: str | None = None

    # PUBLIC_URL, read through the ``public_url`` property: unset (or empty), links follow
    # the port the app runs on (see local_url); required when ENVIRONMENT=production.
    public_url_setting: str | None = Field(
        default=None, validation_alias=AliasChoices("public_url", "public_url_setting")
    )
    secret_key: str = DEFAULT_SECRET
    admin_token: str | None = None
    cors_origins: list[str] = Field(default_factory=list)

    # API hardening: rates are "N/period" (10/second, 5/minute, 1/10minutes)
    rate_limit_enabled: bool = True
    rate_limit_read: str = "10/second"
    rate_limit_subscribe: str = "5/minute"
    rate_limit_scrape: str = "1/10minutes"
    # Suggesting a calendar: per address and, separately, per email given
    rate_limit_suggest: str = "5/hour"
    # Peers whose X-Forwarded-For is believed (nginx); the client is the last untrusted hop
    trusted_proxies: list[str] = Field(
        default_factory=lambda: [
            "127.0.0.0/8",
            "::1/128",
            "10.0.0.0/8",
            "172.16.0.0/12",
            "192.168.0.0/16",
        ]
    )
    max_request_bytes: int = 65536
    content_security_policy: str = (
        "default-src 'self'; script-src 'self' 'unsafe-inline' 'unsafe-eval'; "
        "style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; font-src 'self' data:; "
        "connect-src 'self' ws: wss:; object-src 'none'; base-uri 'self'; form-action 'self'; "
        "frame-ancestors 'none'"
    )
    # GET /events pages are kept this long per process (0: off), and dropped at once when
    # anything in their city changes (see nocturne/api/cache.py)
    api_cache_seconds: float = 30.0
    api_cache_max_bytes: int = 32 * 1024 * 1024
    log_format: Literal["json", "text"] = "json"
    log_level: str = "INFO"
    # /health answers 503 when no source had a successful scrape for this long
    stale_after_hours: float = 26.0

    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_security: Literal["none", "starttls", "tls"] = "starttls"
    sendgrid_api_key: str | None = None
    sendgrid_base_url: str = "https://api.sendgrid.com"
    email_provider: Literal["auto", "smtp", "sendgrid", "outbox"] = "auto"
    email_from: str = "Nocturne <digest@nocturne.local>"
    email_outbox_dir: Path = ROOT / "outbox"
    email_rate_per_second: float = 20.0
    email_max_attempts: int = 3
    email_retry_seconds: float = 2.0
    smtp_timeout_seconds: float = 30.0

    scrape_concurrency: int = 3
    scrape_per_host_concurrency: int = 2
    scrape_delay_seconds: float = 1.0
    scrape_timeout_seconds: float = 30.0
    scrape_max_pages: int = 5
    scrape_max_retries: int = 3
    # Backoff on 429/5xx starts here and doubles (with jitter); a longer wait (or Retry-After)
    # than scrape_max_wait_seconds gives up on the page instead of sleeping
    scrape_backoff_seconds: float = 2.0
    scrape_max_wait_seconds: float = 120.0
    scrape_user_agent: str = (
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/126.0 Safari/537.36 NocturneBot/1.0"
    )
    scrape_meetup_keywords: list[str] = Field(
        default_factory=lambda: ["music", "dance", "art", "nightlife", "party", "tech"]
    )
    chromium_path: str | None = None
    # Where each source's requests go, by source name (SOURCE_BASE_URLS='{"luma": "..."}');
    # unset: the real site. Tests point them at a local server.
    source_base_urls: dict[str, str] = Field(default_factory=dict)
    firecrawl_api_key: str | None = None
    firecrawl_base_url: str = "https://api.firecrawl.dev"
    # Calendars people suggest are fetched only from public addresses (checked on the
    # resolved address, after every redirect); true lets tests and a local network in
    allow_private_feed_hosts: bool = False
    feed_max_bytes: int = 10 * 1024 * 1024
    feed_timeout_seconds: float = 15.0

    # A city never scraped gets its first scrape queued at start-up, and at once when its
    # page is opened (AUTOFILL=false: only the schedule and refreshes scrape)
    autofill: bool = True
    scrape_cron_hour: int = 2
    scrape_cron_minute: int = 0
    cleanup_cron_hour: int = 3
    digest_local_hour: int = 9
    old_event_days: int = 30
    cleanup_cron_minute: int = 30
    sync_every_minutes: int = 15
    sync_batch_size: int = 500
    worker_max_jobs: int = 10
    # Caps every job's timeout. arq retries a killed worker's job once its in-progress key
    # expires, (longest job timeout + 10) s after the start: about an hour by default.
    job_timeout_cap_seconds: int = 0  # 0: no cap
    vanish_after_misses: int = 3
    vanish_partial_ratio: float = 0.5
    job_retry_seconds: float = 30.0

    @property
    def public_url(self) -> str:
        """The site's own origin and the base of links in emails and feeds.

        PUBLIC_URL when set; otherwise ``http://localhost:<port the app runs on>``.
        """
        return (self.public_url_setting or "").strip() or local_url()

    @public_url.setter
    def public_url(self, value: str | None) -> None:
        self.public_url_setting = value

    @property
    def backend_origins(self) -> tuple[str, ...]:
        """Origins Reflex lets call its backend (the websocket, and CORS on every route).

        With CORS_ORIGINS set: the site's own origin (PUBLIC_URL) and those. Unset: every
        origin, Reflex's default, so `make run` works under any host name; the API's own
        CORS then still sends no grant, but Reflex's outer middleware does.
        """
        if not self.cors_origins:
            return ("*",)
        public = urlsplit(self.public_url)
        return tuple(dict.fromkeys([f"{public.scheme}://{public.netloc}", *self.cors_origins]))

    @property
    def embedded(self) -> bool:
        """No Redis: jobs run in-process and live updates stay in memory."""
        return not self.redis_url

    def job_timeout(self, seconds: int) -> int:
        """A job's timeout in seconds, capped by JOB_TIMEOUT_CAP_SECONDS when that is set."""
        cap = self.job_timeout_cap_seconds
        return min(seconds, cap) if cap > 0 else seconds

    @model_validator(mode="after")
    def _refuse_default_secret(self) -> Settings:
        if self.environment == "production" and self.secret_key == DEFAULT_SECRET:
            raise ValueError("SECRET_KEY must be set to a real secret outside development")
        return self

    @model_validator(mode="after")
    def _require_public_url_in_production(self) -> Settings:
        if self.environment == "production" and not (self.public_url_setting or "").strip():
            raise ValueError(
                "PUBLIC_URL must be set when ENVIRONMENT=production: it is the site's address "
                "in every emailed link (confirm, unsubscribe, digest) and feed, e.g. "
                "PUBLIC_URL=https://nocturne.example"
            )
        return self


settings = Settings()
