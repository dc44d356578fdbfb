"""Redaction quality on public labelled data (``make eval``; reads ../shared/data).

Floors sit a point or two under the figures measured when they were set
(docs/quality.md, "PII"; printed by ``scripts/pii_quality.py``): everything is
deterministic, so a real regression fails.  Strict-policy figures for names,
cards, phones and IPs are taken on the held-out *test* fold of the Presidio
set (seeded split, :func:`~wildchat.enrich.pii.evaluation.split_folds`); the
rules were tuned on the dev fold only.  The ``wildchat`` policy is *meant* to
miss most names and numbers without a cue; its tests pin its precision and
that it never finds more than ``strict``.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wildchat.enrich.pii import Redactor
from wildchat.enrich.pii.evaluation import Scores, load_presidio_synth, load_wnut_persons, score, split_folds

pytestmark = [pytest.mark.realdata, pytest.mark.slow]


@pytest.fixture(scope="module")
def synth_scores(
    shared_data: Path, wildchat_redactor: Redactor, strict_redactor: Redactor
) -> dict[str, Scores]:
    golds = load_presidio_synth(shared_data / "presidio_synth_pii" / "synth_dataset_v2_dev1000.json")
    assert len(golds) == 1000
    texts = [g.text for g in golds]
    return {
        "wildchat": score(golds, wildchat_redactor.redact_many(texts)),
        "strict": score(golds, strict_redactor.redact_many(texts)),
    }


@pytest.fixture(scope="module")
def test_fold_scores(shared_data: Path, strict_redactor: Redactor) -> Scores:
    golds = load_presidio_synth(shared_data / "presidio_synth_pii" / "synth_dataset_v2_dev1000.json")
    dev, test = split_folds(golds)
    assert len(dev) == len(test) == 500
    return score(test, strict_redactor.redact_many([g.text for g in test]))


# held-out test fold, strict policy: (gold / our type, min recall, min precision); measured 0.821 / 0.830
# for PERSON, 1.0 / 1.0 for cards and IPs, 1.0 recall for phones (typed precision 0.60: SSNs, addresses)
STRICT_TEST_FOLD = [
    ("PERSON", 0.80, 0.82),
    ("CREDIT_CARD", 0.97, 0.97),
    ("PHONE_NUMBER", 0.97, 0.55),
    ("IP_ADDRESS", 0.95, 0.95),
]


@pytest.mark.parametrize(("entity", "min_recall", "min_precision"), STRICT_TEST_FOLD)
def test_strict_on_the_held_out_fold(
    test_fold_scores: Scores, entity: str, min_recall: float, min_precision: float
) -> None:
    sc = test_fold_scores
    assert sc.recall(entity) >= min_recall, (entity, sc.found[entity], sc.gold[entity])
    assert sc.precision(entity) >= min_precision, (entity, sc.correct[entity], sc.predicted[entity])


@pytest.fixture(scope="module")
def wnut_scores(
    shared_data: Path, wildchat_redactor: Redactor, strict_redactor: Redactor
) -> dict[str, Scores]:
    golds = []
    for name in ("wnut17train.conll", "emerging.dev.conll"):
        golds.extend(load_wnut_persons(shared_data / "wnut17" / name))
    texts = [g.text for g in golds]
    return {
        "wildchat": score(golds, wildchat_redactor.redact_many(texts)),
        "strict": score(golds, strict_redactor.redact_many(texts)),
    }


# (gold type / our type, min recall, min precision)
STRICT = [  # whole set (dev + test folds)
    ("EMAIL_ADDRESS", 0.95, 0.95),
    ("CREDIT_CARD", 0.97, 0.97),
    ("IBAN_CODE", 0.85, 0.95),
    ("IP_ADDRESS", 0.95, 0.95),
    ("PHONE_NUMBER", 0.97, 0.50),  # typed precision: the misses are SSNs, addresses (PII all the same)
    ("PERSON", 0.81, 0.87),  # measured 0.825 / 0.886 (firm names, possessives, places vetoed)
]
WILDCHAT = [
    ("EMAIL_ADDRESS", 0.95, 0.95),
    ("CREDIT_CARD", 0.92, 0.95),  # needs "card" nearby
    ("PHONE_NUMBER", 0.65, 0.80),  # needs a cue or a leading +
    ("IP_ADDRESS", 0.95, 0.95),  # global addresses: both policies
]


@pytest.mark.parametrize(("entity", "min_recall", "min_precision"), STRICT)
def test_strict_on_presidio_synthetic(
    synth_scores: dict[str, Scores], entity: str, min_recall: float, min_precision: float
) -> None:
    sc = synth_scores["strict"]
    assert sc.recall(entity) >= min_recall, (entity, sc.found[entity], sc.gold[entity])
    assert sc.precision(entity) >= min_precision, (entity, sc.correct[entity], sc.predicted[entity])


@pytest.mark.parametrize(("entity", "min_recall", "min_precision"), WILDCHAT)
def test_wildchat_on_presidio_synthetic(
    synth_scores: dict[str, Scores], entity: str, min_recall: float, min_precision: float
) -> None:
    sc = synth_scores["wildchat"]
    assert sc.recall(entity) >= min_recall, (entity, sc.found[entity], sc.gold[entity])
    assert sc.precision(entity) >= min_precision, (entity, sc.correct[entity], sc.predicted[entity])


def test_wildchat_names_are_precise_and_rare(synth_scores: dict[str, Scores]) -> None:
    wc, st = synth_scores["wildchat"], synth_scores["strict"]
    assert wc.predicted["PERSON"] >= 10  # cue phrases do occur in the set
    assert wc.precision("PERSON") >= 0.85
    assert wc.recall("PERSON") < st.recall("PERSON")


def test_every_redaction_hides_pii_under_both(synth_scores: dict[str, Scores]) -> None:
    """Privacy view: (almost) every redaction covers some gold PII span."""
    for sc in synth_scores.values():
        for entity in ("EMAIL_ADDRESS", "CREDIT_CARD", "PHONE_NUMBER"):
            assert sc.precision_any(entity) >= 0.95, entity


def test_wildchat_never_finds_more_than_strict(synth_scores: dict[str, Scores]) -> None:
    wc, st = synth_scores["wildchat"], synth_scores["strict"]
    for gold_type in st.gold:
        assert wc.found[gold_type] <= st.found[gold_type], gold_type


def test_person_recall_on_wnut17(wnut_scores: dict[str, Scores]) -> None:
    st, wc = wnut_scores["strict"], wnut_scores["wildchat"]
    assert st.gold["PERSON"] > 1000
    assert st.recall("PERSON") >= 0.48  # noisy, often lowercase names: 0.500 measured (NER + gazetteer)
    assert wc.recall("PERSON") <= 0.05  # tweets rarely carry a "my name is" cue: by design


def test_wildchat_policy_rarely_fires_on_real_chat(shared_data: Path, wildchat_redactor: Redactor) -> None:
    """Over-redaction check on real LMSYS turns (real chat; LMSYS had its own redaction)."""
    path = shared_data / "lmsys_chat_1m_sample191" / "lmsys_1000.jsonl"
    lines = [line for line in path.read_bytes().split(b"\n") if line.strip()]  # "\u2028" is not a line end
    turns = [m["content"] for line in lines for m in json.loads(line)["conversation"] if m["content"]]
    assert len(turns) > 500
    results = wildchat_redactor.redact_many(turns)
    share = sum(r.redacted for r in results) / len(turns)
    assert share <= 0.002  # 0 of 1,979 measured
    assert all(r.text == t for r, t in zip(results, turns, strict=True) if not r.redacted)


def test_wildchat_policy_touches_few_wildchat_and_sharegpt_turns(
    shared_data: Path, wildchat_redactor: Redactor
) -> None:
    """Share of ordinary turns the default policy touches (docs/quality.md says what each touched turn is)."""
    import pyarrow.parquet as pq

    wild = pq.read_table(shared_data / "wildchat_firstturn" / "wildchat_clean_1335rows.parquet").to_pylist()
    share = json.loads((shared_data / "sharegpt_v3_sample" / "sharegpt_v3_sample800.json").read_text("utf-8"))
    sources = {  # measured 0.26 % / 0.40 %
        "WildChat": ([t for r in wild for t in (r["prompt"], r["response"]) if t], 0.0035),
        "ShareGPT": ([m["value"] for r in share for m in r["conversations"] if m.get("value")], 0.005),
    }
    for name, (turns, ceiling) in sources.items():
        touched = sum(r.redacted for r in wildchat_redactor.redact_many(turns)) / len(turns)
        assert touched <= ceiling, (name, touched)
