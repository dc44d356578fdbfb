"""Model backends behind one interface (:class:`~wildchat.collect.backends.base.Backend`)."""
