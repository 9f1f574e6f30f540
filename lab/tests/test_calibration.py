"""The calibration math of method.md / formats.md sections 3-4."""

import copy

import pytest
import torch
from conftest import random_lora, tiny_model

from lab.calibration import Calibration, attach, pad_rank
from lab.lora import GGUF_TO_HF, MODULE_TYPES, apply_loras, decoder_layers

IDS = torch.tensor([[2, 5, 9, 14, 3, 7, 22, 41, 8, 13, 5, 60]])


def logits(model):
    with torch.no_grad():
        return model(IDS).logits.double()


def two_loras(model):
    # Different ranks and alphas; the second adapter does not touch attn_v in layer 1.
    return [
        (random_lora(model, rank=4, alpha=8, seed=1), 0.7),
        (random_lora(model, rank=8, alpha=8, seed=2, skip={(1, "attn_v")}), 1.3),
    ]


def dense_merged(model, adapters):
    """Independent reference: W0 + sum_i w_i alpha_i / r_i B_i A_i folded into the weights."""
    ref = copy.deepcopy(model)
    with torch.no_grad():
        for l, layer in enumerate(decoder_layers(ref)):
            for m in MODULE_TYPES:
                lin = layer.get_submodule(GGUF_TO_HF[m])
                for w, scale in adapters:
                    if (l, m) in w.pairs:
                        a, b = w.pairs[(l, m)]
                        lin.weight += scale * w.alpha / w.rank * (b @ a)
    return ref


def test_concat_merge_equals_dense_merge(model):
    adapters = two_loras(model)
    ref = logits(dense_merged(model, adapters))
    apply_loras(model, adapters)
    assert torch.allclose(logits(model), ref, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", ["lc", "lc++"])
def test_calibration_at_init_is_exactly_the_merged_model(model, kind):
    adapters = two_loras(model)
    merged = copy.deepcopy(model)
    apply_loras(merged, adapters)
    cal = Calibration.for_model(model, kind)
    attach(model, adapters, cal)
    assert cal.num_params() > 0
    assert torch.equal(logits(model), logits(merged))


def test_lc_params_are_shared_per_module_type(model):
    cal = Calibration.for_model(model, "lc")
    assert set(cal.p) == set(MODULE_TYPES)
    assert cal.num_params() == sum(n_out for _, n_out in cal.shapes.values())
    cal2 = Calibration.for_model(model, "lc++")
    assert cal2.num_params() == sum(4 * (n_in + n_out) for n_in, n_out in cal2.shapes.values())


def _randomize(cal, seed=3):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in cal.parameters():
            p.copy_(torch.randn(p.shape, generator=g) * 0.1)


def test_lc_rank1_expansion_equals_column_bias(model):
    adapters = two_loras(model)
    cal = Calibration.for_model(model, "lc")
    _randomize(cal)
    n_layers = len(decoder_layers(model))
    expanded = cal.expand(adapters, n_layers)
    assert expanded.rank == pad_rank(1) == 16 and expanded.alpha == 16.0
    from lab.lora import concat_form

    for l in range(n_layers):
        for m, (n_in, n_out) in cal.shapes.items():
            a_cat, b_cat = concat_form(adapters, l, m, n_in, n_out)
            a_l, b_l = expanded.pairs[(l, m)]
            assert a_l.shape == (16, n_in) and b_l.shape == (n_out, 16)
            assert torch.all(a_l[1:] == 0) and torch.all(b_l[:, 1:] == 0)  # zero padding
            # Column bias on B_cat: (B_cat + p 1^T) A_cat = B_cat A_cat + B_l A_l
            p = cal.p[m].detach()
            b_prime = b_cat + p[:, None] * torch.ones(1, a_cat.shape[0])
            assert torch.allclose(b_prime @ a_cat, b_cat @ a_cat + b_l @ a_l, atol=1e-5)
    # And through the whole model: calibrated forward == merged + expanded adapter at scale 1.
    calibrated = copy.deepcopy(model)
    attach(calibrated, adapters, cal)
    apply_loras(model, [*adapters, (expanded, 1.0)])
    assert torch.allclose(logits(calibrated), logits(model), atol=1e-5, rtol=1e-5)


def test_lcpp_expansion_equals_p2_p1_in_every_layer(model):
    adapters = two_loras(model)
    cal = Calibration.for_model(model, "lc++", rank=4)
    _randomize(cal)
    n_layers = len(decoder_layers(model))
    expanded = cal.expand(adapters, n_layers)
    assert expanded.rank == 16 and expanded.alpha == 16.0
    for l in range(n_layers):
        for m in cal.shapes:
            a_l, b_l = expanded.pairs[(l, m)]
            assert torch.equal(a_l[:4], cal.p1[m].detach()) and torch.all(a_l[4:] == 0)
            assert torch.equal(b_l[:, :4], cal.p2[m].detach()) and torch.all(b_l[:, 4:] == 0)
            assert torch.allclose(b_l @ a_l, cal.p2[m].detach() @ cal.p1[m].detach(), atol=1e-6)
    calibrated = copy.deepcopy(model)
    attach(calibrated, adapters, cal)
    apply_loras(model, [*adapters, (expanded, 1.0)])
    assert torch.allclose(logits(calibrated), logits(model), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("kind", ["lc", "lc++"])
def test_only_calibration_params_get_gradients(kind):
    model = tiny_model()
    adapters = two_loras(model)
    cal = Calibration.for_model(model, kind)
    attach(model, adapters, cal)
    if kind == "lc++":
        _randomize(cal)  # P2 = 0 at init gives P1 a zero gradient; any value of P2 makes both flow
    out = model(IDS, labels=IDS)
    out.loss.backward()
    assert all(p.grad is None and not p.requires_grad for p in model.parameters())
    grads = [p.grad for p in cal.parameters()]
    assert all(g is not None and torch.count_nonzero(g) > 0 for g in grads)
    # The frozen LoRA tensors are buffers, not parameters: nothing else can be trained.
    trainable = [p for p in list(model.parameters()) + list(cal.parameters()) if p.requires_grad]
    assert len(trainable) == len(list(cal.parameters()))
