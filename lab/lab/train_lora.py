"""Trains one single-task (or joint-expert) LoRA with PEFT and exports it in the engine's format.

    python -m lab.train_lora --task summarize --n-train 400 --steps 100 --run runs/summarize
    (run the same command again to resume; progress in runs/summarize/log.jsonl)

LoRA rank 16 (alpha 32) on all 7 projections; loss (and LM-head logits) only on target tokens.
At the end writes <run>/export/<id>/{adapter.gguf,manifest.json} (formats.md section 2).
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

import numpy as np
import torch

from lab import distributed
from lab.batching import encode
from lab.data import load_task
from lab.data.sources import SHIPPED
from lab.loop import LoopConfig, has_checkpoint, precision_for, train
from lab.lora import PEFT_TARGETS, LoraWeights
from lab.prompts import STOP_STRINGS, prompt_template


def add_common_args(ap: argparse.ArgumentParser) -> None:
    ap.add_argument("--base", default=None, help="base GGUF (default: the project's) or a HF checkpoint dir")
    ap.add_argument(
        "--device", choices=["cpu", "cuda"], default="cpu", help="under torchrun: cuda:LOCAL_RANK"
    )
    ap.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    ap.add_argument("--run", type=Path, required=True, help="run folder (checkpoints, log, export)")
    ap.add_argument(
        "--data",
        default=None,
        help="a named data set of the task (python -m lab.data sizes lists them; lab/TRAINING.md, "
        "'Next pack'); default: the shipped pack's data",
    )
    ap.add_argument("--n-train", type=int, default=400, help="training examples (seeded subset)")
    ap.add_argument("--n-dev", type=int, default=40, help="dev examples for the dev loss")
    ap.add_argument("--max-len", type=int, default=320)
    ap.add_argument("--max-target", type=int, default=96)
    ap.add_argument("--steps", type=int, default=100)
    ap.add_argument("--lr", type=float, default=2e-4)
    ap.add_argument("--batch-size", type=int, default=1, help="examples per forward pass (padded)")
    ap.add_argument(
        "--bucket-steps",
        type=int,
        default=16,
        help="with --batch-size > 1: sort the examples of this many steps by length into micro-batches "
        "(0: no bucketing)",
    )
    ap.add_argument("--grad-accum", type=int, default=4)
    ap.add_argument(
        "--precision",
        choices=["fp32", "bf16"],
        default="fp32",
        help="bf16: bfloat16 autocast for the training forward (about 1.5x faster on CPUs with AVX512-BF16)",
    )
    ap.add_argument("--eval-every", type=int, default=25)
    ap.add_argument("--save-every", type=int, default=10)
    ap.add_argument(
        "--stop-at",
        type=int,
        default=None,
        help="stop (checkpoint, summary, export) at this step; the schedule still spans --steps: a "
        "session's share of a long run, or an export of a copy of a run's ckpt.pt at its step",
    )
    ap.add_argument("--seed", type=int, default=0)


def loop_config(args) -> LoopConfig:
    precision = precision_for(args.precision, args.device)
    if precision != args.precision:
        print(
            f"--precision {args.precision} asked, but this CPU has no bfloat16 instructions (AVX512-BF16, AMX): "
            f"training in {precision} (emulated bf16 ran about 25x slower than fp32 on an AVX2 CPU)",
            flush=True,
        )
    return LoopConfig(
        steps=args.steps,
        lr=args.lr,
        batch_size=args.batch_size,
        grad_accum=args.grad_accum,
        eval_every=args.eval_every,
        save_every=args.save_every,
        seed=args.seed,
        device=args.device,
        bucket_steps=args.bucket_steps,
        precision=precision,
        stop_at=args.stop_at,
    )


def encode_split(
    tok, chain: str, split: str, n: int, seed: int, max_len: int, max_target: int, data: str | None = None
):
    try:
        examples = load_task(chain, split, data)
    except ValueError as error:
        raise SystemExit(str(error)) from error
    if not examples:
        raise SystemExit(f"no {split} examples for {chain!r} (teacher targets missing?)")
    rng = random.Random(seed)
    picked = rng.sample(examples, min(n, len(examples)))
    return [encode(tok, chain, e.input, e.target, e.id, max_len, max_target) for e in picked]


def base_meta(base) -> dict:
    """Fingerprint / architecture / tensor shapes of the GGUF the base was loaded from."""
    if base.gguf_path is None:
        return {}
    from lab.formats.fingerprint import base_structure

    return base_structure(base.gguf_path)


def main(argv=None) -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--task", required=True, help="task chain key, e.g. summarize or summarize+translate:fr")
    ap.add_argument("--rank", type=int, default=16)
    ap.add_argument("--alpha", type=float, default=32)
    ap.add_argument("--dropout", type=float, default=0.0)
    ap.add_argument("--dtype", choices=["f16", "f32"], default="f16", help="adapter.gguf tensor type")
    ap.add_argument("--id", default=None, help="adapter id (default gemma3-270m.<task file key>)")
    ap.add_argument(
        "--init-from",
        type=Path,
        default=None,
        help="an adapter folder (adapter.gguf) of the same rank and alpha to start from instead of PEFT's "
        "initialization: a further stage of training on other data (a resumed run keeps its own weights)",
    )
    add_common_args(ap)
    args = ap.parse_args(argv)
    args.device = distributed.init(args.device)  # torchrun: one process per device
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)

    from peft import LoraConfig, get_peft_model

    from lab.base import DEFAULT_BASE_NAME, load_base

    base = load_base(args.base, device=args.device)
    tok = base.tokenizer
    sizes = (args.max_len, args.max_target, args.data)
    train_data = encode_split(tok, args.task, "train", args.n_train, args.seed, *sizes)
    dev_data = encode_split(tok, args.task, "dev", args.n_dev, args.seed + 1, *sizes)
    cfg = LoraConfig(
        r=args.rank,
        lora_alpha=args.alpha,
        lora_dropout=args.dropout,
        target_modules=PEFT_TARGETS,
        bias="none",
    )
    model = get_peft_model(base.model, cfg)
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    started_from = args.run / "init_from.json"  # what a further stage started from, kept for its summary
    if args.init_from is not None and not has_checkpoint(args.run):
        from lab.base import sha256_file
        from lab.export.adapter import read_adapter_gguf

        start = args.init_from / "adapter.gguf"
        pairs = read_adapter_gguf(start)[0].into_peft(model)
        args.run.mkdir(parents=True, exist_ok=True)
        started_from.write_text(
            json.dumps({"adapter": str(args.init_from), "sha256": sha256_file(start)}) + "\n"
        )
        print(f"started from {args.init_from} ({pairs} module pairs)", flush=True)
    print(
        f"task {args.task}: {len(train_data)} train / {len(dev_data)} dev examples, "
        f"{sum(p.numel() for p in params.values())} trainable params",
        flush=True,
    )
    summary = train(model, params, train_data, dev_data, tok.pad_token_id, loop_config(args), args.run)
    summary.update(
        {
            "task": args.task,
            "rank": args.rank,
            "alpha": args.alpha,
            "max_len": args.max_len,
            "dtype": args.dtype,
            "data": args.data or SHIPPED,
        }
    )
    if started_from.exists():
        summary["init_from"] = json.loads(started_from.read_text())
    if not distributed.is_main():
        return summary
    (args.run / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")

    meta = base_meta(base)
    if meta:
        from lab.export.adapter import default_adapter_id, write_adapter_dir

        adapter_id = args.id or default_adapter_id(args.task)
        write_adapter_dir(
            LoraWeights.from_peft(model),
            args.run / "export" / adapter_id,
            adapter_id=adapter_id,
            task=args.task,
            prompt_template=prompt_template(args.task),
            stop_strings=STOP_STRINGS,
            fingerprint=meta["fingerprint"],
            arch=meta["arch"],
            base_name=DEFAULT_BASE_NAME,
            training=summary,
            base_tensors=meta["tensors"],
            dtype=np.float16 if args.dtype == "f16" else np.float32,
        )
        print(f"exported {args.run / 'export' / adapter_id}", flush=True)
    return summary


if __name__ == "__main__":
    main()
