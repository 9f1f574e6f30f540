"""Task data, read in place from the pinned public data sets (never copied into the repository).

    load_task("summarize", "train") -> list[Example]
    load_task("summarize+translate:fr", "dev")   # composite: teacher targets from lab/targets/
    load_task("summarize", "train", "dialogsum-names")  # a named data set of the next pack (issue 16)
    python -m lab.data            # prints the sizes of every split
    python -m lab.data fetch      # makes every data set available (mirror, cache or download)

Where the files come from is decided in one place, lab.data.store (manifest.json pins each file's
url, size and sha256): LAB_DATA_DIR, then ../shared/data beside the repository, then the cache
$COMPOSER_HOME/data, then a checked download into that cache.

Splits are deterministic (seeded, by conversation / document where that matters). Targets that no
human wrote (English tones, composite targets) come from teacher files
`lab/targets/<file key>.jsonl`, one `{"id": source id, "target": text}` per line, produced by the
teacher-generation step; tasks without such a file have no examples yet.
"""

from lab.data.sources import Example, load_task, sizes
from lab.data.store import DataUnavailable, dataset_dir

__all__ = ["DataUnavailable", "Example", "dataset_dir", "load_task", "sizes"]
