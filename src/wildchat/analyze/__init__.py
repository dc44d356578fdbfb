"""Dataset statistics, tables, figures and the HTML report (`wildchat analyze`).

Streaming aggregators over release-schema Arrow batches
(:class:`~wildchat.analyze.aggregate.DatasetStats`), pure table builders,
matplotlib figures and a self-contained HTML page; :func:`run_analysis`
ties them together.  Definitions of every statistic: docs/analysis.md.

Importing this package imports nothing heavy; submodules load pyarrow,
tiktoken, matplotlib or torch only when used.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from wildchat.analyze.run import AnalyzeOptions, AnalyzeResult, run_analysis

__all__ = ["AnalyzeOptions", "AnalyzeResult", "run_analysis"]


def __getattr__(name: str) -> Any:
    if name in __all__:
        from wildchat.analyze import run

        return getattr(run, name)
    raise AttributeError(name)
