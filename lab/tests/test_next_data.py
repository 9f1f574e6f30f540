"""The next pack's data (issue 16): DialogSum with people's names instead of #PersonN# tags, next-turn
reply pairs, their wiring behind --data, and what they must never contain (the real-text benchmark's
held-out inputs)."""

from __future__ import annotations

import random
import re
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from lab.data.speaker_names import FEMALE, MALE, TAG, UNISEX, Resolved, Skipped, build_lexicon, resolve

# A small corpus for the lexicon: names are written capitalized mid-sentence, "well" mostly lower case.
CORPUS = [
    "I saw Tom and Mary at the station, and then Mr. Smith called Tom again.",
    "Well, it is well known that Tom likes Mary. Ask Mary or Tom, they went to see Mr. Smith.",
    "We went in London and from London to Paris, as Tom and Mary said.",
] * 3


def lexicon():
    return build_lexicon(CORPUS)


def test_the_name_a_dialogue_gives_a_speaker_replaces_their_tag_everywhere():
    dialogue = (
        "#Person1#: Hi, Mr. Smith. I'm Doctor Hawkins. Why are you here today?\n"
        "#Person2#: I found it would be a good idea to get a check-up.\n"
        "#Person1#: Do you smoke, Mr. Smith?\n#Person2#: Yes."
    )
    summary = "Mr. Smith's getting a check-up and #Person1# tells him to quit smoking."
    r = resolve(dialogue, summary, lexicon(), random.Random(0))
    assert isinstance(r, Resolved), r
    assert r.names[2] == "Mr. Smith" and r.how[2] == "dialogue"
    assert r.names[1] == "Doctor Hawkins" and r.how[1] == "dialogue"  # "I'm Doctor Hawkins."
    assert [name for name, _ in r.turns] == ["Doctor Hawkins", "Mr. Smith", "Doctor Hawkins", "Mr. Smith"]
    assert r.summary == "Mr. Smith's getting a check-up and Doctor Hawkins tells him to quit smoking."


def test_drawn_names_are_consistent_new_and_leave_no_tag():
    dialogue = "#Person1#: Where is the station?\n#Person2#: Near Tom's house, I think.\n#Person1#: Thanks."
    summary = "#Person1# asks #Person2# the way to the station; #Person2# thinks it is near Tom's house."
    for seed in range(20):
        r = resolve(dialogue, summary, lexicon(), random.Random(seed))
        assert isinstance(r, Resolved) and set(r.how.values()) == {"drawn"}
        a, b = r.names[1], r.names[2]
        assert a != b and "Tom" not in (a, b)
        assert r.summary == f"{a} asks {b} the way to the station; {b} thinks it is near Tom's house."
        assert [n for n, _ in r.turns] == [a, b, a]
        assert "#" not in r.summary + "".join(t for _, t in r.turns)


def test_sir_and_a_gendered_summary_pick_the_pool():
    dialogue = "#Person1#: Can I help you, sir?\n#Person2#: Yes, a coffee please.\n#Person1#: Here you are."
    summary = "#Person2# orders a coffee and #Person1# gives it to him."
    for seed in range(20):
        r = resolve(dialogue, summary, lexicon(), random.Random(seed))
        assert r.names[2] in MALE  # called "sir"
        assert r.names[1] in UNISEX  # unknown, and "him" in the summary could be theirs
    r = resolve(dialogue, "#Person2# orders a coffee from #Person1#.", lexicon(), random.Random(1))
    assert r.names[1] in FEMALE + MALE + UNISEX
    home = (
        "#Person1#: Mom, where is my bag?\n#Person2#: In your room.\n#Person1#: Thanks, my mom is the best."
    )
    for seed in range(10):  # "Mom, ..." says #Person2#'s gender; "my mom is" says nothing of #Person1#'s
        r = resolve(home, "#Person1# asks #Person2# where the bag is.", lexicon(), random.Random(seed))
        assert r.names[2] in FEMALE and r.names[1] in FEMALE + MALE + UNISEX


def test_an_untagged_speaker_gets_the_one_name_the_summary_uses_or_the_dialogue_is_left_out():
    # Carl: a name some dialogue of the corpus gives a speaker (Lexicon.people), so the summary's
    # "Carl" surely names a person.
    lex = replace(build_lexicon([*CORPUS, "They met Carl and Carl met them, said Carl."]), people={"Carl"})
    dialogue = "#Person1#: Are you coming?\n#Person2#: Yes, in five minutes.\n#Person1#: Good."
    r = resolve(dialogue, "Carl tells #Person1# he is coming in five minutes.", lex, random.Random(0))
    assert isinstance(r, Resolved) and r.names[2] == "Carl" and r.how[2] == "summary"
    assert r.turns[1] == ("Carl", "Yes, in five minutes.")
    two = resolve(dialogue, "Carl and Mary meet; #Person1# waits.", lex, random.Random(0))
    assert isinstance(two, Skipped)  # two names for one untagged speaker
    unsure = resolve(dialogue, "Mary tells #Person1# she is coming.", lex, random.Random(0))
    assert isinstance(unsure, Skipped)  # "Mary" looks like a name but no dialogue gives it to anyone
    contradicting = "#Person1#: Hello, Tom!\n#Person2#: Hi.\n#Person1#: Ready?"
    assert isinstance(resolve(contradicting, "Tom greets #Person2#.", lex, random.Random(0)), Skipped)


@pytest.mark.data("dialogsum")
def test_every_rendered_dialogsum_dialogue_is_consistent_and_tag_free():
    from lab.data.dialogues import named_dialogues, naming_report, summaries
    from lab.data.sources import _dialogsum

    original = {e.id: e for e in _dialogsum("train")}
    named = named_dialogues("train")
    report = naming_report("train")
    assert report["dialogues"] == 12460 and report["rendered"] == len(named) > 11000
    for d in named:
        names = dict(d.how)
        e = original[d.id]
        assert {n for n, _ in d.turns} <= set(names)
        for tag in set(TAG.findall(e.target)):  # each tagged speaker appears by their name
            raw = [t for t in e.input.splitlines() if t.startswith(f"#Person{tag}#:")][0]
            first = raw.split(":", 1)[1].strip()
            speaker = next(n for n, text in d.turns if text.split()[:3] == TAG.sub("", first).split()[:3])
            assert speaker in d.summary, (d.id, speaker, d.summary)
    examples = summaries("train")
    assert len(examples) == len(named)
    prose = [x for x in examples if x.id.startswith("dialogsum-prose:")]
    assert 0.15 < len(prose) / len(examples) < 0.25
    for x in examples:
        assert not re.search(r"#\s*person", x.input + x.target, re.IGNORECASE), x.id
    for x in prose[:50]:
        assert not re.search(r"^\w[\w .'-]*: ", x.input, re.MULTILINE), x.input  # no speaker lines


def _held_out_lines() -> set[str]:
    """Normalized lines of 5+ words of every text the real-text benchmark may evaluate a command on
    and the lab must not train on: DialogSum dev, the translation dev (held-out) NTREX documents,
    the real emails."""
    from lab.data import dataset_dir
    from lab.data.sources import _dialogsum
    from lab.data.speaker_names import parse_turns
    from lab.eval.realtext import emails

    def norm(text):
        return " ".join(text.lower().split())

    lines = {norm(t.text) for e in _dialogsum("dev") for t in parse_turns(e.input)}
    ntrex = dataset_dir("ntrex")
    src = (ntrex / "newstest2019-src.eng.txt").read_text(encoding="utf-8").splitlines()
    docs = [x.split("\t")[0] for x in (ntrex / "DOCUMENT_IDS.tsv").read_text().splitlines()]
    from lab.data.sources import _translation

    dev_docs = {docs[int(e.id.rsplit(":", 1)[1])] for e in _translation("fr")[1] if e.id.startswith("ntrex:")}
    lines |= {norm(s) for s, d in zip(src, docs, strict=True) if d in dev_docs}
    from lab.data.store import DataUnavailable

    try:
        folder = dataset_dir("real-emails")
    except DataUnavailable:
        folder = None
    for item in emails(folder)[0]:
        lines |= {norm(x) for x in re.split(r"\n\s*\n|\n", item["text"])}
    return {x for x in lines if len(x.split()) >= 5}


@pytest.mark.data("dialogsum", "synthetic-persona-chat", "ntrex", "cocoa-mt")
def test_the_new_training_sets_hold_no_benchmark_input():
    from lab.data.paragraphs import paragraph_pairs
    from lab.data.sources import load_task

    held_out = _held_out_lines()
    assert len(held_out) > 3000
    sets = [
        (load_task("summarize", "train", "dialogsum-names"), 10000),
        (load_task("reply", "train", "dialogsum-turns+persona-chat"), 20000),
        *(
            (list(paragraph_pairs(lang, "train")), 600) for lang in ("es", "fr", "de")
        ),  # the new translation pairs
    ]
    for train, at_least in sets:
        assert len(train) > at_least
        assert not any(x.id.split(":")[1].startswith("dev_") for x in train)
        for x in train:
            for text in (x.input, x.target):
                for line in [text, *text.splitlines()]:
                    bare = " ".join(re.sub(r"^[^:\n]{1,40}: ", "", line).lower().split())
                    assert bare not in held_out, (x.id, line)


@pytest.mark.data("dialogsum", "synthetic-persona-chat")
def test_reply_pairs_answer_the_context_with_the_human_next_turn():
    from lab.data.dialogues import MAX_CONTEXT_WORDS, named_dialogues, next_turns, reply_mix
    from lab.data.sources import _persona_chat

    dialogues = {d.id.split(":")[1]: d for d in named_dialogues("train")}
    pairs = next_turns("train")
    assert len(pairs) > 10000
    for x in pairs:
        fname, t = x.id.split(":")[1], int(x.id.split(":")[2])
        d = dialogues[fname]
        assert t >= 2 and x.target == d.turns[t][1]  # the human turn, verbatim (names for tags)
        assert d.turns[t][0] != d.turns[t - 1][0]  # answers the other speaker
        lines = x.input.splitlines()
        assert lines[-1] == f"{d.turns[t - 1][0]}: {d.turns[t - 1][1]}"  # the turn it answers is last
        words = sum(len(line.split(": ", 1)[1].split()) for line in lines)
        assert len(lines) == 1 or words <= MAX_CONTEXT_WORDS  # the oldest turns cut first
    mix = reply_mix("train")
    persona = {e.id: e for e in _persona_chat()[0]}
    spc = [x for x in mix if x.id.startswith("spc:")]
    assert len(spc) == len(pairs) == len(mix) - len(spc)
    assert all(persona[x.id] == x for x in spc)


@pytest.mark.data("dialogsum")
def test_load_task_keeps_the_shipped_data_and_names_the_new_sets(tmp_path, monkeypatch):
    from lab.data import sources

    shipped = sources.load_task("summarize", "dev")
    assert sources.load_task("summarize", "dev", "shipped") == shipped
    assert all(e.id.startswith("dialogsum:") for e in shipped)
    named = sources.load_task("summarize", "dev", "dialogsum-names")
    assert named and all(e.id.split(":")[0] in ("dialogsum-names", "dialogsum-prose") for e in named)
    with pytest.raises(ValueError, match="known: shipped, dialogsum-names"):
        sources.load_task("summarize", "train", "dialogsum")
    with pytest.raises(ValueError, match="no data set"):
        sources.load_task("translate:fr", "train", "dialogsum-names")
    # A composite of the data set: its teacher targets, keyed by the data set's ids.
    monkeypatch.setattr(sources, "TARGETS_DIR", tmp_path)
    (tmp_path / "summarize+translate-fr.jsonl").write_text(
        f'{{"id": "{named[0].id}", "target": "Bonjour."}}\n{{"id": "{shipped[0].id}", "target": "Salut."}}\n'
    )
    composite = sources.load_task("summarize+translate:fr", "dev", "dialogsum-names")
    assert [(e.id, e.input, e.target) for e in composite] == [(named[0].id, named[0].input, "Bonjour.")]
    assert [e.target for e in sources.load_task("summarize+translate:fr", "dev")] == ["Salut."]


@pytest.mark.data("ntrex", "cocoa-mt")
def test_paragraph_pairs_join_consecutive_sentences_with_their_own_translations():
    from lab.data import dataset_dir
    from lab.data.paragraphs import MAX_WORDS, paragraph_pairs
    from lab.data.sources import _translation, load_task

    ntrex = dataset_dir("ntrex")
    src = (ntrex / "newstest2019-src.eng.txt").read_text(encoding="utf-8").splitlines()
    ref = (ntrex / "newstest2019-ref.deu.txt").read_text(encoding="utf-8").splitlines()
    train_lines = {int(e.id.rsplit(":", 1)[1]) for e in _translation("de")[0] if e.id.startswith("ntrex:")}
    pairs = paragraph_pairs("de", "train")
    for x in pairs:
        first, last = (int(n) for n in x.id.rsplit(":", 1)[1].split("-"))
        lines = range(first, last + 1)
        assert 2 <= len(lines) <= 4 and set(lines) <= train_lines
        assert x.input == " ".join(src[i].strip() for i in lines)
        assert x.target == " ".join(ref[i].strip() for i in lines)
        assert len(x.input.split()) <= MAX_WORDS
    mixed = load_task("translate:de", "train", "ntrex-paragraphs+sentences")
    assert mixed == [*_translation("de")[0], *pairs]
    dev_lines = {int(e.id.rsplit(":", 1)[1]) for e in _translation("de")[1] if e.id.startswith("ntrex:")}
    for x in paragraph_pairs("de", "dev"):
        first, last = (int(n) for n in x.id.rsplit(":", 1)[1].split("-"))
        assert set(range(first, last + 1)) <= dev_lines


@pytest.mark.data("dialogsum", "synthetic-persona-chat", "paradetox")
def test_paraphrase_pairs_are_the_teachers_rewrites_of_human_text_minus_near_copies(tmp_path, monkeypatch):
    from lab.data import sources

    monkeypatch.setattr(sources, "TARGETS_DIR", tmp_path)
    plain = [
        e
        for e in sources.load_task("summarize", "dev", "dialogsum-names")
        if not re.search(r"\d|\bnot\b|n't|\bno\b", e.target)
    ]
    reworded, copied = plain[:2]
    # The same people, in other words.
    paraphrase = "In brief, this concerns " + " and ".join(sorted(sources._names(reworded.target))) + "."
    (tmp_path / "summarize+tone-paraphrase.jsonl").write_text(
        f'{{"id": "{reworded.id}", "target": "{paraphrase}"}}\n'
        f'{{"id": "{copied.id}", "target": "{copied.target.rstrip(".")}!"}}\n'
    )
    pairs = sources.load_task("tone:paraphrase", "dev", "teacher-paraphrases+paradetox")
    teacher = [e for e in pairs if e.id.startswith("paraphrase:")]
    # The human summary in, the teacher's paraphrase out; the one that only changed a mark is left out.
    assert [(e.id, e.input, e.target) for e in teacher] == [
        (f"paraphrase:{reworded.id}", reworded.target, paraphrase)
    ]
    # As many ParaDetox pairs, none of them the same sentence in nearly the same words.
    paradetox = [e for e in pairs if e.id.startswith("paradetox:")]
    assert len(paradetox) == 1
    assert all(sources.word_similarity(e.input, e.target) < sources.REWRITE_MAX_SIMILARITY for e in paradetox)
    assert sources.word_similarity("I am so excited for work today", "I am excited for work today.") >= 0.8


needs_node = pytest.mark.skipif(
    shutil.which("node") is None
    or not (Path(__file__).resolve().parents[2] / "node_modules/esbuild").exists(),
    reason="node or node_modules (esbuild) missing: the engine's check cannot run",
)


@needs_node
def test_the_lab_asks_the_engine_what_a_rewrite_lost():
    from lab.data.sources import engine_lost_facts

    assert engine_lost_facts(
        [
            ("Anna asks Tom to the May 3 party.", "Anna invites Tom to the party on May 3."),
            ("I think the fix works.", "The fix works."),
            ("Did you see the code?", "Sure, I saw the code."),
            ('"It is stable," he said.', "It is stable."),
        ]
    ) == [
        None,
        "0 hedges where the input has 1",
        "0 questions where the input asks 1",
        "a quotation lost its quotation marks",
    ]


@needs_node
@pytest.mark.data("dialogsum", "synthetic-persona-chat", "paradetox")
def test_checked_tone_pairs_are_those_the_engine_would_keep(tmp_path, monkeypatch):
    from lab.data import sources

    monkeypatch.setattr(sources, "TARGETS_DIR", tmp_path)

    def reworded(summary: str, tail: str = "") -> str:
        return "In brief, this concerns " + " and ".join(sorted(sources._names(summary))) + tail + "."

    summaries = sources.load_task("summarize", "dev", "dialogsum-names")[:40]
    verdicts = sources.engine_lost_facts([(e.target, reworded(e.target)) for e in summaries])
    kept, made_up = [e for e, lost in zip(summaries, verdicts, strict=True) if lost is None][:2]
    # Both reword their summary; the second makes up a number, which the older filter does not see.
    (tmp_path / "summarize+tone-paraphrase.jsonl").write_text(
        f'{{"id": "{kept.id}", "target": "{reworded(kept.target)}"}}\n'
        f'{{"id": "{made_up.id}", "target": "{reworded(made_up.target, ", 3 times over")}"}}\n'
    )
    everything = sources.load_task("tone:paraphrase", "dev", "teacher-paraphrases+paradetox")
    checked = sources.load_task("tone:paraphrase", "dev", "teacher-paraphrases+paradetox-checked")
    teacher = [e.id for e in everything if e.id.startswith("paraphrase:")]
    assert teacher == [f"paraphrase:{kept.id}", f"paraphrase:{made_up.id}"]
    assert [e.id for e in checked if e.id.startswith("paraphrase:")] == [f"paraphrase:{kept.id}"]
    # As many ParaDetox pairs as teacher pairs, and none the engine would give back.
    assert len(checked) == 2
    assert sources.engine_lost_facts([(e.input, e.target) for e in checked]) == [None, None]


def test_every_tone_adapter_can_train_on_the_teachers_rewrites():
    from lab.data.sources import data_names

    for tone in ("casual", "professional", "witty"):
        assert "teacher-rewrites+sentences" in data_names(f"tone:{tone}")
    assert "teacher-paraphrases+paradetox" in data_names("tone:paraphrase")


def test_a_rewrite_that_changes_more_than_the_wording_is_not_training_data():
    from lab.data.sources import rewrite_changes

    source = "Anna invites Tom to the party on May 3, but Tom can't come."
    assert rewrite_changes(source, "Anna asks Tom to the May 3 party, but Tom can't make it.") is None
    assert (
        rewrite_changes(source, "Sure, Anna asks Tom to the May 3 party, but Tom can't make it.")
        == "opening word"
    )
    assert rewrite_changes(source, "Hey Tom, come to my party on May 3! Tom can't, though.") == "opening word"
    assert rewrite_changes(source, "I invite Tom to the May 3 party, but Tom can't make it.") == "person"
    assert rewrite_changes(source, "Anna asks Tom to the party in May, but Tom can't make it.") == "number"
    assert rewrite_changes(source, "Anna asks him to the May 3 party, but he can't make it.") == "name"
    assert rewrite_changes(source, "Anna asks Tom to the May 3 party, and Tom can make it.") == "negation"
