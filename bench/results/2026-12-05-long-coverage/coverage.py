"""How many of a long document's stories its summary mentions.

A long document of the real-text suite is several whole NTREX news stories joined. A story counts
as covered when the summary holds at least two of its names: capitalized words of 4+ letters that
occur in that story and in no other story of the same document (names survive translation, so the
French summaries are judged the same way).

    lab/.venv/bin/python bench/results/2026-12-05-long-coverage/coverage.py CACHE.jsonl [CACHE.jsonl ...]

Each cache file is a bench generation cache (bench/results/cache/generations.jsonl); its latest
output per command and document is judged.
"""

import json
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "lab"))
from lab.eval.realtext import ntrex_documents  # noqa: E402

NTREX = Path(__file__).resolve().parents[4] / "shared" / "data" / "ntrex"
NAME = re.compile(r"\b[A-Z][\w'’-]{3,}")


def names(text: str) -> set[str]:
    return {m.group(0).strip("'’-") for m in NAME.finditer(text)}


def main() -> None:
    docs = {d["id"]: d for d in ntrex_documents(NTREX)[0]}
    for cache in sys.argv[1:]:
        latest = {}
        for line in Path(cache).read_text(encoding="utf-8").splitlines():
            if line.strip():
                entry = json.loads(line)
                if entry["id"].startswith("long:"):
                    latest[(entry["variant"], entry["id"])] = entry["text"]
        print(cache)
        for (command, doc_id), summary in sorted(latest.items()):
            stories = [docs[i] for i in doc_id.removeprefix("long:").split("+")]
            own = []
            for i, story in enumerate(stories):
                text = story["headline"] + " " + " ".join(s["en"] for s in story["sentences"])
                others = set().union(*(names(o["headline"] + " " + " ".join(s["en"] for s in o["sentences"]))
                                       for j, o in enumerate(stories) if j != i))
                own.append(names(text) - others)
            found = names(summary)
            covered = sum(len(o & found) >= 2 for o in own)
            print(f"  {command:24s} {len(stories):2d} stories, {covered} covered, {len(summary.split())} words  {doc_id[:40]}")


if __name__ == "__main__":
    main()
