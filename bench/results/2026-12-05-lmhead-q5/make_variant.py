# Usage: lab/.venv/bin/python make_variant.py IN.gguf OUT.gguf Q5_0|Q4_0
# A copy of the pinned Q4_K_M file with only token_embd (the tied LM head) requantized from Q8_0
# to the given type with gguf-py's reference quantizer; metadata and every other tensor copied.
import sys

import gguf
from gguf import quants
from gguf.scripts.gguf_new_metadata import copy_with_new_metadata

source, destination, type_name = sys.argv[1], sys.argv[2], sys.argv[3]
target = getattr(gguf.GGMLQuantizationType, type_name)
reader = gguf.GGUFReader(source)


class Tensor:  # the fields copy_with_new_metadata reads
    def __init__(self, t):
        self.name, self.data, self.tensor_type = t.name, t.data, t.tensor_type
        if t.name == "token_embd.weight":
            self.data = quants.quantize(quants.dequantize(t.data, t.tensor_type), target)
            self.tensor_type = target
        self.n_bytes = self.data.nbytes


class Reader:
    fields, endianess = reader.fields, reader.endianess
    tensors = [Tensor(t) for t in reader.tensors]


writer = gguf.GGUFWriter(destination, arch=reader.fields["general.architecture"].contents())
copy_with_new_metadata(Reader, writer, {}, [])
