"""lab.eval.blind_read: the sheet hides which candidate wrote which output, and the score puts each
verdict back on the candidate that earned it."""

from __future__ import annotations

import json

import pytest

from lab.eval import blind_read


def test_verdicts_go_back_to_the_candidate_whatever_the_order(tmp_path):
    inputs, a, b = (tmp_path / n for n in ("inputs", "a", "b"))
    for folder in (inputs, a, b):
        folder.mkdir()
    for i in range(6):
        (inputs / f"mail-{i}.txt").write_text(f"Can you come on day {i}?")
        (a / f"mail-{i}.json").write_text(json.dumps({"text": f"Yes, I can come on day {i}."}))
        (b / f"mail-{i}.json").write_text(json.dumps({"text": "I like dogs."}))
    out = tmp_path / "read"
    assert blind_read.sheet(a, b, inputs, out, seed=7) == 6
    sheet = (out / "sheet.md").read_text()
    assert "Can you come on day 3?" in sheet and "Yes, I can come on day 3." in sheet
    order = json.loads((out / "key.json").read_text())["order"]
    assert {o["1"] for o in order.values()} == {"a", "b"}, (
        "the seeded order puts each candidate first somewhere"
    )
    # The reader judges by the text alone: the answer "answers", the chat line "not".
    verdicts = json.loads((out / "verdicts.json").read_text())
    for i, slots in verdicts.items():
        for slot in slots:
            shown = sheet.split(f"## {i}\n")[1].split(f"**{slot}:** ")[1].split("\n")[0]
            slots[slot] = "answers" if shown.startswith("Yes") else "not"
    (out / "verdicts.json").write_text(json.dumps(verdicts))
    assert blind_read.score(out) == {
        str(a): {"answers": 6, "part": 0, "not": 0},
        str(b): {"answers": 0, "part": 0, "not": 6},
    }


def test_a_sheet_not_read_to_the_end_is_refused(tmp_path):
    inputs, a, b = (tmp_path / n for n in ("inputs", "a", "b"))
    for folder in (inputs, a, b):
        folder.mkdir()
    (inputs / "m.txt").write_text("Hello?")
    for folder in (a, b):
        (folder / "m.json").write_text(json.dumps({"text": "Hi."}))
    blind_read.sheet(a, b, inputs, tmp_path / "read", seed=1)
    with pytest.raises(SystemExit, match="verdict '' is not one of"):
        blind_read.score(tmp_path / "read")
