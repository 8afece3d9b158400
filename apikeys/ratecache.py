"""A Django cache backend of counters in PostgreSQL, for django-ratelimit across processes and machines.

django-ratelimit counts requests with `cache.add(key, 1, timeout)` then `cache.incr(key)`; both must be atomic
and every process must see the same counters. Django's DatabaseCache is shared but its incr is a read then a
write (two processes lose counts), so django-ratelimit refuses it (django_ratelimit.E003). Here add is one
`INSERT ... ON CONFLICT` and incr one `UPDATE ... RETURNING`: atomic in PostgreSQL, with no new server to run.
Values are whole numbers only (what a rate limiter stores). Another shared cache (Redis, memcached) can be
chosen with API_RATE_LIMIT_CACHE_URL instead (docs/api.md).
"""

from __future__ import annotations

from datetime import timedelta

from django.core.cache.backends.base import DEFAULT_TIMEOUT, BaseCache
from django.db import connection
from django.utils import timezone

from apikeys.models import RateCounter

_TABLE = RateCounter._meta.db_table
_LONG = timedelta(days=3650)


class PostgresCounterCache(BaseCache):
    def __init__(self, location, params):
        super().__init__(params)
        self._table = connection.ops.quote_name(_TABLE)

    def _expiry(self, timeout):
        seconds = self.default_timeout if timeout is DEFAULT_TIMEOUT else timeout
        return timezone.now() + (_LONG if seconds is None else timedelta(seconds=max(0, seconds)))

    @staticmethod
    def _whole(value) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"PostgresCounterCache stores whole numbers only, got {type(value).__name__}")
        return value

    def _run(self, sql: str, params: list):
        with connection.cursor() as cursor:
            cursor.execute(sql.replace("{table}", self._table), params)
            return cursor.fetchone() if cursor.description else None

    def add(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        now = timezone.now()
        row = self._run("INSERT INTO {table} (key, count, expires_at) VALUES (%s, %s, %s) ON CONFLICT (key) DO "
                        "UPDATE SET count = EXCLUDED.count, expires_at = EXCLUDED.expires_at "
                        "WHERE {table}.expires_at <= %s RETURNING key",
                        [key, self._whole(value), self._expiry(timeout), now])
        if row is not None:  # a new window began: clear the windows that ended
            self._run("DELETE FROM {table} WHERE expires_at <= %s", [now])
        return row is not None

    def set(self, key, value, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        self._run("INSERT INTO {table} (key, count, expires_at) VALUES (%s, %s, %s) ON CONFLICT (key) DO "
                  "UPDATE SET count = EXCLUDED.count, expires_at = EXCLUDED.expires_at",
                  [key, self._whole(value), self._expiry(timeout)])

    def get(self, key, default=None, version=None):
        key = self.make_and_validate_key(key, version=version)
        row = self._run("SELECT count FROM {table} WHERE key = %s AND expires_at > %s", [key, timezone.now()])
        return default if row is None else row[0]

    def incr(self, key, delta=1, version=None):
        key = self.make_and_validate_key(key, version=version)
        row = self._run("UPDATE {table} SET count = count + %s WHERE key = %s AND expires_at > %s RETURNING count",
                        [self._whole(delta), key, timezone.now()])
        if row is None:
            raise ValueError(f"Key '{key}' not found")
        return row[0]

    def touch(self, key, timeout=DEFAULT_TIMEOUT, version=None):
        key = self.make_and_validate_key(key, version=version)
        row = self._run("UPDATE {table} SET expires_at = %s WHERE key = %s AND expires_at > %s RETURNING key",
                        [self._expiry(timeout), key, timezone.now()])
        return row is not None

    def delete(self, key, version=None):
        key = self.make_and_validate_key(key, version=version)
        return self._run("DELETE FROM {table} WHERE key = %s RETURNING key", [key]) is not None

    def has_key(self, key, version=None):
        return self.get(key, version=version) is not None

    def clear(self):
        self._run("DELETE FROM {table}", [])
