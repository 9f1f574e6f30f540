"""Learnable Calibration (LC) and LC++ on top of a concat-form merge of frozen task LoRAs (method.md).

For module type m in layer l:  h = W0 x + B_cat A_cat x + Δ_m(x), with
    LC   Δ(x) = p_m (1^T A_cat,l x)        p_m   in R^out   (init 0)
    LC++ Δ(x) = P2_m (P1_m x)               P1_m  in R^(r_c x in) (init like LoRA A), P2_m in R^(out x r_c) (init 0)
p_m / P1_m / P2_m are shared across all layers. At init Δ = 0 exactly, so step 0 is the merged model.

    cal = Calibration.for_model(model, kind="lc++")
    attach(model, adapters=[(lora_sum, 1.0), (lora_fr, 1.0)], calibration=cal)   # freezes the rest
    expanded = cal.expand(adapters, n_layers)   # the engine's per-layer LoRA (formats.md §4)
"""

from __future__ import annotations

import math

import torch
from torch import nn

from lab.lora import (
    GGUF_TO_HF,
    MODULE_TYPES,
    LoraLinear,
    LoraWeights,
    apply_loras,
    concat_form,
    decoder_layers,
)

KINDS = ("lc", "lc++")


def pad_rank(r: int, multiple: int = 16) -> int:
    return max(multiple, -(-r // multiple) * multiple)


class Calibration(nn.Module):
    def __init__(
        self,
        kind: str,
        shapes: dict[str, tuple[int, int]],  # module type -> (n_in, n_out)
        rank: int = 4,
        seed: int = 0,
    ):
        super().__init__()
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {KINDS}")
        self.kind = kind
        self.rank = 1 if kind == "lc" else rank
        self.shapes = dict(shapes)
        self.p = nn.ParameterDict()
        self.p1 = nn.ParameterDict()
        self.p2 = nn.ParameterDict()
        gen = torch.Generator().manual_seed(seed)
        for m, (n_in, n_out) in self.shapes.items():
            if kind == "lc":
                self.p[m] = nn.Parameter(torch.zeros(n_out))
            else:
                # Like PEFT's lora_A init: kaiming_uniform(a=sqrt(5)) -> U(-1/sqrt(n_in), 1/sqrt(n_in)).
                bound = 1.0 / math.sqrt(n_in)
                self.p1[m] = nn.Parameter((torch.rand(rank, n_in, generator=gen) * 2 - 1) * bound)
                self.p2[m] = nn.Parameter(torch.zeros(n_out, rank))

    @staticmethod
    def for_model(model: nn.Module, kind: str, module_types=MODULE_TYPES, rank: int = 4, seed: int = 0):
        layer0 = decoder_layers(model)[0]
        shapes = {}
        for m in module_types:
            lin = layer0.get_submodule(GGUF_TO_HF[m])
            base = lin.base if isinstance(lin, LoraLinear) else lin
            shapes[m] = (base.in_features, base.out_features)
        return Calibration(kind, shapes, rank=rank, seed=seed)

    def num_params(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def delta(self, m: str, x: torch.Tensor, ax: torch.Tensor | None) -> torch.Tensor:
        if self.kind == "lc":
            if ax is None:  # no task LoRA on this module in this layer: 1^T A_cat x = 0
                return torch.zeros((), dtype=x.dtype, device=x.device)
            return ax.sum(-1, keepdim=True) * self.p[m]
        return (x @ self.p1[m].t()) @ self.p2[m].t()

    # ---- the engine's expanded form (formats.md section 4) ----
    def expand(
        self, adapters: list[tuple[LoraWeights, float]], n_layers: int, pad_to: int = 16
    ) -> LoraWeights:
        """Per-layer LoRA equal to Δ: LC A_l = 1^T A_cat,l, B_l = p_m; LC++ A_l = P1_m, B_l = P2_m.

        Ranks zero-padded to a multiple of `pad_to`, alpha = padded rank (alpha / r = 1)."""
        r_pad = pad_rank(self.rank, pad_to)
        pairs = {}
        with torch.no_grad():
            for layer in range(n_layers):
                for m, (n_in, n_out) in self.shapes.items():
                    if self.kind == "lc":
                        if n_in == 0:  # read from a compact file: n_in comes from the adapters
                            n_in = next(
                                a.shape[1]
                                for w, _ in adapters
                                for (_, m2), (a, _) in w.pairs.items()
                                if m2 == m
                            )
                        a_cat, _ = concat_form(adapters, layer, m, n_in, n_out)
                        a = a_cat.sum(0, keepdim=True) if a_cat.shape[0] else torch.zeros(1, n_in)
                        b = self.p[m].detach().float().cpu().reshape(n_out, 1)
                    else:
                        a = self.p1[m].detach().float().cpu()
                        b = self.p2[m].detach().float().cpu()
                    a_p = torch.zeros(r_pad, n_in)
                    a_p[: a.shape[0]] = a
                    b_p = torch.zeros(n_out, r_pad)
                    b_p[:, : b.shape[1]] = b
                    pairs[(layer, m)] = (a_p, b_p)
        return LoraWeights(rank=r_pad, alpha=float(r_pad), pairs=pairs)


def attach(
    model: nn.Module,
    adapters: list[tuple[LoraWeights, float]],
    calibration: Calibration | None = None,
    module_types=MODULE_TYPES,
) -> list[LoraLinear]:
    """Merges the frozen task LoRAs (concat form) into `model` and hooks the calibration in.

    Freezes every parameter of the model; only `calibration`'s parameters stay trainable."""
    for p in model.parameters():
        p.requires_grad_(False)
    wrapped = apply_loras(model, adapters, module_types)
    if calibration is not None:
        calibration.to(next(model.parameters()).device)
        for p in calibration.parameters():
            p.requires_grad_(True)
        for w in wrapped:
            if w.module_type in calibration.shapes:
                w.calibration = _Hook(calibration, w.module_type)
    return wrapped


class _Hook:
    """Callable (x, ax) -> Δ bound to one module type; not an nn.Module so it is not re-registered."""

    def __init__(self, cal: Calibration, m: str):
        self.cal, self.m = cal, m

    def __call__(self, x: torch.Tensor, ax: torch.Tensor | None) -> torch.Tensor:
        return self.cal.delta(self.m, x, ax)
