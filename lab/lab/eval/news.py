"""The translation adapters against human news translations (NTREX-128: WMT19 test documents).

A check under the composites: translate:X alone (the auxiliary task every translation composite
builds on) scored with chrF (sacrebleu) against NTREX's human translation, and language ID
(lab/lab/eval/metrics.py).

Inputs default to the NTREX sentences of the lab's translate:X dev split (whole documents held out
from every translation adapter). `--data-dir DIR` reads NTREX's own layout from DIR instead
(`*-src.eng.txt`, `*-ref.{spa,fra,deu}.txt` line-aligned, `DOCUMENT_IDS.tsv` optional: without it
each line is its own document).

    python -m lab.eval.news data --n 10 --seed 1234 [--data-dir DIR] [--langs de] > set.json
    python -m lab.eval.news score < items.json        # {"items": [{"key", "output", "reference", "language"}]}
"""

from __future__ import annotations

from pathlib import Path

from lab.eval import human_translations
from lab.eval.metrics import chrf, language

NTREX_LANG = {"es": "spa", "fr": "fra", "de": "deu"}


def read_ntrex(folder: Path, lang: str) -> list[dict]:
    """Every non-empty sentence pair of each `*-src.eng.txt` under `folder` with its `<lang>` reference;
    ids as lab.data's translate examples (ntrex:<lang>:<line>)."""
    out = []
    for source in sorted(folder.rglob("*-src.eng.txt")):
        reference = source.with_name(source.name.replace("-src.eng.txt", f"-ref.{NTREX_LANG[lang]}.txt"))
        if not reference.exists():
            continue
        src = source.read_text(encoding="utf-8").splitlines()
        ref = reference.read_text(encoding="utf-8").splitlines()
        if len(src) != len(ref):
            raise ValueError(f"{source} and {reference} are not line-aligned")
        ids = source.with_name("DOCUMENT_IDS.tsv")
        docs = (
            ids.read_text(encoding="utf-8").splitlines()
            if ids.exists()
            else [str(i) for i in range(len(src))]
        )
        for i, (s, r) in enumerate(zip(src, ref, strict=True)):
            if s.strip() and r.strip():
                doc = docs[i].split("\t")[0] if i < len(docs) else str(i)
                out.append(
                    {"id": f"ntrex:{lang}:{i}", "document": doc, "input": s.strip(), "reference": r.strip()}
                )
    return out


def build(n: int | None, seed: int, data_dir: Path | None, langs: list[str]) -> dict:
    return human_translations.build(read_ntrex, "ntrex", "news", n, seed, data_dir, langs)


def score_item(item: dict) -> dict:
    detected = language(item["output"], item["language"])
    return {"chrf": chrf(item["output"], [item["reference"]]), "language_ok": detected == item["language"]}


def main(argv: list[str] | None = None) -> None:
    human_translations.main(__doc__, build, score_item, argv)


if __name__ == "__main__":
    main()
