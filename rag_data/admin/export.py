"""The Feedback admin's CSV export as a streamed download.

Streamed so that exporting every feedback row never holds them all in memory; the rows and their CSV-safe
cells come from rag_data.selectors.feedback_csv_rows.
"""

from __future__ import annotations

import csv

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from rag_data import selectors
from rag_data.models import Feedback


class _Echo:
    """A file-like object whose write() hands the line back, so csv.writer can feed a streaming response."""

    def write(self, value):
        return value


def feedback_csv_response(queryset: QuerySet[Feedback]) -> StreamingHttpResponse:
    """The feedback of `queryset` as a CSV attachment named after the moment of the export."""
    writer = csv.writer(_Echo())
    lines = (writer.writerow(row) for row in selectors.feedback_csv_rows(queryset))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response["Content-Disposition"] = f'attachment; filename="feedback-{stamp}.csv"'
    return response
