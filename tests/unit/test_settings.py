import pytest
from pydantic import ValidationError

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
    monkeypatch.setenv("LUMA_API_BASE_URL", "http://127.0.0.1:9999")
    s = Settings(_env_file=None)
    assert s.embedded is False
    assert s.smtp_security == "tls"
    assert s.luma_api_base_url == "http://127.0.0.1:9999"


def test_default_secret_refused_in_production(monkeypatch):
    monkeypatch.setenv("ENVIRONMENT", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ValidationError, match="SECRET_KEY"):
        Settings(_env_file=None)
    monkeypatch.setenv("SECRET_KEY", "a-real-secret-" + "x" * 20)
    assert Settings(_env_file=None).secret_key != DEFAULT_SECRET


def test_bad_smtp_security_refused(monkeypatch):
    monkeypatch.setenv("SMTP_SECURITY", "ssl3")
    with pytest.raises(ValidationError, match="smtp_security"):
        Settings(_env_file=None)


def test_env_example_documents_every_setting():
    from nocturne.settings import ROOT

    lines = (ROOT / ".env.example").read_text().splitlines()
    documented = {ln.split("=", 1)[0] for ln in lines if "=" in ln and not ln.startswith("#")}
    missing = [name.upper() for name in Settings.model_fields if name.upper() not in documented]
    assert missing == []


def test_backend_origins_follow_cors_origins() -> None:
    assert Settings(cors_origins=[]).backend_origins == ("*",)
    configured = Settings(
        public_url="https://nocturne.example/app", cors_origins=["https://a.example"]
    )
    assert configured.backend_origins == ("https://nocturne.example", "https://a.example")
