"""The real-text benchmark's inputs (lab/lab/eval/realtext.py): deterministic, and held out from every
adapter a command runs (checked here against the lab's own splits by id, independently of the
content rule the module applies)."""

from __future__ import annotations

import json

import pytest

from lab.eval import realtext

COMMANDS = {
    "email": ["summarize", "reply", "translate:fr", "reply+tone:casual+translate:fr"],
    "news": [
        "summarize",
        "translate:es",
        "translate:fr",
        "translate:de",
        "tone:casual",
        "tone:professional",
        "summarize+tone:casual+translate:fr",
    ],
    "dialogue": ["summarize", "reply", "summarize+translate:de"],
    "customer": ["reply", "translate:fr", "translate:de", "reply+tone:casual+translate:fr"],
    "long": ["summarize", "translate:fr", "summarize+translate:fr"],
}
N = {"email": 4, "news": 4, "dialogue": 4, "customer": 4, "long": 3}


@pytest.fixture(scope="module")
def built():
    return realtext.build(COMMANDS, N, 1234, None, False)


def _ntrex_docs() -> list[str]:
    from lab.data import dataset_dir

    return [
        line.split("\t")[0] for line in (dataset_dir("ntrex") / "DOCUMENT_IDS.tsv").read_text().splitlines()
    ]


def _trained_ntrex_docs(chain: str) -> set[str]:
    """Documents with a line the lab trained on for `chain`, or asked the teacher to write a target
    for (lab/targets/<chain>.jsonl, any split), by id."""
    from lab.data import load_task
    from lab.data.sources import TARGETS_DIR
    from lab.prompts import file_key

    docs = _ntrex_docs()
    ids = {e.id for e in load_task(chain, "train")}
    if chain == "summarize":  # the next pack's summarize reads the teacher's news summaries, dev ones too
        ids |= {
            e.id for split in ("train", "dev") for e in load_task(chain, split, "dialogsum-names+emails+news")
        }
    targets = TARGETS_DIR / f"{file_key(chain)}.jsonl"
    if targets.exists():
        ids |= {json.loads(line)["id"] for line in targets.read_text().splitlines() if line.strip()}
    return {docs[int(i.rsplit(":", 1)[1])] for i in ids if i.startswith("ntrex:")} | {
        i.split(":")[1] for i in ids if i.startswith("news:")
    }


def test_the_selection_is_deterministic_and_seeded(built):
    assert realtext.build(COMMANDS, N, 1234, None, False) == built
    other = realtext.build(COMMANDS, N, 99, None, False)
    assert other["selection"]["email"]["summarize"] != built["selection"]["email"]["summarize"]
    json.dumps(built)  # what the benchmark reads: plain JSON


def test_the_benchmarks_own_emails_join_the_shared_ones(built):
    if not realtext.BENCH_EMAILS.exists():
        pytest.skip("bench/realtext/emails.jsonl is not in this checkout")
    own = sum(1 for line in realtext.BENCH_EMAILS.read_text().splitlines() if line.strip())
    assert built["pools"]["email"] == 32 + own
    assert any(p["path"] == str(realtext.BENCH_EMAILS) for p in built["files"])


def test_each_command_gets_n_inputs_with_id_genre_text_and_source(built):
    for genre, commands in COMMANDS.items():
        for command in commands:
            ids = built["selection"][genre][command]
            if genre != "long" and command.count("+") < 2:
                assert len(ids) == N[genre], (genre, command)
            for item in (built["items"][i] for i in ids):
                assert item["genre"] == genre and item["text"].strip() and item["source"]
    assert all(
        item["source"].startswith("http") for item in built["items"].values() if item["genre"] == "email"
    )


def test_no_selected_ntrex_document_is_one_the_commands_adapters_trained_on(built):
    for genre in ("news", "long"):
        for command, ids in built["selection"][genre].items():
            trained = set().union(*(_trained_ntrex_docs(c) for c in realtext.artifact_chains(command)))
            for item_id in ids:
                source = built["items"][item_id]["source"]
                docs = (
                    source.split("document ", 1)[1] if genre == "news" else source.split("documents ", 1)[1]
                )
                assert not {d.strip() for d in docs.split(",")} & trained, (command, item_id)
    # The translation adapters train on about 90% of NTREX: a translation gets only the rest; the
    # tone adapters' teacher targets (dev ones too) cover news sentences of many documents.
    assert len(_trained_ntrex_docs("translate:fr")) > 60
    from lab import teacher_news

    news = {e.id.split(":")[1] for split in ("train", "dev") for e in teacher_news.training_examples(split)}
    assert news and news <= _trained_ntrex_docs("summarize"), "the documents of the news summaries"
    assert any(not d.startswith("ntrex") for d in _trained_ntrex_docs("tone:casual"))
    assert built["selection"]["news"]["translate:fr"] and built["selection"]["news"]["tone:casual"]


def test_news_paragraphs_are_3_to_8_sentences_with_the_human_translation_of_the_same_sentences(built):
    from lab.data import dataset_dir

    root = dataset_dir("ntrex")
    src = (root / "newstest2019-src.eng.txt").read_text().splitlines()
    fra = (root / "newstest2019-ref.fra.txt").read_text().splitlines()
    for item_id in built["selection"]["news"]["translate:fr"]:
        item = built["items"][item_id]
        reference = item["references"]["fr"][0]
        first = src.index(next(s for s in src if s.strip() and item["text"].startswith(s.strip())))
        en = [s.strip() for s in src[first : first + 8]]
        count = next(k for k in range(3, 9) if realtext.join_sentences(en[:k]) == item["text"])
        assert 3 <= count <= 8
        fr = [s.strip() for s in fra[first : first + count]]
        assert reference == realtext.join_sentences(fr, like=en[:count])


def test_a_line_without_a_closing_mark_stands_on_its_own_line():
    # NTREX's subheadings and bullets ("... under new Tory plans") have no period: run into the next
    # sentence they made a 60-word sentence that the translation adapters ran away on.
    en = ["Foreign buyers will pay more", "The move targets investors.", "It starts in April (2019)."]
    assert (
        realtext.join_sentences(en)
        == "Foreign buyers will pay more\nThe move targets investors. It starts in April (2019)."
    )
    fr = ["Les acheteurs paieront plus", "La mesure vise les investisseurs.", "Elle commence en avril."]
    assert realtext.join_sentences(fr, like=en).split("\n")[0] == "Les acheteurs paieront plus"
    with pytest.raises(ValueError):
        realtext.join_sentences(fr[:2], like=en)


def test_long_documents_are_whole_documents_of_1500_to_4000_words(built):
    summaries = [built["items"][i] for i in built["selection"]["long"]["summarize"]]
    words = [item["words"] for item in summaries]
    assert len(words) == 3 and all(1500 <= w <= 4000 for w in words) and max(words) >= 3800
    assert all("\n\n" in item["text"] for item in summaries), "headlines and paragraphs kept apart"
    # Translations get only documents held out from translate:fr, fewer words exist there.
    for item_id in built["selection"]["long"]["translate:fr"]:
        assert 1500 <= built["items"][item_id]["words"] <= 4000


def test_customer_messages_hold_out_what_the_translation_and_register_adapters_trained_on(built):
    from lab.data import load_task

    for command in ("translate:fr", "reply+tone:casual+translate:fr"):
        trained = {
            " ".join(e.input.lower().split())
            for chain in realtext.artifact_chains(command)
            for e in load_task(chain, "train")
        }
        for item_id in built["selection"]["customer"][command]:
            item = built["items"][item_id]
            assert " ".join(item["text"].lower().split()) not in trained, (command, item_id)
            assert len(item["text"].split()) >= realtext.CUSTOMER_MIN_WORDS
    for item_id in built["selection"]["customer"]["translate:fr"]:
        assert len(built["items"][item_id]["references"]["fr"]) == 2, "formal and informal human translations"


def test_dialogues_with_a_teacher_target_for_the_command_are_left_out(built):
    from lab.data.sources import TARGETS_DIR

    # Every id the teacher was asked to write summarize+translate:de for (dev ones included).
    path = TARGETS_DIR / "summarize+translate-de.jsonl"
    targeted = {json.loads(line)["id"] for line in path.read_text().splitlines() if line.strip()}
    assert any(i.startswith("dialogsum:dev_") for i in targeted)
    chosen = {
        built["items"][i]["source"].rsplit(" ", 1)[1]
        for i in built["selection"]["dialogue"]["summarize+translate:de"]
    }
    assert not {f"dialogsum:{fname}" for fname in chosen} & targeted


def test_a_data_folder_in_the_shared_layout_is_read_and_checked_by_content(tmp_path, monkeypatch):
    monkeypatch.setattr(realtext, "BENCH_EMAILS", tmp_path / "none.jsonl")
    (tmp_path / "real-emails").mkdir()
    emails = [
        {
            "id": "e1",
            "url": "https://lists.example.org/1",
            "text": "Can we move the call to Friday? Thanks, Ana",
        },
        {
            "id": "e2",
            "url": "https://lists.example.org/2",
            "text": "The nightly build failed again on arm64.",
        },
    ]
    (tmp_path / "real-emails" / "emails.jsonl").write_text("\n".join(json.dumps(e) for e in emails) + "\n")
    (tmp_path / "ntrex").mkdir()
    # One document the translation adapters never saw and one sentence they trained on.
    from lab.data import load_task

    seen = next(e.input for e in load_task("translate:fr", "train") if e.id.startswith("ntrex:"))
    lines = [
        "Headline one",
        "A first sentence.",
        "A second one.",
        "A third.",
        "Headline two",
        seen,
        "More.",
        "Again.",
    ]
    (tmp_path / "ntrex" / "newstest2019-src.eng.txt").write_text("\n".join(lines) + "\n")
    (tmp_path / "ntrex" / "newstest2019-ref.fra.txt").write_text("\n".join(f"fr {x}" for x in lines) + "\n")
    (tmp_path / "ntrex" / "DOCUMENT_IDS.tsv").write_text("\n".join(["a"] * 4 + ["b"] * 4) + "\n")
    out = realtext.build(
        {"email": ["summarize"], "news": ["translate:fr", "summarize"], "dialogue": ["summarize"]},
        {"email": 5, "news": 5, "dialogue": 5},
        1,
        tmp_path,
        False,
    )
    assert out["missing"] == {"dialogue": f"no dialogsum/ folder in {tmp_path}"}
    assert out["selection"]["dialogue"] == {"summarize": []}
    assert sorted(out["selection"]["email"]["summarize"]) == ["email:e1", "email:e2"]
    assert out["selection"]["news"]["translate:fr"] == ["news:a:0"], "document b has a trained sentence"
    assert sorted(out["selection"]["news"]["summarize"]) == ["news:a:0", "news:b:0"]
    assert out["items"]["news:a:0"]["references"]["fr"] == [
        "fr A first sentence. fr A second one. fr A third."
    ]
    # The same id for two different emails is refused, naming the file.
    emails.append({"id": "e1", "url": "https://lists.example.org/3", "text": "Another text"})
    (tmp_path / "real-emails" / "emails.jsonl").write_text("\n".join(json.dumps(e) for e in emails) + "\n")
    with pytest.raises(ValueError, match="'e1' is used twice"):
        realtext.build({"email": ["summarize"]}, {"email": 5}, 1, tmp_path, False)


def test_score_gives_the_language_and_chrf_against_the_best_reference():
    scores = realtext.score_item(
        {
            "output": "Pouvez-vous vérifier le texte avant vendredi ?",
            "language": "fr",
            "references": ["Pourriez-vous vérifier le texte avant vendredi ?", "Tu peux vérifier le texte ?"],
        }
    )
    assert scores["language"] == "fr" and scores["chrf"] > 60
    assert realtext.score_item(
        {"output": "Hello there, how are you?", "language": "en", "references": []}
    ) == {
        "language": "en",
        "chrf": None,
    }
