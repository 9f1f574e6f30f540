"""Parity: PyTorch (dequantized GGUF) vs node-llama-cpp (the engine's runtime, quantized matmuls).

Feeds the same token ids to both, takes the full next-token distribution at the last positions of
each prompt, and reports
- max |Δ log p| over the top-k tokens (top-k of the PyTorch distribution),
- top-1 agreement,
- KL(p_torch || p_llama), mean and max over positions.

Usage (from anywhere; node runs in the repository root so node_modules resolves):
    lab/.venv/bin/python -m lab.parity [--gguf model.gguf] [--positions 8] [--topk 10]
           [--adapter DIR_OR_GGUF:SCALE ...] [--json out.json]
With --adapter, the same LoRA adapter files are applied on both sides (PyTorch reads the GGUF back).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import torch

from lab.prompts import render_prompt

REPO_ROOT = Path(__file__).resolve().parents[2]
NODE_SCRIPT = REPO_ROOT / "lab/node/llama_logprobs.mjs"

# Two of the engine's prompts (one with the start of an answer) and two plain texts.
PROMPTS = [
    render_prompt(
        "summarize",
        "#Person1#: Hi, Mr. Smith. I'm Doctor Hawkins. Why are you here today?\n"
        "#Person2#: I found it would be a good idea to get a check-up.",
    ),
    "The capital of France is Paris. The capital of Germany is",
    render_prompt("translate:fr", "The weather is nice today, so we are going to the beach.")
    + "Il fait beau aujourd'hui",
    "def fibonacci(n):\n    if n < 2:\n        return n\n    return",
]


def llama_logprobs(
    gguf: Path, prompts: list[dict], n_vocab: int, adapters: list[tuple[str, float]] | None = None
) -> tuple[np.ndarray, dict]:
    with tempfile.TemporaryDirectory() as tmp:
        req = {
            "modelPath": str(gguf),
            "outPath": str(Path(tmp) / "out.f32"),
            "nVocab": n_vocab,
            "threads": 2,
            "contextSize": 1024,
            "prompts": prompts,
        }
        if adapters:
            req["adapters"] = [{"filePath": str(Path(f).resolve()), "scale": s} for f, s in adapters]
        (Path(tmp) / "req.json").write_text(json.dumps(req))
        proc = subprocess.run(
            ["node", str(NODE_SCRIPT), str(Path(tmp) / "req.json")],
            cwd=REPO_ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if proc.returncode != 0:
            raise RuntimeError(f"node failed:\n{proc.stderr[-4000:]}")
        summary = json.loads(proc.stdout.strip().splitlines()[-1])
        out = np.fromfile(Path(tmp) / "out.f32", dtype=np.float32).reshape(-1, n_vocab)
    return out, summary


def compare(logp_t: np.ndarray, logp_l: np.ndarray, topk: int = 10) -> dict:
    """Both [n_positions][n_vocab] natural-log probabilities."""
    lt = torch.from_numpy(logp_t).double()
    # llama.cpp's float32 softmax over 262k tokens sums to 1 +- 1e-4: renormalize before comparing.
    ll = torch.log_softmax(torch.from_numpy(logp_l).double().clamp_min(-1e4), -1)
    top = lt.topk(topk, dim=-1).indices
    d_top = (lt.gather(-1, top) - ll.gather(-1, top)).abs()
    kl = (lt.exp() * (lt - ll)).sum(-1)
    agree = lt.argmax(-1) == ll.argmax(-1)
    return {
        "positions": int(lt.shape[0]),
        "topk": topk,
        "max_abs_dlogp_topk": float(d_top.max()),
        "mean_abs_dlogp_topk": float(d_top.mean()),
        "max_abs_dlogp_top1": float(d_top[:, 0].max()),
        "top1_agreement": float(agree.double().mean()),
        "kl_mean": float(kl.mean()),
        "kl_max": float(kl.max()),
    }


def torch_logprobs(model, ids: list[int], positions: list[int]) -> np.ndarray:
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0, positions].double()
    return torch.log_softmax(logits, -1).float().numpy()


def run(
    gguf: Path | None,
    n_positions: int,
    topk: int,
    adapters: list[tuple[str, float]],
    llama_ggufs: list[Path] | None = None,
) -> list[dict]:
    """PyTorch loads `gguf`; llama.cpp runs each of `llama_ggufs` (default: the same file)."""
    from lab.base import default_gguf, load_base

    gguf = Path(gguf) if gguf else default_gguf()
    base = load_base(gguf)
    model = base.model
    if adapters:
        from lab.export.adapter import apply_gguf_adapters

        model = apply_gguf_adapters(model, adapters)
    tok = base.tokenizer
    n_vocab = model.config.vocab_size
    reqs, logp_t = [], []
    for text in PROMPTS:
        ids = tok(text).input_ids
        positions = list(range(max(0, len(ids) - n_positions), len(ids)))
        reqs.append({"text": text, "ids": ids, "positions": positions})
        logp_t.append(torch_logprobs(model, ids, positions))
    results = []
    for llama_gguf in llama_ggufs or [gguf]:
        logp_l, summary = llama_logprobs(llama_gguf, reqs, n_vocab, adapters)
        result = compare(np.concatenate(logp_t), logp_l, topk)
        # Tokenizer agreement (llama.cpp tokenize with special tokens, no BOS, vs ours without BOS).
        same_tok = [
            r["ids"][1:] == s["llamaIds"] or r["ids"] == s["llamaIds"]
            for r, s in zip(reqs, summary["prompts"], strict=True)
        ]
        result["tokenizer_agreement"] = f"{sum(same_tok)}/{len(same_tok)}"
        result["prompts"] = len(PROMPTS)
        result["torch_gguf"] = str(gguf)
        result["llama_gguf"] = str(llama_gguf)
        result["adapters"] = adapters
        results.append(result)
    return results


def random_composite(
    out_dir: Path, kind: str, n_positions: int, topk: int, gguf: Path | None = None, llama_ggufs=None
) -> list[dict]:
    """Two random rank-16 task adapters + a random calibration for the real base: PyTorch computes the
    merged model with the calibration module (lab.calibration.attach); llama.cpp loads the two
    adapter.gguf files (scales w_i) plus the engine's expanded calibration (scale 1)."""
    from lab.base import DEFAULT_BASE_NAME, default_gguf, load_base
    from lab.calibration import Calibration, attach
    from lab.export.adapter import write_adapter_dir, write_adapter_gguf
    from lab.export.calibration import calibration_filename, read_calibration_gguf, write_calibration_gguf
    from lab.formats.fingerprint import base_structure
    from lab.lora import GGUF_TO_HF, MODULE_TYPES, LoraWeights, decoder_layers
    from lab.prompts import prompt_template

    gguf = Path(gguf) if gguf else default_gguf()
    meta = base_structure(gguf)
    base = load_base(gguf)
    layers = decoder_layers(base.model)
    gen = torch.Generator().manual_seed(0)
    adapters, dirs, weights = [], [], [1.0, 0.8]
    for t, task in enumerate(["summarize", "translate:fr"]):
        pairs = {}
        for l, layer in enumerate(layers):
            for m in MODULE_TYPES:
                lin = layer.get_submodule(GGUF_TO_HF[m])
                a = torch.randn(16, lin.in_features, generator=gen) / lin.in_features**0.5
                b = torch.randn(lin.out_features, 16, generator=gen) * 0.01
                pairs[(l, m)] = (a, b)
        lw = LoraWeights(16, 32.0, pairs)
        d = out_dir / f"random.{t}"
        write_adapter_dir(
            lw, d, adapter_id=f"random.{t}", task=task, prompt_template=prompt_template(task),
            fingerprint=meta["fingerprint"], arch=meta["arch"], base_name=DEFAULT_BASE_NAME,
            base_tensors=meta["tensors"],
        )  # fmt: skip
        adapters.append((lw, weights[t]))
        dirs.append(d)
    cal = Calibration.for_model(base.model, kind)
    with torch.no_grad():
        # Trained-like magnitudes (P1 as at init, ~1/sqrt(n_in)); Δ stays a small correction.
        for name, p in cal.named_parameters():
            scale = 1 / p.shape[1] ** 0.5 if name.startswith("p1.") else 0.01
            p.copy_(torch.randn(p.shape, generator=gen) * scale)
    compact = write_calibration_gguf(
        cal, out_dir / calibration_filename("summarize+translate:fr", kind), arch=meta["arch"],
        chain="summarize+translate:fr", base_fingerprint=meta["fingerprint"],
        adapter_ids=[d.name for d in dirs], adapter_sha256=[json.loads((d / "manifest.json").read_text())["sha256"] for d in dirs],
        merge_weights=weights, prompt_template=prompt_template("summarize+translate:fr"),
    )  # fmt: skip
    # The engine's expansion, from the compact file as read back (what the engine will do in TS).
    back, _ = read_calibration_gguf(compact)
    expanded = out_dir / f"expanded.{kind}.adapter.gguf"
    write_adapter_gguf(back.expand(adapters, len(layers)), expanded, meta["arch"], meta["tensors"])
    attach(base.model, adapters, cal)
    tok = base.tokenizer
    reqs, logp_t = [], []
    for text in PROMPTS:
        ids = tok(text).input_ids
        positions = list(range(max(0, len(ids) - n_positions), len(ids)))
        reqs.append({"text": text, "ids": ids, "positions": positions})
        logp_t.append(torch_logprobs(base.model, ids, positions))
    llama_adapters = [(str(d / "adapter.gguf"), w) for d, w in zip(dirs, weights, strict=True)]
    llama_adapters.append((str(expanded), 1.0))
    results = []
    for lg in llama_ggufs or [gguf]:
        logp_l, _ = llama_logprobs(lg, reqs, base.model.config.vocab_size, llama_adapters)
        result = compare(np.concatenate(logp_t), logp_l, topk)
        result.update(
            {
                "mode": f"random merged adapters + {kind}",
                "llama_gguf": str(lg),
                "llama_adapters": llama_adapters,
            }
        )
        results.append(result)
    return results


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gguf", type=Path, default=None)
    ap.add_argument("--positions", type=int, default=8, help="last N positions of each prompt")
    ap.add_argument("--topk", type=int, default=10)
    ap.add_argument("--adapter", action="append", default=[], help="adapter.gguf (or its dir):SCALE")
    ap.add_argument("--json", type=Path, default=None)
    ap.add_argument(
        "--f32-control",
        action="store_true",
        help="also run llama.cpp on an F32 copy of the GGUF (made once, cached): isolates quantization",
    )
    ap.add_argument(
        "--random-composite",
        type=Path,
        default=None,
        help="folder: also check 2 random task adapters + random LC and LC++ (lab module vs engine expansion)",
    )
    args = ap.parse_args()
    torch.set_num_threads(2)
    adapters = []
    for a in args.adapter:
        path, _, scale = a.rpartition(":")
        p = Path(path)
        adapters.append((str(p / "adapter.gguf" if p.is_dir() else p), float(scale)))
    from lab.base import CACHE_DIR, default_gguf, sha256_file

    gguf = args.gguf or default_gguf()
    llama_ggufs = [gguf]
    if args.f32_control:
        f32 = CACHE_DIR / f"{sha256_file(gguf)[:12]}.f32.gguf"
        if not f32.exists():
            from lab.gguf_f32 import to_f32

            to_f32(str(gguf), str(f32) + ".tmp")
            Path(str(f32) + ".tmp").rename(f32)
        llama_ggufs.append(f32)
    result = run(gguf, args.positions, args.topk, adapters, llama_ggufs)
    if args.random_composite:
        for kind in ("lc", "lc++"):
            result += random_composite(
                args.random_composite, kind, args.positions, args.topk, gguf, llama_ggufs
            )
    print(json.dumps(result, indent=2))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
