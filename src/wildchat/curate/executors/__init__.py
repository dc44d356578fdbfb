"""Executors schedule scan and shard jobs; they never change results.

``local`` (:mod:`.local`, processes) and ``ray`` (:mod:`.ray`, Ray Data; the
only module that imports ``ray``).  Both expose ``scan(units, failed, limit)``
and ``run_shards(jobs, n_jobs, stages, write_options)``.
"""
