"""IP pseudonymisation and geolocation."""

from __future__ import annotations

import hashlib
import hmac
import pickle

import pytest

from wildchat.privacy import GeoLocator, Location, default_mmdb_path, hmac_ip, normalize_ip, rekey_hash


def test_hmac_ip_is_keyed_hmac_sha256_of_the_canonical_address() -> None:
    expected = hmac.new(b"key", b"1.2.3.4", hashlib.sha256).hexdigest()
    assert hmac_ip(b"key", "1.2.3.4") == expected
    assert hmac_ip(b"key", " ::ffff:1.2.3.4 ") == expected
    assert hmac_ip(b"other", "1.2.3.4") != expected


def test_ipv6_is_canonicalised() -> None:
    assert normalize_ip("2001:0db8:0000:0000:0000:0000:0000:0001") == "2001:db8::1"
    assert hmac_ip(b"k", "2001:db8::1") == hmac_ip(b"k", "2001:0DB8::0001")


def test_junk_is_not_pseudonymised() -> None:
    assert hmac_ip(b"k", "not-an-ip") is None
    assert normalize_ip("999.1.1.1") is None


def test_rekey_depends_on_key_and_input() -> None:
    a = rekey_hash(b"release-1", "abc")
    assert len(a) == 64
    assert a != rekey_hash(b"release-2", "abc")
    assert a != rekey_hash(b"release-1", "abd")


@pytest.mark.skipif(default_mmdb_path() is None, reason="maxminddb-geolite2 not installed")
def test_geolocation_with_the_packaged_2018_database() -> None:
    geo = GeoLocator()
    # 81.2.69.142 is MaxMind's documented London test address.
    assert geo.lookup("81.2.69.142").country == "United Kingdom"
    assert geo.lookup("8.8.8.8").country == "United States"
    assert geo.lookup("127.0.0.1") == Location()
    assert geo.lookup("10.0.0.1") == Location()
    assert geo.lookup("garbage") == Location()
    assert geo.lookup(None) == Location()


@pytest.mark.skipif(default_mmdb_path() is None, reason="maxminddb-geolite2 not installed")
def test_geolocator_pickles_before_and_after_use() -> None:
    geo = GeoLocator()
    clone = pickle.loads(pickle.dumps(geo))
    assert clone.lookup("8.8.8.8").country == "United States"
    clone2 = pickle.loads(pickle.dumps(clone))
    assert clone2.path == geo.path


def test_missing_database_is_a_clear_error(tmp_path: object) -> None:
    with pytest.raises(FileNotFoundError, match="GeoLite2-City"):
        GeoLocator("/nonexistent/GeoLite2-City.mmdb")
