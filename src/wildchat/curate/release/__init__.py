"""Writing a release: shards and the final table (:mod:`.writer`), the dataset
card (:mod:`.card`), and the guard and scrubbing rules for what a release may
publish (:mod:`.publish`)."""
