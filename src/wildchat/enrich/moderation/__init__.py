"""Moderation engines: each scores a list of texts, one result per text.

* :mod:`.openai_engine` -- the OpenAI Moderation API (or any server speaking
  its shape), cached in SQLite (:mod:`.cache`), retried within a budget.
* :mod:`.transformer` -- local Hugging Face classifiers: Detoxify checkpoints
  (:class:`~.transformer.DetoxifyEngine`) and any text-classification model
  directory (:class:`~.transformer.HFClassifierEngine`).
* :mod:`.offline` -- the small hashed n-gram classifier this project ships,
  the default that needs no API key and no downloaded weights.

Long texts are scored in windows (:mod:`.windows`) and merged the way
WildChat merged split texts: flagged OR, categories OR, scores max.  A result
that could not be obtained is ``None`` ("missing"), never "not toxic".
"""
