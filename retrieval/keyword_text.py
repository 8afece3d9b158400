"""The keyword leg's query texts, pure (no database): the words of a question and the websearch_to_tsquery inputs
made of them. Every text built here travels to PostgreSQL as a query parameter, never inside the SQL.

Plain words are ORed ("a or b or c"): a natural-language question rarely has every word in one chunk, and the
rank still puts chunks that match more of the words first. Text that already uses web-search syntax ("a
phrase", -word, or) is passed through unchanged. websearch_to_tsquery never raises a syntax error, whatever
the input.
"""

from __future__ import annotations

import itertools
import math
import re

_WORDS = re.compile(r"\w+", re.UNICODE)
# Web-search syntax the user may type on purpose: a quoted phrase, a -negation or an explicit "or".
_WEBSEARCH_SYNTAX = re.compile(r'"|(?:^|\s)-\w|(?:^|\s)or(?:\s|$)', re.IGNORECASE)
KEYWORD_MAX_TERMS = 64
# The "two of the words" tier pairs the first PAIR_WORDS_MAX matching words at most (28 pairs).
PAIR_WORDS_MAX = 8


def uses_websearch_syntax(text: str) -> bool:
    return bool(_WEBSEARCH_SYNTAX.search(text))


def plain_words(text: str) -> list[str]:
    """The distinct lower-cased words of `text`, in order, at most KEYWORD_MAX_TERMS."""
    return list(dict.fromkeys(word.lower() for word in _WORDS.findall(text)))[:KEYWORD_MAX_TERMS]


def any_of(words: list[str]) -> str:
    """websearch_to_tsquery input matching a chunk that holds any of `words`."""
    return " or ".join(words)


def two_of(words: list[str]) -> str:
    """websearch_to_tsquery input matching a chunk that holds at least two of `words` ("a b or a c or b c": AND
    binds tighter than OR), pairs of the first PAIR_WORDS_MAX words; empty for fewer than two words. Given the
    selective words, each pair is answered from short GIN posting lists."""
    return " or ".join(f"{a} {b}" for a, b in itertools.combinations(words[:PAIR_WORDS_MAX], 2))


def idf(fraction: float) -> float:
    """Inverse document frequency of a lexeme found in `fraction` of the chunks (the BM25 form, never negative):
    a word in half of the chunks weighs about 0.7, one in 1% about 4.6."""
    fraction = min(max(fraction, 1e-9), 1.0)
    return math.log(1.0 + (1.0 - fraction) / fraction)
