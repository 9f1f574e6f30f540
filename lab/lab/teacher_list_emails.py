"""Emails to a group or mailing list, and replies to them, for the reply adapter (issue 16). The
emails of lab.teacher_emails are one DialogSum speaker writing to the other about everyday life;
real email (real-emails/, the mailing-list archives) is also announcements, proposals, bug reports,
calls for a vote, sent to a group. On a held-out draw of real emails the reply adapter answered 1-2
of 8 and wrote chat lines to the rest (TRAINING.md, "Results"). No human emails with replies are
available to train on, so the teacher writes both: an email of one KIND to one COMMUNITY's list,
with details it invents, then a member's reply. Targets files, each resumable:

    lab/targets/list-emails.jsonl          {"id": "list:0017", "target": <email>}
    lab/targets/list-emails.replies.jsonl  {"id": "list:0017", "target": <reply>}

    python -m lab.teacher_list_emails --n-train 12 --n-dev 0     # a pilot: read them first
    python -m lab.teacher_list_emails --n-train 216 --n-dev 24 --shard 0/2   # and 1/2 beside it
    python -m lab.teacher_list_emails --report                   # what passes the checks

A third of the emails are addressed to one member (who replies and signs with the name the email
gave them); the rest to the group, and their replies carry no name: a reply suggested for a real
email cannot know the user's name, so it should not learn to invent one.

Round 2 (`--round 2`, files list-emails-2*.jsonl) is list mail as it is sent: most emails open
without a greeting line, a third are not signed, half are asked for a numbered list (the teacher
wrote one in 2 of 27), and three more kinds give opinions and answers. Trained on round 1 alone,
the adapter answered a real email only when it opened with a greeting (TRAINING.md, "Emails to a
list"). The teacher ignores "without a greeting" (a pilot: greetings and subject lines all the
same) and would not quote an earlier message (0 of 2 asked), so it writes every email greeted and
signed, and `as_sent` takes off what the seed says the sender left out (with the teacher's "I hope
this email finds you well."); the reply is written to, and trained on, the email as sent.

Round 2's replies, and second tries at round 1's replies that failed (stage short-replies), ask for
20-60 words: asked for 30-80, half came back too long. A reply still too long is trimmed to its
first paragraphs (reply_target).

    python -m lab.teacher_list_emails --round 2 --n-train 110 --shard 0/2        # and 1/2 beside it
    python -m lab.teacher_list_emails --stage short-replies --n-train 216 --n-dev 24 --shard 0/2
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
# Round 2: list mail as it is (the module's docstring says why).
EXTRA_KINDS = {
    "opinion": "gives their opinion on a proposal another member made on the list, agreeing or disagreeing, "
    "with reasons",
    "answer": "answers a question another member asked on the list, with what worked for them",
    "reminder": "reminds the list of a deadline coming up and says what is still missing",
}
FORMS = {
    "plain": "",
    "list": "Put the main points in a short numbered list. ",
}
EMAIL_PROMPT_2 = (
    "Write an email that {writer}, a member of {community}, sends to the group's mailing list{to}. In it, "
    '{writer} {kind}. Use the details that fit of these: {details}. {form}Start with the line "{greeting}", '
    'write 40-120 words in a {register} tone, and end with the line "{writer}". No subject line and no '
    "placeholders in brackets. Output only the email."
)
REPLY_PROMPT_2 = (
    "Here is an email {sender} sent to the mailing list of {community}:\n\n{email}\n\n{you} Write your "
    "reply{to}: answer what the email asks, proposes or says with a concrete answer of your own (agree or "
    "disagree and say why, give the information asked for, say what you will do, or ask one question), in "
    "20-60 words. {greet} {sign} Output only the reply."
)
MAX_TOKENS = {"emails": 320, "replies": 160, "short-replies": 160}
DEV_SEEDS = 24
EMAIL_WORDS = (40, 220)
# The engine lets a reply write 128 tokens (lab.teacher_emails.REPLY_MAX_WORDS says why 80).
REPLY_WORDS = (12, 80)
STAGES = ("emails", "replies", "short-replies")
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
    greeting: str  # the line the teacher starts with
    round: int = 1
    form: str = "plain"  # one of FORMS
    greets: bool = True  # the email as sent keeps its greeting line
    signed: bool = True  # ... and its sign-off (else the reply cannot greet the writer by name)

    @property
    def replier(self) -> str | None:
        return self.member


@cache
def seeds(round: int = 1) -> tuple[ListEmailSeed, ...]:
    """Every kind x community once, in a seeded order, with seeded names; the first DEV_SEEDS dev.
    Round 2 adds EXTRA_KINDS and draws each email's opening, form and signature."""
    kinds = KINDS if round == 1 else {**KINDS, **EXTRA_KINDS}
    pairs = list(itertools.product(kinds, COMMUNITIES))
    rng = random.Random(f"{SEED}:list-emails" + ("" if round == 1 else f"-{round}"))
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
        register = ("friendly", "formal", "brief and informal")[rng.randrange(3)]
        greeting = f"Hi {member}," if addressed else rng.choice(GREETINGS)
        style = {}
        if round != 1:
            # Real list mail mostly starts straight away; one addressed to a member still greets them.
            style = {
                "round": round,
                "form": rng.choice(tuple(FORMS)),
                "signed": rng.randrange(3) > 0,
                "greets": addressed or rng.randrange(4) == 0,
            }
        out.append(
            ListEmailSeed(
                id=f"list{'' if round == 1 else round}:{i:04d}",
                split="dev" if i < DEV_SEEDS else "train",
                kind=kind,
                community=community,
                writer=writer,
                member=member if addressed else None,
                register=register,
                details=details,
                greeting=greeting,
                **style,
            )
        )
    return tuple(out)


def selected(n_train: int, n_dev: int, round: int = 1) -> list[ListEmailSeed]:
    train = [s for s in seeds(round) if s.split == "train"][:n_train]
    dev = [s for s in seeds(round) if s.split == "dev"][:n_dev]
    return train + dev


def email_prompt(s: ListEmailSeed) -> str:
    if s.round != 1:
        return EMAIL_PROMPT_2.format(
            writer=s.writer,
            community=s.community,
            to=f", addressed to {s.member}" if s.member else "",
            kind={**KINDS, **EXTRA_KINDS}[s.kind],
            details=s.details,
            form=FORMS[s.form],
            greeting=s.greeting,
            register=s.register,
        )
    return EMAIL_PROMPT.format(
        writer=s.writer,
        community=s.community,
        to=f", addressed to {s.member}" if s.member else "",
        kind=KINDS[s.kind],
        details=s.details,
        greeting=s.greeting,
        register=s.register,
    )


def reply_prompt(s: ListEmailSeed, email: str, short: bool = False) -> str:
    """The member's reply; `short` (round 2, and round 1's second tries): 20-60 words, and no
    greeting by name to a writer who did not sign."""
    if s.member:
        you, sign = f"You are {s.member}.", f"End with your name, {s.member}."
    else:
        you, sign = "You are a member of the list.", "Do not sign the reply: end it without a name."
    if not short:
        return REPLY_PROMPT.format(writer=s.writer, community=s.community, email=email, you=you, sign=sign)
    return REPLY_PROMPT_2.format(
        sender=s.writer if s.signed else "a member",
        community=s.community,
        email=email,
        you=you,
        to=f" to {s.writer}" if s.signed else "",
        greet=f"Start with a greeting to {s.writer}." if s.signed else 'Start with "Hi," and no name.',
        sign=sign,
    )


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


_GREETING = re.compile(r"(hi|hello|hey|dear|good (morning|afternoon|evening))\b[^.!?\n]{0,40}[,!:]?$", re.I)
_SUBJECT = re.compile(r"subject:", re.IGNORECASE)
_HOPE = re.compile(r"^I hope (this|you|all|everyone)[^.!]{0,40}[.!]\s*", re.IGNORECASE)
_CLOSING = re.compile(r"[A-Za-z ]{2,30},")  # "Best regards,", "Thanks,"


def as_sent(email: str, s: ListEmailSeed) -> str:
    """Round 2's email as its seed's sender sent it: no subject line, and without the greeting line or
    the sign-off (closing and name) where the seed leaves them out. Round 1's emails are as written."""
    if s.round == 1:
        return email
    lines = email.strip().splitlines()
    while lines and (not lines[0].strip() or _SUBJECT.match(lines[0].strip())):
        lines.pop(0)
    if not s.greets and lines and _GREETING.match(lines[0].strip()):
        lines.pop(0)
        while lines and not lines[0].strip():
            lines.pop(0)
        if lines:
            lines[0] = _HOPE.sub("", lines[0])
    if not s.signed:
        while lines and not lines[-1].strip():
            lines.pop()
        if lines and s.writer in lines[-1] and len(lines[-1].split()) <= 3:
            lines.pop()
            while lines and not lines[-1].strip():
                lines.pop()
            if lines and _CLOSING.fullmatch(lines[-1].strip()):
                lines.pop()
    return "\n".join(lines).strip()


_SIGNATURE_PLACEHOLDER = re.compile(r"\n\s*\[(your|my) name\]\s*$", re.IGNORECASE)


def reply_target(reply: str, s: ListEmailSeed) -> str:
    """The reply as training target: a reply to the group keeps its closing ("Best regards,") and
    loses the "[Your Name]" under it, which the teacher adds though asked not to sign; the user signs.
    A reply over the word budget keeps its greeting, its first paragraphs and its closing: the
    teacher answers first, then mostly says the email again (half its replies were too long)."""
    text = reply if s.member else _SIGNATURE_PLACEHOLDER.sub("", reply).rstrip()
    return text if len(text.split()) <= REPLY_WORDS[1] else leading_paragraphs(text, REPLY_WORDS[1])


def leading_paragraphs(reply: str, max_words: int) -> str:
    """The greeting line, as many paragraphs after it as fit max_words with the rest (at least one),
    and the closing lines (each of a few words: "Best regards," and a name); a reply without those
    parts is given back as it is."""
    blocks = [b.strip() for b in re.split(r"\n\s*\n", reply.strip()) if b.strip()]
    head = blocks[:1] if blocks and _GREETING.match(blocks[0]) else []
    tail = []
    while len(blocks) > len(head) + len(tail) + 1 and all(
        len(line.split()) <= 3 for line in blocks[-1 - len(tail)].splitlines()
    ):
        tail.insert(0, blocks[-1 - len(tail)])
    body = blocks[len(head) : len(blocks) - len(tail)]
    if len(body) < 2:
        return reply
    kept = body[:1]
    for block in body[1:]:
        if len(" ".join(head + kept + [block] + tail).split()) > max_words:
            break
        kept.append(block)
    return "\n\n".join(head + kept + tail)


def reply_problems(reply: str, s: ListEmailSeed, email: str) -> list[str]:
    """Why a teacher reply is not training data: not to the writer, signed when it should not be
    (or not when it should), a placeholder, the email copied back, or longer than the engine's
    reply budget."""
    problems = []
    lines = _lines(reply)
    if s.signed and not any(s.writer in line for line in lines[:2]):
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


def targets_path(stage: str, targets_dir: Path = TARGETS_DIR, round: int = 1) -> Path:
    stem = "list-emails" if round == 1 else f"list-emails-{round}"
    return targets_dir / (f"{stem}.jsonl" if stage == "emails" else f"{stem}.{stage}.jsonl")


def _written(round: int, targets_dir: Path) -> dict[str, dict[str, str]]:
    return {stage: read_targets(targets_path(stage, targets_dir, round)) for stage in STAGES}


def passing_reply(s: ListEmailSeed, written: dict[str, dict[str, str]]) -> tuple[str, str] | None:
    """(email, reply as target) for a seed whose email passes and one of whose replies does (the
    first try first), else None."""
    email = written["emails"].get(s.id)
    if email is None or email_problems(email, s):
        return None
    email = as_sent(email, s)
    for stage in ("replies", "short-replies"):
        reply = written[stage].get(s.id)
        if reply is not None and not reply_problems(reply_target(reply, s), s, email):
            return email, reply_target(reply, s)
    return None


def jobs_for(
    stage: str, chosen: list[ListEmailSeed], written: dict[str, dict[str, str]], short: bool
) -> list[dict]:
    """Each seed's prompt; replies only to emails that pass email_problems, and second tries
    (short-replies) only to emails no first reply passed for."""
    emails = written["emails"]
    if stage == "emails":
        return [{"id": s.id, "text": email_prompt(s)} for s in chosen]
    return [
        {"id": s.id, "text": reply_prompt(s, as_sent(emails[s.id], s), short)}
        for s in chosen
        if s.id in emails
        and not email_problems(emails[s.id], s)
        and (stage == "replies" or passing_reply(s, written) is None)
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
    round: int = 1,
) -> Path:
    index, count = shard
    chosen = selected(n_train, n_dev, round)[index::count]
    written = _written(round, targets_dir)
    meta = {
        "chain": f"list emails, round {round} ({stage})",
        "built_as": {
            "emails": "teacher writes an email of one kind (lab.teacher_list_emails.KINDS) to one community's "
            "mailing list, inventing the details",
            "replies": "teacher writes a list member's reply to each email of the round's emails file",
            "short-replies": "teacher writes a list member's reply in 20-60 words to each email of the round's "
            "emails file that no first reply passed for",
        }[stage],
        "selection": f"lab.teacher_list_emails.seeds({round}): every kind x community, "
        f"random.Random('{SEED}:list-emails{'' if round == 1 else f'-{round}'}') order, the first {DEV_SEEDS} "
        f"dev; n_train {n_train}, n_dev {n_dev}",
    }
    short = stage == "short-replies" or round != 1
    if stage == "emails":
        template = EMAIL_PROMPT if round == 1 else EMAIL_PROMPT_2
    else:
        template = REPLY_PROMPT_2 if short else REPLY_PROMPT
    return run_teacher(
        None,
        jobs_for(stage, chosen, written, short),
        targets_path(stage, targets_dir, round),
        meta,
        threads,
        model,
        parallel,
        MAX_TOKENS[stage],
        user_prompt=template,
    )


ROUNDS = (1, 2)


def training_examples(split: str, targets_dir: Path = TARGETS_DIR) -> list[Example]:
    """Every round's seeds of `split` with a passing email and reply (input: the email), in seed order."""
    out = []
    for round in ROUNDS:
        written = _written(round, targets_dir)
        for s in seeds(round):
            pair = passing_reply(s, written) if s.split == split else None
            if pair:
                out.append(Example(s.id, *pair))
    return out


def report(targets_dir: Path = TARGETS_DIR, round: int = 1) -> dict:
    by_id = {s.id: s for s in seeds(round)}
    written = _written(round, targets_dir)
    emails = written["emails"]
    email_checks = {i: email_problems(t, by_id[i]) for i, t in emails.items()}
    out = {
        "emails": {
            "written": len(emails),
            "pass": sum(not p for p in email_checks.values()),
            "problems": {i: p for i, p in email_checks.items() if p},
        },
    }
    for stage in ("replies", "short-replies"):
        checks = {
            i: reply_problems(reply_target(t, by_id[i]), by_id[i], as_sent(emails[i], by_id[i]))
            for i, t in written[stage].items()
        }
        out[stage] = {
            "written": len(checks),
            "pass": sum(not p for p in checks.values()),
            "problems": {i: p for i, p in checks.items() if p},
        }
    out["pairs"] = sum(passing_reply(s, written) is not None for s in seeds(round))
    return out


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
    ap.add_argument(
        "--round",
        type=int,
        choices=ROUNDS,
        default=1,
        help="1: emails with a greeting; 2: as lists send them",
    )
    # Two one-thread processes on two cores write twice as fast as one with two threads (9 generated
    # tokens/s either way): each takes every Nth seed and appends its lines to the same files.
    ap.add_argument("--shard", default="0/1", help="I/N: only every Nth seed from the Ith")
    args = ap.parse_args(argv)
    index, count = (int(part) for part in args.shard.split("/"))
    if not 0 <= index < count:
        ap.error("--shard takes I/N with 0 <= I < N")
    if args.report:
        print(json.dumps(report(args.targets_dir, args.round), indent=1))
        return
    stages = ("emails", "replies") if args.round != 1 else STAGES
    for stage in stages if args.stage == "all" else (args.stage,):
        out = run(
            stage,
            args.n_train,
            args.n_dev,
            args.threads,
            args.model,
            args.parallel,
            args.targets_dir,
            (index, count),
            args.round,
        )
        print(json.dumps({"stage": stage, "file": str(out), "targets": len(read_targets(out))}))


if __name__ == "__main__":
    main()
