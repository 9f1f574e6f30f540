"""Loading a base model from its GGUF file into PyTorch (dequantized), as the engine runs it.

transformers (5.x) reads GGUF files of the gemma3 architecture directly (`gguf_file=`): it
dequantizes every tensor and maps llama.cpp names back to Hugging Face ones. That takes ~50 s
(the 262k-token tokenizer conversion alone ~18 s), so the result is cached once per file
(keyed by its sha256) as an ordinary Hugging Face checkpoint under
`~/.cache/composer-lc/lab/<sha12>/`; later loads take a few seconds.

Any other base (e.g. a Hugging Face checkpoint folder for a bigger model) is a config change:
`load_base(path)` accepts a directory too.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import torch

DEFAULT_GGUF = Path.home() / ".cache/composer-lc/models/gemma-3-270m-q4_k_m.gguf"
DEFAULT_GGUF_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"
DEFAULT_BASE_NAME = "Gemma 3 270M"
CACHE_DIR = Path(os.environ.get("LAB_CACHE_DIR", Path.home() / ".cache/composer-lc/lab"))


def default_gguf() -> Path:
    return Path(os.environ.get("LAB_BASE_GGUF", DEFAULT_GGUF))


def sha256_file(path: str | os.PathLike, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


@dataclass
class Base:
    model: torch.nn.Module
    tokenizer: object
    gguf_path: Path | None  # the GGUF the engine runs (None for a plain HF checkpoint)
    sha256: str | None


def _cache_for(gguf: Path, sha: str) -> Path:
    return CACHE_DIR / sha[:12]


def load_base(
    path: str | os.PathLike | None = None,
    device: str = "cpu",
    dtype: torch.dtype = torch.float32,
    use_cache: bool = True,
) -> Base:
    """Loads the base model (dequantized) and its tokenizer.

    `path` is a GGUF file (default: the project's default base) or a Hugging Face checkpoint dir.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    p = Path(path) if path is not None else default_gguf()
    if p.is_dir():
        tok = AutoTokenizer.from_pretrained(p)
        model = AutoModelForCausalLM.from_pretrained(p, dtype=dtype)
        return Base(model.to(device).eval(), tok, None, None)

    sha = sha256_file(p)
    cache = _cache_for(p, sha)
    if use_cache and (cache / "config.json").exists() and (cache / "tokenizer.json").exists():
        tok = AutoTokenizer.from_pretrained(cache)
        model = AutoModelForCausalLM.from_pretrained(cache, dtype=dtype)
    else:
        tok = AutoTokenizer.from_pretrained(p.parent, gguf_file=p.name)
        model = AutoModelForCausalLM.from_pretrained(p.parent, gguf_file=p.name, dtype=torch.float32)
        # The checkpoint no longer is a GGUF: drop the marker so the cache loads as plain weights.
        if hasattr(model.config, "quantization_config"):
            del model.config.quantization_config
        model.hf_quantizer = None
        model.is_quantized = False
        if use_cache:
            tmp = cache.with_name(cache.name + ".tmp")
            model.save_pretrained(tmp)
            tok.save_pretrained(tmp)
            if cache.exists():
                import shutil

                shutil.rmtree(cache)
            tmp.rename(cache)
        model = model.to(dtype)
    return Base(model.to(device).eval(), tok, p, sha)
