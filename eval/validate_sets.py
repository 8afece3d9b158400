#!/usr/bin/env python3
"""Check the question sets against the extracted corpora and report counts.

    python eval/validate_sets.py [--corpus-root .stack/eval-corpora] [SET.jsonl ...]

Checks: each line is a JSON object with id, question, relevant (1-3 distinct paths) and corpus; ids are
unique across all sets; every relevant path exists under CORPUS_ROOT/corpus/; every ingestible file of
each corpus (.txt, .md, .markdown, .rst) decodes as UTF-8; no question appears in two sets.
Also reports, as a hardness check, how many questions contain ALL / ANY of the distinctive words of the
title of their best page (lower is harder; keyword-copying questions make retrieval look too easy).
Exit status 1 when a check fails. Standard library only.
"""
from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOC_SUFFIXES = {".txt", ".md", ".markdown", ".rst"}
UNDERLINE = re.compile(r"^([=\-~^\"'`#*+_.:])\1{2,}\s*$")
STOP = set("""a an and are as at be by can do does for from how i in into is it its my of on or the to use using
with without your you what when where which why with this that these those django pytest test tests testing
write writing work working guide introduction reference overview api about get started""".split())


def title_of(path: Path) -> str:
    lines = path.read_text(encoding="utf-8").splitlines()
    for i in range(len(lines) - 1):
        text = lines[i].strip()
        if text and not text.startswith("..") and not UNDERLINE.match(text) and UNDERLINE.match(lines[i + 1]):
            return text
    return ""


def words(text: str) -> set[str]:
    toks = re.findall(r"[a-z][a-z0-9_]+", text.lower().replace("``", ""))
    return {t for t in toks if t not in STOP and len(t) > 2}


def stem(w: str) -> str:
    for suf in ("ing", "es", "s", "ed"):
        if w.endswith(suf) and len(w) - len(suf) >= 4:
            return w[: -len(suf)]
    return w


def main() -> int:
    parser = argparse.ArgumentParser(description="Validate evaluation question sets.")
    parser.add_argument("sets", nargs="*", type=Path)
    parser.add_argument("--corpus-root", default=".stack/eval-corpora", type=Path)
    args = parser.parse_args()
    files = args.sets or sorted((HERE / "sets").glob("*.jsonl"))
    errors: list[str] = []
    ids: Counter = Counter()
    questions: dict[str, str] = {}
    per_corpus: dict[str, list[dict]] = {}
    for f in files:
        for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), start=1):
            where = f"{f.name}:{n}"
            try:
                rec = json.loads(line)
            except json.JSONDecodeError as exc:
                errors.append(f"{where}: bad JSON ({exc.msg})")
                continue
            if set(rec) != {"id", "question", "relevant", "corpus"}:
                errors.append(f"{where}: keys {sorted(rec)}")
                continue
            rel = rec["relevant"]
            if not (isinstance(rel, list) and 1 <= len(rel) <= 3 and len(set(rel)) == len(rel)
                    and all(isinstance(r, str) and r for r in rel)):
                errors.append(f"{where}: relevant must be 1-3 distinct paths")
            if not f.name.startswith(rec["corpus"] + "."):
                errors.append(f"{where}: corpus {rec['corpus']!r} does not match the file name")
            ids[rec["id"]] += 1
            q = rec["question"].strip().lower()
            if q in questions and questions[q] != f.name:
                errors.append(f"{where}: question also in {questions[q]}")
            questions[q] = f.name
            rec["_set"] = f.name
            per_corpus.setdefault(rec["corpus"], []).append(rec)
    errors += [f"duplicate id {i}" for i, c in ids.items() if c > 1]

    for corpus, recs in sorted(per_corpus.items()):
        root = args.corpus_root / corpus
        if not root.is_dir():
            errors.append(f"{corpus}: no corpus at {root} (python eval/fetch_corpus.py {corpus})")
            continue
        docs = [p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in DOC_SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(root).parts)]
        bad = []
        for p in docs:
            try:
                p.read_bytes().decode("utf-8")
            except UnicodeDecodeError:
                bad.append(str(p.relative_to(root)))
        errors += [f"{corpus}: not UTF-8: {b}" for b in bad]
        paths = 0
        all_hit = any_hit = 0
        for rec in recs:
            for r in rec["relevant"]:
                paths += 1
                if not (root / r).is_file():
                    errors.append(f"{rec['id']}: relevant path missing: {r}")
            best = root / rec["relevant"][0]
            if best.is_file():
                tw = {stem(w) for w in words(title_of(best))}
                qw = {stem(w) for w in words(rec["question"])}
                if tw and tw <= qw:
                    all_hit += 1
                if tw & qw:
                    any_hit += 1
        by_set = Counter(r["_set"] for r in recs)
        print(f"{corpus}: {len(docs)} doc files (all UTF-8: {not bad}); {len(recs)} questions "
              f"({', '.join(f'{k} {v}' for k, v in sorted(by_set.items()))}); {paths} relevant paths; "
              f"title words in question: all {all_hit}/{len(recs)}, any {any_hit}/{len(recs)}")
    for e in errors:
        print(f"error: {e}", file=sys.stderr)
    print("OK" if not errors else f"{len(errors)} problem(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
