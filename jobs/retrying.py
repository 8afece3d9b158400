"""Which failed jobs are tried again, and when: only those a store outage failed, with capped exponential backoff.

The store clients already retry a call within seconds (core/retry.py; Neo4j managed transactions retry on
their own and are not wrapped again). A job retry is the next layer out: the whole job again, minutes
later, after those retries gave up because a store was down. Anything else (bad content, a refused id, a
bug) fails the job at once: running it again would fail the same way.
"""

from __future__ import annotations

from django.conf import settings
from procrastinate import BaseRetryStrategy, RetryDecision

from core.retry import is_transient


class TransientJobError(Exception):
    """A store was unreachable: the job is retried later (JOBS_RETRY_*)."""


class JobFailed(Exception):
    """The job cannot succeed by running again; the message is the one-line reason."""


def retryable(error: BaseException) -> bool:
    if isinstance(error, JobFailed):
        return False
    return isinstance(error, TransientJobError) or is_transient(error)


def backoff_seconds(attempts: int) -> float:
    """initial x 2^attempts, capped at JOBS_RETRY_MAX_WAIT (attempts: the runs before this one)."""
    return min(settings.JOBS_RETRY_MAX_WAIT, settings.JOBS_RETRY_INITIAL_WAIT * 2 ** min(attempts, 30))


class StoreOutageRetry(BaseRetryStrategy):
    """procrastinate's retry strategy for every task of the project (settings read at each decision)."""

    def get_retry_decision(self, *, exception: BaseException, job) -> RetryDecision | None:
        if not retryable(exception) or job.attempts >= settings.JOBS_RETRY_ATTEMPTS:
            return None
        return RetryDecision(retry_in={"seconds": backoff_seconds(job.attempts)})
