"""Word-level edits of an item text: substitutions and insertions, and how many of them a rewrite is.

A text is split on single spaces into tokens; a token is a word with the punctuation attached to it
(``"novel."``). Three edit kinds:

* ``sub``: replace the word of a token, keeping its punctuation (and its capital, if it had one);
* ``tag``: append a word to the text's closing tag list (``"Tags: jazz, novel."`` ->
  ``"Tags: jazz, novel, acclaimed."``) -- what a content provider most easily changes;
* ``ins``: insert a word before a token (anywhere; only when the budget allows it).

The size of a rewrite is the Levenshtein distance between the two texts' word sequences (words
lower-cased, punctuation ignored: substitutions, insertions and deletions count one each), so it
does not depend on how the rewrite was produced.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

_PUNCT = ".,;:!?\"'()"
EDIT_OPS = ("sub", "tag", "ins")


def tokens(text: str) -> list[str]:
    """The text's tokens (split on single spaces)."""
    return text.split(" ")


def core(token: str) -> str:
    """A token's word: punctuation stripped from both ends."""
    return token.strip(_PUNCT)


def words(text: str) -> list[str]:
    """The text's words, lower-cased, punctuation stripped, empty ones dropped."""
    return [w for w in (core(t).lower() for t in tokens(text)) if w]


def _restyle(old: str, word: str) -> str:
    """``word`` in place of ``old``'s word: ``old``'s surrounding punctuation, and a capital if ``old`` had one."""
    w = core(old)
    if not w:
        return old + word
    start = old.index(w)
    new = word[:1].upper() + word[1:] if w[:1].isupper() else word
    return old[:start] + new + old[start + len(w) :]


@dataclass(frozen=True)
class Edit:
    """One word edit (see the module docstring); ``position`` is a token index (unused by ``tag``)."""

    op: str
    position: int
    word: str

    def apply(self, toks: list[str]) -> list[str]:
        """A new token list with this edit applied."""
        out = list(toks)
        if self.op == "sub":
            out[self.position] = _restyle(out[self.position], self.word)
        elif self.op == "tag":
            last = out[-1]
            end = "." if last.endswith(".") else ""
            out[-1] = (last[:-1] if end else last) + ","
            out.append(self.word + end)
        else:
            out.insert(self.position, self.word)
        return out


def word_edit_distance(a: list[str], b: list[str]) -> int:
    """Levenshtein distance between two word lists (each substitution, insertion, deletion costs 1)."""
    prev = list(range(len(b) + 1))
    for i, x in enumerate(a, start=1):
        cur = [i] + [0] * len(b)
        for j, y in enumerate(b, start=1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (x != y))
        prev = cur
    return prev[-1]


def text_edit_distance(original: str, edited: str) -> int:
    """Word edits between two texts (:func:`word_edit_distance` of their :func:`words`)."""
    return word_edit_distance(words(original), words(edited))


def new_words(original: str, edited: str) -> list[str]:
    """Words of ``edited`` that ``original`` does not have (as many times as they are new), lower-cased."""
    return sorted((Counter(words(edited)) - Counter(words(original))).elements())


def split_tags(text: str) -> tuple[str, str]:
    """(body, tag list) of a text around its last ``"Tags:"`` (``(text, "")`` without one)."""
    i = text.rfind("Tags:")
    return (text, "") if i < 0 else (text[:i], text[i:])
