"""Curation: raw logs -> a releasable dataset in the WildChat-1M schema.

Three subpackages, each with one job:

* :mod:`.link` -- the linking engine: ingest units (:mod:`.link.ingest`) ->
  first pass, hashes only (:mod:`.link.scan`, :mod:`.link.fastparse`,
  :mod:`.link.address`) -> global link and prefix dedup
  (:mod:`.link.linkplan`) -> second pass builds conversation batches
  (:mod:`.link.assemble`); release keys in :mod:`.link.keys`.
* :mod:`.stages` -- the stage framework (:mod:`.stages.base`,
  :mod:`.stages.batch`, :mod:`.stages.config`, :mod:`.stages.shard`) next
  to the stages themselves (every other module of the package).
* :mod:`.release` -- the release writer (:mod:`.release.writer`), the card
  (:mod:`.release.card`) and what may be published (:mod:`.release.publish`).

:mod:`.pipeline` runs them; executors (:mod:`.executors`) only schedule.
Public entry points: :func:`wildchat.curate.pipeline.run_curate` and
:func:`wildchat.curate.link.logs.conversations_from_logs`.
"""
