"""Evaluation of chat models trained on a release.

Two measurements, as in the WildChat paper:

* :mod:`wildchat.evaluate.nll` -- per-token negative log-likelihood of the
  assistant tokens of held-out conversations, for every model on every
  dataset (the paper's cross-dataset matrix), with
  :mod:`wildchat.evaluate.heatmap` drawing it;
* :mod:`wildchat.evaluate.judge` -- MT-bench-style judging against
  OpenAI-compatible endpoints: answers for a two-turn question file, single
  answer grades 1-10 and pairwise verdicts, with the judge prompt pinned.

Modules import torch, transformers, numpy and the OpenAI SDK inside functions
so that importing the package is cheap.
"""
