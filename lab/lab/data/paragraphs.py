"""Multi-sentence translation pairs for the next pack (issue 16): runs of 2-4 consecutive sentences
of an NTREX document with the human translation of the same sentences (NTREX is translated
sentence by sentence, in document order, so the joined references translate the joined source).

Only documents of the split's side of translate:X's split (lab.data.sources._translation, split by
document): the other documents are the real-text benchmark's held-out news. Each document is cut
twice with different seeded run lengths, so a sentence appears in up to two paragraphs. A run stops
growing past MAX_WORDS English words (the adapters' target budget: pass --max-len 384
--max-target 192 when training on these).

    paragraph_pairs(lang, split)          the paragraphs alone
    paragraphs_and_sentences(lang, split) data set "ntrex-paragraphs+sentences": the shipped
                                          sentence pairs (NTREX + CoCoA-MT) and the paragraphs
"""

from __future__ import annotations

import random
from functools import cache

from lab.data.sources import _NTREX_LANG, SEED, Example, _translation
from lab.data.store import dataset_dir

RUN_SENTENCES = (2, 4)
MAX_WORDS = 80
CUTS = ("a", "b")


@cache
def paragraph_pairs(lang: str, split: str) -> tuple[Example, ...]:
    ntrex = dataset_dir("ntrex")
    src = (ntrex / "newstest2019-src.eng.txt").read_text(encoding="utf-8").splitlines()
    ref = (ntrex / f"newstest2019-ref.{_NTREX_LANG[lang]}.txt").read_text(encoding="utf-8").splitlines()
    docs = [x.split("\t")[0] for x in (ntrex / "DOCUMENT_IDS.tsv").read_text(encoding="utf-8").splitlines()]
    side = {e.id for e in _translation(lang)[0 if split == "train" else 1] if e.id.startswith("ntrex:")}
    lines: dict[str, list[int]] = {}
    for i, doc in enumerate(docs):
        lines.setdefault(doc, []).append(i)
    out: dict[str, Example] = {}
    for doc, numbers in lines.items():
        body = [i for i in numbers[1:] if f"ntrex:{lang}:{i}" in side]  # the first line is the headline
        for cut in CUTS:
            rng = random.Random(f"{SEED}:paragraphs:{lang}:{doc}:{cut}")
            at = 0
            while at < len(body):
                size, run = rng.randint(*RUN_SENTENCES), [body[at]]
                while len(run) < size and at + len(run) < len(body):
                    nxt = body[at + len(run)]
                    if nxt != run[-1] + 1 or sum(len(src[i].split()) for i in [*run, nxt]) > MAX_WORDS:
                        break
                    run.append(nxt)
                at += len(run)
                if len(run) >= RUN_SENTENCES[0]:
                    key = f"ntrex-para:{lang}:{run[0]}-{run[-1]}"
                    out[key] = Example(
                        key, " ".join(src[i].strip() for i in run), " ".join(ref[i].strip() for i in run)
                    )
    return tuple(out.values())


def paragraphs_and_sentences(lang: str, split: str) -> list[Example]:
    return [*_translation(lang)[0 if split == "train" else 1], *paragraph_pairs(lang, split)]
