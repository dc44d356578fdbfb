"""The pre-publication audit: prove a release is safe to publish before upload.

``wildchat audit RELEASE [--previous OLDER ...] [--json FILE]`` scans every
text field of every split with the strict PII detectors (IPs, e-mails,
phones, cards, IBANs, secrets, names), checks that ids are not shared with
older releases, and measures quasi-identifiers.  Layer: next to ``curate``;
imports ``enrich``, ``formats``, ``schema`` and ``privacy`` only.

:func:`audit_release` returns an :class:`AuditReport`; :func:`summary_line`
is the one line ``wildchat curate`` prints; :mod:`.planted` and
:mod:`.secret_eval` measure the secret detector (docs/quality.md).
Importing this package loads no model.
"""

from wildchat.audit.release import AuditInputError, open_release
from wildchat.audit.run import AuditReport, audit_release, summary_line

__all__ = ["AuditInputError", "AuditReport", "audit_release", "open_release", "summary_line"]
