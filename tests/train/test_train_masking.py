"""Token-by-token checks that only assistant tokens carry loss, for several chat-template families."""

from __future__ import annotations

import pytest

from tests.builders.models import bpe_tokenizer
from tests.train.train_helpers import EXPECTED, MISMATCHED, TEMPLATES, labelled_runs
from wildchat.train.masking import IGNORE_INDEX, MaskingError, encode_chat, has_generation_markers

SINGLE = [
    {"role": "user", "content": "Tell me a joke about a cat."},
    {"role": "assistant", "content": "Why did the cat cross the road?"},
]
# the replies reuse words of the prompts, so a mask that is off by a position shows
MULTI_SYSTEM = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "Hello there! What is the capital of France?"},
    {"role": "assistant", "content": "Paris is the capital of France."},
    {"role": "user", "content": "And of Germany?"},
    {"role": "assistant", "content": "Berlin is the capital of Germany."},
    {"role": "user", "content": "Write a poem about the sea."},
    {"role": "assistant", "content": "The sea, the sky and the wind.\nHello there!"},
]
MULTI = MULTI_SYSTEM[1:]


def assert_assistant_only(
    tok, template: str, messages: list[dict[str, str]], method: str = "auto", verify: str = "prefix"
) -> list[int]:
    enc = encode_chat(tok, messages, method=method, verify=verify)  # type: ignore[arg-type]
    assert len(enc.input_ids) == len(enc.labels)
    # the ids are exactly the template's own rendering of the whole chat
    rendered = tok.apply_chat_template(messages, tokenize=False)
    assert enc.input_ids == tok(rendered, add_special_tokens=False)["input_ids"]
    runs = labelled_runs(enc.labels)
    replies = [m["content"] for m in messages if m["role"] == "assistant"]
    assert len(runs) == len(replies)
    in_run = set()
    for (start, end), reply in zip(runs, replies, strict=True):
        assert enc.labels[start:end] == enc.input_ids[start:end]  # a labelled token is its own target id
        assert tok.decode(enc.input_ids[start:end]) == EXPECTED[template](reply)
        in_run.update(range(start, end))
    for k, label in enumerate(enc.labels):  # every other token: no loss
        assert (label == IGNORE_INDEX) == (k not in in_run)
    # what is not labelled is the prompt side: it holds every non-assistant message
    prompt_text = tok.decode([t for k, t in enumerate(enc.input_ids) if k not in in_run])
    for m in messages:
        if m["role"] != "assistant":
            assert m["content"].strip() in prompt_text
    assert enc.n_loss_tokens == len(in_run)
    return enc.labels


@pytest.mark.parametrize("template", sorted(TEMPLATES))
@pytest.mark.parametrize("chat", [SINGLE, MULTI, MULTI_SYSTEM], ids=["single", "multi", "multi+system"])
def test_only_assistant_tokens_carry_loss(template: str, chat: list[dict[str, str]]) -> None:
    tok = bpe_tokenizer(TEMPLATES[template])
    labels = assert_assistant_only(tok, template, chat)
    if template != "generation":  # the linear verification gives the same labels
        assert labels == assert_assistant_only(tok, template, chat, verify="segments")


@pytest.mark.parametrize("chat", [SINGLE, MULTI_SYSTEM], ids=["single", "multi+system"])
def test_generation_markers_and_prefix_method_agree(chat: list[dict[str, str]]) -> None:
    template = TEMPLATES["generation"]
    assert has_generation_markers(template)
    tok = bpe_tokenizer(template)
    by_markers = assert_assistant_only(tok, "generation", chat, method="generation")
    by_prefix = assert_assistant_only(tok, "generation", chat, method="prefix")
    assert by_markers == by_prefix


def test_no_template_is_a_clear_error() -> None:
    with pytest.raises(MaskingError) as info:
        encode_chat(bpe_tokenizer(None), SINGLE)
    assert info.value.reason == "no_template"
    assert "chat template" in str(info.value)


@pytest.mark.parametrize("verify", ["prefix", "segments"])
def test_template_that_breaks_the_prefix_property_is_refused(verify: str) -> None:
    with pytest.raises(MaskingError) as info:
        encode_chat(bpe_tokenizer(MISMATCHED), MULTI, verify=verify)  # type: ignore[arg-type]
    assert info.value.reason == "template_mismatch"


@pytest.mark.parametrize("verify", ["prefix", "segments"])
def test_reply_merging_into_the_template_is_refused(verify: str) -> None:
    # a reply starting with blank lines: after the prompt's "assistant\n" the
    # tokenizer fuses "\n\n\n" differently than the prompt alone ends, so the
    # prompt is not a token prefix of the chat and no mask is given
    chat = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "\n\nSecond paragraph."}]
    tok = bpe_tokenizer(TEMPLATES["chatml"])
    with pytest.raises(MaskingError) as info:
        encode_chat(tok, chat, verify=verify)  # type: ignore[arg-type]
    assert info.value.reason == "template_mismatch"


def test_template_exception_is_a_template_error() -> None:
    two_users = [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}, SINGLE[1]]
    with pytest.raises(MaskingError) as info:
        encode_chat(bpe_tokenizer(TEMPLATES["llama2"]), two_users)
    assert info.value.reason == "template_error"
    assert "alternate" in str(info.value)


@pytest.mark.parametrize(
    ("messages", "reason"),
    [
        ([{"role": "user", "content": "hi"}], "no_assistant"),
        ([{"role": "user", "content": "hi"}, {"role": "assistant", "content": "  \n"}], "empty_assistant"),
        ([{"role": "user", "content": 3}, {"role": "assistant", "content": "x"}], "bad_message"),
    ],
)
def test_unusable_chats(messages: list[dict[str, object]], reason: str) -> None:
    with pytest.raises(MaskingError) as info:
        encode_chat(bpe_tokenizer(), messages)  # type: ignore[arg-type]
    assert info.value.reason == reason


def test_too_long_skip_or_truncate() -> None:
    tok = bpe_tokenizer()
    full = encode_chat(tok, MULTI)
    with pytest.raises(MaskingError) as info:
        encode_chat(tok, MULTI, max_length=len(full) - 1)
    assert info.value.reason == "too_long"
    cut = encode_chat(tok, MULTI, max_length=len(full) - 3, overflow="truncate")
    assert cut.truncated and len(cut) == len(full) - 3
    assert cut.input_ids == full.input_ids[: len(cut)] and cut.labels == full.labels[: len(cut)]
    first_reply = labelled_runs(full.labels)[0][0]
    with pytest.raises(MaskingError) as info:  # nothing of any reply survives the cut
        encode_chat(tok, MULTI, max_length=first_reply, overflow="truncate")
    assert info.value.reason == "too_long"
