"""Benchmark-side evaluation (bench/README.md): metrics, evaluation sets, scoring CLI, charts.

The TypeScript runner (bench/) generates with the engine and calls these as subprocesses with JSON
in and out: `python -m lab.eval.data` (evaluation sets), `python -m lab.eval.score` (metrics),
`python -m lab.eval.charts` (PNG charts), `python -m lab.eval.references` (composite-reference
requests for `--data-dir` files).
"""
