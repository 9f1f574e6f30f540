"""What of a teacher's answer is the target: the small instruct teacher sometimes wraps its text in
chatter ("Sure, here's the rewritten text in a casual style:", "This version keeps ...") or answers
the instruction instead of doing it. The target files keep the teacher's raw text (after trimming
quotes and fences); this one function decides, the same way for training and for scoring.
"""

from __future__ import annotations

import re

_PREAMBLE = re.compile(r"^(sure|certainly|of course|okay|ok|here)\b[^\n]*:\s*\n", re.IGNORECASE)
_AFTERWORD = re.compile(
    r"\n\s*(this (version|rewrite|rewritten|text|paraphrase|translation)|note:|\(note|explanation:)[\s\S]*$",
    re.IGNORECASE,
)
_NOT_DONE = re.compile(
    r"^(sure|certainly|of course)[,!]? (i('d| would)? (can|could|be happy|will)|what|please)"
    r"|^i('m| am) sorry|^as an ai|^i can(no|')t",
    re.IGNORECASE,
)
_QUOTES = (('"', '"'), ("\u201c", "\u201d"), ("\u00ab", "\u00bb"), ("'", "'"))


def _unquote(text: str) -> str:
    for left, right in _QUOTES:
        if len(text) > 1 and text.startswith(left) and text.endswith(right) and left not in text[1:-1]:
            return text[1:-1].strip()
    return text


def clean_teacher_text(text: str) -> str | None:
    """The target inside a teacher answer, or None when the answer is no target (chatter, refusal)."""
    t = text.strip()
    t = _PREAMBLE.sub("", t, count=1).strip()
    t = _AFTERWORD.sub("", t).strip()
    t = _unquote(t)
    if not t or _NOT_DONE.search(t):
        return None
    return t
