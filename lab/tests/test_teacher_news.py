"""lab.teacher_news: which NTREX paragraphs the teacher summarizes for the summarize adapter, and
which of its summaries are training data (the teacher itself runs in test_teacher_references.py)."""

from __future__ import annotations

import pytest

from lab import teacher_news as tn

PARAGRAPH = (
    "The city council voted on Tuesday to close the old bridge over the river for repairs that will "
    "take at least six months. Engineers found cracks in two of its supports during an inspection in "
    "March. Drivers will have to use the ring road, which adds about ten minutes to a trip downtown."
)


@pytest.mark.data("ntrex")
def test_only_documents_every_translation_adapter_trains_on_and_a_share_of_them():
    from lab.data.sources import LANGUAGE_NAMES, _translation

    docs = [
        line.split("\t")[0]
        for line in (tn.dataset_dir("ntrex") / "DOCUMENT_IDS.tsv").read_text().splitlines()
    ]
    held_out = {
        docs[int(e.id.split(":")[2])]
        for lang in LANGUAGE_NAMES
        for e in _translation(lang)[1]
        if e.id.startswith("ntrex:")
    }
    train, dev = tn.documents()
    assert len(dev) == tn.DEV_DOCUMENTS and not set(train) & set(dev)
    assert not (set(train) | set(dev)) & held_out, "the benchmark's news documents stay unseen"
    usable = len(set(docs) - held_out)
    assert len(train) + len(dev) == round(usable * tn.TRAIN_SHARE) < usable
    seeds = tn.seeds()
    assert len({s.id for s in seeds}) == len(seeds) > 200
    assert len({s.text for s in seeds}) == len(seeds), "a paragraph both cuts make is asked once"
    assert {s.id.split(":")[1] for s in seeds if s.split == "dev"} == set(dev)
    assert seeds == tuple(tn.seeds.__wrapped__()), "the same paragraphs on every run"


def test_a_summary_in_its_own_words_passes_and_a_copy_or_a_ramble_does_not():
    good = "The council is closing the cracked river bridge for six months of repairs, sending drivers on a longer route."
    assert tn.summary_problems(good, PARAGRAPH) == []
    lead = "The city council voted on Tuesday to close the old bridge over the river for repairs."
    assert any("6-word runs" in p for p in tn.summary_problems(lead, PARAGRAPH))
    about = "The article discusses the council's decision to close a bridge for repairs after an inspection."
    assert tn.summary_problems(about, PARAGRAPH) == ["about the text, not its news"]
    long = " ".join([good] * 3)
    problems = tn.summary_problems(long, PARAGRAPH)
    assert any(p.startswith("longer than asked") for p in problems) and any("twice" in p for p in problems)
    assert tn.summary_problems("The council is closing the bridge for six months of repairs", PARAGRAPH) == [
        "not a finished sentence"
    ]
    assert tn.summary_problems("council closes the bridge for six months of repairs.", PARAGRAPH) == [
        "does not start a sentence"
    ]


@pytest.mark.data("ntrex", "dialogsum")
def test_the_summarize_mix_adds_the_passing_news_summaries_at_the_email_share(tmp_path):
    from lab.data.sources import EMAIL_SHARE, load_task

    train = load_task("summarize", "train", "dialogsum-names+emails+news")
    before = load_task("summarize", "train", "dialogsum-names+emails")
    news = [e for e in train if e.id.startswith("news:")]
    assert train[: len(before)] == before, "the stage-1 mix, then the news"
    passing = tn.training_examples("train")
    assert passing, "lab/targets/news.summaries.jsonl holds passing summaries"
    assert {e.id for e in news if "#" not in e.id} == {e.id for e in passing}
    people = len(load_task("summarize", "train", "dialogsum-names"))
    assert abs(len(news) / (people + len(news)) - EMAIL_SHARE) < 0.03
    dev = load_task("summarize", "dev", "dialogsum-names+emails+news")
    assert {e.id for e in dev if e.id.startswith("news:")} == {e.id for e in tn.training_examples("dev")}
