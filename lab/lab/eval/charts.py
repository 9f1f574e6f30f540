"""PNG charts for a bench report: `python -m lab.eval.charts results.json OUT_DIR`.

quality.png: per group (Sum+Tr, ...), the group-averaged metric and language accuracy per method.
latency.png: median end-to-end latency and decode speed per method from the speed run.
Only numbers present in results.json are drawn; a missing panel says why.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def _bars(ax, groups: list[str], series: dict[str, list[float | None]], ylabel: str, title: str) -> None:
    methods = list(series)
    width = 0.8 / max(1, len(methods))
    drawn = False
    for i, method in enumerate(methods):
        xs, ys = [], []
        for g, value in enumerate(series[method]):
            if value is not None:
                xs.append(g + (i - (len(methods) - 1) / 2) * width)
                ys.append(value)
        if ys:
            bars = ax.bar(xs, ys, width, label=method)
            ax.bar_label(bars, fmt="%.0f", fontsize=6)
            drawn = True
    ax.set_xticks(range(len(groups)), groups)
    ax.set_xlim(-0.6, len(groups) - 0.4)
    ax.set_ylim(0, 105)
    ax.set_ylabel(ylabel)
    ax.set_title(title, fontsize=10)
    if drawn:
        ax.legend(fontsize=7, ncols=2)
    else:
        ax.text(0.5, 0.5, "no measured values", ha="center", va="center", transform=ax.transAxes)


def quality_chart(results: dict, out: Path) -> None:
    groups_data = (results.get("quality") or {}).get("groups", {})
    groups = list(groups_data)
    methods: list[str] = []
    for g in groups:
        for m in groups_data[g]:
            if m not in methods:
                methods.append(m)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    main = {m: [groups_data[g].get(m, {}).get("main") for g in groups] for m in methods}
    lang = {m: [groups_data[g].get(m, {}).get("language_accuracy") for g in groups] for m in methods}
    _bars(axes[0], groups, main, "ROUGE-L F1 / weighted ROUGE (%)", "Quality vs composite references")
    _bars(
        axes[1], groups, lang, "language accuracy (%)", "Outputs in the requested language (Lingua / langid)"
    )
    n = results.get("config", {}).get("args", {}).get("n")
    fig.suptitle(f"Quality per method and group (up to {n} inputs per main task and variant)", fontsize=11)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def latency_chart(results: dict, out: Path) -> None:
    speed = results.get("speed") or {}
    methods = speed.get("methods", {})
    names = list(methods)
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    if names:

        def iqr(key: str, scale: float = 1.0) -> tuple[list[float], list[float], list[float]]:
            med = [methods[m][key]["median"] / scale for m in names]
            lo = [max(0.0, med[i] - methods[m][key]["p25"] / scale) for i, m in enumerate(names)]
            hi = [max(0.0, methods[m][key]["p75"] / scale - med[i]) for i, m in enumerate(names)]
            return med, lo, hi

        lat, lo, hi = iqr("latencyMs", 1000)
        axes[0].bar(names, lat, color="tab:blue", yerr=[lo, hi], capsize=3)
        axes[0].set_ylabel("median end-to-end latency (s), bars: IQR")
        axes[0].set_title("Latency per compose request (same inputs)", fontsize=10)
        dec, lo, hi = iqr("decodeTokPerS")
        axes[1].bar(names, dec, color="tab:green", yerr=[lo, hi], capsize=3)
        axes[1].set_ylabel("median decode tokens/s (last pass), bars: IQR")
        axes[1].set_title("Decode speed", fontsize=10)
        for ax in axes:
            ax.tick_params(axis="x", labelrotation=30, labelsize=8)
    else:
        for ax in axes:
            ax.text(
                0.5, 0.5, "speed not measured in this run", ha="center", va="center", transform=ax.transAxes
            )
    fig.suptitle(speed.get("title", "Speed"), fontsize=11)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    plt.close(fig)


def main(argv: list[str] | None = None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    results = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    out_dir = Path(argv[1])
    out_dir.mkdir(parents=True, exist_ok=True)
    quality_chart(results, out_dir / "quality.png")
    latency_chart(results, out_dir / "latency.png")
    print(json.dumps({"charts": ["quality.png", "latency.png"]}))


if __name__ == "__main__":
    main()
