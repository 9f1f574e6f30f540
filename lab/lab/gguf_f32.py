"""Writes an F32 copy of a GGUF model (every tensor dequantized, metadata unchanged).

Used as a control in the parity check: llama.cpp running the F32 copy and PyTorch running
transformers' dequantized weights should agree to float32 rounding, which proves the GGUF -> PyTorch
loading (name mapping, norm offsets, RoPE, ...) exact; what remains against the quantized file is
llama.cpp's quantized matmuls (activations quantized to 8 bits for the k-quant dot products).

Usage: python -m lab.gguf_f32 in.gguf out.gguf
"""

from __future__ import annotations

import sys

import numpy as np
from gguf import GGMLQuantizationType, GGUFReader, GGUFValueType, GGUFWriter
from gguf.quants import dequantize


def to_f32(src: str, dst: str) -> None:
    reader = GGUFReader(src)
    arch = bytes(reader.fields["general.architecture"].parts[-1]).decode()
    writer = GGUFWriter(dst, arch)
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key in ("general.architecture", "general.file_type"):
            continue
        vtype = field.types[0]
        sub = field.types[1] if vtype == GGUFValueType.ARRAY else None
        writer.add_key_value(key, field.contents(), vtype, sub)
    writer.add_file_type(0)  # ALL_F32
    for t in reader.tensors:
        data = dequantize(t.data, t.tensor_type).astype(np.float32)
        shape = [int(d) for d in reversed(t.shape)]
        writer.add_tensor(t.name, data.reshape(shape), raw_dtype=GGMLQuantizationType.F32)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


if __name__ == "__main__":
    to_f32(sys.argv[1], sys.argv[2])
