"""Print the secret detector's figures for docs/quality.md ("Secrets").

Same as ``python -m wildchat.audit.secret_eval [SHARED_DATA]``: recall on 40
planted realistic keys per format under both PII policies, and the share of
ordinary real turns the detector touches.  Exit 1 if a key survives or more
than 0.1 % of turns are touched.
"""

from __future__ import annotations

import sys

from wildchat.audit.secret_eval import main

if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
