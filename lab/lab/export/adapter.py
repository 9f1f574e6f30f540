"""Task adapter = directory with adapter.gguf + manifest.json (docs/formats.md section 2)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import torch
from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType, GGUFWriter

from lab.base import sha256_file
from lab.lora import MODULE_TYPES, LoraWeights, apply_loras
from lab.prompts import file_key

FORMAT_VERSION = 1
_ID = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
_TENSOR = re.compile(r"^blk\.(\d+)\.(\w+)\.weight\.lora_([ab])$")


def base_tensor_name(layer: int, m: str) -> str:
    return f"blk.{layer}.{m}.weight"


def validate(weights: LoraWeights, base_tensors: dict[str, list[int]] | None = None) -> None:
    """The spec's rules: both halves, ranks agree, finite values, base tensor exists with ne {n_in, n_out}."""
    for (layer, m), (a, b) in weights.pairs.items():
        if a.ndim != 2 or b.ndim != 2 or a.shape[0] != weights.rank or b.shape[1] != weights.rank:
            raise ValueError(
                f"blk.{layer}.{m}: A {tuple(a.shape)} / B {tuple(b.shape)} do not match rank {weights.rank}"
            )
        if not (torch.isfinite(a).all() and torch.isfinite(b).all()):
            raise ValueError(f"blk.{layer}.{m}: non-finite values")
        if base_tensors is not None:
            name = base_tensor_name(layer, m)
            if name not in base_tensors:
                raise ValueError(f"base has no tensor {name}")
            if list(base_tensors[name]) != [a.shape[1], b.shape[0]]:
                raise ValueError(f"{name}: base ne {base_tensors[name]} != {{{a.shape[1]}, {b.shape[0]}}}")


def write_adapter_gguf(
    weights: LoraWeights,
    path: str | Path,
    arch: str,
    base_tensors: dict[str, list[int]] | None = None,
    dtype=np.float32,
) -> None:
    validate(weights, base_tensors)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    w = GGUFWriter(str(tmp), arch)
    w.add_string("general.type", "adapter")
    w.add_string("adapter.type", "lora")
    w.add_float32("adapter.lora.alpha", float(weights.alpha))
    raw = GGMLQuantizationType.F32 if dtype == np.float32 else GGMLQuantizationType.F16
    for (layer, m), (a, b) in sorted(
        weights.pairs.items(), key=lambda kv: (kv[0][0], MODULE_TYPES.index(kv[0][1]))
    ):
        name = base_tensor_name(layer, m)
        w.add_tensor(f"{name}.lora_a", a.detach().cpu().numpy().astype(dtype), raw_dtype=raw)
        w.add_tensor(f"{name}.lora_b", b.detach().cpu().numpy().astype(dtype), raw_dtype=raw)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    tmp.replace(path)


def _field(reader: GGUFReader, key: str):
    f = reader.fields.get(key)
    if f is None:
        return None
    if f.types[0] == GGUFValueType.STRING:
        return bytes(f.parts[f.data[0]]).decode("utf-8")
    return f.contents()


def read_adapter_gguf(path: str | Path) -> tuple[LoraWeights, dict]:
    reader = GGUFReader(str(path))
    meta = {
        k: _field(reader, k)
        for k in ("general.type", "general.architecture", "adapter.type", "adapter.lora.alpha")
    }
    if meta["general.type"] != "adapter" or meta["adapter.type"] != "lora":
        raise ValueError(f"{path}: not a LoRA adapter ({meta})")
    halves: dict[tuple[int, str], dict[str, torch.Tensor]] = {}
    for t in reader.tensors:
        m = _TENSOR.match(t.name)
        if not m:
            raise ValueError(f"{path}: unexpected tensor {t.name}")
        arr = np.array(t.data, dtype=np.float32).reshape([int(d) for d in reversed(t.shape)])
        halves.setdefault((int(m.group(1)), m.group(2)), {})[m.group(3)] = torch.from_numpy(arr)
    pairs = {}
    rank = None
    for key, d in sorted(halves.items()):
        if set(d) != {"a", "b"}:
            raise ValueError(f"{path}: blk.{key[0]}.{key[1]} lacks one half")
        pairs[key] = (d["a"], d["b"])
        rank = d["a"].shape[0]
    return LoraWeights(rank=rank or 0, alpha=float(meta["adapter.lora.alpha"] or 0.0), pairs=pairs), meta


def default_adapter_id(chain: str, base: str = "gemma3-270m") -> str:
    """`summarize` -> gemma3-270m.summarize; a joint expert `reply+tone:casual` ->
    gemma3-270m.joint.reply.tone-casual (ids allow [a-z0-9._-] only: formats.md section 2)."""
    tasks = file_key(chain).split("+")
    return f"{base}.{'joint.' if len(tasks) > 1 else ''}{'.'.join(tasks)}"


def write_adapter_dir(
    weights: LoraWeights,
    out_dir: str | Path,
    *,
    adapter_id: str,
    task: str,
    prompt_template: str,
    fingerprint: str,
    arch: str,
    base_name: str,
    stop_strings: list[str] | None = None,
    licence: str = "Gemma Terms of Use",
    training: dict | None = None,
    base_tensors: dict[str, list[int]] | None = None,
    dtype=np.float16,
) -> Path:
    """Writes <out_dir>/adapter.gguf (F16 by default: the pack's size budget) and manifest.json."""
    if not _ID.match(adapter_id):
        raise ValueError(f"bad adapter id {adapter_id!r}")
    if prompt_template.count("{input}") != 1:
        raise ValueError("promptTemplate must contain {input} exactly once")
    if not re.fullmatch(r"[0-9a-f]{64}", fingerprint):
        raise ValueError("fingerprint must be 64 lower-case hex")
    out = Path(out_dir)
    write_adapter_gguf(weights, out / "adapter.gguf", arch, base_tensors, dtype=dtype)
    manifest = {
        "formatVersion": FORMAT_VERSION,
        "id": adapter_id,
        "task": task,
        "promptTemplate": prompt_template,
        **({"stopStrings": list(stop_strings)} if stop_strings is not None else {}),
        "base": {"fingerprint": fingerprint, "name": base_name},
        "rank": weights.rank,
        "alpha": weights.alpha if weights.alpha != int(weights.alpha) else int(weights.alpha),
        "targetModules": weights.module_types,
        "file": "adapter.gguf",
        "sha256": sha256_file(out / "adapter.gguf"),
        "licence": licence,
        "training": training or {},
    }
    (out / "manifest.json").write_text(
        json.dumps(manifest, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    return out / "manifest.json"


def apply_gguf_adapters(model: torch.nn.Module, adapters: list[tuple[str, float]]) -> torch.nn.Module:
    """Applies adapter.gguf files with llama.cpp's semantics (scale * alpha / r * B A x), in place."""
    loaded = [(read_adapter_gguf(path)[0], scale) for path, scale in adapters]
    apply_loras(model, loaded)
    return model
