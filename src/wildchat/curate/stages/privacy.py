"""Privacy: per-release IP pseudonyms, geolocation, and no raw IPs downstream.

For every user turn: a raw IP becomes ``hashed_ip = HMAC-SHA256(key, IP)``
(:func:`wildchat.privacy.hmac_ip`) and, with ``geolocate``, ``country`` /
``state`` from a GeoLite2 database; an IP the source already pseudonymised is
re-keyed (:func:`wildchat.privacy.rekey_hash`) so the release's pseudonyms
are unlinkable to the source's.  Conversation-level ``hashed_ip``,
``country``, ``state`` and ``header`` are then the most frequent over the user
turns, as in WildChat.  The ``_ip`` pipeline column is nulled here, so later
stages never see a raw IP.  ``header`` only ever holds ``user-agent`` and
``accept-language`` (the release schema has no room for other headers).
The key is set by ``wildchat curate`` (``--ip-key``, ``WILDCHAT_RELEASE_KEY`` or a
generated key saved beside the output) and never printed.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pyarrow as pa

from wildchat.curate.link.assemble import most_frequent
from wildchat.curate.stages import register_stage
from wildchat.curate.stages.base import IP, Stage, StageConfigError
from wildchat.curate.stages.batch import set_column, turn_field, turn_offsets, with_turn_fields
from wildchat.privacy import GeoLocator, Location, hmac_ip, rekey_hash

__all__ = ["PrivacyStage"]


@register_stage
class PrivacyStage(Stage):
    name = "privacy"
    process_dropped = True
    description = "HMAC the IPs with the release key (re-key hashed ones), geolocate raw IPs, drop raw IPs"
    defaults: ClassVar[dict[str, Any]] = {"key": "", "geolocate": True, "mmdb": None}
    secret_keys = ("key",)
    protects = IP
    release_key_config = "key"  # empty: the run's release key

    def setup(self) -> None:
        key = self.release_key()
        if not key:
            raise StageConfigError("privacy: no release key (set --ip-key or WILDCHAT_RELEASE_KEY)")
        self._key = key.encode("utf-8") if isinstance(key, str) else bytes(key)
        self._geo = GeoLocator(self.config["mmdb"]) if self.config["geolocate"] else None
        self._locations: dict[str, Location] = {}
        self._hashes: dict[str, str | None] = {}

    def _locate(self, ip: str) -> Location:
        loc = self._locations.get(ip)
        if loc is None:
            assert self._geo is not None
            loc = self._locations[ip] = self._geo.lookup(ip)
            if len(self._locations) > 1_000_000:
                self._locations.clear()
        return loc

    def _hmac(self, ip: str) -> str | None:
        if ip not in self._hashes:
            if len(self._hashes) > 1_000_000:
                self._hashes.clear()
            self._hashes[ip] = hmac_ip(self._key, ip)
        return self._hashes[ip]

    def process(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        roles = turn_field(batch, "role").to_pylist()
        hips = turn_field(batch, "hashed_ip").to_pylist()
        countries = turn_field(batch, "country").to_pylist()
        states = turn_field(batch, "state").to_pylist()
        ips = batch.column("_ip").flatten().to_pylist()
        for k, role in enumerate(roles):
            if role != "user":
                continue
            ip = ips[k]
            if ip:
                hips[k] = self._hmac(ip)
                if self._geo is not None:
                    loc = self._locate(ip)
                    countries[k], states[k] = loc.country, loc.state
            elif hips[k]:
                hips[k] = rekey_hash(self._key, hips[k])
        batch = with_turn_fields(
            batch,
            {
                "hashed_ip": pa.array(hips, pa.string()),
                "country": pa.array(countries, pa.string()),
                "state": pa.array(states, pa.string()),
            },
        )
        off = turn_offsets(batch).tolist()
        conv_hip, conv_country, conv_state = [], [], []
        for i in range(len(batch)):
            user = [k for k in range(off[i], off[i + 1]) if roles[k] == "user"]
            conv_hip.append(most_frequent([hips[k] for k in user]))
            conv_country.append(most_frequent([countries[k] for k in user]))
            conv_state.append(most_frequent([states[k] for k in user]))
        batch = set_column(batch, "hashed_ip", pa.array(conv_hip, pa.string()))
        batch = set_column(batch, "country", pa.array(conv_country, pa.string()))
        batch = set_column(batch, "state", pa.array(conv_state, pa.string()))
        ip_off = np.asarray(batch.column("_ip").offsets.to_numpy(), dtype=np.int32)
        nulls = pa.ListArray.from_arrays(pa.array(ip_off - ip_off[0]), pa.nulls(len(ips), pa.string()))
        return set_column(batch, "_ip", nulls)
