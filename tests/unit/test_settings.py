import pytest
from pydantic import AliasChoices, ValidationError

from nocturne.settings import DEFAULT_SECRET, Settings


def test_defaults_are_embedded_sqlite(monkeypatch):
    for name in ("DATABASE_URL", "REDIS_URL", "ENVIRONMENT", "SECRET_KEY"):
        monkeypatch.delenv(name, raising=False)
    s = Settings(_env_file=None)
    assert s.database_url.startswith("sqlite:///")
    assert s.embedded is True


def test_environment_overrides(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6379/3")
    monkeypatch.setenv("SMTP_SECURITY", "tls")
    monkeypatch.setenv("SOURCE_BASE_URLS", '{"luma": "http://127.0.0.1:9999"}')
    s = Settings(_env_file=None)
    assert s.embedded is False
    assert s.smtp_security == "tls"
    assert s.source_base_urls == {"luma": "http://127.0.0.1:9999"}


def test_default_secret_refused_in_production(monkeypatch):
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("PUBLIC_URL", "https://nocturne.example")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(_env_file=None)
    monkeypatch.setenv("SECRET_KEY", "a-real-secret-" + "x" * 20)
    assert Settings(_env_file=None).secret_key != DEFAULT_SECRET


@pytest.mark.parametrize("unset", [None, "", "  "])
def test_public_url_required_in_production(monkeypatch, unset):
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", "a-real-secret-" + "x" * 20)
    if unset is None:
        monkeypatch.delenv("PUBLIC_URL", raising=False)
    else:
        monkeypatch.setenv("PUBLIC_URL", unset)
    with pytest.raises(ValidationError, match="PUBLIC_URL must be set when ENVIRONMENT=production"):
        Settings(_env_file=None)
    monkeypatch.setenv("PUBLIC_URL", "https://nocturne.example")
    assert Settings(_env_file=None).public_url == "https://nocturne.example"


def test_public_url_follows_the_port_the_app_runs_on(monkeypatch):
    """Unset PUBLIC_URL: links go where this app serves, read when asked (reflex run sets
    REFLEX_FRONTEND_PORT after the settings were built)."""
    for name in ("PUBLIC_URL", "REFLEX_FRONTEND_PORT", "PORT", "ENVIRONMENT"):
        monkeypatch.delenv(name, raising=False)
    s = Settings(_env_file=None)
    assert s.public_url == "http://localhost:3000"
    monkeypatch.setenv("PORT", "3111")  # the Makefile's, for processes reflex did not start
    assert s.public_url == "http://localhost:3111"
    monkeypatch.setenv("REFLEX_FRONTEND_PORT", "3222")  # reflex run --frontend-port 3222
    assert s.public_url == "http://localhost:3222"
    monkeypatch.setenv("PUBLIC_URL", "")  # a copied .env.example: still unset
    assert Settings(_env_file=None).public_url == "http://localhost:3222"
    monkeypatch.setenv("PUBLIC_URL", "https://nocturne.example")
    assert Settings(_env_file=None).public_url == "https://nocturne.example"
    s.public_url = "http://127.0.0.1:9"  # tests pin it
    assert s.public_url == "http://127.0.0.1:9"


def test_bad_smtp_security_refused(monkeypatch):
    monkeypatch.setenv("SMTP_SECURITY", "ssl3")
    with pytest.raises(ValidationError, match="smtp_security"):
        Settings(_env_file=None)


def test_env_example_documents_every_setting():
    from nocturne.settings import ROOT

    lines = (ROOT / ".env.example").read_text().splitlines()
    documented = {ln.split("=", 1)[0] for ln in lines if "=" in ln and not ln.startswith("#")}
    names = [
        (f.validation_alias.choices[0] if isinstance(f.validation_alias, AliasChoices) else name)
        for name, f in Settings.model_fields.items()
    ]
    missing = [str(name).upper() for name in names if str(name).upper() not in documented]
    assert missing == []


def test_backend_origins_follow_cors_origins() -> None:
    assert Settings(cors_origins=[]).backend_origins == ("*",)
    configured = Settings(
        public_url="https://nocturne.example/app", cors_origins=["https://a.example"]
    )
    assert configured.backend_origins == ("https://nocturne.example", "https://a.example")
