"""What the checks against human translations share (formality.py: CoCoA-MT registers, news.py:
NTREX news): the evaluation set per language, held out from the translation adapters and sampled
with a seed, and the `data` / `score` command line the benchmark calls."""

from __future__ import annotations

import argparse
import json
import random
import sys
from collections.abc import Callable
from pathlib import Path

LANGS = ("es", "fr", "de")
Reader = Callable[[Path, str], list[dict]]


def build(
    read: Reader, upstream: str, name: str, n: int | None, seed: int, data_dir: Path | None, langs
) -> dict:
    """`read(folder, lang)` per language: from the data set `upstream` (lab.data.store) keeping the lab's translate:<lang>
    dev split (never trained on), or from all of `data_dir`; then n of them, seeded by `name`."""
    from lab.data import dataset_dir

    folder = data_dir if data_dir is not None else dataset_dir(upstream)
    sets = {}
    for lang in langs:
        segments = read(folder, lang)
        if data_dir is None:
            from lab.data import load_task

            dev = {e.id for e in load_task(f"translate:{lang}", "dev")}
            segments = [s for s in segments if s["id"] in dev]
        if n is not None and n < len(segments):
            picked = sorted(random.Random(f"{seed}:{name}:{lang}").sample(range(len(segments)), n))
            segments = [segments[i] for i in picked]
        sets[lang] = segments
    return {"seed": seed, "n": n, "data_dir": str(data_dir or folder.parent), "languages": sets}


def main(doc: str, build_set: Callable[..., dict], score_item: Callable[[dict], dict], argv=None) -> None:
    """`data` prints the evaluation set; `score` reads {"items": [{"key", "output", ...}]} on stdin."""
    ap = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    d = sub.add_parser("data")
    d.add_argument("--n", type=int, default=None, help="per language (default: all)")
    d.add_argument("--seed", type=int, default=1234)
    d.add_argument("--data-dir", type=Path, default=None)
    d.add_argument("--langs", default=",".join(LANGS))
    sub.add_parser("score", help='stdin {"items": [{"key", "output", ...}]}')
    args = ap.parse_args(argv)
    if args.cmd == "data":
        out = build_set(args.n, args.seed, args.data_dir, args.langs.split(","))
    else:
        out = {"items": {i["key"]: score_item(i) for i in json.load(sys.stdin)["items"]}}
    json.dump(out, sys.stdout, ensure_ascii=False)
