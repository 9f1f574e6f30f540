import hashlib
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from gguf import GGUFWriter

from lab.base import default_gguf
from lab.formats.fingerprint import fingerprint

REPO = Path(__file__).resolve().parents[2]
REAL_FINGERPRINT = "e1ca81aad5d915fae5fbb7c01d38f4cba1e255b03e26e10317c8f9811c4ba06f"


def tiny_gguf(path):
    w = GGUFWriter(str(path), "gemma3")
    w.add_array("tokenizer.ggml.tokens", ["<pad>", "<eos>", "héllo", "▁world"])
    w.add_tensor("token_embd.weight", np.zeros((4, 8), np.float32))  # ne {8, 4}
    w.add_tensor("blk.0.attn_q.weight", np.zeros((16, 8), np.float32))  # ne {8, 16}
    w.add_tensor("blk.0.attn_norm.weight", np.zeros(8, np.float32))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def test_fingerprint_follows_the_spec(tmp_path):
    tiny_gguf(tmp_path / "m.gguf")
    vocab = hashlib.sha256("<pad>\0<eos>\0héllo\0▁world".encode()).hexdigest()
    text = (
        f"gguf-structure-v1\narch=gemma3\nvocab={vocab}\n"
        "blk.0.attn_norm.weight:8\nblk.0.attn_q.weight:8,16\ntoken_embd.weight:8,4\n"
    )
    assert fingerprint(tmp_path / "m.gguf") == hashlib.sha256(text.encode()).hexdigest()


@pytest.mark.skipif(shutil.which("node") is None, reason="node not installed")
def test_fingerprint_equals_independent_js_parser(tmp_path):
    tiny_gguf(tmp_path / "m.gguf")
    out = subprocess.run(
        ["node", "lab/node/fingerprint.mjs", str(tmp_path / "m.gguf")],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert out.stdout.split()[0] == fingerprint(tmp_path / "m.gguf")


@pytest.mark.skipif(not default_gguf().exists(), reason="default base model not downloaded")
def test_fingerprint_of_the_default_base():
    from lab.formats.fingerprint import base_structure

    assert base_structure(default_gguf())["fingerprint"] == REAL_FINGERPRINT


@pytest.mark.data("dialogsum", "synthetic-persona-chat", "ntrex", "cocoa-mt", "paradetox")
def test_data_splits_are_deterministic_and_disjoint():
    from lab.data import load_task

    for task in ["summarize", "reply", "translate:fr", "tone:paraphrase"]:
        train, dev = load_task(task, "train"), load_task(task, "dev")
        assert train and dev
        assert not {e.id for e in train} & {e.id for e in dev}
        assert [e.id for e in load_task(task, "dev")] == [e.id for e in dev]
    # reply: split by conversation
    conv = lambda e: e.id.split(":")[1]  # noqa: E731
    assert not {conv(e) for e in load_task("reply", "train")} & {conv(e) for e in load_task("reply", "dev")}


@pytest.mark.parametrize(
    ("answer", "target"),
    [
        ("Hey, what's up?", "Hey, what's up?"),
        (
            'Sure, here\'s the rewritten text in a casual style:\n\n"None of your business!"',
            "None of your business!",
        ),
        ("Here is the paraphrase:\nThe cat sat.\n\nThis version keeps the meaning.", "The cat sat."),
        ("\u00ab Bonjour \u00e0 tous \u00bb", "Bonjour \u00e0 tous"),
        ('"Yes," she said, "no."', '"Yes," she said, "no."'),  # inner quotes: not one wrapping pair
        ("Sure, poor people complain.", "Sure, poor people complain."),  # "Sure" as the text's own word
        ("Sure, I can help with that! What's a word you'd like to use?", None),
        ("I'm sorry, but I can't rewrite that.", None),
        ("  \n ", None),
    ],
)
def test_teacher_text_keeps_only_the_target(answer, target):
    from lab.data.teacher_text import clean_teacher_text

    assert clean_teacher_text(answer) == target


def test_read_targets_leaves_out_answers_without_a_target(tmp_path):
    from lab.data.sources import read_targets

    path = tmp_path / "t.jsonl"
    path.write_text(
        '{"id": "a", "target": "Here you go:\\nHi there."}\n{"id": "b", "target": "I\'m sorry, I cannot."}\n'
    )
    assert read_targets(path) == {"a": "Hi there."}
