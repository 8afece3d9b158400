"""`manage.py search "text"`: the API's hybrid search from a shell, logged as a Query like any other."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from core.retry import StoreUnavailable, describe_error
from retrieval import pipeline
from retrieval.params import SOURCES, InvalidParameter


def _filter(value: str) -> tuple[str, object]:
    """key=value (text) or key:=JSON (a number, true/false or a list), as HTTPie does."""
    key, sep, text = value.partition("=")
    if not sep or not key or key == ":":
        raise CommandError(f"--filter {value!r}: use key=value (e.g. document_id=guide-1a2b3c4d) or key:=JSON")
    if key.endswith(":"):
        try:
            return key[:-1], json.loads(text)
        except ValueError:
            raise CommandError(f"--filter {value!r}: the value after ':=' is not JSON") from None
    return key, text


def _weight(value: str) -> tuple[str, float]:
    source, sep, number = value.partition("=")
    try:
        if not sep:
            raise ValueError
        return source, float(number)
    except ValueError:
        raise CommandError(f"--weight {value!r}: use source=number, source one of {', '.join(SOURCES)}") from None


class Command(BaseCommand):
    help = "Hybrid search (vector + graph + keyword, fused by RRF); prints ranked hits and the query id."

    def add_arguments(self, parser):
        parser.add_argument("text", help="the query text")
        parser.add_argument("--k", type=int, default=None, help="number of results (default SEARCH_DEFAULT_K)")
        parser.add_argument("--hops", type=int, default=None, help="graph hops 0-3 (default SEARCH_GRAPH_HOPS)")
        parser.add_argument("--filter", action="append", default=[], metavar="KEY=VALUE",
                            help="metadata filter, repeatable: document_id=..., metadata.ext=md, "
                                 "metadata.ordinal:=0 (JSON value)")
        parser.add_argument("--weight", action="append", default=[], metavar="SOURCE=W",
                            help="override a fusion weight, repeatable: vector=1 graph=0.5 keyword=0.8")
        parser.add_argument("--json", action="store_true", dest="as_json", help="print the result as JSON")

    def handle(self, *args, text, k, hops, filter, weight, as_json=False, **options):
        filters = dict(_filter(item) for item in filter) or None
        weights = dict(_weight(item) for item in weight) or None
        try:
            result = pipeline.search(text, k=k, filters=filters, hops=hops, weights=weights)
        except InvalidParameter as error:
            raise CommandError(str(error)) from None
        except StoreUnavailable as error:
            raise CommandError(str(error)) from None
        except Exception as error:  # one line, never a traceback or a credential
            raise CommandError(f"search failed: {describe_error(error)}") from None
        if as_json:
            self._print_json(result)
        else:
            self._print_text(result)

    def _print_json(self, result):
        self.stdout.write(json.dumps({
            "query_id": str(result.query_id),
            "results": [dict(hit.as_dict(), rank=rank) for rank, hit in enumerate(result.hits, start=1)],
            "latency_ms": result.latency_ms,
        }, indent=2, ensure_ascii=False))

    def _print_text(self, result):
        if not result.hits:
            self.stdout.write("no results")
        for rank, hit in enumerate(result.hits, start=1):
            found = ", ".join(f"{source} #{position}" for source, position in hit.sources.items())
            excerpt = " ".join(hit.content.split())
            excerpt = excerpt if len(excerpt) <= 160 else excerpt[:159] + "…"
            self.stdout.write(f"{rank:>3}. {hit.score:.5f}  {hit.document_id}  {hit.chunk_id}  [{found}]")
            self.stdout.write(f"     {excerpt}")
        stages = ", ".join(f"{stage} {ms:.1f}" for stage, ms in result.latency_ms.items() if stage != "total")
        self.stdout.write(f"query {result.query_id} ({result.latency_ms['total']:.1f} ms; {stages})")
