"""Enrichment engines: language ID, moderation/toxicity, jailbreak matching.

Every engine here is a pure function or a small class over plain lists of
texts (no Arrow, no file I/O beyond loading a model or a user-supplied
library), so it can be tested alone and wrapped by a curation stage
(``wildchat.curate.stages.language`` / ``.moderation`` / ``.jailbreak``).
Heavy dependencies (lingua, fasttext, torch, transformers, openai,
datasketch, scikit-learn) are imported inside the functions that need them,
never at import time of this package.
"""
