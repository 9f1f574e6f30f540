"""The benchmark's tone classifier: which of professional / casual / witty / neutral a text is written in.

No human tone data exists here, so the labelled texts are built on sentences held apart from everything
the tone adapters and calibrations train or are tuned on (ParaDetox dev rows outside every tone
adapter's input pool): the teacher rewrites each sentence in the three styles (as it wrote the tone adapters'
targets), and ParaDetox's second human neutral rewrite is the "neutral" text (the paraphrase variants'
tone). Sentences, not texts, are split into train and test, so the test accuracy is measured on
content the classifier never saw. Texts are normalized first (lowercase, ParaDetox's tokenized spacing
undone) so formatting does not give the human texts away. Model: TF-IDF over word 1-2-grams and character 2-5-grams, then
logistic regression (scikit-learn); it trains in about a second, so it is rebuilt from the committed
teacher files whenever scoring needs it.

    python -m lab.eval.tone teacher [--threads 1]   # writes lab/targets/tone-classifier/tone-<t>.jsonl
    python -m lab.eval.tone evaluate                # prints the held-out accuracy and confusion matrix
"""

from __future__ import annotations

import argparse
import json
import random
import re
from dataclasses import dataclass
from functools import cache

from lab.data.sources import SEED, TARGETS_DIR, _paraphrase, read_targets

TONES = ("professional", "casual", "witty")
LABELS = (*TONES, "neutral")
N_SENTENCES = 160
N_TEST_SENTENCES = 40
FOLDER = TARGETS_DIR / "tone-classifier"


def held_apart_sentences() -> list:
    """ParaDetox dev rows that are in no tone adapter's input pool (seeded, stable)."""
    from lab.data.sources import _tone_inputs

    pooled = {e.id for split in ("train", "dev") for e in _tone_inputs(split)}
    candidates = [e for e in _paraphrase()[1] if e.id not in pooled]
    return random.Random(f"{SEED}:tone-classifier").sample(candidates, min(N_SENTENCES, len(candidates)))


def teacher(threads: int, parallel: int = 4) -> None:
    from lab.teacher import GGUF_PATH, run_teacher

    sentences = held_apart_sentences()
    jobs = [{"id": e.id, "text": e.input} for e in sentences]
    for tone in TONES:
        meta = {
            "purpose": "tone classifier data (lab.eval.tone), held apart from tone adapter training",
            "built_as": f"teacher applies tone:{tone} to ParaDetox dev neutral1 sentences outside the tone "
            "adapters' input pools",
            "selection": f"random.Random('{SEED}:tone-classifier').sample(unused ParaDetox dev rows, {N_SENTENCES})",
        }
        run_teacher(f"tone:{tone}", jobs, FOLDER / f"tone-{tone}.jsonl", meta, threads, GGUF_PATH, parallel)


@dataclass(frozen=True)
class LabelledText:
    sentence: str  # source id: train/test split by sentence
    text: str
    label: str


def labelled_texts() -> list[LabelledText]:
    sentences = held_apart_sentences()
    rewrites = {tone: read_targets(FOLDER / f"tone-{tone}.jsonl") for tone in TONES}
    out = []
    for e in sentences:
        out.append(LabelledText(e.id, e.target, "neutral"))
        out.extend(LabelledText(e.id, rewrites[t][e.id], t) for t in TONES if e.id in rewrites[t])
    return out


def split(texts: list[LabelledText]) -> tuple[list[LabelledText], list[LabelledText]]:
    ids = sorted({t.sentence for t in texts})
    test_ids = set(
        random.Random(f"{SEED}:tone-classifier:test").sample(ids, min(N_TEST_SENTENCES, len(ids) // 4))
    )
    return [t for t in texts if t.sentence not in test_ids], [t for t in texts if t.sentence in test_ids]


_SPACE_BEFORE = re.compile(r"\s+([.,!?;:%)]|n't\b|'(?:s|re|m|ll|ve|d)\b)")


def normalize(text: str) -> str:
    """Lowercased, with ParaDetox's tokenized spacing ("you 're mind , and") undone, so the classifier
    cannot tell the human neutral texts from the teacher's rewrites by their formatting."""
    return re.sub(r"\s+", " ", _SPACE_BEFORE.sub(r"\1", text.lower())).strip()


def build(train: list[LabelledText]):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline, make_union

    features = make_union(
        TfidfVectorizer(analyzer="word", ngram_range=(1, 2), preprocessor=normalize, sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), preprocessor=normalize, sublinear_tf=True),
    )
    model = make_pipeline(features, LogisticRegression(C=10.0, max_iter=2000))
    model.fit([t.text for t in train], [t.label for t in train])
    return model


def evaluate() -> dict:
    texts = labelled_texts()
    if not texts or all(t.label == "neutral" for t in texts):
        raise FileNotFoundError(
            f"no teacher tone rewrites in {FOLDER}: run `python -m lab.eval.tone teacher`"
        )
    train, test = split(texts)
    model = build(train)
    predicted = model.predict([t.text for t in test])
    confusion = {a: dict.fromkeys(LABELS, 0) for a in LABELS}
    for t, p in zip(test, predicted, strict=True):
        confusion[t.label][p] += 1
    correct = sum(confusion[a][a] for a in LABELS)
    return {
        "accuracy": 100 * correct / len(test),
        "test_texts": len(test),
        "train_texts": len(train),
        "sentences": len({t.sentence for t in texts}),
        "confusion": confusion,  # confusion[true][predicted]
        "model": "TF-IDF word 1-2 + char_wb 2-5 grams, logistic regression C=10 (scikit-learn)",
    }


@cache
def classifier():
    """The classifier trained on the train sentences (the test ones stay out, so `evaluate` is honest)."""
    texts = labelled_texts()
    if all(t.label == "neutral" for t in texts):
        return None
    return build(split(texts)[0])


def classify(texts: list[str]) -> list[str] | None:
    model = classifier()
    return None if model is None else [str(x) for x in model.predict(texts)]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    t = sub.add_parser("teacher")
    t.add_argument("--threads", type=int, default=1)
    t.add_argument("--parallel", type=int, default=4)
    sub.add_parser("evaluate")
    args = ap.parse_args(argv)
    if args.cmd == "teacher":
        teacher(args.threads, args.parallel)
    print(json.dumps(evaluate(), indent=1))


if __name__ == "__main__":
    main()
