"""Composite references for evaluation inputs: what a teacher must write, and what exists.

Composite references are built the same way as the lab's training targets: a teacher applies the
auxiliary task (translation, tone) to the main task's reference (the human summary, the next
turn). This command writes, per variant, the teacher's work list as
`OUT/<chain file key>.requests.jsonl` (`{"id", "source", "task"}`), and reports how many targets
`lab/targets/<key>.jsonl` (`{"id", "target"}`, the interface of lab.data) already holds for them.
It invents nothing: until a teacher fills the targets, those variants score language only.

    python -m lab.eval.references [--data-dir DIR] [--n N] --out lab/targets/requests
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lab.eval.data import default_sources, dir_sources, sample, teacher_targets, variants
from lab.prompts import file_key


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--targets-dir", type=Path, default=Path(__file__).resolve().parents[2] / "targets")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    if args.data_dir:
        mains, _, _ = dir_sources(args.data_dir)
    else:
        from lab.data.sources import data_root

        mains, _, _ = default_sources(data_root())
    args.out.mkdir(parents=True, exist_ok=True)
    report = {}
    for variant in variants():
        main_task, aux = variant.split("+", 1)
        key = file_key(variant)
        have = teacher_targets(key, args.targets_dir)
        todo = [e for e in sample(mains[main_task], args.n, args.seed) if e["id"] not in have]
        with open(args.out / f"{key}.requests.jsonl", "w", encoding="utf-8") as f:
            for e in todo:
                for src in e["main_references"][:1]:
                    f.write(
                        json.dumps({"id": e["id"], "source": src, "task": aux}, ensure_ascii=False) + "\n"
                    )
        report[variant] = {"targets_present": len(have), "requests_written": len(todo)}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
