"""One process of the data-parallel check (tests/test_training.py): trains a tiny LoRA for a few
steps with lab.loop under whatever launcher started it and saves the trained parameters.
    python tests/dp_worker.py OUT          # one process
    torchrun --standalone --nproc_per_node 2 tests/dp_worker.py OUT
"""

import sys
from pathlib import Path

import torch
from conftest import tiny_lora_model
from test_training import copy_task

from lab import distributed
from lab.loop import LoopConfig, train

if __name__ == "__main__":
    out = Path(sys.argv[1])
    torch.set_num_threads(1)
    distributed.init("cpu")
    model = tiny_lora_model()  # the same initialisation in every process
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    cfg = LoopConfig(steps=3, lr=1e-2, warmup=1, batch_size=2, grad_accum=4, eval_every=3, save_every=3)
    summary = train(model, params, copy_task(32, 0), copy_task(6, 1), 0, cfg, out / "run")
    if distributed.is_main():
        torch.save(
            {"params": {k: v.detach() for k, v in params.items()}, "summary": summary}, out / "result.pt"
        )
