#!/usr/bin/env python3
"""Source of the evaluation question sets; writes eval/sets/NAME.{dev,heldout}.jsonl.

    python eval/build_sets.py [--corpus-root .stack/eval-corpora] [--check-only]

Each entry is (question, relevant paths with the best page first, evidence). `evidence` is a regular
expression that must match in the FIRST relevant page: a quick guard that the answer is really there
(it was written after reading the page; it is not part of the output). Ids are assigned in list order
(django-001, ...), so append new questions at the end and never reorder or reuse an id.

Split: a question goes to held-out when int(sha256(id), 16) is odd, else to dev. This depends on the id
alone, was fixed before any evaluation run, and never looks at scores. Standard library only.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent

DJANGO = [
    ("I loop over a list of orders and print each one's customer name, and the page fires hundreds of "
     "SQL statements. How do I fetch the related rows up front?",
     ["ref/models/querysets.txt", "topics/db/optimization.txt"], r"select_related"),
    ("If an exception is raised midway through my view, half of the rows are already written. How can I "
     "make several writes succeed or fail together?",
     ["topics/db/transactions.txt"], r"atomic"),
    ("send a notification mail only once the surrounding database changes are really committed, not if "
     "they get rolled back",
     ["topics/db/transactions.txt"], r"on_commit"),
    ("I want people to sign in with their e-mail address instead of a username. How do I replace the "
     "stock account model with my own?",
     ["topics/auth/customizing.txt"], r"USERNAME_FIELD"),
    ("which algorithm is used to hash stored passwords by default, and how do I switch to argon2?",
     ["topics/auth/passwords.txt"], r"Argon2PasswordHasher"),
    ("CSS and JavaScript return 404 as soon as I set DEBUG = False on the server",
     ["howto/static-files/deployment.txt", "howto/static-files/index.txt", "ref/contrib/staticfiles.txt"],
     r"collectstatic"),
    ("What settings should I review before launching a site to production (secret key, HTTPS, debug and "
     "so on)?",
     ["howto/deployment/checklist.txt"], r"check --deploy"),
    ("keep the rendered output of one view for 15 minutes so it isn't recomputed on every hit",
     ["topics/cache.txt"], r"cache_page"),
    ("my form submission is rejected with 403 Forbidden, saying a token is missing or incorrect",
     ["howto/csrf.txt", "ref/csrf.txt"], r"csrf_token"),
    ("Where do pictures that users send through a form get saved on disk, and how are they served back?",
     ["topics/files.txt", "topics/http/file-uploads.txt", "howto/static-files/index.txt"],
     r"MEDIA_ROOT"),
    ("add my own subcommand to manage.py that I can run from cron",
     ["howto/custom-management-commands.txt"], r"BaseCommand"),
    ("How can I seed the database with some starting rows from a JSON file when setting up a new "
     "environment?",
     ["howto/initial-data.txt", "topics/db/fixtures.txt"], r"loaddata"),
    ("generate model classes from the tables of a database that already exists and wasn't created by "
     "Django",
     ["howto/legacy-databases.txt"], r"inspectdb"),
    ("I added a column and need to fill it for all existing rows from values in other columns as part of "
     "the schema change. How?",
     ["howto/writing-migrations.txt", "topics/migrations.txt"], r"RunPython"),
    ("after merging two git branches makemigrations complains about conflicting leaf nodes",
     ["ref/django-admin.txt"], r"--merge"),
    ("count how many books each author has and attach that number to every author in the result",
     ["topics/db/aggregation.txt"], r"annotate"),
    ("filter rows where one column is greater than another column of the same row",
     ["topics/db/queries.txt", "ref/models/expressions.txt"], r"F\("),
    ("combine lookup conditions with OR instead of AND",
     ["topics/db/queries.txt"], r"Q\("),
    ("Can I run a handwritten SELECT statement and still get model instances back?",
     ["topics/db/sql.txt"], r"raw\("),
    ("send reads to a replica and writes to the primary server",
     ["topics/db/multi-db.txt"], r"db_for_read"),
    ("How do I run some code every time any instance of a model gets saved, without overriding the "
     "model's save method?",
     ["ref/signals.txt", "topics/signals.txt"], r"post_save"),
    ("RuntimeWarning: received a naive datetime while time zone support is active. What does this mean?",
     ["topics/i18n/timezones.txt"], r"naive"),
    ("make the user-facing strings in my templates and Python code available in French and German",
     ["topics/i18n/translation.txt"], r"gettext"),
    ("send a message with both an HTML body and a plain-text fallback",
     ["topics/email.txt"], r"EmailMultiAlternatives"),
    ("How do I get a traceback mailed to the site admins whenever the live site throws a 500?",
     ["howto/error-reporting.txt"], r"ADMINS"),
    ("write my application's log messages to a file on disk, configured in settings.py",
     ["howto/logging.txt", "topics/logging.txt"], r"FileHandler"),
    ("show 25 results at a time with next and previous links",
     ["topics/pagination.txt", "ref/paginator.txt"], r"Paginator"),
    ("capture an integer id from the address and hand it to the view function",
     ["topics/http/urls.txt"], r"<int:"),
    ("build a link from a route's name instead of hardcoding the path",
     ["topics/http/urls.txt", "ref/urlresolvers.txt"], r"reverse\("),
    ("bulk operation in the back-office list page to mark the selected articles as published",
     ["ref/contrib/admin/actions.txt"], r"make_published"),
    ("Is it possible to edit the child rows on the same admin page as their parent object?",
     ["ref/contrib/admin/index.txt"], r"TabularInline"),
    ("write my own filter for use in templates, like {{ value|lower }}",
     ["howto/custom-template-tags.txt"], r"register\.filter"),
    ("change how a third-party app's HTML page looks without editing the installed package",
     ["howto/overriding-templates.txt"], r"DIRS"),
    ("Do unit tests touch my real data? Which database do they run against?",
     ["topics/testing/overview.txt"], r"test database"),
    ("simulate a browser GET in a unit test and check the status code and context",
     ["topics/testing/tools.txt"], r"django\.test import Client"),
    ("store per-visitor state client side in signed cookies rather than in a database table",
     ["topics/http/sessions.txt"], r"signed_cookies"),
    ("let users download a comma-separated spreadsheet file from a view",
     ["howto/outputting-csv.txt"], r"text/csv"),
    ("start the app on ASGI with Gunicorn managing the worker processes",
     ["howto/deployment/asgi/uvicorn.txt"], r"UvicornWorker"),
    ("calling the ORM from an async def view raises SynchronousOnlyOperation",
     ["topics/async.txt"], r"SynchronousOnlyOperation"),
    ("forbid two rows from having the same pair of values in two columns",
     ["ref/models/constraints.txt", "ref/models/options.txt"], r"UniqueConstraint"),
    ("How do I hook in code that runs before and after every request, for all views?",
     ["topics/http/middleware.txt"], r"get_response"),
    ("validate that two fields of a form agree with each other, e.g. password and confirmation",
     ["ref/forms/validation.txt"], r"depend on each other"),
    ("several copies of the same form on one page, e.g. to add multiple addresses at once",
     ["topics/forms/formsets.txt"], r"formset_factory"),
    ("generate an HTML form automatically from the fields of a model",
     ["topics/forms/modelforms.txt"], r"ModelForm"),
    ("order PostgreSQL tsvector query hits by how relevant they are",
     ["ref/contrib/postgres/search.txt", "topics/db/search.txt"], r"SearchRank"),
    ("stop other websites from embedding my pages in an iframe",
     ["ref/clickjacking.txt"], r"X-Frame-Options"),
    ("How do I make a value I put in a URL tamper-proof so users can't change it?",
     ["topics/signing.txt"], r"Signer"),
    ("avoid sending the body again when the browser already has the latest version (ETag / "
     "Last-Modified)",
     ["topics/conditional-view-processing.txt"], r"etag"),
    ("XML file listing all my pages for search engine crawlers",
     ["ref/contrib/sitemaps.txt"], r"<urlset"),
    ("publish an RSS or Atom feed of the latest blog posts",
     ["ref/contrib/syndication.txt"], r"class LatestEntriesFeed"),
    ("null=True vs blank=True difference",
     ["ref/models/fields.txt"], r"purely database-related"),
    ("hide soft-deleted rows from every query by default, without adding a filter each time",
     ["topics/db/managers.txt"], r"get_queryset"),
]

PYTEST = [
    ("My tests open a costly database connection each time. How can they share one connection for the "
     "whole run instead of one per test?",
     ["how-to/fixtures.rst", "reference/fixtures.rst"], r'scope="session"'),
    ("where do I put teardown code that must run after a test has used a resource",
     ["how-to/fixtures.rst"], r"yield"),
    ("run the same test function with several input / expected-output pairs",
     ["how-to/parametrize.rst", "example/parametrize.rst"], r"@pytest\.mark\.parametrize"),
    ("How do I flag a test as known to be broken so it doesn't fail the build but is still reported?",
     ["how-to/skipping.rst"], r"xfail"),
    ("don't run a particular test on Windows",
     ["how-to/skipping.rst"], r"sys\.platform"),
    ("change an environment variable for just one test and have it restored afterwards",
     ["how-to/monkeypatch.rst"], r"setenv"),
    ("check that my function raises ValueError and that the error text contains a given phrase",
     ["how-to/assert.rst"], r"match="),
    ("0.1 + 0.2 == 0.3 fails in my test, how do I compare floating point numbers with a tolerance?",
     ["reference/reference.rst"], r"approx"),
    ("only rerun the tests that broke during the previous invocation",
     ["how-to/cache.rst"], r"--lf"),
    ("Where should shared setup helpers live so that several test files in a folder can all use them?",
     ["reference/fixtures.rst", "how-to/fixtures.rst"], r"conftest\.py"),
    ("a test needs a scratch folder to write files into, unique per test",
     ["how-to/tmp_path.rst"], r"tmp_path"),
    ("assert on what my function printed to the terminal",
     ["how-to/capture-stdout-stderr.rst"], r"capsys"),
    ("verify that calling an old API emits a DeprecationWarning",
     ["how-to/capture-warnings.rst"], r"pytest\.warns"),
    ("make every warning raised during the run count as an error",
     ["how-to/capture-warnings.rst"], r"-W error"),
    ("How can a test inspect the records my code sent to Python's logging module?",
     ["how-to/logging.rst"], r"caplog"),
    ("ModuleNotFoundError when my tests import my own package, but it works from the REPL",
     ["explanation/pythonpath.rst", "explanation/goodpractices.rst"], r"python -m pytest"),
    ("should my package live under a src/ directory, and where do the tests go relative to it?",
     ["explanation/goodpractices.rst"], r"src"),
    ("the runner exits with status 5, what does that mean?",
     ["reference/exit-codes.rst"], r"No tests were collected"),
    ("select only the tests whose names contain a certain word from the command line",
     ["how-to/usage.rst"], r"-k"),
    ("abort the whole session after the first couple of broken tests",
     ["how-to/failures.rst"], r"--maxfail"),
    ("open an interactive debugger at the point where a test errors out",
     ["how-to/failures.rst"], r"--pdb"),
    ("I get PytestUnknownMarkWarning for my own decorator labels, how do I declare them?",
     ["how-to/mark.rst", "example/markers.rst"], r"markers ="),
    ("put the runner's settings in pyproject.toml instead of a separate ini file",
     ["reference/customize.rst"], r"\[tool\.pytest\.ini_options\]"),
    ("Can I keep my old unittest.TestCase classes and run them with this runner without rewriting them?",
     ["how-to/unittest.rst"], r"TestCase"),
    ("execute the interactive examples inside my docstrings as tests",
     ["how-to/doctest.rst"], r"--doctest-modules"),
    ("add a custom command-line flag whose value my tests can read",
     ["example/simple.rst"], r"pytest_addoption"),
    ("my files are named check_*.py and aren't being picked up. How do I change which files are "
     "discovered?",
     ["example/pythoncollection.rst"], r"python_files"),
    ("describe test cases in YAML files instead of Python code",
     ["example/nonpython.rst"], r"yaml"),
    ("produce a JUnit-style XML results file for Jenkins",
     ["how-to/output.rst"], r"--junit-xml"),
    ("list which tests take the longest time",
     ["how-to/usage.rst"], r"--durations"),
    ("A test passes on its own but fails intermittently when the whole suite runs. What are common "
     "causes and how do I deal with it?",
     ["explanation/flaky.rst"], r"[Oo]rder"),
    ("stop a third-party extension that is installed in my virtualenv from loading, just for one run",
     ["how-to/plugins.rst"], r"-p no:"),
    ("classic setup_module / teardown_method style initialisation",
     ["how-to/xunit_setup.rst"], r"setup_module"),
    ("I need a helper that builds objects with different arguments several times within one test. Can a "
     "fixture hand back a function?",
     ["how-to/fixtures.rst"], r"make_customer_record"),
    ("apply a setup function to every test without each test having to ask for it",
     ["how-to/fixtures.rst"], r"autouse"),
    ("in what order are set-up functions of different scopes created when a test requests several?",
     ["reference/fixtures.rst"], r"[Hh]igher-scoped"),
    ("arrange act assert",
     ["explanation/anatomy.rst"], r"Arrange"),
    ("write a hook implementation that runs around all other implementations and can see their result",
     ["how-to/writing_hook_functions.rst"], r"wrapper=True"),
    ("distribute my fixtures as a pip-installable package that gets loaded automatically",
     ["how-to/writing_plugins.rst"], r"pytest11"),
    ("Assertions inside my helper module don't show the detailed comparison output on failure. Why?",
     ["how-to/writing_plugins.rst", "how-to/assert.rst"], r"register_assert_rewrite"),
    ("customise the explanation printed when comparing two of my own objects with == fails",
     ["how-to/assert.rst"], r"pytest_assertrepr_compare"),
    ("give readable names to generated test cases instead of param0, param1",
     ["example/parametrize.rst", "reference/reference.rst"], r"ids="),
    ("type annotations for fixtures and for the objects they return",
     ["explanation/types.rst"], r"def "),
    ("run exactly one test method of one class in one file",
     ["how-to/usage.rst"], r"::"),
    ("autocomplete command-line flags when pressing TAB in the shell",
     ["how-to/bash-completion.rst"], r"argcomplete"),
]

SETS = {"django": DJANGO, "pytest": PYTEST}


def split_of(qid: str) -> str:
    return "heldout" if int(hashlib.sha256(qid.encode("utf-8")).hexdigest(), 16) % 2 else "dev"


def records(name: str) -> list[dict]:
    out = []
    for i, (question, relevant, _evidence) in enumerate(SETS[name], start=1):
        out.append({"id": f"{name}-{i:03d}", "question": question, "relevant": relevant, "corpus": name})
    return out


def check(name: str, root: Path) -> list[str]:
    problems = []
    seen = set()
    for rec, (_q, relevant, evidence) in zip(records(name), SETS[name]):
        key = rec["question"].strip().lower()
        if key in seen:
            problems.append(f"{rec['id']}: duplicate question")
        seen.add(key)
        if not 1 <= len(relevant) <= 3 or len(set(relevant)) != len(relevant):
            problems.append(f"{rec['id']}: needs 1-3 distinct relevant paths")
        for rel in relevant:
            if not (root / name / rel).is_file():
                problems.append(f"{rec['id']}: missing {rel}")
        first = root / name / relevant[0]
        if first.is_file() and not re.search(evidence, first.read_text(encoding="utf-8")):
            problems.append(f"{rec['id']}: evidence {evidence!r} not in {relevant[0]}")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus-root", default=".stack/eval-corpora")
    parser.add_argument("--check-only", action="store_true")
    args = parser.parse_args()
    root = Path(args.corpus_root)
    failed = False
    for name in SETS:
        if not (root / name).is_dir():
            print(f"error: corpus {name} not found under {root} (run: python eval/fetch_corpus.py {name})",
                  file=sys.stderr)
            return 1
        problems = check(name, root)
        for p in problems:
            print(f"{name}: {p}", file=sys.stderr)
        failed = failed or bool(problems)
        if args.check_only or problems:
            continue
        parts = {"dev": [], "heldout": []}
        for rec in records(name):
            parts[split_of(rec["id"])].append(rec)
        (HERE / "sets").mkdir(exist_ok=True)
        for part, recs in parts.items():
            path = HERE / "sets" / f"{name}.{part}.jsonl"
            with path.open("w", encoding="utf-8") as f:
                for rec in recs:
                    f.write(json.dumps(rec, ensure_ascii=False) + "\n")
        print(f"{name}: {len(SETS[name])} questions -> dev {len(parts['dev'])}, heldout {len(parts['heldout'])}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
