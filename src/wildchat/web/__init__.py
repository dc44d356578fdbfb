"""Web plumbing shared by the project's HTTP apps (collection server, explorer, review page, eval server).

One place for what every app needs and must not get subtly different:

* :mod:`wildchat.web.settings` -- settings sources (keyword arguments, the
  environment, an optional file read by the caller) and the one database-URL rule;
* :mod:`wildchat.web.app` -- the FastAPI factory (no docs pages, no telemetry,
  security headers outermost) and the ``{"detail": msg}`` error handlers;
* :mod:`wildchat.web.sqlite` -- SQLite engines (pragmas per connection, files
  created private when they hold private data);
* :mod:`wildchat.web.httpsec` -- the security headers;
* :mod:`wildchat.web.files` -- owner-only (0600) files and 0700 folders.

Layer: below ``collect``, ``explore``, ``evaluate`` and ``review``; it imports
none of them.  Importing the package imports nothing heavy: each module pulls
in only its own dependency (pydantic-settings, FastAPI or SQLAlchemy).
"""
