"""Concept extractors (setting EXTRACTOR): `keyphrase` (offline, default) and `llm` (OpenAI-compatible chat).

An extractor maps a document's text to {concept name: mention count}: at most EXTRACTOR_MAX_CONCEPTS
names, lowercase with single spaces, each counted at least once. `co_occurrence` turns concepts and the
document's chunks into RELATED_TO weights.

The keyphrase extractor is RAKE-like: candidates are the 1- to 3-word phrases inside runs of content words
(split at stopwords, punctuation and blank lines); a phrase scores its count times (1 + 0.5 per extra
word), multi-word phrases must occur twice, and a phrase that never occurs outside a chosen longer one
is skipped. Deterministic: ties break by name. It knows nothing of meaning (no stemming, no synonyms).
"""

from __future__ import annotations

import functools
import hashlib
import itertools
import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from django.conf import settings

from core.retry import call_with_retry
from textmodels.openai_http import post_json

MAX_NAME_CHARS = 200
LLM_MAX_INPUT_CHARS = 16_000  # the LLM sees the start of a long document only
_TOKEN = re.compile(r"[^\W_](?:[\w'’.-]*[^\W_])?[+#]*", re.UNICODE)
_BREAK = re.compile(r"[.!?]+(?=\s|$)|\n[ \t]*\r?\n|[,;:()\[\]{}\"“”<>|/\\=*`~]+|\s-+\s|—|–")

STOPWORDS = frozenset("""
a about above across after again against all almost also although always am among an and another any anyone
anything are around as at be became because become been before being below between both but by can cannot could
did do does doing done down during each either else enough etc even ever every few for from further get gets got
had has have having he her here hers herself him himself his how however i if in into is it its itself just last
least less let like made make many may me might mine more most much must my myself near neither never new next no
nor not nothing now of off often on once one only onto or other others otherwise our ours ourselves out over own
per perhaps please put quite rather really same see seen several shall she should since so some someone something
still such than that the their theirs them themselves then there therefore these they this those though through
thus to together too toward towards under until up upon us use used uses using very via was we well were what
whatever when where whether which while who whom whose why will with within without would yes yet you your yours
yourself yourselves first second third two three four five e.g i.e eg ie vs
""".split())


class ExtractorError(Exception):
    """The extractor is misconfigured or answered something unusable; the message says what to fix."""


def normalise(name: str) -> str:
    """Lowercase, single-spaced, trimmed of surrounding punctuation."""
    name = " ".join(str(name).lower().split())
    return name.strip(" \t'\"“”‘’.,;:!?()[]{}-*#`")[:MAX_NAME_CHARS].strip()


def _words(text: str) -> list[str]:
    return _TOKEN.findall(text.lower())


def _is_content(word: str) -> bool:
    return word not in STOPWORDS and not word.replace(".", "").replace(",", "").isdigit() and len(word) > 1


def content_runs(text: str) -> list[list[str]]:
    """Runs of content words between stopwords, punctuation and blank lines, in text order."""
    runs: list[list[str]] = []
    content: dict[str, bool] = {}  # _is_content per distinct word of this text
    for fragment in _BREAK.split(text.lower()):
        run: list[str] = []
        for word in [*_words(fragment), ""]:
            if word and (content[word] if word in content else content.setdefault(word, _is_content(word))):
                run.append(word)
            elif run:
                runs.append(run)
                run = []
    return runs


def phrase_counts(text: str) -> Counter:
    """Every 1- to 3-word phrase inside a run of content words, counted."""
    phrases: list[str] = []
    for run in content_runs(text):
        phrases += run
        phrases += [f"{a} {b}" for a, b in zip(run, run[1:])]
        phrases += [f"{a} {b} {c}" for a, b, c in zip(run, run[1:], run[2:])]
    return Counter(phrases)  # one C-level count instead of three Counter.update calls per run


@dataclass(frozen=True)
class KeyphraseExtractor:
    max_concepts: int
    name: str = "keyphrase-v1"

    def extract(self, text: str) -> dict[str, int]:
        counts = phrase_counts(text)
        # A multi-word phrase must repeat to be a term; a single word must not be a fragment.
        eligible = [(p, c) for p, c in counts.items() if (c >= 2 if " " in p else len(p) > 2)]
        ranked = sorted(eligible, key=lambda item: (-item[1] * (1 + 0.5 * item[0].count(" ")), item[0]))
        chosen: list[str] = []
        for phrase, count in ranked:
            if len(chosen) >= self.max_concepts:
                break
            # Skip a phrase that never occurs outside a longer one already chosen.
            if any(f" {phrase} " in f" {other} " and counts[other] >= count for other in chosen):
                continue
            chosen.append(phrase)
        return {phrase: counts[phrase] for phrase in chosen}


_SYSTEM_PROMPT = (
    "You extract the key concepts of a document for a knowledge graph. Answer with a JSON array of at most "
    "{n} short noun phrases (1 to 4 words each, most important first), for example "
    '["vector database", "hybrid retrieval"]. Answer with the JSON array only.'
)


@dataclass(frozen=True)
class LLMExtractor:
    """POST {url}/chat/completions as the OpenAI API does, asking for a JSON list of concepts."""

    url: str
    model: str
    max_concepts: int
    timeout: float
    api_key: str = field(default="", repr=False)

    @property
    def name(self) -> str:
        return f"llm:{self.model}"

    def _post(self, text: str) -> str:
        body = {
            "model": self.model, "temperature": 0,
            "messages": [
                {"role": "system", "content": _SYSTEM_PROMPT.format(n=self.max_concepts)},
                {"role": "user", "content": text[:LLM_MAX_INPUT_CHARS]},
            ],
        }
        payload = post_json(self.url, "/chat/completions", body, api_key=self.api_key, timeout=self.timeout,
                            role="extractor", setting_prefix="EXTRACTOR", model=self.model,
                            error_class=ExtractorError)
        try:
            content = payload["choices"][0]["message"]["content"]
        except (KeyError, IndexError, TypeError):
            raise ExtractorError(f"the extractor at {self.url} answered without choices[0].message.content") from None
        if not isinstance(content, str):
            raise ExtractorError(f"the extractor at {self.url} answered a non-text message")
        return content

    def extract(self, text: str) -> dict[str, int]:
        if not text.strip():
            return {}
        names = parse_concept_list(call_with_retry("Extractor", self._post, text))
        return {name: max(1, count_mentions(name, text)) for name in names[: self.max_concepts]}


def parse_concept_list(content: str) -> list[str]:
    """Concept names from a model's answer: a JSON array (maybe fenced or wrapped in prose or an object)."""
    text = content.strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, re.DOTALL)
    if fenced:
        text = fenced.group(1).strip()
    value = _first_json(text)
    if isinstance(value, Mapping):
        value = next((v for k, v in value.items() if k.lower() in ("concepts", "keywords", "items")), None)
    if not isinstance(value, list):
        raise ExtractorError(f"the extractor did not answer a JSON list of concepts: {content[:80]!r}")
    names: list[str] = []
    for item in value:
        if isinstance(item, Mapping):
            item = item.get("name") or item.get("concept")
        if isinstance(item, str) and (name := normalise(item)) and name not in names:
            names.append(name)
    return names


def _first_json(text: str):
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    for opener, closer in (("[", "]"), ("{", "}")):
        start, end = text.find(opener), text.rfind(closer)
        if start != -1 and end > start:
            try:
                return json.loads(text[start:end + 1])
            except json.JSONDecodeError:
                continue
    return None


def _padded(text: str) -> str:
    return " " + " ".join(_words(text)) + " "


def count_mentions(name: str, text: str) -> int:
    """How often the concept occurs in the text as whole words (case-insensitive)."""
    words = " ".join(_words(name))
    if not words:
        return text.lower().count(name)
    return _padded(text).count(f" {words} ")


def co_occurrence(concepts: Sequence[str], chunk_texts: Sequence[str]) -> list[tuple[str, str, int]]:
    """(a, b, chunks mentioning both) for concept pairs that share a chunk, a < b, sorted.

    The weight counts chunks of this one document: its contribution to the edge, which graphstore keeps
    per document (an edge's weight is the sum over the documents that contribute to it).
    """
    padded_names = {name: f" {' '.join(_words(name))} " for name in concepts}
    pairs: Counter = Counter()
    for text in chunk_texts:
        padded, lower = _padded(text), text.lower()
        present = sorted(name for name, words in padded_names.items()
                         if (words in padded if words.strip() else name in lower))
        pairs.update(itertools.combinations(present, 2))
    return [(a, b, count) for (a, b), count in sorted(pairs.items())]


def get_extractor():
    """The extractor the settings choose (cached per configuration)."""
    return _extractor(settings.EXTRACTOR, settings.EXTRACTOR_MAX_CONCEPTS, settings.EXTRACTOR_URL,
                      settings.EXTRACTOR_MODEL, getattr(settings, "EXTRACTOR_TIMEOUT", 60.0),
                      hashlib.sha256(settings.EXTRACTOR_API_KEY.encode()).hexdigest())


@functools.lru_cache(maxsize=8)
def _extractor(kind, max_concepts, url, model, timeout, _key_fingerprint):
    if kind == "llm":
        if not url:
            raise ExtractorError("EXTRACTOR=llm needs EXTRACTOR_URL (an OpenAI-compatible base URL)")
        return LLMExtractor(url=url.rstrip("/"), model=model, max_concepts=max_concepts, timeout=timeout,
                            api_key=settings.EXTRACTOR_API_KEY)
    return KeyphraseExtractor(max_concepts=max_concepts)
