"""Scores cached generations: JSON on stdin, JSON on stdout (one call per bench run).

Input:  {"items": [{"key": str, "output": str, "metric": "rougeL" | "wrouge",
                    "references": [str], "human_references": [str], "language": "fr"}]}
Output: {"items": {key: {"main": float | null, "chrf": float | null, "language": "fr",
                         "language_ok": bool}}, "versions": {...}, "langid_candidates": [...]}
`main` is ROUGE-L F1 or weighted ROUGE against the composite references (null when there are
none); `chrf` against human references (null when there are none). All scores in %.
"""

from __future__ import annotations

import json
import sys

from lab.eval.metrics import LANGID_CANDIDATES, chrf, language, rouge_l, versions, weighted_rouge


def score_item(item: dict) -> dict:
    output = item["output"]
    refs = item.get("references") or []
    human = item.get("human_references") or []
    metric = item["metric"]
    if metric not in ("rougeL", "wrouge"):
        raise ValueError(f"unknown metric {metric!r}")
    main = None
    if refs:
        main = rouge_l(output, refs) if metric == "rougeL" else weighted_rouge(output, refs)
    lang = language(output)
    return {
        "main": main,
        "chrf": chrf(output, human) if human else None,
        "language": lang,
        "language_ok": lang == item["language"],
    }


def score(payload: dict) -> dict:
    return {
        "items": {item["key"]: score_item(item) for item in payload["items"]},
        "versions": versions(),
        "langid_candidates": list(LANGID_CANDIDATES),
    }


def main() -> None:
    json.dump(score(json.load(sys.stdin)), sys.stdout)


if __name__ == "__main__":
    main()
