"""The training loop shared by train_lora.py and train_calibration.py (nanoGPT style).

Resumable: `ckpt.pt` in the run folder holds the step, the trainable parameters, the optimizer and
the log; starting the same command again continues from it. Progress goes to `log.jsonl` (one JSON
object per logged step) and stdout. Under torchrun the micro-batches of a step are shared among the
processes (lab/distributed.py); the first process logs and saves.
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
from lab.batching import Encoded, collate, target_loss


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


def lr_at(step: int, cfg: LoopConfig) -> float:
    if step < cfg.warmup:
        return cfg.lr * (step + 1) / cfg.warmup
    progress = (step - cfg.warmup) / max(1, cfg.steps - cfg.warmup)
    return cfg.lr * (0.1 + 0.9 * 0.5 * (1 + math.cos(math.pi * min(1.0, progress))))


@torch.no_grad()
def evaluate(model, data: list[Encoded], pad_id: int, cfg: LoopConfig) -> float:
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    starts = range(0, len(data), cfg.batch_size)
    for i in starts[distributed.rank() :: distributed.world()]:
        loss, n = target_loss(model, collate(data[i : i + cfg.batch_size], pad_id, cfg.device))
        total += float(loss) * n
        count += n
    model.train(was_training)
    sums = torch.tensor([total, count], dtype=torch.float64, device=cfg.device)
    distributed.sum_([sums])
    return float(sums[0] / max(1.0, float(sums[1])))


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
    ckpt_path, log_path = run_dir / "ckpt.pt", run_dir / "log.jsonl"
    opt = torch.optim.AdamW(
        list(params.values()), lr=cfg.lr, weight_decay=cfg.weight_decay, betas=(0.9, 0.99)
    )
    step, history, elapsed_before, tokens_seen = 0, [], 0.0, 0
    if ckpt_path.exists():
        ck = torch.load(ckpt_path, map_location=cfg.device, weights_only=False)
        with torch.no_grad():
            for k, v in ck["params"].items():
                params[k].copy_(v)
        opt.load_state_dict(ck["optimizer"])
        step, history = ck["step"], ck["history"]
        elapsed_before, tokens_seen = ck["elapsed"], ck["tokens"]
        print(f"resumed from step {step}", flush=True)

    order: list[int] = []
    epoch = 0
    per_step = cfg.batch_size * cfg.grad_accum

    def batch_indices(s: int) -> list[int]:
        nonlocal order, epoch
        need = (s + 1) * per_step
        while len(order) < need:
            perm = list(range(len(train_data)))
            random.Random(cfg.seed * 1000 + epoch).shuffle(perm)
            order += perm
            epoch += 1
        return order[s * per_step : need]

    def save() -> None:
        tmp = ckpt_path.with_suffix(".tmp")
        torch.save(
            {
                "step": step,
                "params": {k: v.detach().cpu() for k, v in params.items()},
                "optimizer": opt.state_dict(),
                "history": history,
                "elapsed": elapsed_before + (time.time() - t_start),
                "tokens": tokens_seen,
            },
            tmp,
        )
        tmp.replace(ckpt_path)

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
            g["lr"] = lr_at(step, cfg)
        idx = batch_indices(step)
        loss_sum, n_tok = 0.0, 0
        for j in range(distributed.rank(), cfg.grad_accum, distributed.world()):
            chunk = [train_data[i] for i in idx[j * cfg.batch_size : (j + 1) * cfg.batch_size]]
            loss, n = target_loss(model, collate(chunk, pad_id, cfg.device))
            (loss / cfg.grad_accum).backward()
            loss_sum += float(loss.detach())
            n_tok += sum(len(e.input_ids) for e in chunk)
        if distributed.world() > 1:
            grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params.values()]
            stats = torch.tensor([loss_sum, n_tok], dtype=torch.float64, device=cfg.device)
            distributed.sum_([*grads, stats])
            for p, g in zip(params.values(), grads, strict=True):
                p.grad = g
            loss_sum, n_tok = float(stats[0]), int(stats[1])
        if cfg.grad_clip:
            torch.nn.utils.clip_grad_norm_(list(params.values()), cfg.grad_clip)
        opt.step()
        opt.zero_grad(set_to_none=True)
        step += 1
        tokens_seen += n_tok
        dt = time.time() - t0
        rec = {
            "step": step,
            "loss": loss_sum / cfg.grad_accum,
            "lr": lr_at(step - 1, cfg),
            "tokens": tokens_seen,
            "tok_s": n_tok / dt,
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
        "time_s": round(elapsed_before + time.time() - t_start, 1),
        "lr": cfg.lr,
        "seed": cfg.seed,
    }
