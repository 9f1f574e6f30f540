"""Composite references for evaluation inputs: what a teacher must write, and what exists.

Composite references are built the same way as the lab's training targets: a teacher applies the
auxiliary task (translation, tone) to the main task's reference (the human summary, the next
turn). This command writes, per variant, the teacher's work list as
`OUT/<chain file key>.requests.jsonl` (`{"id", "source", "task"}`), and reports how many targets
`<targets dir>/<key>.jsonl` (`{"id", "target"}`, the interface of lab.data; default lab/targets)
already holds for them. It invents nothing: until a teacher fills the targets, those variants score
language only. `python -m lab.teacher references` builds the same work lists and runs the teacher on
them in one command.

    python -m lab.eval.references [--data-dir DIR] [--n N] [--targets-dir T] --out lab/targets/requests
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from lab.eval.data import default_sources, dir_sources, sample, teacher_targets, variants
from lab.prompts import file_key

DEFAULT_TARGETS = Path(__file__).resolve().parents[2] / "targets"


def work_lists(
    data_dir: Path | None, n: int | None, seed: int, targets_dir: Path, only: list[str] | None = None
) -> dict[str, list[dict]]:
    """Per variant, the `{"id", "source", "task"}` requests for the sampled inputs (the same seeded
    sample lab.eval.data scores) whose composite reference `targets_dir` does not hold yet."""
    mains, _, _ = dir_sources(data_dir) if data_dir else default_sources()
    out = {}
    for variant in only or variants():
        main_task, aux = variant.split("+", 1)
        have = teacher_targets(file_key(variant), targets_dir)
        todo = [e for e in sample(mains[main_task], n, seed) if e["id"] not in have]
        out[variant] = [
            {"id": e["id"], "source": e["main_references"][0], "task": aux}
            for e in todo
            if e["main_references"]
        ]
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data-dir", type=Path, default=None)
    ap.add_argument("--n", type=int, default=None)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--targets-dir", type=Path, default=DEFAULT_TARGETS)
    ap.add_argument("--variants", default=None, help="comma-separated chain keys (default: all 14)")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    only = args.variants.split(",") if args.variants else None
    lists = work_lists(args.data_dir, args.n, args.seed, args.targets_dir, only)
    args.out.mkdir(parents=True, exist_ok=True)
    report = {}
    for variant, requests in lists.items():
        key = file_key(variant)
        with open(args.out / f"{key}.requests.jsonl", "w", encoding="utf-8") as f:
            for r in requests:
                f.write(json.dumps(r, ensure_ascii=False) + "\n")
        have = teacher_targets(key, args.targets_dir)
        report[variant] = {"targets_present": len(have), "requests_written": len(requests)}
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
