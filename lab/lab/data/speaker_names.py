"""People's names for DialogSum's #PersonN# speaker tags (issue 16).

DialogSum writes its speakers as `#Person1#`, `#Person2#`, ... in the dialogue and in the human
summary; an adapter trained on that writes `#Person1#` to users. Here every tag gets a name, the
same one in the dialogue and in the summary:

- the name the dialogue itself gives that speaker, when it gives one unambiguously: the other
  speaker addresses them ("Hi, Mr. Smith.", "Do you smoke, Tom?") or they introduce themselves
  ("My name is Judy Liao", "Hello, this is Tom speaking"). The annotators often wrote that name in
  the summary instead of the tag (4,514 of 12,460 train summaries lack some speaker's tag), so the
  name is needed to keep dialogue and summary consistent;
- the one person's name the summary uses, when the summary does not tag a speaker and the dialogue
  does not name them ("Carl tells #Person1# ..." where Carl is never addressed);
- otherwise a first name drawn (seeded per dialogue) from a fixed list of names of several cultures,
  female, male and unisex: of the speaker's gender where the other one calls them sir / madam /
  mom / dad ..., a unisex one where the summary uses he / she and the speaker's gender is unknown
  (the pronoun may be theirs), never a name that already occurs in the dialogue or summary.

A dialogue is left out (`resolve` returns a `Skipped` with the reason) when a speaker the summary
does not tag has a name the summary does not use, when the summary may name such a speaker and it
is unclear who (two names, or a word that only looks like a name), when the summary uses both a
speaker's tag and the name the dialogue gives them (swapped tags), with three or more speakers one
of whom the summary does not tag, or when a tag is irregular ("#Person#", "#PersonN#").
DialogSum train: 12,030 dialogues that share no turn with DialogSum dev, 11,178 rendered, 852 left
out (python -m lab.data names). Judged by reading samples (lab/TRAINING.md, "Next pack"): about 3%
of the rendered dialogues have a speaker whose name the text contradicts.
"""

from __future__ import annotations

import dataclasses
import random
import re
from collections import Counter
from dataclasses import dataclass
from functools import cache

# Fixed name list (never change it: the seeded renderings depend on it). Several cultures, each gender.
FEMALE = (
    "Anna", "Maria", "Aisha", "Mei", "Priya", "Fatima", "Sofia", "Yuki", "Olga", "Amara",
    "Chloe", "Leila", "Ingrid", "Lucia", "Hana", "Nadia", "Emma", "Grace", "Zainab", "Ines",
    "Ananya", "Thandiwe", "Camila", "Svetlana",
)  # fmt: skip
MALE = (
    "James", "Ahmed", "Wei", "Raj", "Carlos", "Kenji", "Ivan", "Kwame", "Lucas", "Omar",
    "David", "Tomas", "Hiroshi", "Mateo", "Arjun", "Samuel", "Jonas", "Diego", "Ali", "Minh",
    "Oluwaseun", "Rafael", "Dmitri", "Hamza",
)  # fmt: skip
UNISEX = (
    "Alex", "Sam", "Jordan", "Taylor", "Robin", "Casey", "Jamie", "Morgan", "Ari", "Noor",
    "Sasha", "Kai", "Rowan", "Quinn", "Avery", "Charlie", "Eden", "Riley", "Ji-woo", "Yan",
)  # fmt: skip

TAG = re.compile(r"#Person(\d+)#", re.IGNORECASE)
# What must never reach training text: any form of the tag ("#Person1#", "#Person#", "#PersonN#").
LEFTOVER_TAG = re.compile(r"#\s*person", re.IGNORECASE)
_LINE = re.compile(r"^#Person(\d+)#:\s*(.*)$", re.IGNORECASE)

_WORD = r"(?:[A-Z][a-z]*(?:'[A-Z][a-z]+|-[A-Za-z][a-z]+)|[A-Z][a-z]+)"
_TITLE = (
    r"(?:Mr|Mrs|Ms|Dr|Prof)\.?|Miss|Doctor|Professor|Uncle|Aunt|Auntie|Grandpa|Grandma|Officer|Captain|"
    r"Inspector|Detective|Sergeant|Coach|Judge|Nurse"
)
_NAME = rf"(?:(?:{_TITLE})\s+)?{_WORD}(?:\s+{_WORD})?"
_TITLED = re.compile(rf"^(?:{_TITLE})\s+{_WORD}")
_GREETING = (
    r"(?i:hi|hello|hey|good (?:morning|afternoon|evening|night)|morning|evening|welcome(?: back| home)?|"
    r"thanks|thank you|excuse me|sorry|bye|goodbye|yes|yeah|no|well|oh|ok|okay|ah|congratulations|"
    r"(?:nice|pleased|glad) to (?:meet|see) you|see you|sure|right|come on|look|listen|happy birthday|"
    r"happy new year|merry christmas|hi there|please|come in|cheers|pardon|wait|hold on|hurry up)"
)
# The other speaker addresses this one: after a greeting at the start of a sentence ("Hi, Mr. Smith.",
# "Oh, hi Pam."), or after a comma at the end of a sentence ("Do you smoke, Mr. Smith?"). A bare name
# starting a sentence ("Mary, come here!") is weaker evidence ("Perrier, Jim Beam and apples."): it
# counts only where the summary confirms it.
_VOCATIVE_GREETED = re.compile(rf"(?:^|[.!?]\s+)(?:{_GREETING}[,!]?\s+){{1,2}}({_NAME})\s*[,.!?]")
_VOCATIVE_END = re.compile(rf"([^.!?]*),\s*({_NAME})\s*[.!?]+(?=\s|$)")
_VOCATIVE_BARE = re.compile(rf"(?:^|[.!?]\s+)({_NAME})\s*[,!]")
# The speaker introduces themselves.
# "This is Frank Smith." names the speaker when it opens a call (the first two turns); later it may
# introduce someone else or a place ("This is Broadway.").
_SELF_OPENING = re.compile(rf"(?:^|[.!?]\s+)(?:{_GREETING}[,!.]?\s+){{0,2}}[Tt]his is\s+({_NAME})\s*[,.!]")
_SELF = (
    re.compile(rf"\b[Mm]y name(?: is|'s)\s+({_NAME})"),
    re.compile(rf"\b[Tt]his is\s+({_NAME})\s+(?:speaking|here)\b"),
    re.compile(rf"\b(?:I'm|I am)\s+({_NAME})\s*[,.!]"),
)
# Capitalized words that are not people's names where the patterns above meet them.
_NOT_NAME_WORDS = """
    dad daddy mom mommy mum mummy mother father madam sir miss mister boss honey darling sweetie
    sweetheart dear baby buddy man guys everyone everybody grandpa grandma granny uncle aunt son
    kid kids doc officer waiter waitress teacher professor doctor nurse lady ladies gentlemen folks
    mate bro dude pal sis brother sister friend children class team god jesus lord gosh christ
    monday tuesday wednesday thursday friday saturday sunday january february march april may june
    july august september october november december christmas easter valentine halloween
    thanksgiving american chinese english asian british french german japanese korean indian
    italian spanish canadian australian african european mexican russian irish scottish
    ah ahh ahhh ahhhh aha oh ooh hum hmm mm nah nope yep yup wow um uh er huh hey yeah ok okay
    ltd inc co corp mr mrs ms dr prof st
    street road avenue lane park square hotel company university college school hospital airport
    station bank building center centre restaurant bar club store shop market mall river lake
    airways airlines airline office department house
    mormon muslim christian catholic buddhist jewish hindu protestant
"""
_NOT_NAMES = frozenset(_NOT_NAME_WORDS.split())
_MONTH_AS_NAME = re.compile(
    r"(?<!\bin )(?<!\bof )(?<!\bon )(?<!\bby )(?<!\bnext )(?<!\blast )(?<!\buntil )(?<!\bsince )"
    r"\b(April|May|June|August)\b(?!\s*\d)"
)
_GENDERED_PRONOUN = re.compile(r"\b(?:he|him|his|himself|she|her|hers|herself)\b", re.IGNORECASE)
# How the other speaker addresses one ("Yes, sir.", "Mom, where is it?"; "Mr. Brown" or "my mom" may
# be someone else).
_MALE_ADDRESS = re.compile(
    r"\bsir\b|(?:^|[.!?,]\s*)(?:dad|daddy|father|grandpa|grandad|uncle)\s*[,.!?]", re.IGNORECASE
)
_FEMALE_ADDRESS = re.compile(
    r"\bmadam\b|\bma'am\b|(?:^|[.!?,]\s*)(?:mom|mommy|mum|mummy|mother|grandma|granny|gramma|aunt|auntie)\s*[,.!?]",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Lexicon:
    """Word statistics of DialogSum's train text that tell a name from a capitalized word."""

    lower: Counter  # occurrences written in lower case, by lower-case form
    capital_mid: Counter  # capitalized occurrences not at a sentence start
    after_place_word: Counter  # capitalized occurrences right after "in", "from", "at"
    capital: Counter
    people: frozenset[str] = frozenset()  # words the corpus gives someone as their name (_evidence)

    def is_name_word(self, word: str) -> bool:
        """A capitalized word written capitalized inside sentences at least half as often as in lower
        case (Bill, Mark, Rose pass; Well, Sir, Honey do not), not mostly at sentence starts (the
        interjections "Ah", "Nah"), not a weekday, month, nationality or address word, and not
        mostly a place ("in London", "from China")."""
        if word.lower() in _NOT_NAMES or re.search(r"(.)\1\1", word.lower()):
            return False
        mid = self.capital_mid[word]
        if self.lower[word.lower()] > 2 * mid or self.capital[word] == 0:
            return False
        if self.capital[word] - mid > 3 * mid + 3:
            return False
        return self.after_place_word[word] < 0.2 * self.capital[word]

    def is_name(self, name: str) -> bool:
        words = name.split()
        if _TITLED.match(name):  # "Mr. Green", "Doctor Hawkins"; not "Dr. Galas Office"
            return all(self.is_name_word(w) for w in words[2:])
        return all(self.is_name_word(w) for w in words)


# Before a sentence-final ", Name.": an appositive, not an address ("They had one daughter, Dories.",
# "It's a Mrs. Peters, Marilyn Peters.", "17 Mallett Street, Alford.").
_APPOSITIVE = re.compile(
    r"(?:\b(?:a|an|the|my|his|her|their|our|your|its|one|two|three|named|called)(?:\s+[\w.'-]+){1,3}|"
    r"'s(?:\s+\w+){1,2}|\b(?:him|her|them|it)|\d|[A-Z][\w.'-]*|,[^,]*,[^,]*,.*)$"
)


def build_lexicon(texts) -> Lexicon:
    lower, capital_mid, after, capital = Counter(), Counter(), Counter(), Counter()
    word = re.compile(r"[A-Za-z]+(?:-[A-Za-z]+)*")
    for text in texts:
        text = TAG.sub(" ", text)
        previous = ""
        for m in word.finditer(text):
            w = m.group(0)
            if w.islower():
                lower[w] += 1
            elif w[0].isupper():
                capital[w] += 1
                i = m.start() - 1
                while i >= 0 and text[i].isspace():
                    i -= 1
                if i >= 0 and text[i] not in '.!?:"':
                    capital_mid[w] += 1
                if previous in ("in", "from", "at"):
                    after[w] += 1
            previous = w.lower()
    return Lexicon(lower, capital_mid, after, capital)


@dataclass(frozen=True)
class Turn:
    speaker: int  # N of #PersonN#
    text: str


@dataclass(frozen=True)
class Resolved:
    names: dict[int, str]  # speaker -> the name used for them
    how: dict[int, str]  # speaker -> "dialogue" (the dialogue's own name for them) | "drawn"
    turns: tuple[tuple[str, str], ...]  # (name, text) with every tag replaced
    summary: str


@dataclass(frozen=True)
class Skipped:
    reason: str


def parse_turns(dialogue: str) -> list[Turn]:
    """`#PersonN#: text` lines; a line without a tag continues the turn before it."""
    turns: list[Turn] = []
    for line in dialogue.splitlines():
        m = _LINE.match(line.strip())
        if m:
            turns.append(Turn(int(m.group(1)), m.group(2).strip()))
        elif turns and line.strip():
            turns[-1] = Turn(turns[-1].speaker, f"{turns[-1].text} {line.strip()}")
    return turns


def _evidence(turns: list[Turn], lexicon: Lexicon) -> tuple[dict[int, Counter], dict[int, Counter]]:
    """(strong, weak): speaker -> Counter of names the dialogue gives them. Strong: self-introductions
    and, with two speakers, greeted or sentence-final forms of address by the other one; weak: a bare
    name starting the other one's sentence."""
    speakers = sorted({t.speaker for t in turns})
    strong: dict[int, Counter] = {s: Counter() for s in speakers}
    weak: dict[int, Counter] = {s: Counter() for s in speakers}
    for i, t in enumerate(turns):
        for pattern in _SELF if i > 1 else (*_SELF, _SELF_OPENING):
            for m in pattern.finditer(t.text):
                strong[t.speaker][m.group(1)] += 1
        if len(speakers) == 2:
            other = speakers[1] if t.speaker == speakers[0] else speakers[0]
            for m in _VOCATIVE_GREETED.finditer(t.text):
                strong[other][m.group(1)] += 1
            for m in _VOCATIVE_END.finditer(t.text):
                if not _APPOSITIVE.search(m.group(1).strip()):
                    strong[other][m.group(2)] += 1
            for m in _VOCATIVE_BARE.finditer(t.text):
                weak[other][m.group(1)] += 1
    # A name given to two speakers says nothing about either ("Mike Landon" and "Landon" share a word).
    words = {s: {w for n in (*strong[s], *weak[s]) for w in _name_words(n)} for s in speakers}
    shared = {
        n
        for s in speakers
        for n in (*strong[s], *weak[s])
        if any(_name_words(n) & words[o] for o in speakers if o != s)
    }

    def keep(found: Counter) -> Counter:
        return Counter({n: c for n, c in found.items() if n not in shared and lexicon.is_name(n)})

    return {s: keep(strong[s]) for s in speakers}, {s: keep(weak[s]) for s in speakers}


def _name_words(name: str) -> set[str]:
    return set(name.split()) - {w for w in name.split() if re.fullmatch(_TITLE, w)}


def _in_text(name: str, text: str) -> bool:
    return re.search(rf"(?<![A-Za-z]){re.escape(name)}(?![a-z])", text) is not None


def _mentions(name: str, text: str) -> bool:
    """The text names this person: the whole name, or its last word when titled ("Mr. Smith" ->
    "Smith"), or its first word when untitled ("Judy Liao" -> "Judy")."""
    if _in_text(name, text):
        return True
    words = name.split()
    if len(words) < 2:
        return False
    part = words[-1] if _TITLED.match(name) else words[0]
    return _in_text(part, text)


def _gender(speaker: int, turns: list[Turn]) -> str | None:
    """'male' / 'female' when, in a two-person dialogue, the other speaker calls them sir / madam."""
    speakers = {t.speaker for t in turns}
    if len(speakers) != 2:
        return None
    said_to = " ".join(t.text for t in turns if t.speaker != speaker)
    male, female = bool(_MALE_ADDRESS.search(said_to)), bool(_FEMALE_ADDRESS.search(said_to))
    return "male" if male and not female else "female" if female and not male else None


def summary_names(summary: str, lexicon: Lexicon, known=()) -> tuple[set[str], set[str]]:
    """(sure, maybe): names of people the summary uses, tags and the `known` people aside (a run of
    capitalized words with a known name's surname or first name is that person: "William Smith"
    when "Mr. Smith" is known). Sure: titled ("Mr. Emory") or a word the corpus uses as someone's name (a
    greeting, an address, a self-introduction); maybe: other words that look like names (a rare
    name, or "York" of "New York")."""
    plain = TAG.sub(" ", summary)
    plain = re.sub(rf"\b[Tt]he\s+{_WORD}", " ", plain)  # "the Hans account" names no one
    firsts = {n.split()[0] for n in known if not _TITLED.match(n)}
    lasts = {n.split()[-1] for n in known if len(n.split()) > 1}
    for span in re.findall(rf"(?:(?:{_TITLE})\s+)?{_WORD}(?:\s+{_WORD})*", plain):
        words = span.split()
        if len(words) > 1 and (words[-1] in lasts or (not _TITLED.match(span) and words[0] in firsts)):
            plain = plain.replace(span, " ")  # "William Smith" is "Mr. Smith"; "Lin Tao" is not "Zhang Lin"
    titled = set(re.findall(rf"(?:{_TITLE})\s+{_WORD}", plain))
    rest = re.sub(rf"(?:{_TITLE})\s+{_WORD}", " ", plain)
    words = set(re.findall(_WORD, rest))
    sure = titled | {w for w in words if w in lexicon.people and lexicon.is_name_word(w)}
    maybe = {w for w in words - sure if lexicon.is_name_word(w)}
    # "May comforts #Person1#": a month that is also a name, used where no date is.
    maybe |= {m.group(1) for m in _MONTH_AS_NAME.finditer(rest)}
    return sure, maybe


def resolve(dialogue: str, summary: str, lexicon: Lexicon, rng: random.Random) -> Resolved | Skipped:
    turns = parse_turns(dialogue)
    if not turns:
        return Skipped("no speaker lines")
    speakers = sorted({t.speaker for t in turns})
    in_summary = {int(n) for n in TAG.findall(summary)}
    if in_summary - set(speakers):
        return Skipped("the summary tags a person who does not speak")
    strong, weak = _evidence(turns, lexicon)
    names: dict[int, str] = {}
    for s in speakers:
        candidates = [n for n, _ in strong[s].most_common()]
        if s in in_summary:
            if candidates:
                if _mentions(candidates[0], TAG.sub(" ", summary)):
                    # "George tells #Person2#" where the dialogue calls #Person2# George: the
                    # annotation contradicts itself (swapped tags), no rendering can be right.
                    return Skipped("the summary uses both a speaker's tag and their name")
                names[s] = candidates[0]
            continue
        # The summary does not tag this speaker: it names them (or leaves them out).
        candidates += [n for n, _ in weak[s].most_common() if n not in candidates]
        named = [n for n in candidates if _mentions(n, summary)]
        if named:
            names[s] = next((n for n in named if _in_text(n, summary)), named[0])
        elif candidates:
            return Skipped("a speaker the summary does not tag has a name the summary does not use")
    how = {s: "dialogue" for s in names}
    untagged = [s for s in speakers if s not in in_summary and s not in names]
    if untagged and len(speakers) > 2:
        # Who is addressed is unknown with three or more speakers (only self-introductions count).
        return Skipped("three or more speakers, one the summary does not tag has no name")
    if untagged:
        # The summary names such a speaker, if at all, by a name the dialogue does not give them
        # (found above). One surely-a-person's name in the summary, nothing else name-like, and one
        # such speaker: it is theirs.
        known = " ".join(names.values())
        sure, maybe = summary_names(summary, lexicon, names.values())
        sure = sorted(n for n in sure if not _mentions(n, known))
        maybe = sorted(n for n in maybe if not _mentions(n, known))
        if len(sure) == 1 and len(untagged) == 1 and not maybe:
            names[untagged[0]], how[untagged[0]] = sure[0], "summary"
        elif sure or maybe:
            return Skipped("the summary may name a speaker it does not tag, and it is unclear who")
    used = set(re.findall(r"[A-Za-z]+(?:-[A-Za-z]+)*", f"{dialogue} {summary}"))
    gendered = _GENDERED_PRONOUN.search(summary) is not None
    for s in speakers:
        if s in names:
            continue
        gender = _gender(s, turns)
        pool = {"male": MALE, "female": FEMALE}.get(gender) if gender else None
        if pool is None:
            pool = UNISEX if gendered else FEMALE + MALE + UNISEX
        taken = used | {w for n in names.values() for w in n.split()}
        names[s] = rng.choice([n for n in pool if n not in taken])
        how[s] = "drawn"

    def fill(text: str) -> str:
        return TAG.sub(lambda m: names.get(int(m.group(1)), m.group(0)), text)

    out_turns = tuple((names[t.speaker], fill(t.text)) for t in turns)
    out_summary = fill(summary)
    if any(LEFTOVER_TAG.search(x) for x in (out_summary, *(t for _, t in out_turns))):
        return Skipped("an irregular tag (#Person#, #PersonN#, ...)")
    return Resolved(names, how, out_turns, out_summary)


@cache
def dialogsum_lexicon() -> Lexicon:
    """The lexicon of DialogSum train, with the name words its dialogues give their speakers."""
    from lab.data.sources import _dialogsum

    dialogues = [parse_turns(e.input) for e in _dialogsum("train")]
    texts = [t.text for turns in dialogues for t in turns] + [e.target for e in _dialogsum("train")]
    lexicon = build_lexicon(texts)
    people = {
        w
        for turns in dialogues
        for found in _evidence(turns, lexicon)[0].values()
        for n in found
        for w in _name_words(n)
    }
    return dataclasses.replace(lexicon, people=frozenset(people))
