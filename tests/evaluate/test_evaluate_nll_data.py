"""Which conversations the NLL matrix scores: held-out first, seeded, filled and recorded."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tests.evaluate.evaluate_helpers import sharegpt_file
from wildchat.evaluate.nll_data import parse_dataset, select_conversations
from wildchat.formats.hashing import conversation_hash
from wildchat.schema import Turn
from wildchat.train.split import is_heldout


def test_heldout_first_then_fill_in_seeded_order(tmp_path: Path) -> None:
    spec = parse_dataset(str(sharegpt_file(tmp_path / "d.json", 40, "d")))
    assert spec.name == "d"
    sel = select_conversations(spec, 10, fraction=0.2)
    assert len(sel.keys) == len(sel.messages) == 10 == sel.from_heldout + sel.from_rest
    held = [k for k in sel.keys if is_heldout(k, 0.2)]
    assert held == sel.keys[: sel.from_heldout] and sel.from_heldout > 0
    assert sel.mode == ("heldout" if sel.from_rest == 0 else "heldout+fill")
    assert select_conversations(spec, 10, fraction=0.2).keys == sel.keys  # deterministic
    assert select_conversations(spec, 10, fraction=0.2, seed="other").keys != sel.keys
    # enough held out: only held-out conversations
    only = select_conversations(spec, 3, fraction=0.5)
    assert only.mode == "heldout" and all(is_heldout(k, 0.5) for k in only.keys)
    everything = select_conversations(spec, 40, use_all=True)
    assert (
        everything.mode == "all"
        and len(set(everything.keys)) == 40
        and everything.to_dict()["selection"]["heldout_fraction"] == 0.0
    )


def test_unusable_conversations_are_counted_not_candidates(tmp_path: Path) -> None:
    rows = [
        {"id": "ok", "conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": "a"}]},
        {"id": "noans", "conversations": [{"from": "human", "value": "q"}]},
        {"id": "empty", "conversations": [{"from": "human", "value": "q"}, {"from": "gpt", "value": " "}]},
        {
            "id": "trail",
            "conversations": [
                {"from": "human", "value": "q"},
                {"from": "gpt", "value": "a"},
                {"from": "human", "value": "unanswered"},
            ],
        },
    ]
    path = tmp_path / "mixed.json"
    path.write_text(json.dumps(rows), encoding="utf-8")
    sel = select_conversations(parse_dataset(f"mix={path}"), 10, use_all=True)
    # the split key is content-based (release ids are keyed per release): hash of the chat + first prompt
    ok = [Turn(content="q", role="user"), Turn(content="a", role="assistant")]
    first = hashlib.sha256(b"q").hexdigest()[:16]
    assert sel.spec.name == "mix" and sel.keys == [f"hash:{conversation_hash(ok)}:{first}"]
    assert sel.messages == [[{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]]
    # the ShareGPT reader already rejects unanswered endings; the empty reply is our own skip
    skipped = sel.to_dict()["read"]["skipped_by_reason"]
    assert sum(skipped.values()) == 3 and skipped["empty_assistant"] == 1
