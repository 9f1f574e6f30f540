"""News summaries for the summarize adapter's data (issue 16; TRAINING.md, "News summaries", where a
second summarize stage on them is recorded: tried, not kept). Trained on dialogues and the
teacher's emails only, the adapter gave a news paragraph back as its lead sentences, and the
composites over it kept those (casual) or kept them in English (French, Spanish, German). No human
summaries of news paragraphs are available here, so the teacher writes one for each paragraph of
the NTREX documents that translate:X already trains on, cut as the real-text benchmark cuts its
news (lab.eval.realtext.paragraphs, other seeds).

    lab/targets/news.summaries.jsonl    {"id": "news:<document>:<cut><k>", "target": <summary>}

    python -m lab.teacher_news --n 10        # a pilot: read them first (--report says what passes)
    python -m lab.teacher_news               # every paragraph (resumable: ids written are skipped)

Held out: NTREX documents on the dev side of any translate:X split are the benchmark's news for
every command, and TRAIN_SHARE of the other documents are the only ones used here, so that the
summarize commands keep enough unseen documents for the benchmark's long genre (the rest).
"""

from __future__ import annotations

import argparse
import json
import random
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lab.data.sources import LANGUAGE_NAMES, SEED, TARGETS_DIR, Example, _translation, read_targets
from lab.data.store import dataset_dir
from lab.eval.realtext import join_sentences, ntrex_documents, paragraphs
from lab.teacher import GGUF_PATH, run_teacher

PROMPT = (
    "Here is a paragraph from a news article:\n\n{text}\n\nWrite a summary of this paragraph in one or "
    "two short sentences (at most 40 words), in your own words: who did what, and what came of it. "
    "Output only the summary."
)
# ~55 words: a longer answer is rejected anyway (SUMMARY_MAX_WORDS), so it stops being written there.
MAX_TOKENS = 72
# Of the documents translate:X trains on, this share (seeded) is summarized here; the rest stay
# unseen by summarize, for the benchmark's long documents (1,500-3,900 words of unseen text).
TRAIN_SHARE = 0.7
DEV_DOCUMENTS = 6  # of those, held apart as dev
CUTS = ("a", "b")  # each document cut twice, with different seeded paragraph lengths
SUMMARY_MAX_WORDS = 50
SUMMARY_MIN_WORDS = 8
# At most this share of a summary's words in runs of COPY_RUN_WORDS words the paragraph has (the
# real-text judge calls 90% of them, at 0.4 of the input's length, a copy): names and short phrases
# come back in any summary, whole clauses should not.
COPY_RUN_WORDS = 6
COPY_MAX_SHARE = 0.5
META_OPENING = re.compile(
    r"^(the|this) (article|paragraph|text|passage|piece|report|review)\b", re.IGNORECASE
)


@dataclass(frozen=True)
class NewsSeed:
    id: str
    split: str
    text: str


@cache
def documents() -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(train, dev) NTREX document ids: of the documents every translate:X trains on, TRAIN_SHARE in
    a seeded order, the first DEV_DOCUMENTS of them dev."""
    held_out = set()
    docs_file = (dataset_dir("ntrex") / "DOCUMENT_IDS.tsv").read_text(encoding="utf-8").splitlines()
    for lang in LANGUAGE_NAMES:
        for e in _translation(lang)[1]:
            if e.id.startswith("ntrex:"):
                held_out.add(docs_file[int(e.id.split(":")[2])].split("\t")[0])
    usable = sorted({line.split("\t")[0] for line in docs_file} - held_out)
    random.Random(f"{SEED}:news").shuffle(usable)
    chosen = usable[: round(len(usable) * TRAIN_SHARE)]
    return tuple(chosen[DEV_DOCUMENTS:]), tuple(chosen[:DEV_DOCUMENTS])


@cache
def seeds() -> tuple[NewsSeed, ...]:
    """Every paragraph of the chosen documents, both cuts, train documents first."""
    train, dev = documents()
    by_id = {d["id"]: d for d in ntrex_documents(dataset_dir("ntrex"))[0]}
    out = []
    for split, ids in (("train", train), ("dev", dev)):
        for doc_id in ids:
            seen = set()
            for cut in CUTS:
                for k, run in enumerate(paragraphs(by_id[doc_id], f"{SEED}:news:{cut}")):
                    text = join_sentences([s["en"] for s in run])
                    if text not in seen:
                        seen.add(text)
                        out.append(NewsSeed(f"news:{doc_id}:{cut}{k}", split, text))
    return tuple(out)


def summary_problems(summary: str, paragraph: str) -> list[str]:
    """Why a teacher summary is not training data. From reading the pilot (TRAINING.md): the teacher
    runs past "one or two sentences", strings the paragraph's own clauses together (the habit these
    examples are there to unteach), talks about "the article", or garbles words."""
    problems = []
    words = summary.split()
    if len(words) > SUMMARY_MAX_WORDS or len(re.findall(r"[.!?](?:\s|$)", summary)) > 2:
        problems.append(f"longer than asked ({len(words)} words)")
    if len(words) < SUMMARY_MIN_WORDS or not re.search(r"[.!?][\"')]?$", summary.strip()):
        problems.append("not a finished sentence")
    elif not summary[0].isupper():
        problems.append("does not start a sentence")
    if META_OPENING.match(summary):
        problems.append("about the text, not its news")
    mine = _words(summary)
    runs = [" ".join(mine[i : i + COPY_RUN_WORDS]) for i in range(len(mine) - COPY_RUN_WORDS + 1)]
    if len(runs) != len(set(runs)):
        problems.append(f"says {COPY_RUN_WORDS} words twice")
    share = copied_share(mine, _words(paragraph))
    if share > COPY_MAX_SHARE:
        problems.append(f"{share:.0%} of its words in {COPY_RUN_WORDS}-word runs of the paragraph")
    return problems


def copied_share(output: list[str], source: list[str]) -> float:
    """The share of `output`'s words that lie in runs of COPY_RUN_WORDS words found in `source`
    (the real-text judge's measure, bench/brokenOutput.ts)."""
    runs = {" ".join(source[i : i + COPY_RUN_WORDS]) for i in range(len(source) - COPY_RUN_WORDS + 1)}
    covered = [False] * len(output)
    for i in range(len(output) - COPY_RUN_WORDS + 1):
        if " ".join(output[i : i + COPY_RUN_WORDS]) in runs:
            covered[i : i + COPY_RUN_WORDS] = [True] * COPY_RUN_WORDS
    return sum(covered) / len(output) if output else 0.0


def _words(text: str) -> list[str]:
    return re.findall(r"[\w']+", text.lower())


def targets_path(targets_dir: Path = TARGETS_DIR) -> Path:
    return targets_dir / "news.summaries.jsonl"


def training_examples(split: str, targets_dir: Path = TARGETS_DIR) -> list[Example]:
    """The passing teacher summaries of `split`'s paragraphs (input: the paragraph), in seed order."""
    answers = read_targets(targets_path(targets_dir))
    return [
        Example(s.id, s.text, answers[s.id])
        for s in seeds()
        if s.split == split and s.id in answers and not summary_problems(answers[s.id], s.text)
    ]


def report(targets_dir: Path = TARGETS_DIR) -> dict:
    by_id = {s.id: s for s in seeds()}
    written = read_targets(targets_path(targets_dir))
    problems = {i: summary_problems(t, by_id[i].text) for i, t in written.items()}
    return {
        "paragraphs": {split: sum(s.split == split for s in seeds()) for split in ("train", "dev")},
        "written": len(written),
        "pass": sum(not p for p in problems.values()),
        "problems": {i: p for i, p in problems.items() if p},
    }


def run(n: int | None, threads: int, model: Path, parallel: int, targets_dir: Path) -> Path:
    chosen = list(seeds())[:n] if n is not None else list(seeds())
    meta = {
        "chain": "news (summaries)",
        "built_as": "teacher summarizes each paragraph of NTREX documents translate:X trains on "
        "(lab.teacher_news)",
        "selection": f"lab.teacher_news.documents(): TRAIN_SHARE {TRAIN_SHARE} of the documents on the train "
        f"side of every translate:X split, random.Random('{SEED}:news') order, the first {DEV_DOCUMENTS} dev; "
        f"paragraphs cut {len(CUTS)} ways (lab.eval.realtext.paragraphs)",
    }
    jobs = [{"id": s.id, "text": PROMPT.format(text=s.text)} for s in chosen]
    return run_teacher(
        None, jobs, targets_path(targets_dir), meta, threads, model, parallel, MAX_TOKENS, user_prompt=PROMPT
    )


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=None, help="only the first n paragraphs (a pilot)")
    ap.add_argument("--threads", type=int, default=1)
    # One sequence: with 4 decoded together, a pilot's summaries came out garbled ("Johnny Englishan
    # english school johnny english spy school of rock"), as the emails did (lab.teacher_emails).
    ap.add_argument("--parallel", type=int, default=1, help="sequences decoded together")
    ap.add_argument("--model", type=Path, default=GGUF_PATH)
    ap.add_argument("--targets-dir", type=Path, default=TARGETS_DIR)
    ap.add_argument("--report", action="store_true", help="only say which written summaries pass")
    args = ap.parse_args(argv)
    if args.report:
        print(json.dumps(report(args.targets_dir), indent=1))
        return
    out = run(args.n, args.threads, args.model, args.parallel, args.targets_dir)
    print(json.dumps({"file": str(out), "targets": len(read_targets(out))}))


if __name__ == "__main__":
    main()
