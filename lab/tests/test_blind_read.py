"""lab.eval.blind_read: the sheet hides which candidate wrote which output, and the score puts each
verdict back on the candidate that earned it."""

from __future__ import annotations

import hashlib
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
        "better": {str(a): 6, str(b): 0, "same verdict": 0},
        "same output, not read": 0,
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


def _bench_run(folder, outputs, inputs):
    """A benchmark run's --out folder as bench/run.ts leaves it: one cached generation per line,
    keyed by its input's hash."""
    (folder / "cache").mkdir(parents=True)
    lines = [
        json.dumps(
            {
                "key": f"{command}|auto|{hashlib.sha256(inputs[i].encode()).hexdigest()[:16]}|c0nf1g",
                "variant": command,
                "method": "auto",
                "id": i,
                "text": text,
                "error": None,
            }
        )
        for command, i, text in outputs
    ]
    (folder / "cache" / "generations.jsonl").write_text("\n".join(lines) + "\n")


def test_tone_rewrites_read_from_two_benchmark_runs(tmp_path):
    inputs = {
        "news:1": "The bridge will not open before May.",
        "news:2": "Can you send the report?",
        "news:3": "We met on Monday.",
    }
    data = tmp_path / "data.json"
    data.write_text(json.dumps({"items": {i: {"text": text} for i, text in inputs.items()}}))
    with_penalty, without = tmp_path / "with", tmp_path / "without"
    _bench_run(
        with_penalty,
        [
            ("tone:casual", "news:1", "The bridge opens in May."),
            ("tone:casual", "news:2", "Could you shoot me the report?"),
            ("tone:casual", "news:3", "We met on Monday."),
            ("tone:witty", "news:1", "Bridges: not before May, folks."),
        ],
        inputs,
    )
    # The same run also read another draw, whose news:2 is another paragraph: not on this sheet.
    _bench_run(
        without,
        [
            ("tone:casual", "news:1", "The bridge will not open before May."),
            ("tone:casual", "news:2", "Can you send the report?"),
            ("tone:casual", "news:3", "We met on Monday."),
        ],
        inputs,
    )
    with (without / "cache" / "generations.jsonl").open("a") as cache:
        other_draw = {"news:2": "Rain is due."}
        _bench_run(tmp_path / "other", [("tone:casual", "news:2", "Rain, yay.")], other_draw)
        cache.write((tmp_path / "other" / "cache" / "generations.jsonl").read_text())
    out = tmp_path / "read"
    n = blind_read.sheet(
        with_penalty, without, data, out, 3, rubric="tone", command="tone:casual", skip_same=True
    )
    assert n == 2, "news:3 came back alike from both runs and is not read"
    sheet = (out / "sheet.md").read_text()
    assert "tone:casual" in sheet and "- **wrong**: changes or loses a meaning" in sheet
    assert "Bridges" not in sheet, "another command's output is not on the sheet"
    assert "news:3" not in sheet
    # The reader: the lost "not" is wrong, the casual request good, a given-back text unchanged.
    verdicts = json.loads((out / "verdicts.json").read_text())
    for i, slots in verdicts.items():
        for slot in slots:
            shown = sheet.split(f"## {i}\n")[1].split(f"**{slot}:** ")[1].split("\n")[0]
            slots[slot] = {"The bridge opens in May.": "wrong", "Could you shoot me the report?": "good"}.get(
                shown, "unchanged"
            )
    (out / "verdicts.json").write_text(json.dumps(verdicts))
    assert blind_read.score(out) == {
        str(with_penalty): {"good": 1, "plain": 0, "unchanged": 0, "wrong": 1},
        str(without): {"good": 0, "plain": 0, "unchanged": 2, "wrong": 0},
        "better": {str(with_penalty): 1, str(without): 1, "same verdict": 0},
        "same output, not read": 1,
    }


def test_a_run_with_two_outputs_for_one_input_is_refused(tmp_path):
    run = tmp_path / "run"
    _bench_run(run, [("tone:casual", "m", "Hi."), ("tone:casual", "m", "Hello.")], {"m": "Hello?"})
    with pytest.raises(SystemExit, match="two outputs of tone:casual for m"):
        blind_read.outputs(run, "tone:casual", {"m": "Hello?"})
