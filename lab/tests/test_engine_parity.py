"""The engine (node-llama-cpp) loads an exported adapter and agrees with PyTorch (needs the default
base model in ~/.cache/composer-lc/models and node_modules; skipped otherwise). ~15 s."""

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from lab.base import default_gguf

REPO = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(
    not default_gguf().exists()
    or shutil.which("node") is None
    or not (REPO / "node_modules/node-llama-cpp").exists(),
    reason="default base model, node or node-llama-cpp missing",
)


def test_exported_adapter_loads_in_the_engine_and_matches(tmp_path):
    from lab.base import load_base
    from lab.export import apply_gguf_adapters, write_adapter_dir
    from lab.formats.fingerprint import base_structure
    from lab.lora import GGUF_TO_HF, LoraWeights, decoder_layers
    from lab.parity import compare, llama_logprobs, torch_logprobs
    from lab.prompts import prompt_template, render_prompt

    meta = base_structure(default_gguf())
    base = load_base()
    gen = torch.Generator().manual_seed(0)
    pairs = {}
    for l, layer in enumerate(decoder_layers(base.model)):
        for m in ("attn_q", "ffn_down"):
            lin = layer.get_submodule(GGUF_TO_HF[m])
            pairs[(l, m)] = (
                torch.randn(16, lin.in_features, generator=gen) / lin.in_features**0.5,
                torch.randn(lin.out_features, 16, generator=gen) * 0.01,
            )
    write_adapter_dir(
        LoraWeights(16, 32.0, pairs), tmp_path / "t", adapter_id="t", task="summarize",
        prompt_template=prompt_template("summarize"), fingerprint=meta["fingerprint"], arch=meta["arch"],
        base_name="Gemma 3 270M", base_tensors=meta["tensors"],
    )  # fmt: skip
    adapter = (str(tmp_path / "t/adapter.gguf"), 0.7)
    text = render_prompt("summarize", "#Person1#: Are you coming tonight?\n#Person2#: Yes, at eight.")
    ids = base.tokenizer(text).input_ids
    positions = [len(ids) - 2, len(ids) - 1]
    plain = torch_logprobs(base.model, ids, positions)
    apply_gguf_adapters(base.model, [adapter])
    lt = torch_logprobs(base.model, ids, positions)
    ll, _ = llama_logprobs(
        default_gguf(), [{"text": text, "ids": ids, "positions": positions}], 262144, [adapter]
    )
    r = compare(lt, ll)
    moved = compare(lt, plain)
    # Within the measured Q4_K_M tolerance (README), and the adapter visibly changed the output.
    assert r["kl_max"] < 0.1 and r["top1_agreement"] == 1.0, r
    assert moved["kl_max"] > 10 * r["kl_max"] or moved["max_abs_dlogp_topk"] > 0.05, (r, moved)
    assert np.isfinite(ll).any()
