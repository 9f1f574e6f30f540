"""Export round trips (gguf-py reads back what was written) against docs/formats.md."""

import json
import re

import numpy as np
import pytest
import torch
from conftest import random_lora
from gguf import GGUFReader

from lab.base import sha256_file
from lab.calibration import Calibration
from lab.export import (
    calibration_filename,
    read_adapter_gguf,
    read_calibration_gguf,
    write_adapter_dir,
    write_calibration_gguf,
)
from lab.lora import MODULE_TYPES
from lab.prompts import STOP_STRINGS, prompt_template

FP = "ab" * 32


def base_tensors(model):
    """What the base GGUF would hold for the tiny model: blk.<l>.<m>.weight with ne {n_in, n_out}."""
    from lab.lora import GGUF_TO_HF, decoder_layers

    out = {}
    for l, layer in enumerate(decoder_layers(model)):
        for m in MODULE_TYPES:
            lin = layer.get_submodule(GGUF_TO_HF[m])
            out[f"blk.{l}.{m}.weight"] = [lin.in_features, lin.out_features]
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float16])
def test_adapter_round_trip(model, tmp_path, dtype):
    lw = random_lora(model, rank=16, alpha=32, seed=5)
    manifest_path = write_adapter_dir(
        lw,
        tmp_path / "gemma3-270m.summarize",
        adapter_id="gemma3-270m.summarize",
        task="summarize",
        prompt_template=prompt_template("summarize"),
        stop_strings=STOP_STRINGS,
        fingerprint=FP,
        arch="gemma3",
        base_name="tiny",
        training={"steps": 1},
        base_tensors=base_tensors(model),
        dtype=dtype,
    )
    manifest = json.loads(manifest_path.read_text())
    gguf_path = tmp_path / "gemma3-270m.summarize/adapter.gguf"
    assert manifest["sha256"] == sha256_file(gguf_path)
    assert manifest["rank"] == 16 and manifest["alpha"] == 32 and manifest["formatVersion"] == 1
    assert manifest["targetModules"] == list(MODULE_TYPES)
    assert manifest["promptTemplate"].count("{input}") == 1
    assert manifest["base"] == {"fingerprint": FP, "name": "tiny"}

    reader = GGUFReader(str(gguf_path))
    names = {t.name: [int(d) for d in t.shape] for t in reader.tensors}
    want = "F32" if dtype == np.float32 else "F16"
    assert {t.tensor_type.name for t in reader.tensors} == {want}
    assert len(names) == 2 * len(lw.pairs)
    assert names["blk.0.attn_q.weight.lora_a"] == [32, 16]  # ne = {n_in, r}
    assert names["blk.0.attn_q.weight.lora_b"] == [16, 32]  # ne = {r, n_out}
    assert names["blk.2.ffn_down.weight.lora_a"] == [48, 16]
    assert all(re.fullmatch(r"blk\.\d+\.\w+\.weight\.lora_[ab]", n) for n in names)
    back, meta = read_adapter_gguf(gguf_path)
    assert meta == {
        "general.type": "adapter",
        "general.architecture": "gemma3",
        "adapter.type": "lora",
        "adapter.lora.alpha": 32.0,
    }
    assert back.rank == 16 and back.alpha == 32.0 and set(back.pairs) == set(lw.pairs)
    for k, (a, b) in lw.pairs.items():
        if dtype == np.float16:  # F16 export = the F32 weights rounded to half precision
            a, b = a.half().float(), b.half().float()
        assert torch.equal(back.pairs[k][0], a) and torch.equal(back.pairs[k][1], b)


def test_adapter_validation(model, tmp_path):
    lw = random_lora(model, rank=16, alpha=32, seed=5)
    bad = base_tensors(model)
    bad["blk.0.attn_q.weight"] = [32, 33]
    with pytest.raises(ValueError, match="ne"):
        write_adapter_dir(
            lw, tmp_path / "x", adapter_id="x", task="summarize", prompt_template="{input}", fingerprint=FP,
            arch="gemma3", base_name="t", base_tensors=bad,
        )  # fmt: skip
    lw.pairs[(0, "attn_q")][0][0, 0] = float("nan")
    with pytest.raises(ValueError, match="non-finite"):
        write_adapter_dir(
            lw, tmp_path / "y", adapter_id="y", task="summarize", prompt_template="{input}", fingerprint=FP,
            arch="gemma3", base_name="t",
        )  # fmt: skip
    with pytest.raises(ValueError, match="id"):
        write_adapter_dir(
            lw, tmp_path / "z", adapter_id="Bad Id", task="summarize", prompt_template="{input}", fingerprint=FP,
            arch="gemma3", base_name="t",
        )  # fmt: skip


@pytest.mark.parametrize("kind", ["lc", "lc++"])
def test_calibration_round_trip(model, tmp_path, kind):
    cal = Calibration.for_model(model, kind)
    with torch.no_grad():
        for p in cal.parameters():
            p.normal_()
    chain = "summarize+translate:fr"
    name = calibration_filename(chain, kind)
    assert name == {"lc": "summarize+translate-fr.lc.gguf", "lc++": "summarize+translate-fr.lcpp.gguf"}[kind]
    path = write_calibration_gguf(
        cal,
        tmp_path / FP[:12] / name,
        arch="gemma3",
        chain=chain,
        base_fingerprint=FP,
        adapter_ids=["gemma3-270m.summarize", "gemma3-270m.translate-fr"],
        adapter_sha256=["11" * 32, "22" * 32],
        merge_weights=[1.0, 0.75],
        prompt_template=prompt_template(chain),
        stop_strings=STOP_STRINGS,
        training={"steps": 3},
    )
    back, meta = read_calibration_gguf(path)
    assert meta["general.type"] == "calibration"
    assert meta["general.architecture"] == "gemma3"
    assert meta["calibration.format_version"] == 1
    assert meta["calibration.kind"] == kind
    assert meta["calibration.chain"] == chain
    assert meta["calibration.base_fingerprint"] == FP
    assert meta["calibration.adapter_ids"] == ["gemma3-270m.summarize", "gemma3-270m.translate-fr"]
    assert meta["calibration.adapter_sha256"] == ["11" * 32, "22" * 32]
    assert np.allclose(meta["calibration.merge_weights"], [1.0, 0.75])
    assert meta["calibration.rank"] == (1 if kind == "lc" else 4)
    assert meta["calibration.prompt_template"] == prompt_template(chain)
    assert meta["calibration.stop_strings"] == STOP_STRINGS
    assert json.loads(meta["calibration.training"]) == {"steps": 3}
    reader = GGUFReader(str(path))
    ne = {t.name: [int(d) for d in t.shape] for t in reader.tensors}
    n_in, n_out = cal.shapes["attn_q"]
    if kind == "lc":
        assert set(ne) == {f"cal.{m}.p" for m in MODULE_TYPES}
        assert ne["cal.attn_q.p"] == [n_out]
        for m in MODULE_TYPES:
            assert torch.equal(back.p[m], cal.p[m])
    else:
        assert set(ne) == {f"cal.{m}.{x}" for m in MODULE_TYPES for x in ("p1", "p2")}
        assert ne["cal.attn_q.p1"] == [n_in, 4] and ne["cal.attn_q.p2"] == [4, n_out]
        for m in MODULE_TYPES:
            assert torch.equal(back.p1[m], cal.p1[m]) and torch.equal(back.p2[m], cal.p2[m])


def test_lc_read_back_expands_like_the_original(model, tmp_path):
    adapters = [(random_lora(model, 4, 8, seed=1), 1.0), (random_lora(model, 8, 8, seed=2), 0.5)]
    cal = Calibration.for_model(model, "lc")
    with torch.no_grad():
        for p in cal.parameters():
            p.normal_()
    path = write_calibration_gguf(
        cal, tmp_path / "c.lc.gguf", arch="gemma3", chain="reply+tone:casual", base_fingerprint=FP,
        adapter_ids=["a", "b"], adapter_sha256=["0" * 64, "1" * 64], merge_weights=[1.0, 0.5],
        prompt_template=prompt_template("reply+tone:casual"),
    )  # fmt: skip
    back, meta = read_calibration_gguf(path)
    assert meta["calibration.stop_strings"] == []
    e1, e2 = cal.expand(adapters, 3), back.expand(adapters, 3)
    for k in e1.pairs:
        assert torch.equal(e1.pairs[k][0], e2.pairs[k][0]) and torch.equal(e1.pairs[k][1], e2.pairs[k][1])


def test_a_calibration_run_refuses_to_go_on_over_other_adapter_files(tmp_path, model):
    from lab.train_calibration import check_run_adapters

    manifests = [
        {"id": "gemma3-270m.summarize", "sha256": "11" * 32},
        {"id": "gemma3-270m.tone-casual", "sha256": "22" * 32},
    ]
    retrained = [{**manifests[0], "sha256": "33" * 32}, manifests[1]]
    run = tmp_path / "cal-summarize+tone-casual.lcpp"
    check_run_adapters(run, manifests)  # a new run records its adapters
    check_run_adapters(run, manifests)  # and resumes on the same ones
    with pytest.raises(SystemExit, match=r"gemma3-270m\.summarize changed.*--fresh"):
        check_run_adapters(run, retrained)
    # A run from before the record: its exported calibration names the adapters.
    older = tmp_path / "older"
    cal = Calibration.for_model(model, "lc++", rank=4, seed=0)
    write_calibration_gguf(
        cal, older / "export/calibrations" / FP[:12] / "summarize+tone-casual.lcpp.gguf", arch="gemma3",
        chain="summarize+tone:casual", base_fingerprint=FP, adapter_ids=[m["id"] for m in manifests],
        adapter_sha256=[m["sha256"] for m in manifests], merge_weights=[1.0, 1.0],
        prompt_template=prompt_template("summarize+tone:casual"),
    )  # fmt: skip
    with pytest.raises(SystemExit, match=r"gemma3-270m\.summarize changed"):
        check_run_adapters(older, retrained)
    check_run_adapters(older, manifests)
    assert json.loads((older / "adapters.json").read_text()) == manifests
