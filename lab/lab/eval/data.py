"""Evaluation sets for the 14 composite variants, as JSON for the bench runner.

Default: the lab's dev splits (lab.data: DialogSum dev, the seeded 10% of Synthetic-Persona-Chat
conversations the lab holds out), so ids match the teacher targets in lab/targets/<key>.jsonl, plus
XDailyDialog dev (English turn t -> human German turn t+1) as a human-referenced check of
reply+translate:de. `--data-dir DIR` reads the same upstream formats from any folder instead
(DialogSum jsonl with `summary` or `summary1..3`, Synthetic-Persona-Chat csv, XDailyDialog
en_*/de_* text), so other splits can be scored with no code change. Persona-chat ids from a folder
name their csv ("spc:<file stem>:<conversation>:<turn>"), as the rows of every split count from 0.

    python -m lab.eval.data --n 20 --seed 1234 [--data-dir DIR] > evalset.json
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import re
import sys
from pathlib import Path

from lab.data.sources import persona_chat_turns, read_targets
from lab.prompts import AUX_TASKS, MAIN_TASKS, file_key

GROUPS = {("summarize", "translate"): "Sum+Tr", ("summarize", "tone"): "Sum+Tone"}
GROUPS |= {("reply", "translate"): "Rep+Tr", ("reply", "tone"): "Rep+Tone"}


def variants() -> list[str]:
    return [f"{m}+{a}" for m in MAIN_TASKS for a in AUX_TASKS]


def group_of(variant: str) -> str:
    main, aux = variant.split("+", 1)
    return GROUPS[(main, aux.split(":")[0])]


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# ---- readers for the upstream formats ----
def read_dialogsum(path: Path) -> list[dict]:
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            r = json.loads(line)
            refs = [r[k].strip() for k in ("summary", "summary1", "summary2", "summary3") if r.get(k)]
            out.append(
                {"id": f"dialogsum:{r['fname']}", "input": r["dialogue"].strip(), "main_references": refs}
            )
    return out


def read_persona_chat(path: Path) -> list[tuple[int, dict]]:
    """(conversation, example) for every consecutive pair of turns, ids as lab.data ("spc:conv:t")."""
    return [
        (conv, {"id": f"spc:{conv}:{t}", "input": turns[t], "main_references": [turns[t + 1]]})
        for conv, turns in persona_chat_turns(path)
        for t in range(len(turns) - 1)
    ]


def clean_english(text: str) -> str:
    text = re.sub(r"\s+([.,!?;:%])", r"\1", text.strip())
    text = re.sub(r"\s*'\s*(s|t|re|ve|ll|d|m)\b", r"'\1", text)
    return re.sub(r"\s+", " ", text)


def clean_german(text: str) -> str:
    # XDailyDialog's German drops the space after sentence punctuation ("Warum nicht?Siehe.").
    text = re.sub(r"([.!?,;:])(?=[A-Za-zÄÖÜäöüß\"„])", r"\1 ", text.strip())
    return re.sub(r"\s+", " ", text)


def read_xdailydialog(en_path: Path, de_path: Path) -> list[dict]:
    en_lines = en_path.read_text(encoding="utf-8").splitlines()
    de_lines = de_path.read_text(encoding="utf-8").splitlines()
    if len(en_lines) != len(de_lines):
        raise ValueError(f"{en_path} and {de_path} are not line-aligned")
    out = []
    for line, (en, de) in enumerate(zip(en_lines, de_lines, strict=True)):
        en_turns = [t.strip() for t in en.split("__eou__") if t.strip()]
        de_turns = [t.strip() for t in de.split("__eou__") if t.strip()]
        if len(en_turns) != len(de_turns):
            continue  # misaligned dialogue: skip rather than guess
        for t in range(len(en_turns) - 1):
            out.append(
                {
                    "id": f"xdd:{en_path.stem}:{line}:{t}",
                    "input": clean_english(en_turns[t]),
                    "human_references": [clean_german(de_turns[t + 1])],
                    "human_source": "XDailyDialog (human German translation of the next turn)",
                }
            )
    return out


# ---- sources ----
def default_sources() -> tuple[dict[str, list[dict]], list[dict], list[Path]]:
    """The lab's dev splits (ids shared with lab/targets) and XDailyDialog dev."""
    from lab.data import dataset_dir, load_task

    summarize = [
        {"id": e.id, "input": e.input, "main_references": [e.target]} for e in load_task("summarize", "dev")
    ]
    reply = [{"id": e.id, "input": e.input, "main_references": [e.target]} for e in load_task("reply", "dev")]
    xdailydialog = dataset_dir("xdailydialog")
    xdd = read_xdailydialog(xdailydialog / "en_dev_human.txt", xdailydialog / "de_dev_human.txt")
    files = [
        dataset_dir("dialogsum") / "dialogsum.dev.jsonl",
        dataset_dir("synthetic-persona-chat") / "Synthetic-Persona-Chat_valid.csv",
        xdailydialog / "en_dev_human.txt",
        xdailydialog / "de_dev_human.txt",
    ]
    return {"summarize": summarize, "reply": reply}, xdd, files


def folders_of(files: list[Path]) -> str:
    """The data folder(s) the files were read from (one unless the data sets were found in different places)."""
    return ", ".join(sorted({str(f.parent.parent) for f in files}))


def dir_sources(root: Path) -> tuple[dict[str, list[dict]], list[dict], list[Path]]:
    """Every file of a known format under `root` (all rows: the folder is the split)."""
    summarize: list[dict] = []
    reply: list[dict] = []
    xdd: list[dict] = []
    files: list[Path] = []
    for path in sorted(root.rglob("*.jsonl")):
        with open(path, encoding="utf-8") as f:
            first = f.readline()
        if first.strip() and "dialogue" in json.loads(first):
            summarize += read_dialogsum(path)
            files.append(path)
    for path in sorted(root.rglob("*.csv")):
        with open(path, encoding="utf-8", newline="") as f:
            header = next(csv.reader(f), [])
        if "Best Generated Conversation" in header:
            # Row numbers restart in every split's csv: "spc:3:1" of a test file is not the lab's
            # "spc:3:1" (whose teacher targets lab/targets holds), so ids here name the file.
            reply += [
                {**e, "id": f"spc:{path.stem}:{e['id'][len('spc:') :]}"} for _, e in read_persona_chat(path)
            ]
            files.append(path)
    for en_path in sorted(root.rglob("en_*.txt")):
        de_path = en_path.with_name("de_" + en_path.name[3:])
        if de_path.exists():
            xdd += read_xdailydialog(en_path, de_path)
            files += [en_path, de_path]
    return {"summarize": summarize, "reply": reply}, xdd, files


def teacher_targets(key: str, targets_dir: Path) -> dict[str, str]:
    return read_targets(targets_dir / f"{key}.jsonl")


def sample(items: list, n: int | None, seed: int, shortest: bool = False) -> list:
    if n is None or n >= len(items):
        return list(items)
    if shortest:  # quick checks: the n shortest inputs, in their original order
        keep = set(sorted(range(len(items)), key=lambda i: (len(items[i]["input"]), i))[:n])
        return [x for i, x in enumerate(items) if i in keep]
    picked = sorted(random.Random(seed).sample(range(len(items)), n))
    return [items[i] for i in picked]


def build(
    n: int | None,
    seed: int,
    data_dir: Path | None,
    targets_dir: Path,
    only: list[str] | None,
    shortest: bool = False,
) -> dict:
    mains, xdd, files = dir_sources(data_dir) if data_dir else default_sources()
    shared = {main: sample(items, n, seed, shortest) for main, items in mains.items()}
    xdd_picked = sample(xdd, n, seed, shortest)
    out_variants = {}
    references = {}
    for variant in only or variants():
        main, aux = variant.split("+", 1)
        key = file_key(variant)
        targets = teacher_targets(key, targets_dir)
        # Inputs that have a composite reference come first (the teacher covers a sample of the
        # split); without any, every variant of a main task shares one seeded sample.
        with_ref = [e for e in mains[main] if e["id"] in targets]
        if with_ref and n is not None:
            chosen = sample(with_ref, n, seed, shortest)
            if len(chosen) < n:
                rest = [e for e in mains[main] if e["id"] not in targets]
                chosen += sample(rest, n - len(chosen), seed, shortest)
        else:
            chosen = shared[main]
        examples = []
        for e in chosen:
            ref = targets.get(e["id"])
            examples.append({"id": e["id"], "input": e["input"], "references": [ref] if ref else []})
        if variant == "reply+translate:de":
            examples += [{**e, "references": []} for e in xdd_picked]
        kind, value = aux.split(":")
        out_variants[variant] = {
            "group": group_of(variant),
            "metric": "rougeL" if main == "summarize" else "wrouge",
            "language": value if kind == "translate" else "en",
            "tone": value if kind == "tone" else None,
            "examples": examples,
        }
        path = targets_dir / f"{key}.jsonl"
        references[variant] = {
            "file": str(path),
            "exists": path.exists(),
            "sha256": sha256_file(path) if path.exists() else None,
            "covered": sum(1 for e in examples if e["references"]),
        }
    return {
        "seed": seed,
        "n": n,
        "data_dir": str(data_dir) if data_dir else folders_of(files),
        "files": [{"path": str(p), "sha256": sha256_file(p)} for p in files],
        "variants": out_variants,
        "references": references,
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=None, help="examples per main task (default: all)")
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--targets-dir", type=Path, default=Path(__file__).resolve().parents[2] / "targets")
    ap.add_argument("--variants", default=None, help="comma-separated chain keys (default: all 14)")
    ap.add_argument("--shortest", action="store_true", help="take the n shortest inputs (quick checks)")
    args = ap.parse_args(argv)
    only = args.variants.split(",") if args.variants else None
    json.dump(
        build(args.n, args.seed, args.data_dir, args.targets_dir, only, args.shortest),
        sys.stdout,
        ensure_ascii=False,
    )


if __name__ == "__main__":
    main()
