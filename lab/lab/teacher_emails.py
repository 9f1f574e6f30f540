"""Synthetic emails for the next pack (issue 16; TRAINING.md, "Teacher plan"): users select emails,
and no human-written emails with summaries and replies are available to train on. The teacher writes
an email from one speaker of a named DialogSum train dialogue to the other, grounded in the dialogue
and its human summary; then a one- or two-sentence summary of that email, and the other speaker's
reply to it. Three targets files, each resumable (ids already written are skipped):

    lab/targets/emails.jsonl            {"id": "email:train_17", "target": <email>}
    lab/targets/emails.summaries.jsonl  {"id": "email:train_17", "target": <summary>}
    lab/targets/emails.replies.jsonl    {"id": "email:train_17", "target": <reply>}

    python -m lab.teacher_emails --n-train 20 --n-dev 0 --stage all     # a pilot: read them first
    python -m lab.teacher_emails --n-train 1500 --n-dev 100             # the plan's full run

Dev emails come from DEV_DIALOGUES train dialogues held apart (seeded), never from DialogSum dev: that
is the real-text benchmark's dialogue genre. The real emails (real-emails/) stay evaluation only.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lab.data.dialogues import NamedDialogue, named_dialogues, render_lines
from lab.data.sources import SEED, TARGETS_DIR, Example, read_targets
from lab.teacher import GGUF_PATH, run_teacher

EMAIL_PROMPT = (
    "Write the email that {a} sends to {b} about the situation below. Start with a greeting, write "
    "60-150 words, end with {a}'s name. Use only facts from the situation and the conversation. "
    "Output only the email.\n\nSituation: {summary}\n\nConversation:\n{turns}"
)
# The email first and the instruction after it: asked the other way round ("Write {b}'s reply to
# the email below"), the teacher copied the email back in 14 of 16 pilot replies and in some
# summaries; this way 5 of 6 were replies and the summaries named the people (TRAINING.md).
SUMMARY_PROMPT = (
    "Here is an email from {a} to {b}:\n\n{email}\n\nSummarize this email in one or two sentences, in the "
    "third person, naming {a} and {b} as the email does. Output only the summary."
)
REPLY_PROMPT = (
    "Here is an email that {b} received from {a}:\n\n{email}\n\nYou are {b}. Write your reply to {a}: answer "
    "what the email asks or proposes, in 30-100 words. Start with a greeting to {a} and end with your name, "
    "{b}. Output only the reply."
)
# Generated tokens allowed per stage: 150 words of email are ~200 tokens; the rest are shorter.
MAX_TOKENS = {"emails": 320, "summaries": 96, "replies": 224}
DEV_DIALOGUES = 100
# email_problems: a sentence of this many words said twice is a loop, not style; the word range
# kept around the 60-150 asked for (the subject line and sign-off count too).
REPEAT_MIN_WORDS = 6
EMAIL_WORDS = (40, 220)
SUMMARY_MAX_WORDS = 60
# The engine lets a reply write 128 tokens (engine/compose/length.ts), ~95 English words and fewer
# in French or German: a longer target teaches replies that the budget cuts. The teacher, asked
# for 30-100 words, wrote 31-148 (median 75) for the first 23 replies that pass.
REPLY_MAX_WORDS = 80
STAGES = ("emails", "summaries", "replies")


@dataclass(frozen=True)
class EmailSeed:
    id: str  # "email:train_17" (the DialogSum train id it is grounded in)
    split: str  # "train" or "dev" (dev: a train dialogue held apart, never trained on)
    sender: str
    recipient: str
    dialogue: NamedDialogue


@cache
def seeds() -> tuple[EmailSeed, ...]:
    """Every two-speaker named train dialogue, in a seeded order; the first DEV_DIALOGUES are dev."""
    usable = [d for d in named_dialogues("train") if len({name for name, _ in d.turns}) == 2]
    random.Random(f"{SEED}:emails").shuffle(usable)
    out = []
    for i, d in enumerate(usable):
        sender = d.turns[0][0]
        recipient = next(name for name, _ in d.turns if name != sender)
        name = d.id.split(":", 1)[1]
        out.append(EmailSeed(f"email:{name}", "dev" if i < DEV_DIALOGUES else "train", sender, recipient, d))
    return tuple(out)


def selected(n_train: int, n_dev: int) -> list[EmailSeed]:
    """Train seeds first (the adapters need them most), then dev; the same for every run."""
    train = [s for s in seeds() if s.split == "train"][:n_train]
    dev = [s for s in seeds() if s.split == "dev"][:n_dev]
    return train + dev


def email_problems(email: str, seed: EmailSeed) -> list[str]:
    """Why a teacher email is not training data (empty: it is). From reading the pilot's 20
    (TRAINING.md): the teacher loops until its budget (no sign-off), copies dialogue lines into
    the email, or says a sentence twice; emails that pass read as emails from the sender."""
    problems = []
    lines = [line.strip() for line in email.strip().splitlines() if line.strip()]
    if not lines or seed.sender not in lines[-1]:
        problems.append("does not end with the sender's name (cut at its budget, or signed by someone else)")
    if not any(seed.recipient in line for line in lines[:3]):
        problems.append("does not greet the recipient by name")
    speakers = {seed.sender, seed.recipient}
    if any(line.split(":", 1)[0] in speakers for line in lines if ":" in line):
        problems.append("copies dialogue lines")
    if says_a_sentence_twice(email):
        problems.append("says a sentence twice")
    words = len(email.split())
    if not EMAIL_WORDS[0] <= words <= EMAIL_WORDS[1]:
        problems.append(f"{words} words (asked for 60-150; kept {EMAIL_WORDS[0]}-{EMAIL_WORDS[1]})")
    return problems


def says_a_sentence_twice(text: str) -> bool:
    return len(_sentences(text)) != len(set(_sentences(text)))


def copies_email(answer: str, email: str) -> bool:
    """Half or more of the answer's sentences (of REPEAT_MIN_WORDS words or more) are the email's own."""
    mine = _sentences(answer)
    theirs = set(_sentences(email))
    return bool(mine) and sum(sentence in theirs for sentence in mine) * 2 >= len(mine)


def _sentences(text: str) -> list[str]:
    return [
        " ".join(part.lower().split())
        for part in re.split(r"(?<=[.!?])\s+", text)
        if len(part.split()) >= REPEAT_MIN_WORDS
    ]


def summary_problems(summary: str, seed: EmailSeed) -> list[str]:
    """Why a teacher summary of an email is not training data: a copy of the email (it starts like
    one), too long for "one or two sentences", or the sender unnamed."""
    problems = []
    first = summary.strip().split(maxsplit=1)[0].rstrip(",:").lower() if summary.strip() else ""
    if first in {"dear", "hi", "hello", "subject"}:
        problems.append("is the email, not a summary")
    if len(summary.split()) > SUMMARY_MAX_WORDS or len(re.findall(r"[.!?](?:\s|$)", summary)) > 3:
        problems.append(f"longer than asked ({len(summary.split())} words)")
    if seed.sender not in summary:
        problems.append("does not name the sender")
    return problems


def reply_problems(reply: str, seed: EmailSeed, email: str) -> list[str]:
    """Why a teacher reply is not training data: the email copied back, not from the recipient to
    the sender, or longer than the engine lets a reply be."""
    problems = []
    lines = [line.strip() for line in reply.strip().splitlines() if line.strip()]
    if not any(seed.sender in line for line in lines[:2]):
        problems.append("does not greet the sender")
    if not lines or seed.recipient not in lines[-1]:
        problems.append("does not end with the recipient's name")
    words = len(reply.split())
    if words > REPLY_MAX_WORDS:
        problems.append(f"{words} words (kept up to {REPLY_MAX_WORDS}: the engine's reply budget)")
    if copies_email(reply, email):
        problems.append("copies the email")
    return problems


def targets_path(stage: str, targets_dir: Path = TARGETS_DIR) -> Path:
    return targets_dir / ("emails.jsonl" if stage == "emails" else f"emails.{stage}.jsonl")


def jobs_for(stage: str, chosen: list[EmailSeed], emails: dict[str, str]) -> list[dict]:
    """Each seed's prompt for `stage`; summaries and replies only for seeds whose email was written
    and passes email_problems (a fifth of the first 120 did not: asking for their summaries and
    replies was a fifth of those stages' time for nothing)."""
    jobs = []
    for s in chosen:
        if stage == "emails":
            prompt = EMAIL_PROMPT.format(
                a=s.sender, b=s.recipient, summary=s.dialogue.summary, turns=render_lines(s.dialogue.turns)
            )
        elif s.id not in emails or email_problems(emails[s.id], s):
            continue
        elif stage == "summaries":
            prompt = SUMMARY_PROMPT.format(a=s.sender, b=s.recipient, email=emails[s.id])
        else:
            prompt = REPLY_PROMPT.format(a=s.sender, b=s.recipient, email=emails[s.id])
        jobs.append({"id": s.id, "text": prompt})
    return jobs


def run(
    stage: str, n_train: int, n_dev: int, threads: int, model: Path, parallel: int, targets_dir: Path
) -> Path:
    chosen = selected(n_train, n_dev)
    emails = read_targets(targets_path("emails", targets_dir))
    template = {"emails": EMAIL_PROMPT, "summaries": SUMMARY_PROMPT, "replies": REPLY_PROMPT}[stage]
    meta = {
        "chain": f"emails ({stage})",
        "built_as": {
            "emails": "teacher writes the email one speaker of a named DialogSum train dialogue sends the other, "
            "from the dialogue and its human summary (lab.teacher_emails)",
            "summaries": "teacher summarizes each email of emails.jsonl",
            "replies": "teacher writes the recipient's reply to each email of emails.jsonl",
        }[stage],
        "selection": f"lab.teacher_emails.seeds(): two-speaker named train dialogues, "
        f"random.Random('{SEED}:emails') order, the first {DEV_DIALOGUES} dev; n_train {n_train}, n_dev {n_dev}",
    }
    jobs = jobs_for(stage, chosen, emails)
    out = targets_path(stage, targets_dir)
    return run_teacher(
        None, jobs, out, meta, threads, model, parallel, MAX_TOKENS[stage], user_prompt=template
    )


def training_examples(
    stage: str, split: str, n_train_seeds: int | None = None, targets_dir: Path = TARGETS_DIR
) -> list[Example]:
    """The teacher's email summaries or replies (stage) of `split`'s seeds that pass their check,
    their email's included, as examples (input: the email), in seed order. `n_train_seeds` reads
    only the first that many train seeds (the order `selected` writes them in), so that a data set
    stays the same while the teacher goes on writing."""
    check = {"summaries": summary_problems, "replies": reply_problems}[stage]
    emails = read_targets(targets_path("emails", targets_dir))
    answers = read_targets(targets_path(stage, targets_dir))
    chosen = [s for s in seeds() if s.split == split]
    if split == "train" and n_train_seeds is not None:
        chosen = chosen[:n_train_seeds]
    out = []
    for s in chosen:
        email, answer = emails.get(s.id), answers.get(s.id)
        if email is None or answer is None or email_problems(email, s):
            continue
        problems = check(answer, s, email) if stage == "replies" else check(answer, s)
        if not problems:
            out.append(Example(s.id, email, answer))
    return out


def report(targets_dir: Path = TARGETS_DIR) -> dict:
    """What each stage wrote and how much of it passes its check; an email's summary and reply
    count only when the email passes too."""
    by_id = {s.id: s for s in seeds()}
    emails = read_targets(targets_path("emails", targets_dir))
    good = {i for i, text in emails.items() if not email_problems(text, by_id[i])}
    out = {}
    for stage, check in (
        ("emails", lambda i, text: email_problems(text, by_id[i])),
        ("summaries", lambda i, text: summary_problems(text, by_id[i])),
        ("replies", lambda i, text: reply_problems(text, by_id[i], emails[i])),
    ):
        written = read_targets(targets_path(stage, targets_dir))
        problems = {i: check(i, text) for i, text in written.items()}
        passed = [i for i, p in problems.items() if not p and (stage == "emails" or i in good)]
        out[stage] = {
            "written": len(written),
            "pass": len(passed),
            "problems": {i: p for i, p in problems.items() if p},
        }
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-train", type=int, default=20)
    ap.add_argument("--n-dev", type=int, default=0)
    ap.add_argument("--stage", choices=(*STAGES, "all"), default="all")
    ap.add_argument("--threads", type=int, default=1)
    # One sequence: with 4 decoded together, these long answers came out garbled ("II hope this
    # email email finds you") where one sequence wrote the same emails cleanly (TRAINING.md).
    ap.add_argument("--parallel", type=int, default=1, help="sequences decoded together")
    ap.add_argument("--model", type=Path, default=GGUF_PATH)
    ap.add_argument("--targets-dir", type=Path, default=TARGETS_DIR)
    ap.add_argument("--report", action="store_true", help="only say which written emails pass email_problems")
    args = ap.parse_args(argv)
    if args.report:
        print(json.dumps(report(args.targets_dir), indent=1))
        return
    for stage in STAGES if args.stage == "all" else (args.stage,):
        out = run(stage, args.n_train, args.n_dev, args.threads, args.model, args.parallel, args.targets_dir)
        print(json.dumps({"stage": stage, "file": str(out), "targets": len(read_targets(out))}))


if __name__ == "__main__":
    main()
