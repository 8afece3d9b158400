"""A deterministic synthetic corpus whose chunking yields an exact number of chunks.

Words are made-up syllable words grouped in topics (so concept extraction finds recurring phrases
per topic, documents of a topic share concepts, and a secondary topic per document links topics in the
graph), glued together with English stopwords (which the keyphrase extractor splits phrases at and the
'english' full-text configuration ignores). Made-up words cannot collide with anyone else's concepts in
the shared Neo4j graph. Paragraphs are sized so that each one is one chunk; every document is checked
with the project's own chunker, so the total is exact whatever CHUNK_SIZE/CHUNK_OVERLAP are.
"""

from __future__ import annotations

import hashlib
import json
import random
from dataclasses import dataclass
from pathlib import Path

from ingestion.chunking import chunk_text

SEED = 20240607
TOPICS = 60
WORDS_PER_TOPIC = 40
PHRASES_PER_TOPIC = 12
COMMON_WORDS = 200
GLUE = ["the", "of", "and", "with", "in", "for", "to", "a", "by", "on", "is", "was", "from", "that"]
_ONSETS = ["b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "br", "kr", "st", "tr", "pl", "gr"]
_VOWELS = ["a", "e", "i", "o", "u", "ai", "ou"]
_CODAS = ["", "", "n", "r", "s", "l", "x", "m"]
MANIFEST_SUFFIX = ".manifest.json"  # next to the directory: ingest would skip a .json inside it


@dataclass(frozen=True)
class Vocabulary:
    topics: list[list[str]]  # topic -> words
    phrases: list[list[str]]  # topic -> two-word phrases that recur in its documents
    common: list[str]


def vocabulary(seed: int = SEED) -> Vocabulary:
    rng = random.Random(seed)
    seen: set[str] = set()

    def word() -> str:
        while True:
            text = "".join(rng.choice(_ONSETS) + rng.choice(_VOWELS) + rng.choice(_CODAS)
                           for _ in range(rng.choice((2, 2, 3))))
            if text not in seen and len(text) >= 4:
                seen.add(text)
                return text

    topics = [[word() for _ in range(WORDS_PER_TOPIC)] for _ in range(TOPICS)]
    phrases = [[f"{rng.choice(words)} {rng.choice(words)}" for _ in range(PHRASES_PER_TOPIC)] for words in topics]
    return Vocabulary(topics, phrases, [word() for _ in range(COMMON_WORDS)])


def _sentence(rng: random.Random, vocab: Vocabulary, main: int, second: int) -> str:
    parts = []
    for _ in range(rng.randint(3, 5)):
        roll = rng.random()
        topic = main if roll < 0.7 else second if roll < 0.9 else None
        if topic is None:
            parts.append(rng.choice(vocab.common))
        elif rng.random() < 0.5:
            parts.append(rng.choice(vocab.phrases[topic]))
        else:
            parts.append(rng.choice(vocab.topics[topic]))
        parts.append(rng.choice(GLUE))
    text = " ".join(parts[:-1])
    return text[0].upper() + text[1:] + "."


def _paragraph(rng: random.Random, vocab: Vocabulary, main: int, second: int, low: int, high: int) -> str:
    """Sentences until the paragraph is at least `low` characters, never more than `high`."""
    text = ""
    while len(text) < low:
        sentence = _sentence(rng, vocab, main, second)
        candidate = f"{text} {sentence}" if text else sentence
        if len(candidate) > high:
            if text:
                break
            candidate = candidate[:high].rsplit(" ", 1)[0] + "."
        text = candidate
    return text


def document(rng: random.Random, vocab: Vocabulary, number: int, target_chunks: int,
             size: int, overlap: int) -> tuple[str, int]:
    """(text, chunk count) of one document with at most `target_chunks` chunks (at least 1)."""
    main = rng.randrange(TOPICS)
    second = (main + rng.randint(1, 3)) % TOPICS  # neighbouring topics: a chain the graph can follow
    title = f"Notes {number} on {' '.join(vocab.phrases[main][:2])}"
    # One paragraph per chunk: it must fit in a window with the previous chunk's overlap in front of it.
    high = max(40, min(int(size * 0.8), size - overlap - 20))
    low = max(20, min(int(size * 0.55), high - 40))
    paragraphs = [_paragraph(rng, vocab, main, second, low, high) for _ in range(target_chunks)]
    while True:
        text = title + "\n\n" + "\n\n".join(paragraphs) + "\n"
        count = len(chunk_text(text, size, overlap))
        if count <= target_chunks or len(paragraphs) == 1:
            return text, count
        paragraphs.pop()


def generate(directory: Path, chunks: int, *, size: int, overlap: int, seed: int = SEED,
             files_per_dir: int = 500) -> dict:
    """Write the corpus under `directory` (reused when its manifest matches); returns the manifest."""
    directory = Path(directory)
    wanted = {"chunks": chunks, "chunk_size": size, "chunk_overlap": overlap, "seed": seed}
    manifest_path = directory.parent / (directory.name + MANIFEST_SUFFIX)
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if {key: manifest.get(key) for key in wanted} == wanted:
            return manifest
    directory.mkdir(parents=True, exist_ok=True)
    for old in directory.rglob("*.txt"):
        old.unlink()
    digest = hashlib.sha256()
    files = 0
    for relative, text, _count in documents(chunks, size=size, overlap=overlap, seed=seed,
                                            files_per_dir=files_per_dir):
        path = directory / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        digest.update(relative.encode() + b"\0" + text.encode())
        files += 1
    manifest = {**wanted, "files": files, "bytes": sum(p.stat().st_size for p in directory.rglob("*.txt")),
                "sha256": digest.hexdigest()}
    manifest_path.write_text(json.dumps(manifest, indent=2))
    return manifest


def documents(chunks: int, *, size: int, overlap: int, seed: int = SEED, files_per_dir: int = 500):
    """Yield (relative path, text, chunk count) until exactly `chunks` chunks; deterministic for a seed."""
    if chunks < 1:
        raise ValueError("chunks must be at least 1")
    vocab = vocabulary(seed)
    rng = random.Random(seed + 1)
    remaining, number = chunks, 0
    while remaining:
        target = min(remaining, rng.randint(8, 32))
        text, count = document(rng, vocab, number, target, size, overlap)
        yield f"part-{number // files_per_dir:03d}/doc-{number:06d}.txt", text, count
        remaining -= count
        number += 1


def queries(count: int, seed: int = SEED) -> list[str]:
    """Search texts drawn from the topics: a phrase and one or two words, sometimes a word of a neighbour topic."""
    vocab = vocabulary(seed)
    rng = random.Random(seed + 2)
    texts = []
    for _ in range(count):
        topic = rng.randrange(TOPICS)
        words = [rng.choice(vocab.phrases[topic])] + rng.sample(vocab.topics[topic], rng.randint(1, 2))
        if rng.random() < 0.3:
            words.append(rng.choice(vocab.topics[(topic + 1) % TOPICS]))
        texts.append(" ".join(words))
    return texts
