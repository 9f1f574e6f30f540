"""Formality control on CoCoA-MT: human formal and informal translations of the same English segment.

The benchmark asks the engine for "Translate to X, professional tone" (chain tone:professional +
translate:X) and "Translate to X, casual tone" (tone:casual + translate:X), and scores each output
against both human references:
- chrF (sacrebleu) against the reference of the requested formality and against the other one;
- the formality CoCoA-MT's own metric reads from its annotated references: the phrases marked
  [F]...[/F] (e.g. "votre" / "ton", "Haben Sie" / "Hast du") are looked up in the output; an output
  is FORMAL when only formal phrases match, INFORMAL when only informal ones do, NEUTRAL when none,
  OTHER when both. Matched accuracy = share labelled with the requested formality among the outputs
  labelled FORMAL or INFORMAL (Nadejde et al. 2022, "matched accuracy"). One change from its scorer:
  words are compared lowercased and without punctuation ("vous?" matches "vous").

Inputs default to the CoCoA-MT segments of the lab's translate:X dev split (held out from every
translation adapter), keeping only contrastive ones (the two references differ and both are
annotated). `--data-dir DIR` reads every CoCoA-MT file set under DIR instead (train layout
`formality-control.<split>.<domain>.en-xx.en` + `.formal.xx` ..., or the test layout without the
language suffixes).

    python -m lab.eval.formality data --n 10 --seed 1234 [--data-dir DIR] [--langs de] > set.json
    python -m lab.eval.formality score < items.json                        # JSON in, JSON out
"""

from __future__ import annotations

import re
from pathlib import Path

from lab.eval import human_translations
from lab.eval.metrics import chrf, language

FORMALITIES = ("formal", "informal")
_MARKED = re.compile(r"\[F\](.*?)\[/F\]")
_SOURCE = re.compile(r"^(formality-control\.\w+\.\w+\.en-(\w\w))(\.en)?$")


def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()


def read_cocoa(folder: Path, lang: str) -> list[dict]:
    """Contrastive segments of every CoCoA-MT file set for en-<lang> under `folder`.

    Ids match lab.data's translate examples: cocoa:<lang>:<domain>:<line> (domain from the file name).
    """
    out = []
    for source in sorted(folder.rglob(f"formality-control.*.en-{lang}*")):
        m = _SOURCE.match(source.name)
        if m is None or m.group(2) != lang:
            continue
        stem, suffix = m.group(1), f".{lang}" if m.group(3) else ""
        refs = {
            f"{level}{'_annotated' if annotated else ''}": source.with_name(
                f"{stem}.{level}{'.annotated' if annotated else ''}{suffix}"
            )
            for level in FORMALITIES
            for annotated in (False, True)
        }
        if not all(p.exists() for p in refs.values()):
            continue
        columns = {k: _lines(p) for k, p in refs.items()}
        english = _lines(source)
        if any(len(c) != len(english) for c in columns.values()):
            raise ValueError(f"{source}: reference files are not line-aligned with the source")
        domain = stem.split(".")[2]
        for i, text in enumerate(english):
            row = {k: c[i].strip() for k, c in columns.items()}
            contrastive = row["formal"] != row["informal"] and all(
                _MARKED.search(row[f"{level}_annotated"]) for level in FORMALITIES
            )
            if text.strip() and contrastive:
                out.append({"id": f"cocoa:{lang}:{domain}:{i}", "input": text.strip(), **row})
    return out


def build(n: int | None, seed: int, data_dir: Path | None, langs: list[str]) -> dict:
    return human_translations.build(read_cocoa, "cocoa-mt", "formality", n, seed, data_dir, langs)


def _words(text: str) -> list[str]:
    return re.findall(r"\w+", text.lower())


def matched_phrases(output: str, annotated_reference: str) -> list[str]:
    """The reference's [F]-marked phrases whose words all occur in the output."""
    words = set(_words(output))
    return [p for p in _MARKED.findall(annotated_reference) if set(_words(p)) <= words and _words(p)]


def formality_label(output: str, formal_annotated: str, informal_annotated: str) -> str:
    formal = bool(matched_phrases(output, formal_annotated))
    informal = bool(matched_phrases(output, informal_annotated))
    if formal and not informal:
        return "formal"
    if informal and not formal:
        return "informal"
    return "neutral" if not formal else "other"


def score_item(item: dict) -> dict:
    output = item["output"]
    return {
        "chrf_formal": chrf(output, [item["formal"]]),
        "chrf_informal": chrf(output, [item["informal"]]),
        "formality": formality_label(output, item["formal_annotated"], item["informal_annotated"]),
        "language": language(output),
    }


def main(argv: list[str] | None = None) -> None:
    human_translations.main(__doc__, build, score_item, argv)


if __name__ == "__main__":
    main()
