"""Privacy stage and the release writer: keys, geo, headers, no raw IPs, schema, splits, card."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from tests.builders.conversations import Logs
from tests.curate.curate_helpers import read_full
from wildchat.curate.link.keys import key_path
from wildchat.curate.stages import register_stage
from wildchat.curate.stages.base import Stage
from wildchat.curate.stages.batch import set_column
from wildchat.formats.hashing import conversation_hash
from wildchat.privacy import GeoLocator, hmac_ip, rekey_hash
from wildchat.schema import release_schema

KEY = "test-release-key"
IPS = ("8.8.8.8", "81.2.69.142", "2001:4860:4860::8888")


def _privacy_logs(logs: Logs) -> None:
    logs.add(["from google dns"], "a", ip=IPS[0], minute=1, conversation_id="chat-1")
    logs.add(["from google dns", "a", "now from london"], "b", ip=IPS[1], minute=2, conversation_id="chat-1")
    logs.add(["v6"], "c", ip=IPS[2])
    logs.add(["already hashed"], "d", ip=None, hashed_ip="source-hash-1", country="Narnia")


def test_hmac_rekey_geo_and_most_frequent(logs: Logs, tmp_path: Path, curate: Any) -> None:
    _privacy_logs(logs)
    logs.add(
        ["from google dns", "a", "now from london", "b", "and again"],
        "e",
        ip=IPS[1],
        minute=3,
        conversation_id="chat-1",
    )
    res = curate([logs.write(tmp_path / "in.jsonl")], key=KEY)
    rows = {r["conversation"][0]["content"]: r for r in read_full(res.out)}
    geo = GeoLocator()
    assert geo.lookup(IPS[0]).country  # the 2018 database knows these addresses
    chain = rows["from google dns"]
    users = [t for t in chain["conversation"] if t["role"] == "user"]
    assert [u["hashed_ip"] for u in users] == [
        hmac_ip(KEY.encode(), IPS[0]),
        *[hmac_ip(KEY.encode(), IPS[1])] * 2,
    ]
    assert [u["country"] for u in users] == [geo.lookup(IPS[0]).country, *[geo.lookup(IPS[1]).country] * 2]
    assert users[1]["state"] == geo.lookup(IPS[1]).state
    # conversation level: the most frequent over user turns (London twice, DNS once)
    assert chain["hashed_ip"] == hmac_ip(KEY.encode(), IPS[1])
    assert chain["country"] == geo.lookup(IPS[1]).country
    hashed = rows["already hashed"]
    assert hashed["hashed_ip"] == rekey_hash(KEY.encode(), "source-hash-1") != "source-hash-1"
    assert hashed["country"] == "Narnia"  # no raw IP: the source's geo is kept
    assert all(t["hashed_ip"] is None for t in chain["conversation"] if t["role"] == "assistant")
    # another release key gives unlinkable pseudonyms
    res2 = curate([tmp_path / "in.jsonl"], out=tmp_path / "out2", key="another-key")
    other = {r["conversation"][0]["content"]: r for r in read_full(res2.out)}
    assert other["v6"]["hashed_ip"] != rows["v6"]["hashed_ip"]


def test_no_raw_ip_or_other_headers_anywhere_in_the_output(logs: Logs, tmp_path: Path, curate: Any) -> None:
    _privacy_logs(logs)
    logs.add(["x"], "y", ip="not-an-ip")
    for sets in ([], ['pipeline.stages=["consent", "roles"]']):  # even with the privacy stage off
        out = tmp_path / f"out{len(sets)}"
        curate([logs.write(tmp_path / "in.jsonl")], out=out, sets=sets)
        files = [p for p in out.rglob("*") if p.is_file()]
        assert any(p.suffix == ".parquet" for p in files)
        for p in files:
            data = p.read_bytes()
            for needle in (*IPS, "not-an-ip", "SECRETCOOKIE", "cookie"):
                assert needle.encode() not in data, (p, needle)
        for r in read_full(out):
            for t in r["conversation"]:
                assert t["header"] is None or set(t["header"]) == {"accept-language", "user-agent"}
            assert r["header"] == {"accept-language": "en-US", "user-agent": "Mozilla/5.0 Test"}


def test_generated_key_is_saved_beside_the_output_and_reused(
    logs: Logs, tmp_path: Path, curate: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("WILDCHAT_RELEASE_KEY", raising=False)
    logs.add(["hi"], "hello", ip=IPS[0])
    out = tmp_path / "release"
    res = curate([logs.write(tmp_path / "in.jsonl")], out=out, key=None)
    kp = key_path(out)
    assert kp.exists() and kp.parent == out.parent and kp.stat().st_mode & 0o077 == 0
    key = kp.read_text().strip()
    assert read_full(out)[0]["hashed_ip"] == hmac_ip(key.encode(), IPS[0])
    card = (out / "README.md").read_text()
    assert "generated at random for this release and saved beside the output" in card and key not in card
    assert key not in (out / "stats.json").read_text()
    assert res.stats["release"]["ip_key"]["source"] == "generated"
    res2 = curate([tmp_path / "in.jsonl"], out=out, key=None)
    assert res2.stats["release"]["ip_key"]["source"] == "file" and res2.shards_resumed == 1
    monkeypatch.setenv("WILDCHAT_RELEASE_KEY", "from-env")
    res3 = curate([tmp_path / "in.jsonl"], out=tmp_path / "o3", key=None)
    assert read_full(res3.out)[0]["hashed_ip"] == hmac_ip(b"from-env", IPS[0])


def test_server_ip_key_variable_never_keys_a_release(
    logs: Logs, tmp_path: Path, curate: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shell that exports the deployment's WILDCHAT_IP_KEY must not key releases with it."""
    monkeypatch.delenv("WILDCHAT_RELEASE_KEY", raising=False)
    monkeypatch.setenv("WILDCHAT_IP_KEY", "deployment-key-of-the-server")
    logs.add(["hi"], "hello", ip=IPS[0])
    res = curate([logs.write(tmp_path / "in.jsonl")], out=tmp_path / "r", key=None)
    assert res.stats["release"]["ip_key"]["source"] == "generated"
    assert read_full(res.out)[0]["hashed_ip"] != hmac_ip(b"deployment-key-of-the-server", IPS[0])


@register_stage
class FakeToxicity(Stage):
    """Test-only: marks conversations mentioning 'badword' toxic, others clean."""

    name = "test_fake_toxicity"
    defaults: ClassVar[dict[str, Any]] = {}

    def process(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        firsts = pc.list_element(batch.column("conversation"), 0)
        toxic = pc.match_substring(pc.struct_field(firsts, "content"), "badword")
        return set_column(batch, "toxic", toxic)


def test_release_layout_schema_splits_stats_and_card(logs: Logs, tmp_path: Path, curate: Any) -> None:
    logs.add(["hello there"], "hi", ip=IPS[0], model="gpt-3.5-turbo")
    logs.add(["you badword"], "please be kind", ip=IPS[1])
    logs.add(["bye"], "goodbye", ip=IPS[2], consent=None)
    stages = '["consent", "roles", "empty", "privacy", "test_fake_toxicity"]'
    res = curate([logs.write(tmp_path / "in.jsonl")], sets=[f"pipeline.stages={stages}"])
    out = res.out
    for sub in ("full", "public"):
        for f in (out / sub).glob("*.parquet"):
            assert pq.read_schema(f).remove_metadata() == release_schema()
    full, public = read_full(out), read_full(out, "public")
    assert sorted(r["conversation"][0]["content"] for r in full) == ["hello there", "you badword"]
    assert [r["conversation"][0]["content"] for r in public] == ["hello there"]
    assert all(r["toxic"] is False for r in public)
    for r in full:  # WildChat's definition of the hash, on the released text
        canon = json.dumps([{"content": t["content"], "role": t["role"]} for t in r["conversation"]])
        assert r["conversation_hash"] == hashlib.sha256(canon.encode()).hexdigest()[:32]
        assert r["conversation_hash"] == conversation_hash(r["conversation"])  # the shared helper agrees
    stats = json.loads((out / "stats.json").read_text())
    assert stats["release"]["full"] == 2 and stats["release"]["public"] == 1
    assert stats["release"]["toxic_unlabelled"] == 0
    # the only warning: this test pipeline has no pii stage (run with allow_unredacted)
    assert stats["warnings"] == [
        "the pii stage did not run: this release is NOT PII-redacted (--allow-unredacted)"
    ]
    by = {s["name"]: s for s in stats["stages"]}
    assert by["consent"]["dropped"] == {"no_consent": 1} and by["consent"]["seconds"] >= 0
    assert stats["release"]["models"] == {"gpt-3.5-turbo": 1, "gpt-4": 1}
    card = (out / "README.md").read_text()
    assert "config_name: public" in card and "**full**: 2 conversations; **public**: 1" in card
    assert "gpt-3.5-turbo" in card and "| consent | 3 | 2 |" in card and "`conversation_hash`" in card
    assert "2024-03-01T12:01:00+00:00" in card  # date range


def test_public_split_without_toxicity_labels_warns(logs: Logs, tmp_path: Path, curate: Any) -> None:
    logs.add(["hello"], "hi")
    res = curate([logs.write(tmp_path / "in.jsonl")])
    assert res.stats["release"]["public"] == 1 and res.stats["release"]["toxic_unlabelled"] == 1
    assert "no toxicity stage ran" in (res.out / "README.md").read_text()
    res = curate([tmp_path / "in.jsonl"], out=tmp_path / "strict", sets=['release.public="strict"'])
    assert res.stats["release"]["public"] == 0 and not list((res.out / "public").glob("*.parquet"))


@pytest.mark.slow
def test_output_loads_with_datasets(
    logs: Logs, tmp_path: Path, curate: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_DATASETS_CACHE", str(tmp_path / "hfcache"))
    _privacy_logs(logs)
    res = curate([logs.write(tmp_path / "in.jsonl")])
    import datasets

    ds = datasets.load_dataset("parquet", data_dir=str(res.out / "full"), split="train")
    assert ds.num_rows == 3
    assert {"conversation_hash", "conversation", "turn", "conversation_id"} <= set(ds.column_names)
    assert sorted(ds["turn"]) == [1, 1, 2]
