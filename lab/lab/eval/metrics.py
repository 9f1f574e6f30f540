"""The benchmark's metrics, from the real libraries (rouge-score, sacrebleu, Lingua, langid); all in %.

- ROUGE-L F1 with the Porter stemmer (summaries), as the paper's Table 1.
- Weighted ROUGE = R1/6 + R2/3 + R3/2 on F-measures (replies), as the paper's Table 1.
- chrF (sacrebleu defaults: char order 6, beta 2) against human references.
- Looping: the output ends in one short piece of text repeated over and over ("¡¡¡¡¡...",
  "me me me ..."), greedy decoding's failure mode; reported as a share so low scores can be read.
- Language identity, restricted to a fixed candidate set (so that close languages outside it, such
  as Galician or Catalan, cannot win), asked of the identifier that recognises short human text in
  the requested language best (`python -m lab.eval.language_id_check`): on the human sentences of
  <= 40 characters, Spanish Lingua 96.6% vs langid.py 87.9% (58), German 97.3% vs 91.9% (37),
  French 97.1% both (35; a tie, settled by the outputs below), English langid.py 97.1% vs Lingua
  93.2% (1,357; <= 25 characters: 95.5% vs 84.3%). So Lingua (lingua-language-detector 2.1.1)
  checks Spanish, French and German, and langid.py 1.1.6 English. On the benchmark's own
  translation outputs where the two disagreed, by inspection Lingua was right on 33 of 43 (langid:
  "Je suis sûr que ça va." -> pt, "¿Qué te gusta?" -> fr, "Danke." -> en); on its English outputs
  langid.py on 20 of 34 (Lingua: "I'm User 2." -> de, "Me too." -> nl; langid.py: "I'm glad
  you're doing well." -> fr). Short replies stay hard for both, so English, the language of every
  command that does not translate, counts as identified when either identifier says English: on
  the English human sentences of <= 25 characters that is 99.1% against langid.py's 95.5% (<= 40:
  99.5% vs 97.1%; langid.py alone called "Sure, I can hear you." Dutch), while of the human
  es / fr / de sentences of <= 40 characters 1.7% / 2.9% / 8.1% are taken for English by one of the
  two (a short wrong-language answer to an English command can pass). Confusions inside the set
  still count as errors.
With several references the best-scoring one counts (rouge-score's `score_multi` convention).
Without placeholders: the same score with DialogSum's anonymised speakers ("#Person1#", "#Persona2#",
"Person1") taken out of the references and the output, so a summary that names people or says
"a customer" is not marked down against references that keep the data set's convention.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache

LANGID_CANDIDATES = ("en", "es", "fr", "de", "it", "pt", "nl")


# DialogSum's placeholders as references and outputs write them: "#Person1#", "#Persona2#", "Personne 1",
# "Person1" (the hashes dropped), and its others ("#PhoneNumber#").
_PLACEHOLDER = re.compile(r"#?\b(?:person|persona|personne|persön)\s?\d+\b#?|#\w{1,20}#", re.IGNORECASE)


def has_placeholder(text: str) -> bool:
    return _PLACEHOLDER.search(text) is not None


def without_placeholders(text: str) -> str:
    return _PLACEHOLDER.sub(" ", text)


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
def _lingua():
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = [getattr(IsoCode639_1, c.upper()) for c in LANGID_CANDIDATES]
    return LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build()


@cache
def _langid():
    from langid.langid import LanguageIdentifier, model

    ident = LanguageIdentifier.from_modelstring(model, norm_probs=True)
    ident.set_languages(list(LANGID_CANDIDATES))
    return ident


def by_lingua(text: str) -> str:
    found = _lingua().detect_language_of(text)
    return found.iso_code_639_1.name.lower() if found is not None else ""


def by_langid(text: str) -> str:
    return _langid().classify(text)[0]


def by_either_for_english(text: str) -> str:
    """'en' when langid.py or Lingua says English; else langid.py's answer."""
    found = by_langid(text)
    return "en" if found == "en" or by_lingua(text) == "en" else found


def identifier_for(requested: str | None) -> Callable[[str], str]:
    """The identifier that recognises short human text in `requested` best (measured above)."""
    return by_either_for_english if requested == "en" else by_lingua


def language(text: str, requested: str | None = None) -> str:
    """ISO 639-1 code of the most likely language among LANGID_CANDIDATES, by the identifier for
    `requested`; '' for empty text, or when Lingua finds no candidate (no letters, another script)."""
    return identifier_for(requested)(text) if text.strip() else ""


def versions() -> dict[str, str]:
    from importlib.metadata import version

    return {p: version(p) for p in ("rouge-score", "sacrebleu", "lingua-language-detector", "langid")}
