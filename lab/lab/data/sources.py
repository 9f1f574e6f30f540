from __future__ import annotations

import csv
import json
import random
import re
from collections import defaultdict
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lab.data.store import dataset_dir
from lab.data.teacher_text import clean_teacher_text
from lab.prompts import LANGUAGE_NAMES, MAIN_TASKS, file_key, split_chain

LAB_DIR = Path(__file__).resolve().parents[2]
SEED = 1234
TARGETS_DIR = LAB_DIR / "targets"


@dataclass(frozen=True)
class Example:
    id: str  # stable source id, e.g. "dialogsum:train_17", "spc:42:3", "ntrex:fr:100"
    input: str
    target: str


def _split_by_group(items: list, group_of, dev_fraction: float, seed: int) -> tuple[list, list]:
    """Seeded split that keeps every group (conversation, document) on one side."""
    groups = sorted({group_of(x) for x in items})
    rng = random.Random(seed)
    rng.shuffle(groups)
    n_dev = max(1, round(len(groups) * dev_fraction))
    dev_groups = set(groups[:n_dev])
    train = [x for x in items if group_of(x) not in dev_groups]
    dev = [x for x in items if group_of(x) in dev_groups]
    return train, dev


# ---- summarize: DialogSum (upstream train / dev files are the splits) ----
@cache
def _dialogsum(split: str) -> tuple[Example, ...]:
    path = dataset_dir("dialogsum") / f"dialogsum.{split}.jsonl"
    out = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            r = json.loads(line)
            out.append(Example(f"dialogsum:{r['fname']}", r["dialogue"].strip(), r["summary"].strip()))
    return tuple(out)


# ---- reply: consecutive turns of Synthetic-Persona-Chat, split by conversation ----
_TURN = re.compile(r"^(User [12]):\s*(.*)$")


def persona_chat_turns(path: Path) -> list[tuple[int, list[str]]]:
    """(conversation index, its turns) from a Synthetic-Persona-Chat csv; a line without a
    "User N:" prefix continues the turn before it. Ids built on these are "spc:<conv>:<turn>"."""
    out = []
    with open(path, encoding="utf-8", newline="") as f:
        for conv_id, row in enumerate(csv.DictReader(f)):
            turns: list[str] = []
            for line in row["Best Generated Conversation"].splitlines():
                m = _TURN.match(line.strip())
                if m and m.group(2).strip():
                    turns.append(m.group(2).strip())
                elif turns and line.strip():
                    turns[-1] += " " + line.strip()
            out.append((conv_id, turns))
    return out


@cache
def _persona_chat() -> tuple[tuple[Example, ...], tuple[Example, ...]]:
    path = dataset_dir("synthetic-persona-chat") / "Synthetic-Persona-Chat_valid.csv"
    pairs = [
        (conv_id, Example(f"spc:{conv_id}:{t}", turns[t], turns[t + 1]))
        for conv_id, turns in persona_chat_turns(path)
        for t in range(len(turns) - 1)
    ]
    train, dev = _split_by_group(pairs, lambda p: p[0], 0.1, SEED)
    return tuple(e for _, e in train), tuple(e for _, e in dev)


# ---- translate:{es,fr,de}: NTREX (split by document) + CoCoA-MT (formal references) ----
_NTREX_LANG = {"es": "spa", "fr": "fra", "de": "deu"}


@cache
def _translation(lang: str) -> tuple[tuple[Example, ...], tuple[Example, ...]]:
    ntrex = dataset_dir("ntrex")
    src = (ntrex / "newstest2019-src.eng.txt").read_text(encoding="utf-8").splitlines()
    ref = (ntrex / f"newstest2019-ref.{_NTREX_LANG[lang]}.txt").read_text(encoding="utf-8").splitlines()
    docs = (ntrex / "DOCUMENT_IDS.tsv").read_text(encoding="utf-8").splitlines()
    items = [
        (docs[i].split("\t")[0], Example(f"ntrex:{lang}:{i}", s.strip(), r.strip()))
        for i, (s, r) in enumerate(zip(src, ref, strict=True))
        if s.strip() and r.strip()
    ]
    items += [(f"cocoa:{e.id.split(':', 2)[2]}", e) for e in _cocoa(lang, "formal")]
    train, dev = _split_by_group(items, lambda p: p[0], 0.1, SEED)
    return tuple(e for _, e in train), tuple(e for _, e in dev)


def _cocoa(lang: str, register: str) -> list[Example]:
    """CoCoA-MT's English segments with their human translation in one register (formal | informal),
    ids cocoa:<lang>:<domain>:<line>."""
    cocoa = dataset_dir("cocoa-mt") / f"train/en-{lang}"
    out = []
    for domain in ("telephony", "topical_chat"):
        stem = cocoa / f"formality-control.train.{domain}.en-{lang}"
        en = stem.with_name(f"{stem.name}.en").read_text(encoding="utf-8").splitlines()
        xx = stem.with_name(f"{stem.name}.{register}.{lang}").read_text(encoding="utf-8").splitlines()
        for i, (s, r) in enumerate(zip(en, xx, strict=True)):
            if s.strip() and r.strip():
                out.append(Example(f"cocoa:{lang}:{domain}:{i}", s.strip(), r.strip()))
    return out


# ---- a register asked of a translation: CoCoA-MT's human formal / informal translations ----
# "Translate to French, casual tone" is the chain tone:casual+translate:fr; its targets are human.
REGISTER_OF_TONE = {"tone:professional": "formal", "tone:casual": "informal"}


def is_register_chain(chain: str) -> bool:
    tasks = split_chain(chain)
    return len(tasks) == 2 and tasks[0] in REGISTER_OF_TONE and tasks[1].startswith("translate:")


@cache
def _register(chain: str) -> tuple[tuple[Example, ...], tuple[Example, ...]]:
    """CoCoA-MT segments with the human translation in the chain's register, split exactly as
    translate:<lang> splits them (a segment is dev here iff it is dev there), so the benchmark's
    formality segments (that dev split) are never trained on."""
    tone, translate = split_chain(chain)
    lang = translate.split(":")[1]
    dev_ids = {e.id for e in _translation(lang)[1]}
    examples = _cocoa(lang, REGISTER_OF_TONE[tone])
    return (
        tuple(e for e in examples if e.id not in dev_ids),
        tuple(e for e in examples if e.id in dev_ids),
    )


def data_source(chain: str) -> str:
    """Where a chain's training targets come from (recorded in run summaries)."""
    if is_register_chain(chain):
        return f"human (CoCoA-MT {REGISTER_OF_TONE[split_chain(chain)[0]]} translations)"
    return "teacher" if len(split_chain(chain)) > 1 else "upstream"


# ---- tone:paraphrase: ParaDetox rows with two human neutral rewrites (neutral1 -> neutral2) ----
@cache
def _paraphrase() -> tuple[tuple[Example, ...], tuple[Example, ...]]:
    path = dataset_dir("paradetox") / "paradetox.tsv"
    items = []
    with open(path, encoding="utf-8", newline="") as f:
        for i, row in enumerate(csv.DictReader(f, delimiter="\t")):
            a, b = (row.get("neutral1") or "").strip(), (row.get("neutral2") or "").strip()
            if a and b and a.lower() != b.lower():
                items.append((i, Example(f"paradetox:{i}", a, b)))
    train, dev = _split_by_group(items, lambda p: p[0], 0.1, SEED)
    return tuple(e for _, e in train), tuple(e for _, e in dev)


# ---- inputs for tasks whose targets a teacher writes ----
@cache
def _news_sentences() -> tuple[tuple[Example, ...], tuple[Example, ...]]:
    """NTREX English source sentences of at most 35 words (formal prose), split by document."""
    ntrex = dataset_dir("ntrex")
    src = (ntrex / "newstest2019-src.eng.txt").read_text(encoding="utf-8").splitlines()
    docs = (ntrex / "DOCUMENT_IDS.tsv").read_text(encoding="utf-8").splitlines()
    items = [
        (docs[i].split("\t")[0], Example(f"ntrex:en:{i}", s.strip(), ""))
        for i, s in enumerate(src)
        if s.strip() and len(s.split()) <= 35
    ]
    train, dev = _split_by_group(items, lambda p: p[0], 0.1, SEED)
    return tuple(e for _, e in train), tuple(e for _, e in dev)


@cache
def _tone_inputs(split: str) -> tuple[Example, ...]:
    """English texts for tone:{professional,casual,witty} (targets empty: the teacher writes them):
    informal ParaDetox neutral1 sentences and formal NTREX news sentences in equal numbers, so a tone
    adapter learns to move text of either register into its style, not only to copy informal text."""
    i = 0 if split == "train" else 1
    news = _news_sentences()[i]
    informal = [Example(e.id, e.input, "") for e in _paraphrase()[i]]
    informal = random.Random(f"{SEED}:tone-inputs:{split}").sample(informal, min(len(news), len(informal)))
    return tuple(news) + tuple(informal)


def read_targets(path: Path) -> dict[str, str]:
    """Teacher targets keyed by source id, from a `{"id", "target"}` JSONL file ({} if absent);
    answers that hold no target (clean_teacher_text) are left out."""
    if not path.exists():
        return {}
    out = {}
    with open(path, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                r = json.loads(line)
                target = clean_teacher_text(r["target"])
                if target is not None:
                    out[r["id"]] = target
    return out


def _teacher_targets(key: str) -> dict[str, str]:
    return read_targets(TARGETS_DIR / f"{key}.jsonl")


def _with_teacher(key: str, inputs) -> list[Example]:
    targets = _teacher_targets(key)
    return [Example(e.id, e.input, targets[e.id]) for e in inputs if e.id in targets]


# ---- training data beyond the shipped pack's (issue 16), chosen by name (--data) ----
# The shipped pack's data is what load_task returns without a name (lab/TRAINING.md documents it);
# the next pack's data sets are named per main task, and a composite of that main task takes the
# same name (its teacher targets are keyed by the data set's own ids, so they share the file).
SHIPPED = "shipped"


# The teacher's email examples make this share of a train split, each repeated as often as that
# takes (at least once): a few hundred emails among 11,000-22,000 human examples would otherwise be
# too rare to change what the adapter does with an email (TRAINING.md, "Next pack"). 136 replies
# among 21,914 human turns are repeated 18 times; 317 summaries among 11,178 dialogues, 4 times.
EMAIL_SHARE = 0.10
# The +emails data sets read the teacher's answers for this many train seeds (lab.teacher_emails
# writes them in a fixed order), so that a run resumed in a later session sees the same examples
# while the teacher goes on writing. Raise it, once the teacher has written that far, before
# training an artifact on more.
EMAIL_TRAIN_SEEDS = 450
# The emails-first data sets keep at least this many human examples (a dev split with no teacher
# emails is still a dev split).
EMAILS_FIRST_MIN_HUMAN = 50


def email_repeats(n_human: int, n_emails: int, share: float = EMAIL_SHARE) -> int:
    """How many copies of each email example make them `share` of human + emails."""
    if n_emails == 0:
        return 0
    return max(1, round(share * n_human / ((1 - share) * n_emails)))


def _with_emails(human, stage: str, split: str) -> list[Example]:
    """A human data set plus the teacher's checked email summaries or replies (lab.teacher_emails):
    in train, repeated to EMAIL_SHARE of the whole; in dev, once each."""
    from lab import teacher_emails

    people = human(split)
    return people + _repeated(
        teacher_emails.training_examples(stage, split, EMAIL_TRAIN_SEEDS), len(people), split
    )


def _with_emails_and_news(human, split: str) -> list[Example]:
    """The summaries of `dialogsum-names+emails` plus the teacher's checked summaries of news
    paragraphs (lab.teacher_news), repeated to EMAIL_SHARE of the human examples' count as well."""
    from lab import teacher_news

    people = human(split)
    with_emails = _with_emails(human, "summaries", split)
    return with_emails + _repeated(teacher_news.training_examples(split), len(people), split)


def _with_emails_and_lists(human, split: str) -> list[Example]:
    """The replies of `dialogsum-turns+persona-chat+emails` plus the teacher's checked replies to
    emails sent to a group's list (lab.teacher_list_emails), repeated to EMAIL_SHARE of the human
    examples' count as well."""
    from lab import teacher_list_emails

    people = human(split)
    with_emails = _with_emails(human, "replies", split)
    return with_emails + _repeated(teacher_list_emails.training_examples(split), len(people), split)


def _emails_first(human, stage: str, split: str) -> list[Example]:
    """Every checked email answer of the teacher (stage) once, beside a seeded sample of the human
    set half as large (at least EMAILS_FIRST_MIN_HUMAN): for the calibrations of a composite that
    users mostly ask of an email (reply + a tone), which learn from a few hundred teacher rewrites.
    In the +emails mix those rewrites held 26-48 emails of ~700, and the calibrations answered most
    emails with a one-line chat reply (TRAINING.md, "Reply + a tone on emails")."""
    from lab import teacher_emails

    emails = teacher_emails.training_examples(stage, split, EMAIL_TRAIN_SEEDS)
    people = human(split)
    n = min(len(people), max(len(emails) // 2, EMAILS_FIRST_MIN_HUMAN))
    return emails + random.Random(f"{SEED}:emails-first:{stage}:{split}").sample(people, n)


def _replies_to_emails_first(human, split: str) -> list[Example]:
    """Every checked teacher reply to an email, the DialogSum emails' (lab.teacher_emails) and the
    group lists' (lab.teacher_list_emails), once each, beside a seeded sample of the human reply mix
    half as large (at least EMAILS_FIRST_MIN_HUMAN): a second stage for the reply adapter, which
    answered most real emails with a chat line when emails were a tenth of its data."""
    from lab import teacher_emails, teacher_list_emails

    emails = [
        *teacher_emails.training_examples("replies", split, EMAIL_TRAIN_SEEDS),
        *teacher_list_emails.training_examples(split),
    ]
    people = human(split)
    n = min(len(people), max(len(emails) // 2, EMAILS_FIRST_MIN_HUMAN))
    return emails + random.Random(f"{SEED}:replies-to-emails-first:{split}").sample(people, n)


# Pairs that say the same in so much the same words (difflib ratio over words) teach a rewrite to give
# its input back: ParaDetox's two human rewrites of one sentence are that close for half its rows, the
# teacher's casual rewrites of named summaries and replies for 466 of 907.
REWRITE_MAX_SIMILARITY = 0.8


def word_similarity(a: str, b: str) -> float:
    from difflib import SequenceMatcher

    return SequenceMatcher(None, *(re.findall(r"[\w']+", t.lower()) for t in (a, b))).ratio()


_OPENING_WORD = re.compile(r"^\W*(sure|hey|oh|yeah|well|yay|wow|so|hi)\b", re.IGNORECASE)
_FIRST_OR_SECOND_PERSON = re.compile(
    r"\b(i|i'm|i've|i'll|i'd|me|my|we|we're|we've|us|our|you|you're|you've|your)\b", re.IGNORECASE
)
_NEGATION = re.compile(r"\b(not|no|never|nothing|none|nobody|neither|nor|without)\b|n't\b", re.IGNORECASE)


def _names(text: str) -> set[str]:
    """Capitalized words not opening a sentence: people, places, products."""
    return {
        word.lower().strip(".'")
        for sentence in re.split(r"(?<=[.!?])\s+", text)
        for word in re.findall(r"[\w'.-]+", sentence)[1:]
        if word[0].isupper()
    }


def rewrite_changes(source: str, rewrite: str) -> str | None:
    """What a rewrite changed besides the wording, or None: it opens with "Sure,"/"Hey" where the
    source did not, speaks in a person the source did not (the teacher turns "Anna invites Tom"
    into "Hey Tom, ..."), drops a number or a name, or has more or fewer negations."""
    if _OPENING_WORD.match(rewrite) and not _OPENING_WORD.match(source):
        return "opening word"
    if len(_FIRST_OR_SECOND_PERSON.findall(rewrite)) > len(_FIRST_OR_SECOND_PERSON.findall(source)):
        return "person"
    if not set(re.findall(r"\d+", source)) <= set(re.findall(r"\d+", rewrite)):
        return "number"
    if any(name not in rewrite.lower() for name in _names(source)):
        return "name"
    if len(_NEGATION.findall(source)) != len(_NEGATION.findall(rewrite)):
        return "negation"
    return None


def _rewrites_only(source: str, rewrite: str) -> bool:
    return (
        word_similarity(source, rewrite) < REWRITE_MAX_SIMILARITY and rewrite_changes(source, rewrite) is None
    )


def engine_lost_facts(pairs: list[tuple[str, str]]) -> list[str | None]:
    """The engine's own verdict on each (source, rewrite): what the rewrite lost or made up (a
    number, a name, a negation, a condition, a hedge, a question, a quotation's marks, someone it is
    not about), or None where the engine would keep it (engine/compose/facts.ts, lostFact, run by
    lab/node/lost_facts.mjs)."""
    import subprocess

    script = Path(__file__).resolve().parents[3] / "lab" / "node" / "lost_facts.mjs"
    out = subprocess.run(
        ["node", str(script)],
        input=json.dumps(pairs),
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    if out.returncode != 0:
        raise RuntimeError(
            f"{script.name} failed (node and the repository's node_modules needed):\n{out.stderr}"
        )
    return json.loads(out.stdout)


def _keeping_facts(examples: list[Example]) -> list[Example]:
    verdicts = engine_lost_facts([(e.input, e.target) for e in examples])
    return [e for e, lost in zip(examples, verdicts, strict=True) if lost is None]


def _rewrites(tone: str, split: str, checked: bool = False) -> list[Example]:
    """A tone adapter's data beyond one-line chat: the teacher's rewrites in the tone of the named
    human summaries and replies (the summarize+ and reply+<tone> targets; input: the human text the
    teacher rewrote), then the adapter's shipped pairs (ParaDetox for paraphrase, the teacher's
    sentence rewrites for the others), as many at most; pairs in nearly the same words, or that change
    more than the wording (rewrite_changes), are left out.
    On their shipped pairs alone the paraphrase and casual adapters gave back 26 and 14 of 26
    real-text inputs unchanged (TRAINING.md, "Rewrites that rewrite").
    `checked` also leaves out every pair whose rewrite the engine would give back as written
    (engine_lost_facts): 13-15% of the pairs above, mostly someone added, a question answered, a
    hedge or a quotation's marks dropped (TRAINING.md, "Tone pairs the engine would keep")."""
    name = tone.split(":")[1]
    keep = _keeping_facts if checked else list
    teacher: dict[str, Example] = {}
    for main, data in (("summarize", "dialogsum-names"), ("reply", "dialogsum-turns+persona-chat")):
        human = {e.id: e.target for e in load_task(main, split, data)}
        for e in load_task(f"{main}+{tone}", split, data):
            if e.id in human and _rewrites_only(human[e.id], e.target):
                teacher[e.id] = Example(f"{name}:{e.id}", human[e.id], e.target)
    kept = keep(list(teacher.values()))
    different = keep([e for e in load_task(tone, split) if _rewrites_only(e.input, e.target)])
    sample = random.Random(f"{SEED}:{name}s:{split}").sample(different, min(len(kept), len(different)))
    return [*kept, *sample]


def _repeated(examples: list[Example], n_human: int, split: str) -> list[Example]:
    """Teacher examples as a train split takes them (each repeated to EMAIL_SHARE beside n_human
    human examples) or a dev split (once each)."""
    repeats = email_repeats(n_human, len(examples)) if split == "train" else 1
    return [
        e if k == 0 else Example(f"{e.id}#{k}", e.input, e.target) for k in range(repeats) for e in examples
    ]


def data_sets() -> dict[str, dict]:
    """main task -> {data set name: split -> list[Example]}."""
    from functools import partial

    from lab.data import dialogues, paragraphs

    return {
        "summarize": {
            "dialogsum-names": dialogues.summaries,
            "dialogsum-names+emails": partial(_with_emails, dialogues.summaries, "summaries"),
            "dialogsum-names+emails+news": partial(_with_emails_and_news, dialogues.summaries),
        },
        "reply": {
            "dialogsum-turns+persona-chat": dialogues.reply_mix,
            "dialogsum-turns+persona-chat+emails": partial(_with_emails, dialogues.reply_mix, "replies"),
            "dialogsum-turns+persona-chat+emails+lists": partial(_with_emails_and_lists, dialogues.reply_mix),
            "email-replies+turns": partial(_emails_first, dialogues.reply_mix, "replies"),
            "email-and-list-replies+turns": partial(_replies_to_emails_first, dialogues.reply_mix),
        },
        "tone:paraphrase": {
            "teacher-paraphrases+paradetox": partial(_rewrites, "tone:paraphrase"),
            "teacher-paraphrases+paradetox-checked": partial(_rewrites, "tone:paraphrase", checked=True),
        },
        **{
            f"tone:{tone}": {
                "teacher-rewrites+sentences": partial(_rewrites, f"tone:{tone}"),
                "teacher-rewrites+sentences-checked": partial(_rewrites, f"tone:{tone}", checked=True),
            }
            for tone in ("casual", "professional", "witty")
        },
        **{
            f"translate:{lang}": {
                "ntrex-paragraphs+sentences": partial(paragraphs.paragraphs_and_sentences, lang)
            }
            for lang in LANGUAGE_NAMES
        },
    }


def data_names(chain: str) -> list[str]:
    """Every data set a chain can be trained on: the shipped data, then the named ones."""
    return [SHIPPED, *data_sets().get(split_chain(chain)[0], {})]


def load_task(chain: str, split: str = "train", data: str | None = None) -> list[Example]:
    """A chain's examples: the shipped pack's data, or the named data set `data` of its main task."""
    if split not in ("train", "dev"):
        raise ValueError(f"split must be train or dev, got {split!r}")
    tasks = split_chain(chain)
    if data not in (None, SHIPPED):
        named = data_sets().get(tasks[0], {})
        if data not in named:
            raise ValueError(f"no data set {data!r} for {chain!r}; known: {', '.join(data_names(chain))}")
        examples = named[data](split)
        return examples if len(tasks) == 1 else _with_teacher(file_key(chain), examples)
    if is_register_chain(chain):
        return list(_register(chain)[0 if split == "train" else 1])
    if len(tasks) > 1:
        if tasks[0] not in MAIN_TASKS:
            raise ValueError(f"composite chains start with a main task: {chain!r}")
        return _with_teacher(file_key(chain), load_task(tasks[0], split))
    task = tasks[0]
    i = 0 if split == "train" else 1
    if task == "summarize":
        return list(_dialogsum(split))
    if task == "reply":
        return list(_persona_chat()[i])
    if task.startswith("translate:"):
        lang = task.split(":")[1]
        assert lang in LANGUAGE_NAMES
        return list(_translation(lang)[i])
    if task == "tone:paraphrase":
        return list(_paraphrase()[i])
    return _with_teacher(file_key(task), _tone_inputs(split))


def sizes(chains=None, data: bool = True) -> dict[str, dict[str, int]]:
    """Examples per split of every chain; with `data`, also of every named data set ("chain [name]")."""
    from lab.prompts import ALL_TASKS, AUX_TASKS

    chains = chains or [*ALL_TASKS, *(f"{m}+{a}" for m in MAIN_TASKS for a in AUX_TASKS)]
    out: dict[str, dict[str, int]] = defaultdict(dict)
    for c in chains:
        for name in data_names(c) if data else [SHIPPED]:
            key = c if name == SHIPPED else f"{c} [{name}]"
            for s in ("train", "dev"):
                out[key][s] = len(load_task(c, s, name))
    return dict(out)


if __name__ == "__main__":
    print(json.dumps(sizes(), indent=1))
