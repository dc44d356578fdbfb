"""Supervised fine-tuning on collected conversations.

* :mod:`wildchat.train.split` -- the deterministic held-out split shared by
  ``export-sft`` (which excludes it) and ``eval nll`` (which scores only it);
* :mod:`wildchat.train.sft_data` -- release records -> chat messages, and the
  JSONL training formats (messages / ShareGPT / OpenAI) read back;
* :mod:`wildchat.train.export` -- ``wildchat export-sft``;
* :mod:`wildchat.train.masking` -- tokens + loss labels from the tokenizer's own
  chat template (assistant tokens only);
* :mod:`wildchat.train.models` -- local model loading (folders, GGUF, the
  bundled SmolLM2) and device choice;
* :mod:`wildchat.train.recipe` / :mod:`wildchat.train.trainer` -- ``wildchat
  train`` with the Vicuna/WildLlama recipe.

Nothing here imports torch or transformers at import time.
"""
