"""Explorer: search, filter and map conversations in the browser (``wildchat explore``).

Layout: ``model`` (the contract between index and web app), ``index`` (read
side over SQLite FTS5 or PostgreSQL), ``build`` (incremental, resumable index
builds), ``query`` (request-parameter validation, cursors), ``tokens``
(tokenisation shared by both backends), ``mapcoords`` (embedding map), and
the web app (``app``, ``routes_*``, ``static``).  Nothing is imported here, so
``import wildchat.explore.model`` stays cheap.
"""
