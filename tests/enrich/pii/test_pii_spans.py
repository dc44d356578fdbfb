"""Replacement and overlap resolution, checked against presidio-anonymizer itself."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from wildchat.enrich.pii.spans import Span, apply_spans, marker, resolve_overlaps


def test_marker_is_wildchats() -> None:
    assert marker("PERSON") == "<PRESIDIO_ANONYMIZED_PERSON>"


def test_apply_counts_and_keeps_text_when_nothing_found() -> None:
    res = apply_spans("hello", [])
    assert (res.text, res.redacted, res.entities, res.spans) == ("hello", False, {}, ())
    text = "a x b y c"
    res = apply_spans(text, [Span(2, 3, "PERSON"), Span(6, 7, "PERSON")])
    assert res.text == "a <PRESIDIO_ANONYMIZED_PERSON> b <PRESIDIO_ANONYMIZED_PERSON> c"
    assert res.entities == {"PERSON": 2} and res.redacted


def test_overlaps_keep_the_higher_score_then_the_longer_span() -> None:
    spans = [Span(0, 10, "URL", 0.7), Span(3, 8, "EMAIL_ADDRESS", 1.0), Span(9, 14, "PHONE_NUMBER", 0.6)]
    kept = resolve_overlaps(spans)
    assert [s.entity for s in kept] == ["EMAIL_ADDRESS", "PHONE_NUMBER"]
    same = resolve_overlaps([Span(0, 4, "A", 0.5), Span(0, 9, "B", 0.5)])
    assert [s.entity for s in same] == ["B"]
    assert resolve_overlaps([Span(3, 3, "A")]) == []


_spans = st.lists(
    st.tuples(
        st.integers(0, 60),
        st.integers(1, 12),
        st.sampled_from(["PERSON", "EMAIL_ADDRESS", "URL"]),
        st.floats(0.1, 1.0),
    ),
    max_size=8,
)


@settings(max_examples=30, deadline=None)
@given(text=st.text(min_size=0, max_size=80), raw=_spans)
def test_same_output_as_presidio_anonymizer(text: str, raw: list) -> None:
    from presidio_anonymizer import AnonymizerEngine
    from presidio_anonymizer.entities import OperatorConfig, RecognizerResult

    spans = resolve_overlaps(
        Span(a, min(a + n, len(text)), e, round(sc, 3)) for a, n, e, sc in raw if a < len(text)
    )
    ours = apply_spans(text, spans)
    results = [RecognizerResult(s.entity, s.start, s.end, s.score) for s in spans]
    ops = {e: OperatorConfig("replace", {"new_value": marker(e)}) for e in ("PERSON", "EMAIL_ADDRESS", "URL")}
    theirs = AnonymizerEngine().anonymize(text=text, analyzer_results=results, operators=ops)
    assert ours.text == theirs.text
    assert ours.redacted == bool(spans)


def _reference(spans: list[Span]) -> list[Span]:
    """Quadratic statement of the rule: by priority, keep a span if it overlaps nothing kept."""
    kept: list[Span] = []
    for s in sorted(spans, key=lambda s: (-s.score, -(s.end - s.start), s.start)):
        if s.end > s.start and all(s.end <= k.start or s.start >= k.end for k in kept):
            kept.append(s)
    return sorted(kept)


@settings(max_examples=200, deadline=None)
@given(
    raw=st.lists(
        st.tuples(st.integers(0, 50), st.integers(0, 10), st.sampled_from([0.3, 0.6, 0.9])), max_size=25
    )
)
def test_fast_overlap_resolution_matches_the_rule(raw: list) -> None:
    spans = [Span(a, a + n, "X", sc) for a, n, sc in raw]
    assert resolve_overlaps(spans) == _reference(spans)
