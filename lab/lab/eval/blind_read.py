"""Reading two candidates' outputs blind: issue 16 asks whether replies answer the email, which no
metric says, so a person reads them. The sheet shows each input with the two outputs in a seeded
order (1 and 2, not A and B); the reader fills a verdict for each, and only then does `score`
read the key. Used on the reply adapter (TRAINING.md, "Emails to a list").

    python -m lab.eval.blind_read sheet --a A/ --b B/ --inputs emails/ --out DIR [--seed 7]
    # ... read DIR/sheet.md, fill DIR/verdicts.json: {"<id>": {"1": "answers", "2": "part"}, ...}
    python -m lab.eval.blind_read score DIR

A/ and B/ hold one `composer compose --json` answer per input (<id>.json, its "text"); inputs/ the
texts (<id>.txt). Verdicts: "answers" (answers what the email asks or says), "part" (on topic, but
misses the question or gets something wrong), "not" (a chat line, another subject, or nonsense).
"""

from __future__ import annotations

import argparse
import json
import random
from collections import Counter
from pathlib import Path

VERDICTS = ("answers", "part", "not")


def sheet(a: Path, b: Path, inputs: Path, out: Path, seed: int) -> int:
    """Writes out/sheet.md, out/key.json and an empty out/verdicts.json; returns the items' count."""
    ids = sorted(
        p.stem
        for p in inputs.glob("*.txt")
        if (a / f"{p.stem}.json").exists() and (b / f"{p.stem}.json").exists()
    )
    rng = random.Random(f"{seed}:blind-read")
    key, parts = {}, []
    for i in ids:
        texts = {
            name: json.loads((folder / f"{i}.json").read_text())["text"]
            for name, folder in (("a", a), ("b", b))
        }
        first = rng.choice(("a", "b"))
        key[i] = {"1": first, "2": "b" if first == "a" else "a"}
        parts.append(
            f"## {i}\n\n{(inputs / f'{i}.txt').read_text().strip()}\n\n"
            f"**1:** {texts[key[i]['1']]}\n\n**2:** {texts[key[i]['2']]}\n"
        )
    out.mkdir(parents=True, exist_ok=True)
    (out / "sheet.md").write_text("\n".join(parts))
    (out / "key.json").write_text(
        json.dumps({"a": str(a), "b": str(b), "seed": seed, "order": key}, indent=1)
    )
    verdicts = out / "verdicts.json"
    if not verdicts.exists():
        verdicts.write_text(json.dumps({i: {"1": "", "2": ""} for i in ids}, indent=1))
    return len(ids)


def score(out: Path) -> dict:
    """Each candidate's verdict counts; refuses a sheet not read to the end."""
    key = json.loads((out / "key.json").read_text())
    verdicts = json.loads((out / "verdicts.json").read_text())
    counts = {"a": Counter(), "b": Counter()}
    for i, order in key["order"].items():
        for slot, candidate in order.items():
            verdict = verdicts.get(i, {}).get(slot, "")
            if verdict not in VERDICTS:
                raise SystemExit(
                    f"{i}, output {slot}: verdict {verdict!r} is not one of {', '.join(VERDICTS)}"
                )
            counts[candidate][verdict] += 1
    return {key[c]: {v: counts[c][v] for v in VERDICTS} for c in ("a", "b")}


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sheet")
    s.add_argument("--a", type=Path, required=True)
    s.add_argument("--b", type=Path, required=True)
    s.add_argument("--inputs", type=Path, required=True)
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--seed", type=int, default=7)
    sub.add_parser("score").add_argument("out", type=Path)
    args = ap.parse_args(argv)
    if args.command == "sheet":
        n = sheet(args.a, args.b, args.inputs, args.out, args.seed)
        print(json.dumps({"items": n, "sheet": str(args.out / "sheet.md")}))
    else:
        print(json.dumps(score(args.out), indent=1))


if __name__ == "__main__":
    main()
