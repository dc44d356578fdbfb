"""The collection server: a consent-gated chatbot that logs every turn.

Entry points: :func:`wildchat.collect.settings.load_settings` builds the
:class:`~wildchat.collect.settings.Settings`, and
:func:`wildchat.collect.app.create_app` turns them into a FastAPI app.
Nothing here runs at import time: engines, keys and models are made by the
app factory and its lifespan.
"""
