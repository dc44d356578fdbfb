"""The linking engine: raw logs -> linked, prefix-deduplicated conversations.

Pure data work, no stages and no release writing: :mod:`.ingest` splits
inputs into units, :mod:`.scan` (with :mod:`.fastparse` and
:mod:`.address`) is the first pass that keeps only hashes, :mod:`.linkplan`
links and deduplicates globally, :mod:`.assemble` builds conversation batches
in the second pass, :mod:`.keys` holds the release key.  :mod:`.logs` is the
in-memory iterator API (``wildchat convert --format rawlog``).
"""
