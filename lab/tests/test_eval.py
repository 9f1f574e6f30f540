"""Benchmark-side evaluation (lab/lab/eval): metrics against hand-checked values, the upstream-format
readers on small files written here, the scoring CLI's JSON contract, and the charts."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from lab.eval import data, metrics, score

LAB = Path(__file__).resolve().parents[1]


def test_rouge_l_uses_the_stemmer_and_the_best_reference():
    # "meetings" stems to "meet": identical after stemming.
    # stems: "they discuss meet" vs "they discuss the meet": LCS 3, P 3/3, R 3/4
    assert metrics.rouge_l("they discuss meetings", ["They discussed the meeting."]) == pytest.approx(
        100 * 2 * 1 * 0.75 / 1.75
    )
    assert metrics.rouge_l("a b c", ["x y z", "a b c"]) == pytest.approx(100.0)


def test_weighted_rouge_is_r1_over_6_plus_r2_over_3_plus_r3_over_2():
    assert metrics.weighted_rouge("see you at noon", ["see you at noon"]) == pytest.approx(
        100 * (1 / 6 + 1 / 3 + 1 / 2)
    )
    # 4 of 4 unigrams, 2 of 3 bigrams, 1 of 2 trigrams shared ("see you at" | "see you at five")
    out, ref = "see you at noon", "see you at five"
    expected = 100 * (0.75 / 6 + (2 / 3) / 3 + 0.5 / 2)
    assert metrics.weighted_rouge(out, [ref]) == pytest.approx(expected)


def test_chrf_matches_sacrebleu_and_takes_the_best_reference():
    from sacrebleu.metrics import CHRF

    expected = CHRF().sentence_score("Ja, ich komme.", ["Ja, ich komme morgen."]).score
    assert metrics.chrf("Ja, ich komme.", ["Nein.", "Ja, ich komme morgen."]) == pytest.approx(expected)


def test_language_identification_on_clear_sentences():
    assert metrics.language("Nous avons parlé de la réunion de jeudi prochain.") == "fr"
    assert metrics.language("Hablamos de la reunión del próximo jueves con el equipo.") == "es"
    assert metrics.language("Wir haben über das Treffen am nächsten Donnerstag gesprochen.") == "de"
    assert metrics.language("We talked about the meeting next Thursday.") == "en"
    assert metrics.language("   ") == ""


def test_language_identification_on_short_replies():
    # Short model replies that langid.py labels pt, fr, en and nl (so Lingua checks these languages)
    assert metrics.language("Je suis sûr que ça va.", "fr") == "fr"
    assert metrics.language("¿Qué te gusta?", "es") == "es"
    assert metrics.language("Danke.", "de") == "de"
    assert metrics.language("Ich bin hier.", "de") == "de"
    # and short English replies that Lingua labels de and nl (so langid.py checks English)
    assert metrics.language("I'm User 2.", "en") == "en"
    assert metrics.language("Me too.", "en") == "en"
    assert metrics.language("Sure, I can hear you.", "en") == "en"  # langid.py alone: Dutch
    assert metrics.language("Je suis sûr que ça va.", "en") != "en"
    # Outside the candidate set (another script, no letters): no language, so never "right".
    assert metrics.language("Так, вони.") == ""
    assert metrics.language("¡¡¡¡¡¡¡¡") == ""


@pytest.mark.data("synthetic-persona-chat", "ntrex", "cocoa-mt")
def test_each_language_is_checked_by_the_identifier_better_on_its_short_human_text():
    from lab.eval.language_id_check import human_sentences

    def accuracy(identify, lang):
        short = [t for t in human_sentences(lang) if len(t) <= 40]
        return sum(identify(t) == lang for t in short) / len(short)

    for lang in ("es", "fr", "de", "en"):
        chosen = metrics.identifier_for(lang)
        for other in {metrics.by_lingua, metrics.by_langid} - {chosen}:
            assert accuracy(chosen, lang) >= accuracy(other, lang), lang
        assert all(metrics.language(t, lang) == chosen(t) for t in human_sentences(lang)[:20])
    # English: either identifier saying English beats langid.py alone on short human replies.
    assert accuracy(metrics.by_either_for_english, "en") > accuracy(metrics.by_langid, "en")


def test_looping_flags_degenerate_repetition_only():
    # Seen in the benchmark's cache: LC++ replies in Spanish that loop on "¡", a merge on "me".
    assert metrics.looping("¡" * 120)
    assert metrics.looping("Me he me me me me me me me me me me me me me me me")
    assert metrics.looping("Sí. " + "Me gusta. " * 8)
    assert not metrics.looping("Sí, es un gran día.")
    assert not metrics.looping("hahaha that is funny")  # short repetition inside a normal text
    assert not metrics.looping("Le chat dort. Le chien dort.")


def test_placeholders_are_taken_out_of_both_sides_where_a_reference_has_them():
    assert metrics.without_placeholders("#Persona1# invita a Bill.").split() == ["invita", "a", "Bill."]
    assert metrics.without_placeholders("Person1 le dice a Personne 2 #PhoneNumber#.").split() == [
        "le",
        "dice",
        "a",
        ".",
    ]
    assert not metrics.has_placeholder("Una persona invita a Bill a las 2.")
    item = {
        "key": "k",
        "metric": "rougeL",
        "references": ["#Persona1# invita a Bill al cine."],
        "language": "es",
    }
    named = score.score({"items": [{**item, "output": "Ana invita a Bill al cine."}]})["items"]["k"]
    tagged = score.score({"items": [{**item, "output": "#Persona1# invita a Bill al cine."}]})["items"]["k"]
    # Raw ROUGE prefers the placeholder; without placeholders, the name costs only its own token.
    assert tagged["main"] == pytest.approx(100) and named["main"] < tagged["main"]
    assert tagged["main_without_placeholders"] == pytest.approx(100)
    assert named["main_without_placeholders"] > named["main"]


def test_score_reports_null_where_no_reference_exists():
    out = score.score(
        {
            "items": [
                {
                    "key": "k1",
                    "output": "Ils parlent.",
                    "metric": "rougeL",
                    "references": [],
                    "language": "fr",
                },
                {
                    "key": "k2",
                    "output": "Ja, gerne.",
                    "metric": "wrouge",
                    "references": ["Ja, gerne."],
                    "human_references": ["Ja, sehr gerne."],
                    "language": "de",
                },
            ]
        }
    )
    k1, k2 = out["items"]["k1"], out["items"]["k2"]
    assert k1["main"] is None and k1["chrf"] is None and k1["language_ok"] is True
    assert k1["looping"] is False
    assert k2["main"] == pytest.approx(100 * (1 / 6 + 1 / 3))  # two tokens: no trigram, R3 = 0
    assert k2["chrf"] is not None and 0 < k2["chrf"] < 100
    assert k1["main_without_placeholders"] is None and k2["main_without_placeholders"] == k2["main"]
    assert set(out["versions"]) == {"rouge-score", "sacrebleu", "lingua-language-detector", "langid"}


def test_score_cli_is_json_in_json_out():
    payload = {
        "items": [
            {
                "key": "a",
                "output": "hello there",
                "metric": "rougeL",
                "references": ["hello"],
                "language": "en",
            }
        ]
    }
    run = subprocess.run(
        [sys.executable, "-m", "lab.eval.score"],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        cwd=LAB,
        check=True,
    )
    assert json.loads(run.stdout)["items"]["a"]["main"] == pytest.approx(100 * 2 * 1 * 0.5 / 1.5)


def _write_data_dir(root: Path) -> None:
    (root / "ds").mkdir()
    rows = [
        {
            "fname": "test_1",
            "dialogue": "#Person1#: Hi.\n#Person2#: Hello.",
            "summary1": "They greet.",
            "summary2": "Hi.",
        },
        {"fname": "test_2", "dialogue": "#Person1#: Bye.", "summary": "One says bye."},
    ]
    (root / "ds" / "dialogsum.test.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    conv = "User 1: Hi there!\nUser 2: Hello, how are you?\nUser 1: Fine."
    (root / "spc.csv").write_text(
        "user 1 personas,user 2 personas,Best Generated Conversation\n" + f'a,b,"{conv}"\n', encoding="utf-8"
    )
    (root / "en_test_human.txt").write_text("How are you ? __eou__ I ' m fine . __eou__\n")
    (root / "de_test_human.txt").write_text("Wie geht es dir?__eou__Mir geht es gut.Danke.__eou__\n")


def test_data_dir_reads_the_upstream_formats(tmp_path):
    _write_data_dir(tmp_path)
    mains, xdd, files = data.dir_sources(tmp_path)
    assert [e["id"] for e in mains["summarize"]] == ["dialogsum:test_1", "dialogsum:test_2"]
    assert mains["summarize"][0]["main_references"] == ["They greet.", "Hi."]
    assert [e["input"] for e in mains["reply"]] == ["Hi there!", "Hello, how are you?"]
    # Row numbers restart in every split: the file names the id.
    assert [e["id"] for e in mains["reply"]] == ["spc:spc:0:0", "spc:spc:0:1"]
    assert xdd == [
        {
            "id": "xdd:en_test_human:0:0",
            "input": "How are you?",
            "human_references": ["Mir geht es gut. Danke."],
            "human_source": xdd[0]["human_source"],
        }
    ]
    assert len(files) == 4


def test_build_marks_references_pending_until_targets_exist(tmp_path):
    _write_data_dir(tmp_path)
    targets = tmp_path / "targets"
    targets.mkdir()
    (targets / "summarize+translate-fr.jsonl").write_text(
        json.dumps({"id": "dialogsum:test_1", "target": "Ils se saluent."}) + "\n"
    )
    # The lab's own Synthetic-Persona-Chat dev turn "spc:0:0" is another text than this folder's first turn.
    (targets / "reply+translate-de.jsonl").write_text(
        json.dumps({"id": "spc:0:0", "target": "Hallo!"}) + "\n"
    )
    out = data.build(
        None, 1234, tmp_path, targets, ["summarize+translate:fr", "reply+translate:de", "reply+tone:witty"]
    )
    fr = out["variants"]["summarize+translate:fr"]
    assert fr["metric"] == "rougeL" and fr["language"] == "fr" and fr["group"] == "Sum+Tr"
    assert [e["references"] for e in fr["examples"]] == [["Ils se saluent."], []]
    assert out["references"]["summarize+translate:fr"]["covered"] == 1
    de = out["variants"]["reply+translate:de"]
    assert [e["references"] for e in de["examples"] if e["id"].startswith("spc:")] == [[], []]
    assert any(e.get("human_references") for e in de["examples"]), (
        "XDailyDialog examples join reply+translate:de"
    )
    witty = out["variants"]["reply+tone:witty"]
    assert witty["language"] == "en" and witty["tone"] == "witty" and witty["metric"] == "wrouge"


def test_sampling_is_seeded_and_shared_across_variants(tmp_path):
    items = [{"id": str(i)} for i in range(50)]
    assert data.sample(items, 5, 1) == data.sample(items, 5, 1)
    assert data.sample(items, 5, 1) != data.sample(items, 5, 2)
    assert data.sample(items, 100, 1) == items


def test_references_command_writes_teacher_requests(tmp_path):
    _write_data_dir(tmp_path)
    from lab.eval import references

    references.main(
        ["--data-dir", str(tmp_path), "--targets-dir", str(tmp_path / "none"), "--out", str(tmp_path / "req")]
    )
    lines = (tmp_path / "req" / "summarize+translate-fr.requests.jsonl").read_text().splitlines()
    assert [json.loads(x) for x in lines][0] == {
        "id": "dialogsum:test_1",
        "source": "They greet.",
        "task": "translate:fr",
    }


def test_charts_write_pngs_even_with_pending_numbers(tmp_path):
    from lab.eval import charts

    results = {
        "config": {"n": 1},
        "quality": {"groups": {"Sum+Tr": {"zero-shot": {"main": None, "language_accuracy": 50.0}}}},
        "speed": None,
    }
    (tmp_path / "r.json").write_text(json.dumps(results))
    charts.main([str(tmp_path / "r.json"), str(tmp_path / "out")])
    for name in ("quality.png", "latency.png"):
        assert (tmp_path / "out" / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    results["quality"] = None  # a speed-only run (--no-quality)
    (tmp_path / "r.json").write_text(json.dumps(results))
    charts.main([str(tmp_path / "r.json"), str(tmp_path / "out2")])
    assert (tmp_path / "out2" / "quality.png").exists()


# ---- the tone classifier (lab/lab/eval/tone.py) ----


@pytest.mark.data("ntrex", "paradetox")
def test_tone_classifier_sentences_are_held_apart_from_tone_adapter_data():
    from lab.data.sources import _tone_inputs
    from lab.eval import tone

    held = {e.id for e in tone.held_apart_sentences()}
    assert len(held) == tone.N_SENTENCES
    assert not held & {e.id for split in ("train", "dev") for e in _tone_inputs(split)}


def test_tone_split_keeps_every_sentence_on_one_side():
    from lab.eval.tone import LabelledText, split

    texts = [
        LabelledText(f"s{i}", f"text {i} {label}", label)
        for i in range(40)
        for label in ("casual", "neutral")
    ]
    train, test = split(texts)
    assert test and train
    assert not {t.sentence for t in train} & {t.sentence for t in test}
    assert len(train) + len(test) == len(texts)


def test_tone_normalize_undoes_tokenized_spacing():
    from lab.eval.tone import normalize

    assert normalize("You 're right , it 's FINE .") == normalize("you're right, it's fine.")


def test_tone_classifier_separates_styles_it_was_trained_on():
    from lab.eval.tone import LabelledText, build

    styles = {
        "professional": "We would kindly request that you review the attached {} at your earliest convenience.",
        "casual": "hey, can u check out the {} real quick? thx!",
        "witty": "Behold, the {} — a masterpiece only a genius (or a very tired intern) could love.",
        "neutral": "please review the {} .",
    }
    things = [
        "report",
        "invoice",
        "draft",
        "plan",
        "budget",
        "slides",
        "memo",
        "contract",
        "schedule",
        "proposal",
    ]
    train = [LabelledText(t, s.format(t), label) for t in things[:8] for label, s in styles.items()]
    model = build(train)
    assert list(model.predict([s.format(things[9]) for s in styles.values()])) == list(styles)


@pytest.mark.data("ntrex", "paradetox")
def test_tone_classifier_beats_chance_on_held_out_sentences():
    # On the committed teacher data (lab/targets/tone-classifier/). Measured: 49.4% on 158 held-out
    # texts, 4 classes (chance 25%, one standard deviation 3.4 points); casual and witty get confused,
    # as the teacher's witty rewrites are often plain casual ones.
    from lab.eval import tone

    result = tone.evaluate()
    assert result["test_texts"] >= 4 * 38
    assert result["accuracy"] > 40, result
    confusion = result["confusion"]
    assert confusion["professional"]["professional"] > sum(confusion["professional"].values()) / 2
