"""Emails to a group or mailing list, and replies to them, for the reply adapter (issue 16). The
emails of lab.teacher_emails are one DialogSum speaker writing to the other about everyday life;
real email (real-emails/, the mailing-list archives) is also announcements, proposals, bug reports,
calls for a vote, sent to a group. On a held-out draw of real emails the reply adapter answered 1-2
of 8 and wrote chat lines to the rest (TRAINING.md, "Results"). No human emails with replies are
available to train on, so the teacher writes both: an email of one KIND to one COMMUNITY's list,
with details it invents, then a member's reply. Two targets files, each resumable:

    lab/targets/list-emails.jsonl          {"id": "list:0017", "target": <email>}
    lab/targets/list-emails.replies.jsonl  {"id": "list:0017", "target": <reply>}

    python -m lab.teacher_list_emails --n-train 12 --n-dev 0     # a pilot: read them first
    python -m lab.teacher_list_emails --n-train 216 --n-dev 24 --shard 0/2   # and 1/2 beside it
    python -m lab.teacher_list_emails --report                   # what passes the checks

A third of the emails are addressed to one member (who replies and signs with the name the email
gave them); the rest to the group, and their replies carry no name: a reply suggested for a real
email cannot know the user's name, so it should not learn to invent one.
"""

from __future__ import annotations

import argparse
import itertools
import json
import random
import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from lab.data.sources import SEED, TARGETS_DIR, Example, read_targets
from lab.teacher import GGUF_PATH, run_teacher
from lab.teacher_emails import copies_email, says_a_sentence_twice

# What the email does: the kinds of mail a list carries (the real-email set's kinds, as any list's).
KINDS = {
    "announcement": "announces something new to the group (a release, a service, a change of rules) and what "
    "members should do about it",
    "proposal": "proposes a change to how the group works, gives the reasons, and asks for opinions",
    "scheduling": "proposes two or three times for a meeting or call and asks who can come",
    "question": "asks the group a practical question that they are stuck on, with what they already tried",
    "status update": "reports progress on a piece of work: what is done, what is blocked, what comes next",
    "complaint": "complains politely about a problem that keeps happening and asks for it to be fixed",
    "bug report": "reports a problem with a tool the group uses: what they did, what happened, what they "
    "expected",
    "hiring": "tells the group about an open position and asks members to recommend people",
    "event": "organises an event and asks for volunteers or for people to sign up by a date",
    "thanks": "thanks the group, or some members by name, for their help with something recent",
    "purchase": "asks for approval to buy something for the group, with its cost and why it is needed",
    "travel": "shares the travel plans for a trip to a meeting and asks others about theirs",
    "review request": "asks members to review a draft document by a deadline and says what kind of comments "
    "are wanted",
    "meeting notes": "sends the decisions and action items of a recent meeting and asks for corrections",
    "vote": "calls for a vote on a decision, explains the options, and gives the deadline",
}
COMMUNITIES = (
    "an open-source software project's developers",
    "a web standards working group",
    "a university research lab",
    "a local OpenStreetMap mapping group",
    "an amateur radio club",
    "a school's parent association",
    "a small design agency's staff",
    "a hospital ward's nursing team",
    "a city cycling club",
    "a food bank's volunteers",
    "a neighbourhood book club",
    "a conference's program committee",
    "a residents' association of an apartment building",
    "a community theatre group",
    "an astronomy society",
    "a start-up's engineering team",
)
NAMES = (
    "Aisha", "Bruno", "Carmen", "Dmitri", "Elena", "Felix", "Grace", "Hassan", "Ingrid", "Jorge",
    "Keiko", "Liam", "Maya", "Nikolai", "Olivia", "Pedro", "Quentin", "Rosa", "Samir", "Tanya",
    "Umar", "Vera", "Wen", "Ximena", "Yusuf", "Zoe", "Anders", "Beatriz", "Chidi", "Daniela",
    "Emil", "Fatima", "Gustavo", "Hannah", "Ivan", "Julia", "Kwame", "Lucia", "Marek", "Nadia",
)  # fmt: skip
# Of every 3 emails, one is addressed to a named member (who replies); the others to the group.
TO_MEMBER_EVERY = 3

PLACES = (
    "the community centre",
    "room 2.14",
    "the video call",
    "the library",
    "the main office",
    "the café on Market Street",
    "the town hall",
    "the lab's meeting room",
)
MONTHS = ("January", "February", "March", "April", "May", "June", "July", "September", "October", "November")
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday")
GREETINGS = ("Hi all,", "Hello everyone,", "Dear all,", "Hi everyone,", "Hi folks,")

# The pilot's emails without given details (TRAINING.md, "Emails to a list"): 270 words of
# "several improvements", a subject line, and "[date] at [location]" or "[Your Name]" in 4 of 5.
# (A number among the details came back as "The video call will be held at the number 1200".)
EMAIL_PROMPT = (
    "Write an email that {writer}, a member of {community}, sends to the group's mailing list{to}. In it, "
    '{writer} {kind}. Use the details that fit of these: {details}. Start with the line "{greeting}", '
    'write 50-110 words in a {register} tone, and end with the line "{writer}". No subject line and no '
    "placeholders in brackets. Output only the email."
)
# The email first and the instruction after it, as lab.teacher_emails learnt (asked the other way
# round, the teacher copied the email back).
REPLY_PROMPT = (
    "Here is an email that {writer} sent to the mailing list of {community}:\n\n{email}\n\n{you} Write "
    "your reply to {writer}: answer what the email asks or proposes with a concrete answer of your own "
    "(agree or disagree and say why, give the information asked for, say what you will do, or ask one "
    "question), in 30-80 words. Start with a greeting to {writer}. {sign} Output only the reply."
)
MAX_TOKENS = {"emails": 320, "replies": 160}
DEV_SEEDS = 24
EMAIL_WORDS = (40, 220)
# The engine lets a reply write 128 tokens (lab.teacher_emails.REPLY_MAX_WORDS says why 80).
REPLY_WORDS = (12, 80)
STAGES = ("emails", "replies")
_PLACEHOLDER = re.compile(r"\[[^\]\n]{2,40}\]|<[A-Za-z ]{2,30}>")


@dataclass(frozen=True)
class ListEmailSeed:
    id: str  # "list:0017"
    split: str  # "train" or "dev"
    kind: str
    community: str
    writer: str
    member: str | None  # the one member addressed (who replies), or None: the whole group
    register: str
    details: str  # what the teacher may use, so that it need not invent (or leave "[date]")
    greeting: str

    @property
    def replier(self) -> str | None:
        return self.member


@cache
def seeds() -> tuple[ListEmailSeed, ...]:
    """Every kind x community once, in a seeded order, with seeded names; the first DEV_SEEDS dev."""
    pairs = list(itertools.product(KINDS, COMMUNITIES))
    rng = random.Random(f"{SEED}:list-emails")
    rng.shuffle(pairs)
    out = []
    for i, (kind, community) in enumerate(pairs):
        writer, member, other, another = rng.sample(NAMES, 4)
        addressed = i % TO_MEMBER_EVERY == 0
        day = f"{rng.choice(WEEKDAYS)} {rng.randrange(1, 29)} {rng.choice(MONTHS)}"
        details = (
            f"{day}, {rng.randrange(8, 20)}:{rng.choice(('00', '30'))}, {rng.choice(PLACES)}, the members "
            f"{other} and {another}"
        )
        out.append(
            ListEmailSeed(
                id=f"list:{i:04d}",
                split="dev" if i < DEV_SEEDS else "train",
                kind=kind,
                community=community,
                writer=writer,
                member=member if addressed else None,
                register=("friendly", "formal", "brief and informal")[rng.randrange(3)],
                details=details,
                greeting=f"Hi {member}," if addressed else rng.choice(GREETINGS),
            )
        )
    return tuple(out)


def selected(n_train: int, n_dev: int) -> list[ListEmailSeed]:
    train = [s for s in seeds() if s.split == "train"][:n_train]
    dev = [s for s in seeds() if s.split == "dev"][:n_dev]
    return train + dev


def email_prompt(s: ListEmailSeed) -> str:
    return EMAIL_PROMPT.format(
        writer=s.writer,
        community=s.community,
        to=f", addressed to {s.member}" if s.member else "",
        kind=KINDS[s.kind],
        details=s.details,
        greeting=s.greeting,
        register=s.register,
    )


def reply_prompt(s: ListEmailSeed, email: str) -> str:
    if s.member:
        you, sign = f"You are {s.member}.", f"End with your name, {s.member}."
    else:
        you, sign = "You are a member of the list.", "Do not sign the reply: end it without a name."
    return REPLY_PROMPT.format(writer=s.writer, community=s.community, email=email, you=you, sign=sign)


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.strip().splitlines() if line.strip()]


def email_problems(email: str, s: ListEmailSeed) -> list[str]:
    """Why a teacher email is not training data (empty: it is)."""
    problems = []
    lines = _lines(email)
    if not lines or s.writer not in lines[-1]:
        problems.append("does not end with the writer's name (cut at its budget, or signed by someone else)")
    if s.member and not any(s.member in line for line in lines[:2]):
        problems.append("does not greet the member it is addressed to")
    if _PLACEHOLDER.search(email):
        problems.append("has a placeholder")
    if says_a_sentence_twice(email):
        problems.append("says a sentence twice")
    words = len(email.split())
    if not EMAIL_WORDS[0] <= words <= EMAIL_WORDS[1]:
        problems.append(f"{words} words (asked for 60-150; kept {EMAIL_WORDS[0]}-{EMAIL_WORDS[1]})")
    return problems


_SIGNATURE_PLACEHOLDER = re.compile(r"\n\s*\[(your|my) name\]\s*$", re.IGNORECASE)


def reply_target(reply: str, s: ListEmailSeed) -> str:
    """The reply as training target: a reply to the group keeps its closing ("Best regards,") and
    loses the "[Your Name]" under it, which the teacher adds though asked not to sign; the user signs."""
    return reply if s.member else _SIGNATURE_PLACEHOLDER.sub("", reply).rstrip()


def reply_problems(reply: str, s: ListEmailSeed, email: str) -> list[str]:
    """Why a teacher reply is not training data: not to the writer, signed when it should not be
    (or not when it should), a placeholder, the email copied back, or longer than the engine's
    reply budget."""
    problems = []
    lines = _lines(reply)
    if not any(s.writer in line for line in lines[:2]):
        problems.append("does not greet the writer")
    last = lines[-1] if lines else ""
    if s.member and s.member not in last:
        problems.append("does not end with the member's name")
    if not s.member and (last.rstrip(".,!") in NAMES or re.fullmatch(r"[A-Z][a-z]+( [A-Z][a-z]+)?", last)):
        problems.append("signed with a name it was not given")
    if _PLACEHOLDER.search(reply):
        problems.append("has a placeholder")
    words = len(reply.split())
    if not REPLY_WORDS[0] <= words <= REPLY_WORDS[1]:
        problems.append(f"{words} words (kept {REPLY_WORDS[0]}-{REPLY_WORDS[1]}: the engine's reply budget)")
    if copies_email(reply, email):
        problems.append("copies the email")
    return problems


def targets_path(stage: str, targets_dir: Path = TARGETS_DIR) -> Path:
    return targets_dir / ("list-emails.jsonl" if stage == "emails" else f"list-emails.{stage}.jsonl")


def jobs_for(stage: str, chosen: list[ListEmailSeed], emails: dict[str, str]) -> list[dict]:
    """Each seed's prompt; replies only to emails that pass email_problems."""
    if stage == "emails":
        return [{"id": s.id, "text": email_prompt(s)} for s in chosen]
    return [
        {"id": s.id, "text": reply_prompt(s, emails[s.id])}
        for s in chosen
        if s.id in emails and not email_problems(emails[s.id], s)
    ]


def run(
    stage: str,
    n_train: int,
    n_dev: int,
    threads: int,
    model: Path,
    parallel: int,
    targets_dir: Path,
    shard: tuple[int, int] = (0, 1),
) -> Path:
    index, count = shard
    chosen = selected(n_train, n_dev)[index::count]
    emails = read_targets(targets_path("emails", targets_dir))
    meta = {
        "chain": f"list emails ({stage})",
        "built_as": {
            "emails": "teacher writes an email of one kind (lab.teacher_list_emails.KINDS) to one community's "
            "mailing list, inventing the details",
            "replies": "teacher writes a list member's reply to each email of list-emails.jsonl",
        }[stage],
        "selection": f"lab.teacher_list_emails.seeds(): every kind x community, random.Random('{SEED}:list-emails') "
        f"order, the first {DEV_SEEDS} dev; n_train {n_train}, n_dev {n_dev}",
    }
    template = {"emails": EMAIL_PROMPT, "replies": REPLY_PROMPT}[stage]
    return run_teacher(
        None,
        jobs_for(stage, chosen, emails),
        targets_path(stage, targets_dir),
        meta,
        threads,
        model,
        parallel,
        MAX_TOKENS[stage],
        user_prompt=template,
    )


def training_examples(split: str, targets_dir: Path = TARGETS_DIR) -> list[Example]:
    """The passing replies of `split`'s seeds with their passing emails (input: the email), in seed order."""
    emails = read_targets(targets_path("emails", targets_dir))
    replies = read_targets(targets_path("replies", targets_dir))
    out = []
    for s in seeds():
        email, reply = emails.get(s.id), replies.get(s.id)
        if s.split != split or email is None or reply is None or email_problems(email, s):
            continue
        target = reply_target(reply, s)
        if not reply_problems(target, s, email):
            out.append(Example(s.id, email, target))
    return out


def report(targets_dir: Path = TARGETS_DIR) -> dict:
    by_id = {s.id: s for s in seeds()}
    emails = read_targets(targets_path("emails", targets_dir))
    replies = read_targets(targets_path("replies", targets_dir))
    email_checks = {i: email_problems(t, by_id[i]) for i, t in emails.items()}
    reply_checks = {
        i: reply_problems(reply_target(t, by_id[i]), by_id[i], emails[i]) for i, t in replies.items()
    }
    return {
        "emails": {
            "written": len(emails),
            "pass": sum(not p for p in email_checks.values()),
            "problems": {i: p for i, p in email_checks.items() if p},
        },
        "replies": {
            "written": len(replies),
            "pass": sum(not p for p in reply_checks.values()),
            "problems": {i: p for i, p in reply_checks.items() if p},
        },
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n-train", type=int, default=12)
    ap.add_argument("--n-dev", type=int, default=0)
    ap.add_argument("--stage", choices=(*STAGES, "all"), default="all")
    ap.add_argument("--threads", type=int, default=1)
    # One sequence, as lab.teacher_emails: long answers decoded together came out garbled.
    ap.add_argument("--parallel", type=int, default=1, help="sequences decoded together")
    ap.add_argument("--model", type=Path, default=GGUF_PATH)
    ap.add_argument("--targets-dir", type=Path, default=TARGETS_DIR)
    ap.add_argument("--report", action="store_true", help="only say which written emails and replies pass")
    # Two one-thread processes on two cores write twice as fast as one with two threads (9 generated
    # tokens/s either way): each takes every Nth seed and appends its lines to the same files.
    ap.add_argument("--shard", default="0/1", help="I/N: only every Nth seed from the Ith")
    args = ap.parse_args(argv)
    index, count = (int(part) for part in args.shard.split("/"))
    if not 0 <= index < count:
        ap.error("--shard takes I/N with 0 <= I < N")
    if args.report:
        print(json.dumps(report(args.targets_dir), indent=1))
        return
    for stage in STAGES if args.stage == "all" else (args.stage,):
        out = run(
            stage,
            args.n_train,
            args.n_dev,
            args.threads,
            args.model,
            args.parallel,
            args.targets_dir,
            (index, count),
        )
        print(json.dumps({"stage": stage, "file": str(out), "targets": len(read_targets(out))}))


if __name__ == "__main__":
    main()
