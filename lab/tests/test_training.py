"""Smoke training on a tiny random gemma3-architecture model: the loss falls; runs resume."""

import json
import random

import pytest
import torch
from conftest import random_lora, tiny_lora_model, tiny_model

from lab.batching import IGNORE, Encoded
from lab.calibration import Calibration, attach
from lab.loop import LoopConfig, train
from lab.lora import PEFT_TARGETS, LoraWeights


def copy_task(n: int, seed: int) -> list[Encoded]:
    """prompt: BOS, 6 random tokens, separator 4; target: the first 2 of them, a fixed phrase, then 1."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        xs = [rng.randrange(10, 30) for _ in range(6)]
        prompt = [2, *xs, 4]
        target = [*xs[:2], 40, 41, 42, 43, 1]
        out.append(Encoded(f"ex{i}", prompt + target, [IGNORE] * len(prompt) + target))
    return out


def test_lora_training_loss_falls_and_exports(tmp_path):
    from peft import LoraConfig, get_peft_model

    model = get_peft_model(tiny_model(), LoraConfig(r=16, lora_alpha=32, target_modules=PEFT_TARGETS))
    params = {n: p for n, p in model.named_parameters() if p.requires_grad}
    assert params and all("lora_" in n for n in params)
    cfg = LoopConfig(steps=40, lr=1e-2, warmup=2, batch_size=4, grad_accum=1, eval_every=20, save_every=20)
    summary = train(model, params, copy_task(64, 0), copy_task(8, 1), 0, cfg, tmp_path / "run")
    assert summary["final_dev_loss"] < summary["first_dev_loss"] - 0.3, summary
    assert summary["final_train_loss"] < summary["first_train_loss"]
    log = [json.loads(x) for x in (tmp_path / "run/log.jsonl").read_text().splitlines()]
    assert {"step", "loss", "tok_s", "elapsed_s", "tokens"} <= set(log[-1])
    lw = LoraWeights.from_peft(model)
    assert lw.rank == 16 and lw.alpha == 32 and len(lw.pairs) == 3 * 7
    a, b = lw.pairs[(0, "attn_q")]
    assert a.shape == (16, 32) and b.shape == (2 * 16, 16)


def test_training_resumes_from_checkpoint(tmp_path):
    from peft import LoraConfig, get_peft_model

    def fresh():
        m = get_peft_model(tiny_model(), LoraConfig(r=4, lora_alpha=8, target_modules=PEFT_TARGETS))
        return m, {n: p for n, p in m.named_parameters() if p.requires_grad}

    data = copy_task(32, 0)
    cfg = LoopConfig(steps=6, lr=1e-2, warmup=1, batch_size=2, grad_accum=2, eval_every=100, save_every=3)
    m1, p1 = fresh()
    train(m1, p1, data, [], 0, cfg, tmp_path / "a")  # straight through
    m2, p2 = fresh()
    train(m2, p2, data, [], 0, LoopConfig(**{**cfg.__dict__, "stop_at": 4}), tmp_path / "b")  # "killed" at 4
    m3, p3 = fresh()
    s = train(m3, p3, data, [], 0, cfg, tmp_path / "b")  # resumes at step 4
    assert s["steps"] == 6
    for k in p1:
        assert torch.allclose(p1[k], p3[k], atol=1e-6), k


def test_a_later_session_resumes_from_the_carry_alone(tmp_path):
    """A fresh machine has the committed carry.pt, not the local ckpt.pt: the run continues from the
    carry's step with a fresh optimizer that warms up again, and ends where a straight run ends."""
    from peft import LoraConfig, get_peft_model

    def fresh():
        m = get_peft_model(tiny_model(), LoraConfig(r=4, lora_alpha=8, target_modules=PEFT_TARGETS))
        return m, {n: p for n, p in m.named_parameters() if p.requires_grad}

    data, dev = copy_task(64, 0), copy_task(8, 1)
    cfg = LoopConfig(steps=40, lr=1e-2, warmup=4, batch_size=4, grad_accum=1, eval_every=40, save_every=5)
    m1, p1 = fresh()
    straight = train(m1, p1, data, dev, 0, cfg, tmp_path / "a")
    m2, p2 = fresh()
    train(m2, p2, data, dev, 0, LoopConfig(**{**cfg.__dict__, "stop_at": 20}), tmp_path / "b")
    run = tmp_path / "b"
    carry = torch.load(run / "carry.pt", weights_only=False)
    assert carry["step"] == 20 and "optimizer" not in carry
    assert all(v.dtype == torch.float16 for v in carry["params"].values())
    assert (run / "carry.pt").stat().st_size < (run / "ckpt.pt").stat().st_size / 2
    (run / "ckpt.pt").unlink()  # what a later session's clone lacks
    m3, p3 = fresh()
    resumed = train(m3, p3, data, dev, 0, cfg, run)
    assert resumed["steps"] == 40 and resumed["tokens"] == straight["tokens"]
    lrs = {
        r["step"]: r["lr"] for r in map(json.loads, (run / "log.jsonl").read_text().splitlines()) if "lr" in r
    }
    assert lrs[21] < lrs[20] / 3 and lrs[24] > lrs[21]  # warms up again after the fresh optimizer
    assert resumed["final_dev_loss"] < straight["first_dev_loss"] - 0.3
    assert abs(resumed["final_dev_loss"] - straight["final_dev_loss"]) < 0.25, (resumed, straight)
    assert not (run / "carry.pt").exists()  # finished: the exported adapter is what stays


def test_a_carry_ahead_of_the_local_checkpoint_wins(tmp_path):
    from peft import LoraConfig, get_peft_model

    m = get_peft_model(tiny_model(), LoraConfig(r=4, lora_alpha=8, target_modules=PEFT_TARGETS))
    p = {n: q for n, q in m.named_parameters() if q.requires_grad}
    cfg = LoopConfig(steps=12, lr=1e-2, warmup=1, batch_size=2, grad_accum=1, eval_every=100, save_every=3)
    run = tmp_path / "r"
    train(m, p, copy_task(16, 0), [], 0, LoopConfig(**{**cfg.__dict__, "stop_at": 3}), run)
    old = (run / "ckpt.pt").read_bytes()
    train(m, p, copy_task(16, 0), [], 0, LoopConfig(**{**cfg.__dict__, "stop_at": 6}), run)
    (run / "ckpt.pt").write_bytes(old)  # this machine's checkpoint is older than the pulled carry
    s = train(m, p, copy_task(16, 0), [], 0, LoopConfig(**{**cfg.__dict__, "stop_at": 9}), run)
    log = [json.loads(x) for x in (run / "log.jsonl").read_text().splitlines()]
    assert [r["step"] for r in log if "loss" in r] == list(range(1, 10))  # 4..6 not trained twice
    assert s["steps"] == 9


def test_calibration_training_loss_falls(tmp_path):
    model = tiny_model()
    adapters = [(random_lora(model, 4, 8, seed=1), 1.0), (random_lora(model, 4, 8, seed=2), 1.0)]
    cal = Calibration.for_model(model, "lc++")
    attach(model, adapters, cal)
    params = dict(cal.named_parameters())
    cfg = LoopConfig(steps=30, lr=1e-2, warmup=2, batch_size=4, grad_accum=1, eval_every=30, save_every=30)
    summary = train(model, params, copy_task(64, 0), copy_task(8, 1), 0, cfg, tmp_path / "cal")
    assert summary["final_dev_loss"] < summary["first_dev_loss"], summary


def test_data_parallel_under_torchrun_computes_the_single_process_update(tmp_path):
    """2 gloo processes under torchrun (the same code path as NCCL on GPUs) vs 1 process, same data."""
    import subprocess
    import sys
    from pathlib import Path

    tests = Path(__file__).parent
    torchrun = Path(sys.executable).parent / "torchrun"
    subprocess.run([sys.executable, "dp_worker.py", str(tmp_path / "one")], cwd=tests, check=True)
    subprocess.run(
        [str(torchrun), "--standalone", "--nproc_per_node", "2", "dp_worker.py", str(tmp_path / "two")],
        cwd=tests,
        check=True,
        timeout=300,
    )
    one = torch.load(tmp_path / "one/result.pt")
    two = torch.load(tmp_path / "two/result.pt")
    assert one["params"].keys() == two["params"].keys()
    initial = {n: p.detach() for n, p in tiny_lora_model().named_parameters() if p.requires_grad}
    assert initial.keys() == one["params"].keys()
    moved = max(float((one["params"][k] - v0).abs().max()) for k, v0 in initial.items())
    assert moved > 1e-3  # the parameters did train
    for k, v in one["params"].items():
        assert torch.allclose(v, two["params"][k], atol=1e-5), k
    assert abs(one["summary"]["final_dev_loss"] - two["summary"]["final_dev_loss"]) < 1e-5
    assert one["summary"]["tokens"] == two["summary"]["tokens"]


def test_a_further_stage_starts_from_an_adapters_weights():
    """lab.train_lora --init-from: the GGUF adapter's A and B go back into a fresh PEFT model."""
    from peft import LoraConfig, get_peft_model

    trained = LoraWeights.from_peft(tiny_lora_model(rank=4))
    fresh = get_peft_model(tiny_model(), LoraConfig(r=4, lora_alpha=8, target_modules=PEFT_TARGETS))
    assert trained.into_peft(fresh) == len(trained.pairs) == 3 * 7
    again = LoraWeights.from_peft(fresh)
    for key, (a, b) in trained.pairs.items():
        assert torch.equal(again.pairs[key][0], a) and torch.equal(again.pairs[key][1], b), key
    other = get_peft_model(tiny_model(), LoraConfig(r=8, lora_alpha=16, target_modules=PEFT_TARGETS))
    with pytest.raises(ValueError, match="rank 4"):
        trained.into_peft(other)
