"""Reading two candidates' outputs blind: issue 16 asks whether replies answer the email and whether
a tone rewrite keeps what the text says, which no metric says, so a person reads them. The sheet
shows each input with the two outputs in a seeded order (1 and 2, not A and B) under the rubric's
words; the reader fills a verdict for each, and only then does `score` read the key. Used on the
reply adapter (TRAINING.md, "Emails to a list") and on the tone rewrites ("Does the copy penalty
pay?").

    python -m lab.eval.blind_read sheet --a A --b B --inputs INPUTS --out DIR \\
        [--rubric reply|tone] [--command tone:casual] [--skip-same] [--seed 7]
    # ... read DIR/sheet.md, fill DIR/verdicts.json: {"<id>": {"1": "answers", "2": "part"}, ...}
    python -m lab.eval.blind_read score DIR

A and B are each a folder of `composer compose --json` answers (<id>.json, its "text") or a
benchmark run's --out folder (its cache/generations.jsonl; --command picks the command's outputs).
INPUTS is a folder of texts (<id>.txt) or the JSON of `python -m lab.eval.realtext data`; several
may be given. --skip-same leaves out the inputs both candidates answered alike (counted in the key):
the reader's time goes where the candidates differ.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Rubric:
    """The verdicts a reader may give, best first, and what each means, as the sheet shows them."""

    verdicts: tuple[str, ...]
    meanings: tuple[str, ...]


RUBRICS = {
    "reply": Rubric(
        ("answers", "part", "not"),
        (
            "answers what the email asks or says",
            "on topic, but misses the question or gets something wrong",
            "a chat line, another subject, or nonsense",
        ),
    ),
    "tone": Rubric(
        ("good", "plain", "unchanged", "wrong"),
        (
            "in the requested tone (a paraphrase: in other words), and keeps every meaning and detail",
            "keeps every meaning and detail, but the tone or the wording hardly moves",
            "the original given back, word for word or nearly",
            "changes or loses a meaning or a detail (who does what, a fact, a negation, a question"
            " made a statement), adds one, or does not read as written by a person",
        ),
    ),
}


def outputs(source: Path, command: str | None, inputs: dict[str, str]) -> dict[str, str]:
    """Each input id's output text: a folder of compose answers, or a benchmark run's cache, whose
    records count only where their input is the text `inputs` holds (an id's text may differ from one
    draw to another: news paragraphs are drawn by seed)."""
    cache = source / "cache" / "generations.jsonl"
    if not cache.exists():
        return {p.stem: json.loads(p.read_text())["text"] for p in source.glob("*.json")}
    if command is None:
        raise SystemExit(f"{source} is a benchmark run: say which command's outputs to read (--command)")
    hashes = {i: hashlib.sha256(text.encode()).hexdigest()[:16] for i, text in inputs.items()}
    texts: dict[str, str] = {}
    for line in cache.read_text().splitlines():
        record = json.loads(line) if line.strip() else {}
        if record.get("variant") != command or record.get("error") is not None:
            continue
        # The key is variant|method|input hash|config hash (bench/cache.ts, generationKey).
        if record["key"].split("|")[2] != hashes.get(record["id"]):
            continue
        if texts.get(record["id"], record["text"]) != record["text"]:
            raise SystemExit(
                f"{cache} holds two outputs of {command} for {record['id']}: read a run of its own"
            )
        texts[record["id"]] = record["text"]
    return texts


def input_texts(sources: list[Path]) -> dict[str, str]:
    """Each input id's text, from folders of <id>.txt or `lab.eval.realtext data` answers."""
    texts: dict[str, str] = {}
    for source in sources:
        if source.is_dir():
            texts |= {p.stem: p.read_text() for p in source.glob("*.txt")}
        else:
            texts |= {i: item["text"] for i, item in json.loads(source.read_text())["items"].items()}
    return texts


def sheet(
    a: Path,
    b: Path,
    inputs: Path | list[Path],
    out: Path,
    seed: int,
    rubric: str = "reply",
    command: str | None = None,
    skip_same: bool = False,
) -> int:
    """Writes out/sheet.md, out/key.json and an empty out/verdicts.json; returns the items' count."""
    texts = input_texts(inputs if isinstance(inputs, list) else [inputs])
    candidates = {"a": outputs(a, command, texts), "b": outputs(b, command, texts)}
    ids = sorted(i for i in texts if i in candidates["a"] and i in candidates["b"])
    same = [i for i in ids if candidates["a"][i].strip() == candidates["b"][i].strip()]
    if skip_same:
        ids = [i for i in ids if i not in same]
    rng = random.Random(f"{seed}:blind-read")
    words = RUBRICS[rubric]
    asked = f"Each output was asked for with **{command}**.\n\n" if command else ""
    parts = [
        f"# Blind read\n\n{asked}Give each output one verdict:\n\n"
        + "".join(f"- **{v}**: {m}\n" for v, m in zip(words.verdicts, words.meanings, strict=True))
    ]
    key = {}
    for i in ids:
        first = rng.choice(("a", "b"))
        key[i] = {"1": first, "2": "b" if first == "a" else "a"}
        parts.append(
            f"## {i}\n\n{texts[i].strip()}\n\n"
            f"**1:** {candidates[key[i]['1']][i]}\n\n**2:** {candidates[key[i]['2']][i]}\n"
        )
    out.mkdir(parents=True, exist_ok=True)
    (out / "sheet.md").write_text("\n".join(parts))
    (out / "key.json").write_text(
        json.dumps(
            {
                "a": str(a),
                "b": str(b),
                "seed": seed,
                "rubric": rubric,
                "command": command,
                "same": len(same) if skip_same else 0,
                "order": key,
            },
            indent=1,
        )
    )
    verdicts = out / "verdicts.json"
    if not verdicts.exists():
        verdicts.write_text(json.dumps({i: {"1": "", "2": ""} for i in ids}, indent=1))
    return len(ids)


def score(out: Path) -> dict:
    """Each candidate's verdict counts, and on how many inputs each was judged the better; refuses
    a sheet not read to the end."""
    key = json.loads((out / "key.json").read_text())
    verdicts = json.loads((out / "verdicts.json").read_text())
    ranked = RUBRICS[key.get("rubric", "reply")].verdicts
    counts = {"a": Counter(), "b": Counter()}
    better = Counter()
    for i, order in key["order"].items():
        given = {}
        for slot, candidate in order.items():
            verdict = verdicts.get(i, {}).get(slot, "")
            if verdict not in ranked:
                raise SystemExit(f"{i}, output {slot}: verdict {verdict!r} is not one of {', '.join(ranked)}")
            counts[candidate][verdict] += 1
            given[candidate] = ranked.index(verdict)
        better["a" if given["a"] < given["b"] else "b" if given["b"] < given["a"] else "tie"] += 1
    return {
        **{key[c]: {v: counts[c][v] for v in ranked} for c in ("a", "b")},
        "better": {key["a"]: better["a"], key["b"]: better["b"], "same verdict": better["tie"]},
        "same output, not read": key.get("same", 0),
    }


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    s = sub.add_parser("sheet")
    s.add_argument("--a", type=Path, required=True)
    s.add_argument("--b", type=Path, required=True)
    s.add_argument("--inputs", type=Path, nargs="+", required=True)
    s.add_argument("--out", type=Path, required=True)
    s.add_argument("--seed", type=int, default=7)
    s.add_argument("--rubric", choices=sorted(RUBRICS), default="reply")
    s.add_argument("--command", dest="asked", help="the command whose outputs a benchmark run's cache gives")
    s.add_argument("--skip-same", action="store_true")
    sub.add_parser("score").add_argument("out", type=Path)
    args = ap.parse_args(argv)
    if args.command == "sheet":
        n = sheet(args.a, args.b, args.inputs, args.out, args.seed, args.rubric, args.asked, args.skip_same)
        print(json.dumps({"items": n, "sheet": str(args.out / "sheet.md")}))
    else:
        print(json.dumps(score(args.out), indent=1))


if __name__ == "__main__":
    main()
