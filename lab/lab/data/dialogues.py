"""Training data for the next pack (issue 16) built on DialogSum's human dialogues, with people's
names instead of #PersonN# tags (lab.data.speaker_names):

    summaries(split)   "summarize" data set "dialogsum-names": every DialogSum dialogue whose tags get
                       names, as "Name: text" lines (80%) or as narrated prose without speaker lines
                       (20%, seeded per dialogue), with its human summary under the same names
    next_turns(split)  the next human turn of a DialogSum dialogue after the turns so far (names kept)
    reply_mix(split)   "reply" data set "dialogsum-turns+persona-chat": next_turns plus as many
                       Synthetic-Persona-Chat turn pairs (the shipped reply data), seeded

Held out: DialogSum dev is the real-text benchmark's dialogue genre (lab.eval.realtext), so a train
dialogue that shares any turn of 5+ words with a dev dialogue (33 are exact copies of one, 430 share
a turn) is in none of these training sets, nor a persona-chat pair with such a turn. The dev split renders DialogSum dev the same way; it is
read only for the dev loss.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from functools import cache

from lab.data.sources import SEED, Example, _dialogsum, _persona_chat
from lab.data.speaker_names import Resolved, Skipped, dialogsum_lexicon, parse_turns, resolve

PROSE_SHARE = 0.2
# Next-turn pairs: at least 2 turns of context, the target turn from the second half of the
# dialogue when it can be, a target of at least 4 words ("Ok." answers nothing), the context cut
# to its last 150 words (its oldest turns go first; the adapters' inputs are truncated at the end,
# which would cut the turn being answered).
MIN_CONTEXT_TURNS = 2
MIN_TARGET_WORDS = 4
MAX_CONTEXT_WORDS = 150
HELD_OUT_MIN_WORDS = 5


def normalize(text: str) -> str:
    return " ".join(text.lower().split())


@dataclass(frozen=True)
class NamedDialogue:
    id: str  # the DialogSum id, "dialogsum:train_17"
    turns: tuple[tuple[str, str], ...]  # (name, text)
    summary: str
    how: tuple[tuple[str, str], ...]  # (name, "dialogue" | "summary" | "drawn"): where it came from


@cache
def dev_turns() -> frozenset[str]:
    """Normalized turns of 5+ words of the DialogSum dev dialogues."""
    return frozenset(
        normalize(t.text)
        for e in _dialogsum("dev")
        for t in parse_turns(e.input)
        if len(t.text.split()) >= HELD_OUT_MIN_WORDS
    )


@cache
def _resolved(split: str) -> tuple[tuple[str, Resolved | str], ...]:
    """(DialogSum id, its rendering or why it is left out), in file order."""
    lexicon = dialogsum_lexicon()
    held_out = dev_turns() if split == "train" else frozenset()
    out = []
    for e in _dialogsum(split):
        if any(normalize(t.text) in held_out for t in parse_turns(e.input)):
            out.append((e.id, "shares a turn with a DialogSum dev dialogue"))
            continue
        r = name_speakers(e, lexicon)
        out.append((e.id, r if isinstance(r, Resolved) else r.reason))
    return tuple(out)


def name_speakers(e: Example, lexicon=None) -> Resolved | Skipped:
    """DialogSum example `e` with a name for each #PersonN#, seeded by its id (the same names in
    training data and in the real-text benchmark's dialogues)."""
    lexicon = lexicon or dialogsum_lexicon()
    return resolve(e.input, e.target, lexicon, random.Random(f"{SEED}:names:{e.id}"))


@cache
def named_dialogues(split: str) -> tuple[NamedDialogue, ...]:
    return tuple(
        NamedDialogue(i, r.turns, r.summary, tuple((r.names[s], h) for s, h in sorted(r.how.items())))
        for i, r in _resolved(split)
        if isinstance(r, Resolved)
    )


def naming_report(split: str = "train") -> dict[str, int]:
    """How many dialogues got names, how, and how many were left out and why."""
    out: dict[str, int] = {"dialogues": 0, "rendered": 0}
    for _, r in _resolved(split):
        out["dialogues"] += 1
        if isinstance(r, Resolved):
            out["rendered"] += 1
            for h in r.how.values():
                key = "speakers given a drawn name" if h == "drawn" else f"speakers named from the {h}"
                out[key] = out.get(key, 0) + 1
        else:
            out[f"left out: {r}"] = out.get(f"left out: {r}", 0) + 1
    return out


def render_lines(turns) -> str:
    return "\n".join(f"{name}: {text}" for name, text in turns)


def render_prose(turns, rng: random.Random) -> str:
    """The dialogue narrated, without speaker lines: 'Tom asks, "Why are you here today?" Anna
    answers, "I need a check-up."', a paragraph every 3-5 turns."""
    sentences, paragraphs = [], []
    size = rng.randint(3, 5)
    for i, (name, text) in enumerate(turns):
        text = text.strip().replace('"', "'")
        if not re.search(r"[.!?]['\)]?$", text):
            text += "."
        previous = turns[i - 1] if i else None
        if text.endswith("?"):
            verb = "asks"
        elif previous and previous[1].rstrip().endswith("?") and previous[0] != name:
            verb = "answers"
        elif previous and previous[0] != name:
            verb = rng.choice(("says", "replies"))
        else:
            verb = "says"
        sentences.append(f'{name} {verb}, "{text}"')
        if len(sentences) == size:
            paragraphs.append(" ".join(sentences))
            sentences, size = [], rng.randint(3, 5)
    if sentences:
        paragraphs.append(" ".join(sentences))
    return "\n\n".join(paragraphs)


def summaries(split: str) -> list[Example]:
    out = []
    for d in named_dialogues(split):
        rng = random.Random(f"{SEED}:render:{d.id}")
        name = d.id.split(":", 1)[1]
        if rng.random() < PROSE_SHARE:
            out.append(Example(f"dialogsum-prose:{name}", render_prose(d.turns, rng), d.summary))
        else:
            out.append(Example(f"dialogsum-names:{name}", render_lines(d.turns), d.summary))
    return out


def next_turn(d: NamedDialogue, rng: random.Random) -> Example | None:
    """One (turns so far -> the next human turn) pair of the dialogue, or None when it has no turn
    that answers another speaker after enough context."""
    turns = d.turns
    ok = [
        t
        for t in range(MIN_CONTEXT_TURNS, len(turns))
        if turns[t][0] != turns[t - 1][0] and len(turns[t][1].split()) >= MIN_TARGET_WORDS
    ]
    later = [t for t in ok if t >= len(turns) // 2] or ok
    if not later:
        return None
    t = rng.choice(later)
    start = 0
    while t - start > 1 and sum(len(x.split()) for _, x in turns[start:t]) > MAX_CONTEXT_WORDS:
        start += 1
    return Example(f"dialogsum-turn:{d.id.split(':', 1)[1]}:{t}", render_lines(turns[start:t]), turns[t][1])


def next_turns(split: str) -> list[Example]:
    out = []
    for d in named_dialogues(split):
        e = next_turn(d, random.Random(f"{SEED}:next-turn:{d.id}"))
        if e is not None:
            out.append(e)
    return out


def reply_mix(split: str) -> list[Example]:
    """DialogSum next turns and an equal number of persona-chat turn pairs (seeded sample; in train,
    none with a DialogSum dev turn as its input or reply, e.g. "Hello, how are you doing today?")."""
    turns = next_turns(split)
    held_out = dev_turns() if split == "train" else frozenset()
    persona = [
        e
        for e in _persona_chat()[0 if split == "train" else 1]
        if normalize(e.input) not in held_out and normalize(e.target) not in held_out
    ]
    persona = random.Random(f"{SEED}:reply-mix:{split}").sample(persona, min(len(turns), len(persona)))
    return turns + persona
