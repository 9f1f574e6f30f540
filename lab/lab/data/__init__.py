"""Task data, read in place from ../shared/data (never copied into the repository).

    load_task("summarize", "train") -> list[Example]
    load_task("summarize+translate:fr", "dev")   # composite: teacher targets from lab/targets/
    python -m lab.data            # prints the sizes of every split

Splits are deterministic (seeded, by conversation / document where that matters). Targets that no
human wrote (English tones, composite targets) come from teacher files
`lab/targets/<file key>.jsonl`, one `{"id": source id, "target": text}` per line, produced by the
teacher-generation step; tasks without such a file have no examples yet.
"""

from lab.data.sources import Example, data_root, load_task, sizes

__all__ = ["Example", "data_root", "load_task", "sizes"]
