"""The NTREX check's data (lab/lab/eval/news.py): the upstream layout read from any folder, and the
default sentences held out from every translation adapter."""

from __future__ import annotations

import pytest

from lab.eval import news


def test_reader_takes_the_upstream_layout_with_or_without_document_ids(tmp_path):
    (tmp_path / "newstest2019-src.eng.txt").write_text("Hello.\n\nGood night.\n")
    (tmp_path / "newstest2019-ref.fra.txt").write_text("Bonjour.\n\nBonne nuit.\n")
    rows = news.read_ntrex(tmp_path, "fr")
    assert [(r["id"], r["document"], r["reference"]) for r in rows] == [
        ("ntrex:fr:0", "0", "Bonjour."),
        ("ntrex:fr:2", "2", "Bonne nuit."),
    ]
    (tmp_path / "DOCUMENT_IDS.tsv").write_text("bbc.1\nbbc.1\nbbc.2\n")
    assert [r["document"] for r in news.read_ntrex(tmp_path, "fr")] == ["bbc.1", "bbc.2"]
    assert news.read_ntrex(tmp_path, "de") == []  # no German reference file


@pytest.mark.data("ntrex", "cocoa-mt")
def test_default_sentences_come_from_documents_no_adapter_was_trained_on():
    from lab.data import load_task

    sentences = news.build(None, 1234, None, ["de"])["languages"]["de"]
    train = {e.id for e in load_task("translate:de", "train")}
    assert len(sentences) > 100 and not {s["id"] for s in sentences} & train
    picked = news.build(5, 1234, None, ["de"])["languages"]["de"]
    assert len(picked) == 5 and picked == news.build(5, 1234, None, ["de"])["languages"]["de"]
