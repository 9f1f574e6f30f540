"""The formality study's data and metric (lab/lab/eval/formality.py): CoCoA-MT's matched register on
hand-made outputs, the reader on both upstream file layouts, and the held-out selection on the real data."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lab.eval import formality

LAB = Path(__file__).resolve().parents[1]
FORMAL = "Où [F]voudriez-vous[/F] finir [F]vos[/F] vieux jours ?"
INFORMAL = "Où [F]voudrais-tu[/F] finir [F]tes[/F] vieux jours ?"


def test_register_follows_the_marked_phrases_found_in_the_output():
    assert formality.formality_label("Où voudriez-vous finir vos jours ?", FORMAL, INFORMAL) == "formal"
    assert formality.formality_label("où voudrais-tu finir tes jours?", FORMAL, INFORMAL) == "informal"
    assert formality.formality_label("Where do you want to retire?", FORMAL, INFORMAL) == "neutral"
    assert formality.formality_label("voudriez-vous ... tes jours", FORMAL, INFORMAL) == "other"
    # Every word of a multi-word phrase must occur ("voudriez" alone is not "voudriez-vous").
    assert formality.matched_phrases("voudriez finir", FORMAL) == []


def _write_set(folder: Path, stem: str, suffix: str, rows: list[tuple[str, str, str]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{stem}{'.en' if suffix else ''}").write_text("\n".join(r[0] for r in rows) + "\n")
    for i, level in enumerate(("formal", "informal"), start=1):
        marked = [r[i] for r in rows]
        plain = [m.replace("[F]", "").replace("[/F]", "") for m in marked]
        (folder / f"{stem}.{level}.annotated{suffix}").write_text("\n".join(marked) + "\n")
        (folder / f"{stem}.{level}{suffix}").write_text("\n".join(plain) + "\n")


def test_reader_keeps_contrastive_segments_in_both_upstream_layouts(tmp_path):
    rows = [
        ("Are you sure?", "[F]Sind Sie[/F] sicher?", "[F]Bist du[/F] sicher?"),
        ("It is late.", "Es ist spät.", "Es ist spät."),  # same in both registers: not contrastive
    ]
    _write_set(tmp_path / "train/en-de", "formality-control.train.telephony.en-de", ".de", rows)
    _write_set(tmp_path / "test/en-de", "formality-control.test.call_center.en-de", "", rows)
    segments = formality.read_cocoa(tmp_path, "de")
    assert [s["id"] for s in segments] == ["cocoa:de:call_center:0", "cocoa:de:telephony:0"]
    assert segments[0]["formal"] == "Sind Sie sicher?" and segments[0]["informal"] == "Bist du sicher?"
    assert segments[0]["formal_annotated"] == "[F]Sind Sie[/F] sicher?"
    assert formality.read_cocoa(tmp_path, "fr") == []


@pytest.mark.data("ntrex", "cocoa-mt")
def test_default_segments_are_the_translate_dev_split_and_never_trained_on():
    from lab.data import load_task

    built = formality.build(None, 1234, None, ["fr"])
    segments = built["languages"]["fr"]
    train = {e.id for e in load_task("translate:fr", "train")}
    dev = {e.id for e in load_task("translate:fr", "dev")}
    assert len(segments) >= 20
    assert all(s["id"] in dev and s["id"] not in train for s in segments)
    assert all(s["formal"] != s["informal"] for s in segments)
    # Seeded: the same n segments every time, a subset of the whole set.
    picked = formality.build(5, 1234, None, ["fr"])["languages"]["fr"]
    assert picked == formality.build(5, 1234, None, ["fr"])["languages"]["fr"]
    assert len(picked) == 5 and all(p in segments for p in picked)


def test_score_cli_scores_both_references():
    item = {
        "key": "k",
        "output": "Où voudriez-vous finir vos jours ?",
        "formal": "Où voudriez-vous finir vos vieux jours ?",
        "informal": "Où voudrais-tu finir tes vieux jours ?",
        "formal_annotated": FORMAL,
        "informal_annotated": INFORMAL,
    }
    run = subprocess.run(
        [sys.executable, "-m", "lab.eval.formality", "score"],
        input=json.dumps({"items": [item]}),
        capture_output=True,
        text=True,
        cwd=LAB,
        check=True,
    )
    scored = json.loads(run.stdout)["items"]["k"]
    assert scored["formality"] == "formal" and scored["language"] == "fr"
    assert scored["chrf_formal"] > scored["chrf_informal"] + 20


@pytest.mark.data("ntrex", "cocoa-mt")
def test_casual_translation_targets_are_the_human_informal_ones_and_skip_benchmark_segments():
    from lab.data import load_task
    from lab.data.sources import data_source

    chain = "tone:casual+translate:fr"
    train, dev = load_task(chain, "train"), load_task(chain, "dev")
    translate_dev = {e.id for e in load_task("translate:fr", "dev")}
    assert len(train) > 300 and not {e.id for e in train} & translate_dev
    assert {e.id for e in dev} <= translate_dev
    benchmark = {s["id"]: s for s in formality.build(None, 1234, None, ["fr"])["languages"]["fr"]}
    assert not set(benchmark) & {e.id for e in train}, "no formality benchmark segment is trained on"
    shared = [e for e in dev if e.id in benchmark]
    assert shared and all(e.target == benchmark[e.id]["informal"] for e in shared)
    assert data_source(chain) == "human (CoCoA-MT informal translations)"
    assert data_source("summarize+translate:fr") == "teacher"
