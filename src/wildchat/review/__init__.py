"""Review queue: humans label a stratified sample of detector outputs.

The curation pipeline tags every turn with detector outputs (language,
``toxic`` + moderation scores, ``redacted``, ``jailbreak``).  This package
measures how right those tags are *on the release itself*:

* :mod:`~wildchat.review.sampling` draws a stratified sample of turns for one
  task from a release and records each stratum's population size, so the
  estimates are unbiased for the whole release;
* :mod:`~wildchat.review.store` keeps items and labels (SQLite file or a
  PostgreSQL URL; concurrent annotators never lose a label);
* :mod:`~wildchat.review.app` is the labelling page and its JSON API;
* :mod:`~wildchat.review.estimate` turns labels into Horvitz-Thompson
  precision/recall with 95% intervals (per-stratum Jeffreys posteriors) and agreement
  (Cohen's kappa, Krippendorff's alpha);
* :mod:`~wildchat.review.card` writes the figures into the release card.

Same layer as ``curate``/``analyze``: imports only ``schema``, ``formats``,
``enrich`` and ``skips`` from the project.
"""

from __future__ import annotations

TASKS: tuple[str, ...] = ("toxicity", "jailbreak", "pii", "language")

__all__ = ["TASKS"]
