"""Which language identifier to ask for which language: Lingua and langid.py on short human text.

    python -m lab.eval.language_id_check        # ~10 s; prints accuracy per language and length

Human sentences: the translate:X dev references (NTREX) plus CoCoA-MT's formal and informal
references for es / fr / de, and the persona-chat dev replies for English.
Both identifiers are restricted to the benchmark's candidate set (lab.eval.metrics). The result
decides `metrics.language`: the identifier with the higher accuracy on short text in a language
checks that language, and English counts when either says English (the last column: accuracy on
English, and on es / fr / de the share taken for English).
"""

from __future__ import annotations

from lab.data.sources import load_task
from lab.eval.metrics import by_either_for_english, by_langid, by_lingua

IDENTIFIERS = {"lingua": by_lingua, "langid": by_langid, "either says English": by_either_for_english}


def human_sentences(lang: str) -> list[str]:
    if lang == "en":
        texts = [e.target for e in load_task("reply", "dev")]
    else:
        texts = [e.target for e in load_task(f"translate:{lang}", "dev")]
        registers = (f"tone:professional+translate:{lang}", f"tone:casual+translate:{lang}")  # CoCoA-MT
        texts += [
            e.target for chain in registers for split in ("train", "dev") for e in load_task(chain, split)
        ]
    return [t for t in texts if t.strip()]


def main() -> None:
    print("| language | texts | n | " + " | ".join(IDENTIFIERS) + " |")
    print("|---|---|---|" + "---|" * len(IDENTIFIERS))
    for lang in ("es", "fr", "de", "en"):
        texts = human_sentences(lang)
        for bucket, limit in (("all", None), ("<= 40 chars", 40), ("<= 25 chars", 25)):
            sel = [t for t in texts if limit is None or len(t) <= limit]
            if not sel:
                continue
            acc = []
            for identify in IDENTIFIERS.values():
                # "either says English" on es / fr / de text: the share it takes for English.
                wanted = "en" if identify is by_either_for_english else lang
                acc.append(100 * sum(identify(t) == wanted for t in sel) / len(sel))
            print(f"| {lang} | {bucket} | {len(sel)} | " + " | ".join(f"{a:.1f}%" for a in acc) + " |")


if __name__ == "__main__":
    main()
