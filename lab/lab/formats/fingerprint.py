"""Base model fingerprint, docs/formats.md section 1 (structure, not bytes).

    vocab_hash  = sha256(utf8(join("\\u0000", tokenizer.ggml.tokens)))
    lines       = for every tensor sorted by name (code-point order): name + ":" + join(",", ne) + "\\n"
    fingerprint = sha256(utf8("gguf-structure-v1\\n" + "arch=" + arch + "\\n" + "vocab=" + vocab_hash
                              + "\\n" + join("", lines)))

Usage: python -m lab.formats.fingerprint [model.gguf]
"""

from __future__ import annotations

import hashlib
import os
import sys

from gguf import GGUFReader


def _field_str(field) -> str:
    return bytes(field.parts[field.data[0]]).decode("utf-8")


def _field_str_array(field) -> list[str]:
    return [bytes(field.parts[i]).decode("utf-8") for i in field.data]


def gguf_structure(path: str | os.PathLike) -> tuple[str, list[str], list[tuple[str, list[int]]]]:
    """(architecture, vocabulary tokens, [(tensor name, ne innermost first)])."""
    reader = GGUFReader(path)
    arch = _field_str(reader.fields["general.architecture"])
    tokens = _field_str_array(reader.fields["tokenizer.ggml.tokens"])
    tensors = [(t.name, [int(d) for d in t.shape]) for t in reader.tensors]  # t.shape is ne order
    return arch, tokens, tensors


def fingerprint_from_parts(arch: str, tokens: list[str], tensors: list[tuple[str, list[int]]]) -> str:
    vocab_hash = hashlib.sha256("\u0000".join(tokens).encode("utf-8")).hexdigest()
    # Code-point order: Python's str sort is by code point (as the spec asks; not UTF-16 order).
    lines = "".join(f"{name}:{','.join(str(d) for d in ne)}\n" for name, ne in sorted(tensors))
    text = f"gguf-structure-v1\narch={arch}\nvocab={vocab_hash}\n{lines}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def fingerprint(path: str | os.PathLike) -> str:
    return fingerprint_from_parts(*gguf_structure(path))


def main(argv: list[str] | None = None) -> None:
    from lab.base import default_gguf

    args = sys.argv[1:] if argv is None else argv
    path = args[0] if args else default_gguf()
    print(fingerprint(path))


if __name__ == "__main__":
    main()


def base_structure(path: str | os.PathLike) -> dict:
    """{"arch", "fingerprint", "tensors": {name: ne}} of a base GGUF, cached per file sha256
    (reading 262k vocabulary strings with gguf-py takes ~12 s)."""
    import json

    from lab.base import CACHE_DIR, sha256_file

    sha = sha256_file(path)
    cache = CACHE_DIR / f"{sha[:12]}.structure.json"
    if cache.exists():
        return json.loads(cache.read_text())
    arch, tokens, tensors = gguf_structure(path)
    info = {
        "arch": arch,
        "fingerprint": fingerprint_from_parts(arch, tokens, tensors),
        "sha256": sha,
        "tensors": dict(tensors),
    }
    cache.parent.mkdir(parents=True, exist_ok=True)
    cache.write_text(json.dumps(info))
    return info
