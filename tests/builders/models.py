"""Tiny models built locally (no download): tokenizers, a causal LM, a toxicity classifier.

* :func:`bpe_tokenizer` -- a byte-level BPE trained in memory on :data:`CORPUS`,
  with the special tokens of the chat families the training tests render.
* :func:`byte_tokenizer` -- byte-level BPE without merges (every byte one token),
  ChatML specials; what the evaluation tests score with.
* :func:`causal_lm_dir` -- a random 2-layer ``LlamaForCausalLM`` saved with a tokenizer.
* :func:`classifier_dir` -- a random 1-layer BERT sequence classifier over a word-level
  vocabulary (:data:`WORDS`, labels :data:`LABELS`).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

SPECIALS = [
    "<unk>",
    "<pad>",
    "<s>",
    "</s>",
    "<|im_start|>",
    "<|im_end|>",
    "<|user|>",
    "<|assistant|>",
    "<|system|>",
]
#: ChatML as in SmolLM2 (a default system message when the chat has none)
CHATML = (
    "{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\\nYou are a helpful assistant.<|im_end|>\\n' }}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
#: plain ChatML, no default system message
CHATML_PLAIN = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
CORPUS = [
    "Hello there! How can I help you today?",
    "Tell me a joke about a cat and a dog.",
    "The quick brown fox jumps over the lazy dog.",
    "USER: ASSISTANT: A chat between a curious user and an artificial intelligence assistant.",
    "[INST] <<SYS>> You are a helpful assistant. <</SYS>> [/INST]",
    "Paris is the capital of France. Berlin is the capital of Germany.",
    "Write a poem about the sea, the sky and the wind.",
    "Why did the chicken cross the road? To get to the other side!",
    "Python lists are mutable; tuples are not. def f(x): return x * 2",
    "First paragraph.\n\nSecond paragraph.\n\n\nThird.",
] * 3
#: the classifier's vocabulary (besides [PAD] [UNK] [CLS] [SEP]) and its labels
WORDS = ["hello", "world", "you", "are", "bad", "good", "idiot", "nice", "the", "a"]
LABELS = ["toxic", "severe_toxic", "insult"]


def _transformers() -> Any:
    """``transformers``, untyped: its stubs do not cover the tiny configs built here."""
    import transformers

    return transformers


@cache
def _bpe_json() -> str:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tk = Tokenizer(models.BPE(unk_token="<unk>"))
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tk.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=700, special_tokens=SPECIALS, initial_alphabet=pre_tokenizers.ByteLevel.alphabet()
    )
    tk.train_from_iterator(CORPUS, trainer)
    return str(tk.to_str())


def bpe_tokenizer(template: str | None = CHATML) -> Any:
    """A byte-level BPE tokenizer trained in memory, with special tokens and ``template`` (if not None)."""
    from tokenizers import Tokenizer

    tok = _transformers().PreTrainedTokenizerFast(
        tokenizer_object=Tokenizer.from_str(_bpe_json()),
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        additional_special_tokens=["<|im_start|>", "<|im_end|>", "<|user|>", "<|assistant|>", "<|system|>"],
    )
    if template is not None:
        tok.chat_template = template
    return tok


def byte_tokenizer(template: str = CHATML_PLAIN) -> Any:
    """Byte-level BPE without merges (every byte one token) plus ChatML specials and ``template``."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {ch: i for i, ch in enumerate(sorted(alphabet))}
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)
    tok.decoder = decoders.ByteLevel()
    fast = _transformers().PreTrainedTokenizerFast(tokenizer_object=tok)
    fast.add_special_tokens({"eos_token": "<|im_end|>", "bos_token": "<|im_start|>", "pad_token": "<|pad|>"})
    fast.chat_template = template
    return fast


def causal_lm_dir(
    path: Path, tokenizer: Any, *, seed: int = 0, kv_heads: int = 4, max_positions: int = 256
) -> Path:
    """A random (``seed``) 2-layer ``LlamaForCausalLM`` + ``tokenizer`` saved as a model folder."""
    import torch

    tf = _transformers()
    torch.manual_seed(seed)
    config = tf.LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=kv_heads,
        max_position_embeddings=max_positions,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model = tf.LlamaForCausalLM(config).eval()
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(path), safe_serialization=True)
    tokenizer.save_pretrained(str(path))
    return path


def classifier_dir(path: Path, multi_label: bool = True) -> tuple[Any, Any]:
    """A random (seed 0) 1-layer BERT classifier + word-level tokenizer saved in ``path``; returns both."""
    import torch
    from tokenizers import Tokenizer, models, pre_tokenizers, processors

    tf = _transformers()

    vocab = {t: i for i, t in enumerate(["[PAD]", "[UNK]", "[CLS]", "[SEP]", *WORDS])}
    tok = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    tok.pre_tokenizer = pre_tokenizers.Whitespace()
    tok.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", special_tokens=[("[CLS]", 2), ("[SEP]", 3)]
    )
    fast = tf.PreTrainedTokenizerFast(
        tokenizer_object=tok, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]"
    )
    torch.manual_seed(0)
    config = tf.BertConfig(
        vocab_size=len(vocab),
        hidden_size=16,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=32,
        max_position_embeddings=24,
        num_labels=len(LABELS),
        id2label=dict(enumerate(LABELS)),
        label2id={v: k for k, v in enumerate(LABELS)},
        problem_type="multi_label_classification" if multi_label else "single_label_classification",
    )
    model = tf.BertForSequenceClassification(config).eval()
    model.save_pretrained(path)
    fast.save_pretrained(path)
    return model, fast
