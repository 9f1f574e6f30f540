"""Inputs of the benchmark's real-text section (bench/realText.ts): human-written text of several
genres that no adapter a command runs was trained on, and the scores that need Python.

Genres (read in place: from `--data-dir DIR`'s <data set>/ folders, else where lab.data.store finds
each data set, e.g. ../shared/data; a genre whose data set cannot be had is left out and reported):
  email     real-emails/emails.jsonl, plus bench/realtext/emails.jsonl when present ({id, url, text, ...})
  news      NTREX documents cut into paragraphs of 3-8 consecutive sentences (the headline left out),
            with the human es / fr / de translations of the same sentences joined as references; a
            line with no closing mark (subheading, bullet) keeps its own line (join_sentences)
  dialogue  DialogSum dev dialogues, speakers named
  customer  CoCoA-MT telephony segments (customer-service calls) of 10+ words, with the human formal
            and informal translations of each language pair that has the same English text
  long      whole NTREX documents (headline, then paragraphs) joined to 1,500 / 2,500 / 3,900 words

Held out, per command: an item is offered to a command only if no adapter or calibration that
command can run was trained on it. The lab's training inputs are read from lab.data (every train
split, plus every input the teacher wrote a target for, in any split), for each single task of the
command and each composite made of its tasks; an item is out when its text, a paragraph or a line
of it (NTREX: any sentence of its documents) is one of them. Content, not ids, so a data folder
with other ids is checked the same way. Each command then takes the first n allowed items of the
genre's seeded order (the shortest first with --shortest).

    python -m lab.eval.realtext data < request.json   # {"commands": {genre: [chain]}, "n": {genre: n}, ...}
    python -m lab.eval.realtext score < items.json
        # {"items": [{"key", "output", "language", "references", "language_sample"?}]}: the language
        # is identified on language_sample (the output's sentences once each) when given
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import random
import re
import sys
from functools import cache
from pathlib import Path

from lab.prompts import split_chain

GENRES = ("email", "news", "dialogue", "customer", "long")
LANGS = ("es", "fr", "de")
NTREX_LANG = {"es": "spa", "fr": "fra", "de": "deu"}
REPO = Path(__file__).resolve().parents[3]
# The other helper's emails, committed with the benchmark (same format as real-emails/).
BENCH_EMAILS = REPO / "bench" / "realtext" / "emails.jsonl"
PARAGRAPH_SENTENCES = (3, 8)
LONG_WORDS = (1500, 2500, 3900)
LONG_MAX_WORDS = 4000
# A customer message says something to answer or summarize ("Yes." and "Okay, thank you" do not).
CUSTOMER_MIN_WORDS = 10
PIECE_MIN_WORDS = 5


def normalize(text: str) -> str:
    return " ".join(text.lower().split())


def pieces(text: str) -> set[str]:
    """The text, and each paragraph and line of 5+ words ("Thanks," alone says nothing), normalized:
    what is compared with training inputs."""
    parts = {*re.split(r"\n\s*\n", text), *text.splitlines()}
    return {normalize(text)} | {normalize(p) for p in parts if len(p.split()) >= PIECE_MIN_WORDS}


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ---- what the lab trained on ----
def artifact_chains(command: str) -> list[str]:
    """Every chain an artifact the command may run was trained for: each of its tasks alone and
    every composite of its tasks in their order (calibrations, joint experts)."""
    tasks = split_chain(command)
    out = []
    for size in range(1, len(tasks) + 1):
        for combo in itertools.combinations(tasks, size):
            try:
                out.append("+".join(split_chain("+".join(combo))))
            except ValueError:
                continue
    return out


@cache
def lab_inputs(chain: str) -> frozenset[str]:
    """Normalized inputs of the lab's training split for `chain`, in the shipped data and in every
    named data set of the next pack (lab.data.sources.data_names), plus every input the teacher
    built a target on (any split: the dev targets steer training too); for a news paragraph, every
    line of its NTREX document."""
    from lab.data import load_task
    from lab.data.sources import data_names

    try:
        examples = [e for data in data_names(chain) for e in load_task(chain, "train", data)]
        examples += _teacher_inputs(chain)
        # News paragraphs (lab.teacher_news) in either split: every line of their documents.
        news = [
            e for data in data_names(chain) for e in load_task(chain, "dev", data) if e.id.startswith("news:")
        ]
    except ValueError:
        return frozenset()  # a chain the lab has no data for (e.g. a three-task chain)
    texts = {normalize(e.input) for e in examples}
    documents = {e.id.split(":")[1] for e in [*examples, *news] if e.id.startswith("news:")}
    if documents:
        from lab.data import dataset_dir

        for doc in ntrex_documents(dataset_dir("ntrex"))[0]:
            if doc["id"] in documents:
                texts |= {normalize(s["en"]) for s in doc["sentences"]} | {normalize(doc["headline"])}
    return frozenset(texts)


def _teacher_inputs(chain: str) -> list:
    """Every example, in either split, the teacher was asked to write a target for (lab/targets/<chain>.jsonl:
    composites and the English tones; its answer kept or not, the input was picked for training)."""
    from lab.data import load_task
    from lab.data.sources import TARGETS_DIR, _tone_inputs, data_names
    from lab.prompts import MAIN_TASKS, file_key

    path = TARGETS_DIR / f"{file_key(chain)}.jsonl"
    if not path.exists():
        return []
    ids = {json.loads(line)["id"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()}
    main = split_chain(chain)[0]
    splits = ("train", "dev")
    examples = [
        e
        for s in splits
        for e in (
            [x for data in data_names(main) for x in load_task(main, s, data)]
            if main in MAIN_TASKS
            else _tone_inputs(s)
        )
    ]
    return [e for e in examples if e.id in ids]


@cache
def trained_on(command: str) -> frozenset[str]:
    return frozenset().union(*(lab_inputs(c) for c in artifact_chains(command)))


def allowed(item: dict, command: str) -> bool:
    seen = trained_on(command)
    return not any(p in seen for p in item["_pieces"])


# ---- genres ----
def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def emails(folder: Path | None) -> tuple[list[dict], list[Path]]:
    """`folder`: the real-emails data set (None when it cannot be had); bench/realtext/ is read too."""
    items: dict[str, dict] = {}
    shared = None if folder is None else folder / "emails.jsonl"
    files = [p for p in (shared, BENCH_EMAILS) if p is not None and p.exists()]
    for path in files:
        for r in read_jsonl(path):
            for key in ("id", "url", "text"):
                if not isinstance(r.get(key), str) or not r[key].strip():
                    raise ValueError(f"{path}: every email needs a non-empty {key!r}, got {r!r:.200}")
            item = {
                "id": f"email:{r['id']}",
                "genre": "email",
                "text": r["text"].strip(),
                "source": r["url"],
                "references": {},
            }
            other = items.get(item["id"])
            if other is not None and other["text"] != item["text"]:
                raise ValueError(f"{path}: email id {r['id']!r} is used twice for different texts")
            items[item["id"]] = item
    unique: dict[str, dict] = {}
    for item in items.values():
        unique.setdefault(normalize(item["text"]), item)  # the same email in both files: once
    return list(unique.values()), files


def _ntrex_files(folder: Path) -> dict[str, Path]:
    files = {"en": folder / "newstest2019-src.eng.txt", "docs": folder / "DOCUMENT_IDS.tsv"}
    files |= {lang: folder / f"newstest2019-ref.{code}.txt" for lang, code in NTREX_LANG.items()}
    return files


def ntrex_documents(folder: Path) -> tuple[list[dict], list[Path]]:
    """Documents in file order: {id, headline, sentences: [{en, es, fr, de}]}."""
    files = _ntrex_files(folder)
    if not files["en"].exists():
        return [], []
    columns = {k: p.read_text(encoding="utf-8").splitlines() for k, p in files.items() if p.exists()}
    if any(len(c) != len(columns["en"]) for c in columns.values()):
        raise ValueError(f"{folder}: the NTREX files are not line-aligned")
    docs: dict[str, dict] = {}
    for i, en in enumerate(columns["en"]):
        doc_id = columns["docs"][i].split("\t")[0] if "docs" in columns else str(i)
        row = {k: columns[k][i].strip() for k in ("en", *LANGS) if k in columns}
        doc = docs.get(doc_id)
        if doc is None:  # the first line of an NTREX document is its headline
            docs[doc_id] = {"id": doc_id, "headline": row["en"], "lines": [i], "sentences": []}
        elif en.strip():
            doc["lines"].append(i)
            doc["sentences"].append(row)
    return list(docs.values()), [p for p in files.values() if p.exists()]


# A sentence's closing mark, with closing quotes or brackets after it (engine/compose/sentences.ts).
_CLOSED = re.compile(r"[.!?]([\"'”’)\]]|\s?»)*\s*$")


def join_sentences(sentences: list[str], like: list[str] | None = None) -> str:
    """A paragraph of NTREX lines as a page shows it: a line with no closing mark (a subheading,
    a bullet, a caption: "Foreign buyers will be charged higher stamp duty") stands on its own
    line; run into the next sentence it would make one sentence no reader writes. `like`: the
    English lines whose marks decide the breaks (for their translations)."""
    marks = like or sentences
    if len(marks) != len(sentences):
        raise ValueError("a translation must have as many lines as its English")
    breaks = [" " if _CLOSED.search(line) else "\n" for line in marks]
    return "".join(text + (breaks[i] if i + 1 < len(sentences) else "") for i, text in enumerate(sentences))


def paragraphs(doc: dict, seed: int) -> list[list[dict]]:
    """A document's sentences cut into consecutive runs of 3-8 (seeded lengths); a tail shorter
    than 3 joins the run before it when that stays within 8, else is left out."""
    rng = random.Random(f"{seed}:realtext:paragraphs:{doc['id']}")
    low, high = PARAGRAPH_SENTENCES
    runs: list[list[dict]] = []
    rest = list(doc["sentences"])
    while rest:
        size = rng.randint(low, high)
        run, rest = rest[:size], rest[size:]
        if len(run) >= low:
            runs.append(run)
        elif runs and len(runs[-1]) + len(run) <= high:
            runs[-1] = runs[-1] + run
    return runs


def news(folder: Path, seed: int) -> tuple[list[dict], list[Path]]:
    docs, files = ntrex_documents(folder)
    items = []
    for doc in docs:
        for k, run in enumerate(paragraphs(doc, seed)):
            items.append(
                {
                    "id": f"news:{doc['id']}:{k}",
                    "genre": "news",
                    "text": join_sentences([s["en"] for s in run]),
                    "source": f"NTREX-128 newstest2019 document {doc['id']}",
                    "references": {
                        lang: [join_sentences([s[lang] for s in run], like=[s["en"] for s in run])]
                        for lang in LANGS
                        if all(lang in s for s in run)
                    },
                    "_pieces": {normalize(s["en"]) for s in doc["sentences"]} | {normalize(doc["headline"])},
                }
            )
    return items, files


def long_documents(folder: Path, seed: int, command: str, count: int) -> list[dict]:
    """Up to `count` documents of 1,500 / 2,500 / 3,900+ words (at most 4,000), each whole NTREX
    documents the command may see, joined in a seeded order (headline, blank line, paragraphs)."""
    docs, _ = ntrex_documents(folder)
    seen = trained_on(command)
    usable = [
        d
        for d in docs
        if not any(normalize(s["en"]) in seen for s in d["sentences"])
        and normalize(d["headline"]) not in seen
    ]
    random.Random(f"{seed}:realtext:long").shuffle(usable)
    out = []
    start = 0
    for target in LONG_WORDS[:count]:
        chosen, words = [], 0
        for doc in usable[start:]:
            size = sum(len(s["en"].split()) for s in doc["sentences"]) + len(doc["headline"].split())
            if words + size > LONG_MAX_WORDS:
                continue
            chosen.append(doc)
            words += size
            if words >= target:
                break
        if words < target:
            break  # the held-out documents cannot make this length: left out
        start = usable.index(chosen[-1]) + 1
        text = "\n\n".join(
            d["headline"]
            + "\n\n"
            + "\n\n".join(join_sentences([s["en"] for s in run]) for run in paragraphs(d, seed))
            for d in chosen
        )
        out.append(
            {
                "id": f"long:{'+'.join(d['id'] for d in chosen)}",
                "genre": "long",
                "text": text,
                "source": "NTREX-128 newstest2019 documents " + ", ".join(d["id"] for d in chosen),
                "references": {},
            }
        )
    return out


def dialogues(folder: Path) -> tuple[list[dict], list[Path]]:
    """DialogSum dev dialogues as people write them: "Name: text" lines, each #PersonN# given a
    name (lab.data.dialogues.name_speakers, as in the next pack's training data); a dialogue whose
    names cannot be settled is left out. The held-out rule also compares the tagged original."""
    from lab.data.dialogues import name_speakers, render_lines
    from lab.data.sources import Example
    from lab.data.speaker_names import Resolved

    path = folder / "dialogsum.dev.jsonl"
    if not path.exists():
        return [], []
    items = []
    for r in read_jsonl(path):
        tagged = r["dialogue"].strip()
        named = name_speakers(Example(f"dialogsum:{r['fname']}", tagged, r["summary"].strip()))
        if not isinstance(named, Resolved):
            continue
        text = render_lines(named.turns)
        items.append(
            {
                "id": f"dialogue:{r['fname']}",
                "genre": "dialogue",
                "text": text,
                "source": f"DialogSum dev {r['fname']}",
                "references": {},
                "_pieces": pieces(text) | pieces(tagged),
            }
        )
    return items, [path]


def customer_messages(folder: Path) -> tuple[list[dict], list[Path]]:
    """CoCoA-MT telephony English segments (one per distinct text), with {lang: [formal, informal]}
    for every language pair that holds the same English text."""
    by_text: dict[str, dict] = {}
    files = []
    for lang in LANGS:
        stem = folder / "train" / f"en-{lang}" / f"formality-control.train.telephony.en-{lang}"
        paths = [
            stem.with_name(f"{stem.name}.{suffix}") for suffix in ("en", f"formal.{lang}", f"informal.{lang}")
        ]
        if not all(p.exists() for p in paths):
            continue
        files += paths
        en, formal, informal = (p.read_text(encoding="utf-8").splitlines() for p in paths)
        if not len(en) == len(formal) == len(informal):
            raise ValueError(f"{stem}: CoCoA-MT files are not line-aligned")
        for i, (text, f, inf) in enumerate(zip(en, formal, informal, strict=True)):
            if len(text.split()) < CUSTOMER_MIN_WORDS:
                continue
            item = by_text.setdefault(
                normalize(text),
                {
                    "id": f"customer:{lang}:telephony:{i}",
                    "genre": "customer",
                    "text": text.strip(),
                    "source": f"CoCoA-MT train en-{lang} telephony line {i}",
                    "references": {},
                },
            )
            item["references"][lang] = [r.strip() for r in (f, inf) if r.strip()]
    return list(by_text.values()), files


# ---- selection ----
def ordered(items: list[dict], genre: str, seed: int, shortest: bool) -> list[dict]:
    items = sorted(items, key=lambda x: x["id"])
    if shortest:
        return sorted(items, key=lambda x: (len(x["text"]), x["id"]))
    random.Random(f"{seed}:realtext:{genre}").shuffle(items)
    return items


# The data set (lab/lab/data/manifest.json) each genre reads.
DATASET = {
    "email": "real-emails",
    "news": "ntrex",
    "long": "ntrex",
    "dialogue": "dialogsum",
    "customer": "cocoa-mt",
}


def build(
    commands: dict[str, list[str]], n: dict[str, int], seed: int, data_dir: Path | None, shortest: bool
) -> dict:
    """Items and, per genre and command, the ids it runs on. Data sets from `data_dir` (its
    <data set>/ folders) or where lab.data.store finds them; a genre whose data set cannot be had
    is left out and said in `missing` (the benchmark reports it), except emails, which still
    read bench/realtext/."""
    from lab.data import dataset_dir
    from lab.data.store import DataUnavailable

    missing: dict[str, str] = {}
    used: set[Path] = set()

    def folder(genre: str) -> Path | None:
        name = DATASET[genre]
        if data_dir is not None:
            path = data_dir / name
            if not path.is_dir():
                missing[genre] = f"no {name}/ folder in {data_dir}"
                return None
        else:
            try:
                path = dataset_dir(name)
            except DataUnavailable as error:
                missing[genre] = str(error)
                return None
        used.add(path)
        return path

    items: dict[str, dict] = {}
    selection: dict[str, dict[str, list[str]]] = {}
    files: list[Path] = []
    pools: dict[str, int] = {}
    for genre, genre_commands in commands.items():
        if genre not in GENRES:
            raise ValueError(f"unknown genre {genre!r}; known: {', '.join(GENRES)}")
        selection[genre] = {command: [] for command in genre_commands}
        where = folder(genre)
        if genre == "long":
            if where is None:
                continue
            files += [p for p in ntrex_documents(where)[1] if p not in files]
            for command in genre_commands:
                chosen = long_documents(where, seed, command, n.get(genre, 0))
                for item in chosen:
                    items.setdefault(item["id"], item)
                selection[genre][command] = [item["id"] for item in chosen]
            continue
        if where is None and genre != "email":
            continue
        if genre == "email":
            pool, genre_files = emails(where)
        elif genre == "news":
            pool, genre_files = news(where, seed)
        elif genre == "dialogue":
            pool, genre_files = dialogues(where)
        else:
            pool, genre_files = customer_messages(where)
        files += [p for p in genre_files if p not in files]
        for item in pool:
            item.setdefault("_pieces", pieces(item["text"]))
        pools[genre] = len(pool)
        order = ordered(pool, genre, seed, shortest)
        for command in genre_commands:
            # translate:X alone is scored against the human translation where the genre has them
            # (news, customer messages): only inputs that have one in X.
            lang = command.split(":")[1] if command.startswith("translate:") and "+" not in command else None
            if lang is not None and not any(lang in x["references"] for x in pool):
                lang = None
            wanted = (x for x in order if allowed(x, command) and (lang is None or lang in x["references"]))
            chosen = list(itertools.islice(wanted, n.get(genre, 0)))
            for item in chosen:
                items.setdefault(item["id"], item)
            selection[genre][command] = [item["id"] for item in chosen]
    public = {
        key: {**{k: v for k, v in item.items() if not k.startswith("_")}, "words": len(item["text"].split())}
        for key, item in items.items()
    }
    return {
        "seed": seed,
        "data_dir": str(data_dir) if data_dir is not None else ", ".join(sorted(str(p) for p in used)),
        "files": [{"path": str(p), "sha256": sha256_file(p)} for p in files],
        "missing": missing,
        "pools": pools,
        "items": public,
        "selection": selection,
    }


# ---- scores ----
def score_item(item: dict) -> dict:
    from lab.eval.metrics import chrf, language

    refs = [r for r in item.get("references") or [] if r.strip()]
    output = item["output"]
    return {
        "language": language(item.get("language_sample", output), item["language"]),
        "chrf": chrf(output, refs) if refs and output.strip() else None,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    sub.add_parser(
        "data", help='stdin {"commands": {genre: [chain]}, "n": {genre: n}, "seed", "data_dir", "shortest"}'
    )
    sub.add_parser("score", help='stdin {"items": [{"key", "output", "language", "references"}]}')
    args = ap.parse_args(argv)
    request = json.load(sys.stdin)
    if args.cmd == "data":
        data_dir = request.get("data_dir")
        out = build(
            request["commands"],
            request["n"],
            int(request.get("seed", 1234)),
            Path(data_dir) if data_dir else None,
            bool(request.get("shortest", False)),
        )
    else:
        out = {"items": {i["key"]: score_item(i) for i in request["items"]}}
    json.dump(out, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
