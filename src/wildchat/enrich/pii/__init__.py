"""PII detection and redaction for chat turns (Presidio + spaCy, offline).

Pure API over texts::

    from wildchat.enrich.pii import Redactor, pii_config
    r = Redactor(pii_config("wildchat"))
    r.redact_many(["my name is Ada Lovelace, call +44 20 7946 0958"])
    # -> [RedactionResult(text='my name is <PRESIDIO_ANONYMIZED_PERSON>, call
    #      <PRESIDIO_ANONYMIZED_PHONE_NUMBER>', redacted=True, entities={...})]

Policies (``wildchat``, ``strict``) are described in :mod:`.config` and
:mod:`.policies`; the public-entity whitelist and its first pass in
:mod:`.whitelist`; costs and quality in docs/benchmarks.md and
docs/quality.md ("PII" sections).  Importing this package loads no model.
"""

from wildchat.enrich.pii.config import ALL_ENTITIES, POLICIES, WILDCHAT_ENTITIES, PiiConfig, pii_config
from wildchat.enrich.pii.engine import Redactor, language_code
from wildchat.enrich.pii.spans import RedactionResult, Span, marker
from wildchat.enrich.pii.whitelist import Whitelist, WhitelistBuilder

__all__ = [
    "ALL_ENTITIES",
    "POLICIES",
    "WILDCHAT_ENTITIES",
    "PiiConfig",
    "RedactionResult",
    "Redactor",
    "Span",
    "Whitelist",
    "WhitelistBuilder",
    "language_code",
    "marker",
    "pii_config",
]
