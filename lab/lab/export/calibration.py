"""Calibration, compact form (docs/formats.md section 3): calibrations/<fp12>/<chain>.<kind>.gguf."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType, GGUFWriter

from lab.calibration import Calibration
from lab.export.adapter import _field
from lab.lora import MODULE_TYPES
from lab.prompts import file_key

FORMAT_VERSION = 1


class _Writer(GGUFWriter):
    """GGUFWriter that can write an empty typed array (the spec allows empty `calibration.stop_strings`;
    gguf-py refuses them; GGUF itself encodes them as element type + count 0)."""

    def _pack_val(self, val, vtype, add_vtype, sub_type=None):
        if vtype == GGUFValueType.ARRAY and sub_type is not None and len(val) == 0:
            head = self._pack("I", vtype) if add_vtype else b""
            return head + self._pack("I", sub_type) + self._pack("Q", 0)
        return super()._pack_val(val, vtype, add_vtype, sub_type)


_KIND_SUFFIX = {"lc": "lc", "lc++": "lcpp"}


def calibration_filename(chain: str, kind: str) -> str:
    return f"{file_key(chain)}.{_KIND_SUFFIX[kind]}.gguf"


def write_calibration_gguf(
    cal: Calibration,
    path: str | Path,
    *,
    arch: str,
    chain: str,
    base_fingerprint: str,
    adapter_ids: list[str],
    adapter_sha256: list[str],
    merge_weights: list[float],
    prompt_template: str,
    stop_strings: list[str] | None = None,
    training: dict | None = None,
) -> Path:
    if not (len(adapter_ids) == len(adapter_sha256) == len(merge_weights)):
        raise ValueError("adapter_ids, adapter_sha256 and merge_weights must have the same length")
    if prompt_template.count("{input}") != 1:
        raise ValueError("prompt_template must contain {input} exactly once")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    w = _Writer(str(tmp), arch)
    w.add_string("general.type", "calibration")
    w.add_uint32("calibration.format_version", FORMAT_VERSION)
    w.add_string("calibration.kind", cal.kind)
    w.add_string("calibration.chain", chain)
    w.add_string("calibration.base_fingerprint", base_fingerprint)
    w.add_key_value("calibration.adapter_ids", list(adapter_ids), GGUFValueType.ARRAY, GGUFValueType.STRING)
    w.add_key_value(
        "calibration.adapter_sha256", list(adapter_sha256), GGUFValueType.ARRAY, GGUFValueType.STRING
    )
    w.add_key_value(
        "calibration.merge_weights",
        [float(x) for x in merge_weights],
        GGUFValueType.ARRAY,
        GGUFValueType.FLOAT32,
    )
    w.add_uint32("calibration.rank", cal.rank)
    w.add_string("calibration.prompt_template", prompt_template)
    w.add_key_value(
        "calibration.stop_strings", list(stop_strings or []), GGUFValueType.ARRAY, GGUFValueType.STRING
    )
    w.add_string("calibration.training", json.dumps(training or {}, ensure_ascii=False))
    f32 = GGMLQuantizationType.F32
    for m in [m for m in MODULE_TYPES if m in cal.shapes]:
        if cal.kind == "lc":
            w.add_tensor(f"cal.{m}.p", cal.p[m].detach().cpu().numpy().astype(np.float32), raw_dtype=f32)
        else:
            w.add_tensor(f"cal.{m}.p1", cal.p1[m].detach().cpu().numpy().astype(np.float32), raw_dtype=f32)
            w.add_tensor(f"cal.{m}.p2", cal.p2[m].detach().cpu().numpy().astype(np.float32), raw_dtype=f32)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    tmp.replace(path)
    return path


def read_calibration_gguf(path: str | Path) -> tuple[Calibration, dict]:
    reader = GGUFReader(str(path))
    meta = {}
    for key, f in reader.fields.items():
        if key.startswith("GGUF."):
            continue
        if f.types[0] == GGUFValueType.ARRAY and not f.data:
            meta[key] = []
        elif f.types[0] == GGUFValueType.ARRAY and f.types[1] == GGUFValueType.STRING:
            meta[key] = [bytes(f.parts[i]).decode("utf-8") for i in f.data]
        else:
            meta[key] = _field(reader, key)
    if meta.get("general.type") != "calibration":
        raise ValueError(f"{path}: general.type is {meta.get('general.type')!r}, not 'calibration'")
    kind = meta["calibration.kind"]
    tensors = {
        t.name: np.array(t.data, dtype=np.float32).reshape([int(d) for d in reversed(t.shape)])
        for t in reader.tensors
    }
    shapes = {}
    for m in MODULE_TYPES:
        if kind == "lc" and f"cal.{m}.p" in tensors:
            n_out = tensors[f"cal.{m}.p"].shape[0]
            shapes[m] = (0, n_out)  # n_in is not stored for LC (it comes from the adapters' A)
        elif kind == "lc++" and f"cal.{m}.p1" in tensors:
            shapes[m] = (tensors[f"cal.{m}.p1"].shape[1], tensors[f"cal.{m}.p2"].shape[0])
    # LC stores no n_in (the expansion takes it from the adapters' A): 0 here.
    cal = Calibration(kind, shapes, rank=int(meta["calibration.rank"]))
    with torch.no_grad():
        for m in shapes:
            if kind == "lc":
                cal.p[m].copy_(torch.from_numpy(tensors[f"cal.{m}.p"]))
            else:
                cal.p1[m].copy_(torch.from_numpy(tensors[f"cal.{m}.p1"]))
                cal.p2[m].copy_(torch.from_numpy(tensors[f"cal.{m}.p2"]))
    return cal, meta
