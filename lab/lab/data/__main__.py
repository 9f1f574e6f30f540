"""python -m lab.data [sizes]          the sizes of every task split (and of the named data sets)
python -m lab.data names             how the next pack's DialogSum data got its speakers' names
python -m lab.data fetch [NAME ...]  makes data sets available (all by default) and prints
                                     {"<name>": "<folder>"} as JSON; exit 1 with the places it
                                     looked in when one cannot be had"""

import argparse
import json
import sys

from lab.data.store import DataUnavailable, default_store


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(
        prog="python -m lab.data", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = ap.add_subparsers(dest="cmd")
    sub.add_parser("sizes", help="the sizes of every task split")
    sub.add_parser("names", help="DialogSum dialogues with names: how many, how named, why left out")
    f = sub.add_parser("fetch", help="make data sets available; prints {name: folder}")
    f.add_argument("names", nargs="*", help="data sets (default: every one that can be downloaded)")
    args = ap.parse_args(argv)
    if args.cmd == "fetch":
        store = default_store()
        names = args.names or [n for n, d in store.manifest.items() if not d.not_downloadable]
        try:
            folders = {n: str(store.dataset_dir(n)) for n in names}
        except (DataUnavailable, KeyError) as e:
            print(e.args[0] if e.args else e, file=sys.stderr)
            return 1
        print(json.dumps(folders, indent=1))
        return 0
    if args.cmd == "names":
        from lab.data.dialogues import naming_report

        print(json.dumps({s: naming_report(s) for s in ("train", "dev")}, indent=1))
        return 0
    from lab.data.sources import sizes

    print(json.dumps(sizes(), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
