"""Scores cached generations: JSON on stdin, JSON on stdout (one call per bench run).

Input:  {"items": [{"key": str, "output": str, "metric": "rougeL" | "wrouge",
                    "references": [str], "human_references": [str], "language": "fr",
                    "tone": "casual" | ... | "paraphrase" | null}]}
Output: {"items": {key: {"main": float | null, "main_without_placeholders": float | null,
                         "chrf": float | null, "language": "fr",
                         "language_ok": bool, "looping": bool, "tone": label | null, "tone_ok": bool | null}},
         "versions": {...}, "langid_candidates": [...], "tone_classifier": lab.eval.tone.evaluate() | null}
`main` is ROUGE-L F1 or weighted ROUGE against the composite references (null when there are
none); `main_without_placeholders` the same with DialogSum's speaker placeholders taken out of
references and output (lab.eval.metrics) where a reference has one, else `main`; `chrf` against
human references (null when there are none). All scores in %. Tone: the lab's classifier
(lab.eval.tone) on outputs of tone variants ("paraphrase" asks for "neutral"); null when the
variant has no tone or the classifier's data is missing.
"""

from __future__ import annotations

import json
import sys

from lab.eval import tone
from lab.eval.metrics import (
    LANGID_CANDIDATES,
    chrf,
    has_placeholder,
    language,
    looping,
    rouge_l,
    versions,
    weighted_rouge,
    without_placeholders,
)


def score_item(item: dict) -> dict:
    output = item["output"]
    refs = item.get("references") or []
    human = item.get("human_references") or []
    metric = item["metric"]
    if metric not in ("rougeL", "wrouge"):
        raise ValueError(f"unknown metric {metric!r}")
    measure = rouge_l if metric == "rougeL" else weighted_rouge
    main = measure(output, refs) if refs else None
    main_without = main
    if any(has_placeholder(ref) for ref in refs):
        main_without = measure(without_placeholders(output), [without_placeholders(ref) for ref in refs])
    lang = language(output, item["language"])
    return {
        "main": main,
        "main_without_placeholders": main_without,
        "chrf": chrf(output, human) if human else None,
        "language": lang,
        "language_ok": lang == item["language"],
        "looping": looping(output),
    }


def score(payload: dict) -> dict:
    items = {item["key"]: {**score_item(item), "tone": None, "tone_ok": None} for item in payload["items"]}
    toned = [item for item in payload["items"] if item.get("tone")]
    predicted = tone.classify([item["output"] for item in toned]) if toned else None
    if predicted is not None:
        for item, label in zip(toned, predicted, strict=True):
            wanted = "neutral" if item["tone"] == "paraphrase" else item["tone"]
            items[item["key"]].update(tone=label, tone_ok=label == wanted)
    return {
        "items": items,
        "versions": versions(),
        "langid_candidates": list(LANGID_CANDIDATES),
        "tone_classifier": tone.evaluate() if predicted is not None else None,
    }


def main() -> None:
    json.dump(score(json.load(sys.stdin)), sys.stdout)


if __name__ == "__main__":
    main()
