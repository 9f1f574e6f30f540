"""The benchmark's metrics, from the real libraries (rouge-score, sacrebleu, langid); all in %.

- ROUGE-L F1 with the Porter stemmer (summaries), as the paper's Table 1.
- Weighted ROUGE = R1/6 + R2/3 + R3/2 on F-measures (replies), as the paper's Table 1.
- chrF (sacrebleu defaults: char order 6, beta 2) against human references.
- Looping: the output ends in one short piece of text repeated over and over ("¡¡¡¡¡...",
  "me me me ..."), greedy decoding's failure mode; reported as a share so low scores can be read.
- Language identity: langid.py 1.1.6 (its own model, offline) restricted to a fixed candidate set,
  because on short texts the unrestricted 97-language model confuses close languages (e.g. a short
  Spanish sentence labelled Galician). Confusions inside the set still count as errors.
With several references the best-scoring one counts (rouge-score's `score_multi` convention).
"""

from __future__ import annotations

import re
from functools import cache

LANGID_CANDIDATES = ("en", "es", "fr", "de", "it", "pt", "nl")


@cache
def _rouge(kind: str):
    from rouge_score import rouge_scorer

    types = ["rougeL"] if kind == "rougeL" else ["rouge1", "rouge2", "rouge3"]
    return rouge_scorer.RougeScorer(types, use_stemmer=True)


def rouge_l(output: str, references: list[str]) -> float:
    """ROUGE-L F1 (%), best over references."""
    if not references:
        raise ValueError("rouge_l needs at least one reference")
    scores = _rouge("rougeL").score_multi(references, output)
    return 100.0 * scores["rougeL"].fmeasure


def weighted_rouge(output: str, references: list[str]) -> float:
    """R1/6 + R2/3 + R3/2 on F-measures (%), best weighted value over references."""
    if not references:
        raise ValueError("weighted_rouge needs at least one reference")
    best = 0.0
    for ref in references:
        s = _rouge("wrouge").score(ref, output)
        best = max(best, s["rouge1"].fmeasure / 6 + s["rouge2"].fmeasure / 3 + s["rouge3"].fmeasure / 2)
    return 100.0 * best


def chrf(output: str, references: list[str]) -> float:
    """Sentence chrF (%), best over references."""
    from sacrebleu.metrics import CHRF

    if not references:
        raise ValueError("chrf needs at least one reference")
    metric = CHRF()
    return max(metric.sentence_score(output, [ref]).score for ref in references)


# A unit of 1-40 characters repeated at least 5 more times up to the end, over 24+ characters.
_LOOP = re.compile(r"(.{1,40}?)\1{5,}\s*$", re.S)


def looping(text: str) -> bool:
    """True when the output ends in a degenerate repetition (at least 6 copies, 24+ characters)."""
    m = _LOOP.search(text)
    return m is not None and len(m.group(0).strip()) >= 24


@cache
def _identifier():
    from langid.langid import LanguageIdentifier, model

    ident = LanguageIdentifier.from_modelstring(model, norm_probs=True)
    ident.set_languages(list(LANGID_CANDIDATES))
    return ident


def language(text: str) -> str:
    """ISO 639-1 code of the most likely language among LANGID_CANDIDATES ('' for empty text)."""
    if not text.strip():
        return ""
    return _identifier().classify(text)[0]


def versions() -> dict[str, str]:
    from importlib.metadata import version

    return {p: version(p) for p in ("rouge-score", "sacrebleu", "langid")}
