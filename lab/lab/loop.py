"""The training loop shared by train_lora.py and train_calibration.py (nanoGPT style).

Resumable: `ckpt.pt` in the run folder holds the step, the trainable parameters, the optimizer and
the log; starting the same command again continues from it. `carry.pt`, written beside it, is the part
a later session on a fresh machine gets (lab/next-pack/ commits it; ckpt.pt stays local): the
parameters in float16, the step and the log, no optimizer state (for a rank-16 adapter 7.6 MB
instead of 46). A run that finds only a carry (or a carry ahead of its ckpt.pt) resumes from it with
a fresh AdamW whose learning rate warms up again over `warmup` steps; it is deleted when the run
reaches its last step. Progress goes to `log.jsonl` (one JSON
object per logged step) and stdout. Under torchrun the micro-batches of a step are shared among the
processes (lab/distributed.py); the first process logs and saves.

A step takes batch_size x grad_accum examples of a seeded per-epoch shuffle; every example weighs
the same (its mean target-token loss / examples per step), however they are batched. With
batch_size > 1 the examples of `bucket_steps` consecutive steps are sorted by length and cut into
micro-batches (length bucketing: little padding), whose order is then shuffled; with batch_size 1
the order is the shuffle itself (the shipped pack's runs). Each step logs all-tokens/s and
target-tokens/s, and the summary their run totals over the training steps (dev evaluations apart).
precision "bf16" runs the training forward under bfloat16 autocast (1.55x the tokens/s of float32
on this machine's AVX512-BF16 CPU, python -m lab.speed); parameters, optimizer and the dev loss stay
float32.
"""

from __future__ import annotations

import json
import math
import random
import time
from dataclasses import dataclass
from pathlib import Path

import torch

from lab import distributed
from lab.batching import Encoded, collate, example_losses, target_loss


@dataclass
class LoopConfig:
    steps: int = 200
    lr: float = 2e-4
    warmup: int = 10
    weight_decay: float = 0.0
    batch_size: int = 1
    grad_accum: int = 4
    grad_clip: float = 1.0
    eval_every: int = 50
    save_every: int = 25
    log_every: int = 1
    seed: int = 0
    device: str = "cpu"
    stop_at: int | None = None  # checkpoint and return at this step (the schedule still spans `steps`)
    bucket_steps: int = 16  # with batch_size > 1: steps whose examples are sorted by length together
    precision: str = "fp32"  # fp32 | bf16 (autocast: matmuls in bfloat16, parameters and optimizer fp32)


def cpu_multiplies_bf16() -> bool:
    """Whether this CPU has bfloat16 matmul instructions (AVX512-BF16 or AMX), as oneDNN sees it."""
    check = getattr(torch.ops.mkldnn, "_is_mkldnn_bf16_supported", None)
    return True if check is None else bool(check())


def precision_for(requested: str, device: str, cpu_has_bf16: bool | None = None) -> str:
    """The precision a run can use here: bf16 autocast asked of a CPU without bfloat16 instructions
    runs fp32 instead. PyTorch emulates bf16 there, and a calibration run went from 106 to 2.3
    tokens/s (a 2-core AVX2 EPYC, 2026-12-06: 100 steps would have taken 11 hours)."""
    if requested != "bf16" or str(device).startswith("cuda"):
        return requested
    has_bf16 = cpu_multiplies_bf16() if cpu_has_bf16 is None else cpu_has_bf16
    return "bf16" if has_bf16 else "fp32"


def autocast(cfg: LoopConfig):
    """The forward pass's precision: bfloat16 autocast (on CPUs with AVX512-BF16 / AMX and on GPUs
    about twice the matmul throughput of float32) or none."""
    if cfg.precision not in ("fp32", "bf16"):
        raise ValueError(f"precision must be fp32 or bf16, got {cfg.precision!r}")
    device = "cuda" if str(cfg.device).startswith("cuda") else "cpu"
    return torch.autocast(device, dtype=torch.bfloat16, enabled=cfg.precision == "bf16")


def lr_at(step: int, cfg: LoopConfig, rewarm_from: int | None = None) -> float:
    """Linear warmup, then cosine to 0.1 x lr; `rewarm_from`: the step a fresh optimizer took over
    (a resume from a carry), from which the rate warms up again to the schedule's."""
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    rate = cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))
    if rewarm_from is not None and step - rewarm_from < cfg.warmup:
        rate *= (step - rewarm_from + 1) / cfg.warmup
    return rate


@torch.no_grad()
def evaluate(model, data: list[Encoded], pad_id: int, cfg: LoopConfig) -> float:
    """Mean target-token loss over `data`, always in float32 (comparable across runs and precisions)."""
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    if cfg.batch_size > 1:  # the mean over tokens does not depend on the order: batch by length
        data = sorted(data, key=lambda e: len(e.input_ids))
    starts = range(0, len(data), cfg.batch_size)
    for i in starts[distributed.rank() :: distributed.world()]:
        loss, n = target_loss(model, collate(data[i : i + cfg.batch_size], pad_id, cfg.device))
        total += float(loss) * n
        count += n
    model.train(was_training)
    sums = torch.tensor([total, count], dtype=torch.float64, device=cfg.device)
    distributed.sum_([sums])
    return float(sums[0] / max(1.0, float(sums[1])))


class StepBatches:
    """The micro-batches (example indices) of every step, a pure function of the step number, the
    data's lengths and the config: a resumed run continues with exactly the batches it would have
    had. Epochs are seeded shuffles, concatenated; a step takes the next batch_size x grad_accum of
    them. With batch_size > 1, each window of `bucket_steps` steps (fewer when that is more than an
    epoch) sorts its examples by length, cuts them into micro-batches and shuffles those (seeded),
    so a micro-batch pads little."""

    def __init__(self, lengths: list[int], cfg: LoopConfig):
        self.lengths, self.cfg = lengths, cfg
        self.per_step = cfg.batch_size * cfg.grad_accum
        self.bucketed = cfg.batch_size > 1 and cfg.bucket_steps > 0
        # A window holds at most one epoch's worth of examples (no example twice in it).
        self.window_steps = max(1, min(cfg.bucket_steps, len(lengths) // self.per_step))
        self.order: list[int] = []
        self.epochs = 0

    def _examples(self, start: int, stop: int) -> list[int]:
        while len(self.order) < stop:
            perm = list(range(len(self.lengths)))
            random.Random(self.cfg.seed * 1000 + self.epochs).shuffle(perm)
            self.order += perm
            self.epochs += 1
        return self.order[start:stop]

    def of_step(self, step: int) -> list[list[int]]:
        b, accum = self.cfg.batch_size, self.cfg.grad_accum
        if not self.bucketed:
            idx = self._examples(step * self.per_step, (step + 1) * self.per_step)
            return [idx[j * b : (j + 1) * b] for j in range(accum)]
        window, at = divmod(step, self.window_steps)
        size = self.window_steps * self.per_step
        idx = sorted(self._examples(window * size, (window + 1) * size), key=lambda i: (self.lengths[i], i))
        micro = [idx[k : k + b] for k in range(0, len(idx), b)]
        random.Random(f"{self.cfg.seed}:buckets:{window}").shuffle(micro)
        return micro[at * accum : (at + 1) * accum]


def _save_atomic(obj: dict, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    torch.save(obj, tmp)
    tmp.replace(path)


def has_checkpoint(run_dir: Path) -> bool:
    """Whether a run in `run_dir` has begun (train() would resume it)."""
    return (run_dir / "ckpt.pt").exists() or (run_dir / "carry.pt").exists()


def _newest_checkpoint(ckpt_path: Path, carry_path: Path, device: str) -> dict | None:
    """ckpt.pt (exact) unless a carry from a later step is there (a later session's share of the run)."""
    found = [
        torch.load(p, map_location=device, weights_only=False) for p in (ckpt_path, carry_path) if p.exists()
    ]
    if not found:
        return None
    newest = max(c["step"] for c in found)
    return next(c for c in found if c["step"] == newest)  # ckpt.pt first: at the same step it is exact


def train(
    model: torch.nn.Module,
    params: dict[str, torch.nn.Parameter],
    train_data: list[Encoded],
    dev_data: list[Encoded],
    pad_id: int,
    cfg: LoopConfig,
    run_dir: Path,
) -> dict:
    """Trains `params` (everything else must be frozen); returns a summary for manifests."""
    if cfg.grad_accum % distributed.world():
        raise ValueError(
            f"--grad-accum {cfg.grad_accum} must be a multiple of the {distributed.world()} processes"
        )
    main = distributed.is_main()
    run_dir.mkdir(parents=True, exist_ok=True)
    ckpt_path, carry_path, log_path = run_dir / "ckpt.pt", run_dir / "carry.pt", run_dir / "log.jsonl"
    opt = torch.optim.AdamW(
        list(params.values()), lr=cfg.lr, weight_decay=cfg.weight_decay, betas=(0.9, 0.99)
    )
    step, history, elapsed_before, tokens_seen = 0, [], 0.0, 0
    target_seen, train_s = 0, 0.0  # target tokens; seconds in training steps (evaluations apart)
    rewarm_from = None
    ck = _newest_checkpoint(ckpt_path, carry_path, cfg.device)
    if ck is not None:
        with torch.no_grad():
            for k, v in ck["params"].items():
                params[k].copy_(v)
        step, history = ck["step"], ck["history"]
        elapsed_before, tokens_seen = ck["elapsed"], ck["tokens"]
        target_seen, train_s = ck.get("target_tokens", 0), ck.get("train_s", 0.0)
        if "optimizer" in ck:
            opt.load_state_dict(ck["optimizer"])
            rewarm_from = ck.get("rewarm_from")
            print(f"resumed from step {step}", flush=True)
        else:
            rewarm_from = step
            print(f"resumed from the carry at step {step} (fresh optimizer, warming up again)", flush=True)

    per_step = cfg.batch_size * cfg.grad_accum
    batches = StepBatches([len(e.input_ids) for e in train_data], cfg)

    def save() -> None:
        state = {
            "step": step,
            "history": history,
            "elapsed": elapsed_before + (time.time() - t_start),
            "tokens": tokens_seen,
            "target_tokens": target_seen,
            "train_s": train_s,
            "rewarm_from": rewarm_from,
        }
        params_now = {k: v.detach().cpu() for k, v in params.items()}
        _save_atomic({**state, "params": params_now, "optimizer": opt.state_dict()}, ckpt_path)
        if step >= cfg.steps:
            carry_path.unlink(missing_ok=True)
        else:
            _save_atomic({**state, "params": {k: v.half() for k, v in params_now.items()}}, carry_path)

    model.train()
    t_start = time.time()

    def log(rec: dict) -> None:
        if not main:
            return
        print(json.dumps(rec), flush=True)
        with open(log_path, "a", encoding="utf-8") as f:
            f.write(json.dumps(rec) + "\n")

    if step == 0 and dev_data and not any(h.get("step") == 0 for h in history):
        init = {"step": 0, "dev_loss": evaluate(model, dev_data, pad_id, cfg)}
        history.append(init)
        log(init)
    end = min(cfg.steps, cfg.stop_at) if cfg.stop_at else cfg.steps
    while step < end:
        t0 = time.time()
        for g in opt.param_groups:
            g["lr"] = lr_at(step, cfg, rewarm_from)
        micro = batches.of_step(step)
        loss_sum, n_tok, n_target, n_padded = 0.0, 0, 0, 0
        for j in range(distributed.rank(), cfg.grad_accum, distributed.world()):
            chunk = [train_data[i] for i in micro[j]]
            with autocast(cfg):
                losses, counts = example_losses(model, collate(chunk, pad_id, cfg.device))
            (losses.sum() / per_step).backward()
            loss_sum += float(losses.detach().sum())
            n_tok += sum(len(e.input_ids) for e in chunk)
            n_target += int(counts.sum())
            n_padded += len(chunk) * max(len(e.input_ids) for e in chunk)
        if distributed.world() > 1:
            grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params.values()]
            stats = torch.tensor(
                [loss_sum, n_tok, n_target, n_padded], dtype=torch.float64, device=cfg.device
            )
            distributed.sum_([*grads, stats])
            for p, g in zip(params.values(), grads, strict=True):
                p.grad = g
            loss_sum, n_tok, n_target, n_padded = float(stats[0]), int(stats[1]), int(stats[2]), int(stats[3])
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(list(params.values()), cfg.grad_clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
        step += 1
        dt = time.time() - t0
        tokens_seen += n_tok
        target_seen += n_target
        train_s += dt
        rec = {
            "step": step,
            "loss": loss_sum / per_step,
            "lr": lr_at(step - 1, cfg, rewarm_from),
            "tokens": tokens_seen,
            "target_tokens": target_seen,
            "tok_s": round(n_tok / dt, 1),
            "target_tok_s": round(n_target / dt, 1),
            "padding": round(1 - n_tok / n_padded, 3),
            "elapsed_s": round(elapsed_before + time.time() - t_start, 1),
        }
        if dev_data and (step % cfg.eval_every == 0 or step == cfg.steps):
            rec["dev_loss"] = evaluate(model, dev_data, pad_id, cfg)
        history.append(rec)
        if step % cfg.log_every == 0 or "dev_loss" in rec or step == cfg.steps:
            log(rec)
        if main and (step % cfg.save_every == 0 or step == end):
            save()
    distributed.barrier()
    trained = [h for h in history if "loss" in h]
    last = trained[-min(10, len(trained)) :]
    dev = [h["dev_loss"] for h in history if "dev_loss" in h]
    return {
        "steps": step,
        "examples_per_step": per_step,
        "train_examples": len(train_data),
        "dev_examples": len(dev_data),
        "final_train_loss": sum(h["loss"] for h in last) / max(1, len(last)),
        "first_train_loss": trained[0]["loss"] if trained else None,
        "final_dev_loss": dev[-1] if dev else None,
        "first_dev_loss": dev[0] if dev else None,
        "tokens": tokens_seen,
        "target_tokens": target_seen,
        "train_s": round(train_s, 1),
        "tok_s": round(tokens_seen / train_s, 1) if train_s else None,
        "target_tok_s": round(target_seen / train_s, 1) if train_s else None,
        "batch_size": cfg.batch_size,
        "precision": cfg.precision,
        "time_s": round(elapsed_before + time.time() - t_start, 1),
        "lr": cfg.lr,
        "seed": cfg.seed,
    }
