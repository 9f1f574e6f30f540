"""Data parallelism under the standard launchers: `torchrun --nproc_per_node N -m lab.train_lora ...`
(or `accelerate launch`, which sets the same environment). One process per device; each takes every
N-th micro-batch of a step, and the trainable parameters' gradients are summed across processes
before the optimizer step. Since the loop scales each micro-batch loss by 1 / grad_accum, N processes
compute exactly the update one process computes with the same --grad-accum (up to summation order).
NCCL on CUDA, gloo on CPU. Without the launcher's variables everything here is a no-op.
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist


def init(device: str) -> str:
    """Joins the launcher's process group if there is one; returns this process's device."""
    if int(os.environ.get("WORLD_SIZE", "1")) > 1 and not dist.is_initialized():
        dist.init_process_group(backend="nccl" if device == "cuda" else "gloo")
    if device == "cuda" and dist.is_initialized():
        local = int(os.environ.get("LOCAL_RANK", "0"))
        torch.cuda.set_device(local)
        return f"cuda:{local}"
    return device


def rank() -> int:
    return dist.get_rank() if dist.is_initialized() else 0


def world() -> int:
    return dist.get_world_size() if dist.is_initialized() else 1


def is_main() -> bool:
    return rank() == 0


def sum_(tensors: list[torch.Tensor]) -> None:
    """In place: every tensor becomes its sum over the processes."""
    if world() > 1:
        for t in tensors:
            dist.all_reduce(t, op=dist.ReduceOp.SUM)


def barrier() -> None:
    if world() > 1:
        dist.barrier()
