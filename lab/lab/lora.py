"""LoRA weights in the engine's terms, and a frozen multi-LoRA linear layer for PyTorch.

`LoraWeights` holds, per (layer, GGUF module type), A [r][n_in] and B [n_out][r] (PEFT layout) plus
alpha: what an `adapter.gguf` holds. It comes from a PEFT model (`from_peft`) or a GGUF file
(`lab.export.adapter.read_adapter_gguf`).

`apply_loras(model, [(weights, scale), ...])` wraps every targeted nn.Linear of a Hugging Face
decoder in `LoraLinear`: h = W0 x + B_cat (A_cat x), with the concat form of method.md
(B_cat = [s_1 B_1 | ... | s_N B_N], A_cat = [A_1; ...; A_N], s_i = scale_i * alpha_i / r_i), which
is exactly what llama.cpp computes for adapters loaded side by side. A calibration (lab.calibration)
adds its Δ(x) on top.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import torch
from torch import nn

# GGUF module type <-> PEFT / Hugging Face module name (formats.md section 2).
GGUF_TO_HF = {
    "attn_q": "self_attn.q_proj",
    "attn_k": "self_attn.k_proj",
    "attn_v": "self_attn.v_proj",
    "attn_output": "self_attn.o_proj",
    "ffn_gate": "mlp.gate_proj",
    "ffn_up": "mlp.up_proj",
    "ffn_down": "mlp.down_proj",
}
MODULE_TYPES = tuple(GGUF_TO_HF)
HF_TO_GGUF = {v.split(".")[-1]: k for k, v in GGUF_TO_HF.items()}
PEFT_TARGETS = [v.split(".")[-1] for v in GGUF_TO_HF.values()]

_PEFT_KEY = re.compile(r"layers\.(\d+)\.(?:self_attn|mlp)\.(\w+?)\.lora_([AB])\.(?:(\w+)\.)?weight$")


@dataclass
class LoraWeights:
    rank: int
    alpha: float
    # (layer, module type) -> (A [r][n_in], B [n_out][r]), float32 CPU tensors
    pairs: dict[tuple[int, str], tuple[torch.Tensor, torch.Tensor]] = field(default_factory=dict)

    @property
    def scaling(self) -> float:
        return self.alpha / self.rank if self.alpha else 1.0

    @property
    def module_types(self) -> list[str]:
        present = {m for _, m in self.pairs}
        return [m for m in MODULE_TYPES if m in present]

    def num_params(self) -> int:
        return sum(a.numel() + b.numel() for a, b in self.pairs.values())

    @staticmethod
    def from_peft(model: nn.Module, adapter_name: str = "default") -> LoraWeights:
        state = {k: v for k, v in model.state_dict().items() if "lora_" in k}
        cfg = model.peft_config[adapter_name]
        found: dict[tuple[int, str], dict[str, torch.Tensor]] = {}
        for k, v in state.items():
            m = _PEFT_KEY.search(k)
            if not m or (m.group(4) is not None and m.group(4) != adapter_name):
                continue
            layer, hf, ab = int(m.group(1)), m.group(2), m.group(3)
            found.setdefault((layer, HF_TO_GGUF[hf]), {})[ab] = v.detach().float().cpu().clone()
        pairs = {key: (d["A"], d["B"]) for key, d in sorted(found.items())}
        return LoraWeights(rank=cfg.r, alpha=float(cfg.lora_alpha), pairs=pairs)

    def into_peft(self, model: nn.Module, adapter_name: str = "default") -> int:
        """Copies these weights into a PEFT model's LoRA parameters of the same rank and alpha (the
        inverse of from_peft: a run that starts from a trained adapter); returns the pairs copied."""
        cfg = model.peft_config[adapter_name]
        if (cfg.r, float(cfg.lora_alpha)) != (self.rank, float(self.alpha)):
            raise ValueError(
                f"the adapter has rank {self.rank}, alpha {self.alpha}; the run has rank {cfg.r}, alpha {cfg.lora_alpha}"
            )
        copied = set()
        with torch.no_grad():
            for name, param in model.named_parameters():
                m = _PEFT_KEY.search(name)
                if not m or (m.group(4) is not None and m.group(4) != adapter_name):
                    continue
                key = (int(m.group(1)), HF_TO_GGUF[m.group(2)])
                if key not in self.pairs:
                    raise ValueError(f"the adapter has no blk.{key[0]}.{key[1]}")
                value = self.pairs[key][0 if m.group(3) == "A" else 1]
                if value.shape != param.shape:
                    raise ValueError(f"blk.{key[0]}.{key[1]}: {tuple(value.shape)} != {tuple(param.shape)}")
                param.copy_(value.to(param.dtype))
                copied.add(key)
        if copied != set(self.pairs):
            raise ValueError(f"the run has no module for {sorted(set(self.pairs) - copied)[:3]}")
        return len(copied)


class LoraLinear(nn.Module):
    """Frozen base linear + frozen concatenated LoRAs (+ optional calibration term)."""

    def __init__(self, base: nn.Linear, a_cat: torch.Tensor | None, b_cat: torch.Tensor | None):
        super().__init__()
        self.base = base
        self.register_buffer("a_cat", a_cat, persistent=False)  # [R][n_in] (unscaled A's)
        self.register_buffer("b_cat", b_cat, persistent=False)  # [n_out][R] (s_i B_i)
        self.calibration = None  # set by lab.calibration: callable (x, ax) -> Δ
        self.module_type = ""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.base(x)
        ax = None
        if self.a_cat is not None and self.a_cat.shape[0] > 0:
            ax = x @ self.a_cat.t()
            h = h + ax @ self.b_cat.t()
        if self.calibration is not None:
            h = h + self.calibration(x, ax)
        return h


def decoder_layers(model: nn.Module) -> nn.ModuleList:
    m = model
    for attr in ("base_model", "model"):
        while hasattr(m, attr) and not hasattr(m, "layers"):
            m = getattr(m, attr)
    if not hasattr(m, "layers"):
        raise ValueError("cannot find the decoder layers of this model")
    return m.layers


def _get(module: nn.Module, dotted: str) -> nn.Module:
    for part in dotted.split("."):
        module = getattr(module, part)
    return module


def _set(module: nn.Module, dotted: str, value: nn.Module) -> None:
    parent, _, name = dotted.rpartition(".")
    setattr(_get(module, parent) if parent else module, name, value)


def concat_form(
    adapters: list[tuple[LoraWeights, float]], layer: int, m: str, n_in: int, n_out: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """A_cat [R][n_in] and B_cat [n_out][R] for one module; adapters missing it contribute nothing."""
    a_parts, b_parts = [], []
    for w, scale in adapters:
        pair = w.pairs.get((layer, m))
        if pair is None:
            continue
        a, b = pair
        a_parts.append(a.float())
        b_parts.append(b.float() * (scale * w.scaling))
    if not a_parts:
        return torch.zeros(0, n_in), torch.zeros(n_out, 0)
    return torch.cat(a_parts, 0), torch.cat(b_parts, 1)


def apply_loras(
    model: nn.Module, adapters: list[tuple[LoraWeights, float]], module_types=MODULE_TYPES
) -> list[LoraLinear]:
    """Wraps the targeted linears in place (idempotent per module); returns the wrappers."""
    wrapped = []
    for layer_idx, layer in enumerate(decoder_layers(model)):
        for m in module_types:
            path = GGUF_TO_HF[m]
            lin = _get(layer, path)
            base = lin.base if isinstance(lin, LoraLinear) else lin
            a, b = concat_form(adapters, layer_idx, m, base.in_features, base.out_features)
            dev, dt = base.weight.device, base.weight.dtype
            new = LoraLinear(base, a.to(dev, dt), b.to(dev, dt))
            new.module_type = m
            new.layer = layer_idx
            _set(layer, path, new)
            wrapped.append(new)
    return wrapped
