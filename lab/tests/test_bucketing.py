"""Batched, length-bucketed training (lab/loop.py, lab/batching.py) computes what one example per
micro-batch computes, logs tokens/s, and stays resumable."""

import json
import random

import torch
from conftest import tiny_lora_model

from lab.batching import IGNORE, Encoded, collate, example_losses
from lab.loop import LoopConfig, StepBatches, train


def varied(n: int, seed: int) -> list[Encoded]:
    """Prompts of 3-30 random tokens, targets of 1-8: lengths that pad a lot when batched unsorted."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        prompt = [2, *(rng.randrange(10, 60) for _ in range(rng.randint(3, 30))), 4]
        target = [rng.randrange(10, 60) for _ in range(rng.randint(1, 8))] + [1]
        out.append(Encoded(f"ex{i}", prompt + target, [IGNORE] * len(prompt) + target))
    return out


def params_of(model):
    return {n: p for n, p in model.named_parameters() if p.requires_grad}


def test_a_padded_batch_gives_each_example_its_own_loss():
    model = tiny_lora_model()
    data = varied(6, 0)
    assert len({len(e.input_ids) for e in data}) > 3
    with torch.no_grad():
        batched, counts = example_losses(model, collate(data, 0))
        alone = [example_losses(model, collate([e], 0)) for e in data]
    assert counts.tolist() == [e.n_target for e in data]
    for (loss, _), b in zip(alone, batched, strict=True):
        assert abs(float(loss[0]) - float(b)) < 1e-5


def test_one_batch_of_four_makes_the_gradient_of_four_single_example_micro_batches(tmp_path, monkeypatch):
    """The loop's gradient at its optimizer step (recorded there; Adam's first step is sign-like, so
    float noise on near-zero gradients says nothing), for one step over the same four examples."""
    grads: list[list[torch.Tensor]] = []

    def record(self, closure=None):
        grads.append([p.grad.detach().clone() for g in self.param_groups for p in g["params"]])

    monkeypatch.setattr(torch.optim.AdamW, "step", record)
    data = varied(4, 1)  # one step takes all four, in either layout
    summaries = []
    for layout in ({"batch_size": 4, "grad_accum": 1}, {"batch_size": 1, "grad_accum": 4}):
        model = tiny_lora_model()
        cfg = LoopConfig(steps=1, lr=1e-2, warmup=1, eval_every=100, save_every=100, grad_clip=0, **layout)
        summaries.append(
            train(model, params_of(model), data, [], 0, cfg, tmp_path / str(layout["batch_size"]))
        )
    batched, single = grads
    assert max(float(g.abs().max()) for g in single) > 1e-2
    for g4, g1 in zip(batched, single, strict=True):
        assert torch.allclose(g4, g1, atol=1e-6, rtol=1e-4)
    assert abs(summaries[0]["final_train_loss"] - summaries[1]["final_train_loss"]) < 1e-5
    assert summaries[0]["tokens"] == summaries[1]["tokens"] == sum(len(e.input_ids) for e in data)


def test_buckets_cover_each_example_once_per_window_with_less_padding():
    lengths = [len(e.input_ids) for e in varied(64, 2)]
    cfg = LoopConfig(batch_size=4, grad_accum=2, bucket_steps=8)
    bucketed, plain = (
        StepBatches(lengths, cfg),
        StepBatches(lengths, LoopConfig(**{**cfg.__dict__, "bucket_steps": 0})),
    )
    for window in range(3):  # 8 steps x 8 examples = one epoch per window
        seen = [i for s in range(window * 8, window * 8 + 8) for mb in bucketed.of_step(s) for i in mb]
        assert sorted(seen) == list(range(64))

    def padding(batches):
        micro = [mb for s in range(24) for mb in batches.of_step(s)]
        real = sum(lengths[i] for mb in micro for i in mb)
        return 1 - real / sum(len(mb) * max(lengths[i] for i in mb) for mb in micro)

    assert padding(bucketed) < 0.5 * padding(plain), (padding(bucketed), padding(plain))
    again = StepBatches(lengths, cfg)  # what a resumed run computes
    assert [again.of_step(s) for s in (17, 3)] == [bucketed.of_step(17), bucketed.of_step(3)]
    # One example per micro-batch (the shipped pack's runs): the seeded shuffle itself, as before.
    single = StepBatches(lengths, LoopConfig(batch_size=1, grad_accum=4, bucket_steps=8))
    shuffle = list(range(64))
    random.Random(0).shuffle(shuffle)
    assert [mb for s in range(2) for mb in single.of_step(s)] == [[i] for i in shuffle[:8]]


def test_a_bucketed_run_resumes_to_the_same_parameters_and_logs_tokens_per_second(tmp_path):
    data, dev = varied(24, 3), varied(4, 4)
    cfg = LoopConfig(
        steps=6, lr=1e-2, warmup=1, batch_size=2, grad_accum=2, eval_every=3, save_every=2, bucket_steps=3
    )
    m1 = tiny_lora_model()
    p1 = params_of(m1)
    straight = train(m1, p1, data, dev, 0, cfg, tmp_path / "a")
    m2 = tiny_lora_model()
    train(m2, params_of(m2), data, dev, 0, LoopConfig(**{**cfg.__dict__, "stop_at": 4}), tmp_path / "b")
    m3 = tiny_lora_model()
    p3 = params_of(m3)
    resumed = train(m3, p3, data, dev, 0, cfg, tmp_path / "b")
    for k in p1:
        assert torch.allclose(p1[k], p3[k], atol=1e-6), k
    assert resumed["tokens"] == straight["tokens"] and resumed["target_tokens"] == straight["target_tokens"]
    # 6 steps x 4 examples = one epoch of the 24 examples
    assert straight["target_tokens"] == sum(e.n_target for e in data)
    assert straight["tokens"] == sum(len(e.input_ids) for e in data)
    log = [json.loads(x) for x in (tmp_path / "a/log.jsonl").read_text().splitlines()]
    steps = [r for r in log if "loss" in r]
    assert {"tok_s", "target_tok_s", "padding", "target_tokens"} <= set(steps[-1])
    assert all(r["tok_s"] > r["target_tok_s"] > 0 for r in steps)
    assert straight["tok_s"] > straight["target_tok_s"] > 0 and straight["train_s"] > 0


def test_bf16_autocast_trains_and_stays_near_the_float32_loss(tmp_path):
    data, dev = varied(32, 5), varied(8, 6)
    summaries = {}
    for precision in ("fp32", "bf16"):
        model = tiny_lora_model()
        cfg = LoopConfig(
            steps=20, lr=1e-2, warmup=2, batch_size=4, grad_accum=1, eval_every=20, precision=precision
        )
        summaries[precision] = train(model, params_of(model), data, dev, 0, cfg, tmp_path / precision)
    fp32, bf16 = summaries["fp32"], summaries["bf16"]
    assert bf16["precision"] == "bf16" and fp32["precision"] == "fp32"
    assert bf16["first_dev_loss"] == fp32["first_dev_loss"]  # the dev loss is float32 either way
    assert bf16["final_dev_loss"] < bf16["first_dev_loss"] - 0.1
    assert abs(bf16["first_train_loss"] - fp32["first_train_loss"]) < 0.02 * fp32["first_train_loss"]
    assert abs(bf16["final_dev_loss"] - fp32["final_dev_loss"]) < 0.05 * fp32["final_dev_loss"]


def test_the_precision_decides_the_matmul_dtype():
    import pytest

    from lab.loop import autocast

    linear, x = torch.nn.Linear(4, 4), torch.randn(2, 4)
    with autocast(LoopConfig(precision="bf16")):
        assert linear(x).dtype == torch.bfloat16
    with autocast(LoopConfig(precision="fp32")):
        assert linear(x).dtype == torch.float32
    with pytest.raises(ValueError, match="fp32 or bf16"):
        autocast(LoopConfig(precision="fp16"))


def test_a_cpu_without_bfloat16_instructions_trains_in_fp32(monkeypatch, capsys):
    import argparse

    import lab.loop
    from lab.loop import precision_for
    from lab.train_lora import add_common_args, loop_config

    assert precision_for("bf16", "cpu", cpu_has_bf16=False) == "fp32"
    assert precision_for("bf16", "cpu", cpu_has_bf16=True) == "bf16"
    assert precision_for("bf16", "cuda:0", cpu_has_bf16=False) == "bf16"
    assert precision_for("fp32", "cpu", cpu_has_bf16=True) == "fp32"

    ap = argparse.ArgumentParser()
    add_common_args(ap)
    args = ap.parse_args(["--precision", "bf16", "--device", "cpu", "--run", "unused"])
    monkeypatch.setattr(lab.loop, "cpu_multiplies_bf16", lambda: False)
    assert loop_config(args).precision == "fp32"
    assert "no bfloat16 instructions" in capsys.readouterr().out
    monkeypatch.setattr(lab.loop, "cpu_multiplies_bf16", lambda: True)
    assert loop_config(args).precision == "bf16"
