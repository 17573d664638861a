"""The safe fetch's pure parts: which URLs and which resolved addresses are refused."""

from __future__ import annotations

import ipaddress

import pytest

from scrapers.safe_fetch import RefusedURL, address_refused, normalize_url


def test_webcal_is_https_and_other_schemes_are_refused() -> None:
    assert normalize_url(" webcal://cal.example.org/a.ics ") == "https://cal.example.org/a.ics"
    assert normalize_url("HTTP://cal.example.org/a.ics") == "HTTP://cal.example.org/a.ics"
    for url in ("file:///etc/passwd", "ftp://x.org/a.ics", "javascript:alert(1)", "gopher://x",
                "cal.example.org/a.ics", "http:///nohost", "http://user:pw@x.org/",
                "http://x.org:port/"):  # fmt: skip
        with pytest.raises(RefusedURL) as refused:
            normalize_url(url)
        assert refused.value.reason == "scheme"
        assert refused.value.message.endswith(".")


@pytest.mark.parametrize(
    ("address", "refused"),
    [
        ("93.184.216.34", False),
        ("2606:2800:220:1:248:1893:25c8:1946", False),
        ("127.0.0.1", True),
        ("10.1.2.3", True),
        ("172.16.5.4", True),
        ("192.168.1.1", True),
        ("169.254.169.254", True),
        ("100.64.0.1", True),  # carrier-grade NAT: not the public internet
        ("0.0.0.0", True),
        ("224.0.0.1", True),
        ("240.0.0.1", True),
        ("::1", True),
        ("fe80::1", True),
        ("fc00::1", True),
        ("::ffff:127.0.0.1", True),  # IPv4-mapped loopback
        ("::ffff:93.184.216.34", False),
    ],
)
def test_only_public_addresses_pass(address: str, refused: bool) -> None:
    assert address_refused(ipaddress.ip_address(address), allow_private=False) is refused


def test_allowing_private_hosts_never_allows_cloud_metadata() -> None:
    allow = {a: address_refused(ipaddress.ip_address(a), allow_private=True)
             for a in ("127.0.0.1", "10.0.0.8", "::1", "169.254.169.254", "fd00:ec2::254",
                       "0.0.0.0")}  # fmt: skip
    assert allow == {"127.0.0.1": False, "10.0.0.8": False, "::1": False,
                     "169.254.169.254": True, "fd00:ec2::254": True, "0.0.0.0": True}  # fmt: skip
