"""Curation: raw logs -> a releasable dataset in the WildChat-1M schema.

Flow (``wildchat curate``): ingest units (:mod:`.ingest`) -> first pass,
hashes only (:mod:`.scan`) -> global link and prefix dedup (:mod:`.linkplan`)
-> second pass builds conversation batches (:mod:`.assemble`) -> per-batch
stages (:mod:`.stage`, registry :mod:`.stages`) -> release writer
(:mod:`.writer`, :mod:`.card`).  Executors (:mod:`.executors`) only schedule.
Public entry points: :func:`wildchat.curate.pipeline.run_curate` and
:func:`wildchat.curate.link.conversations_from_logs`.
"""
