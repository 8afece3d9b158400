"""`manage.py api_key create|list|revoke`: per-client keys of the JSON API (docs/api.md)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError
from django.db import DatabaseError

from apikeys import selectors, services
from apikeys.models import Scope
from core.retry import describe_error


class Command(BaseCommand):
    help = "Create, list or revoke API keys. A new key is printed once; only its SHA-256 is stored."

    def add_arguments(self, parser):
        actions = parser.add_subparsers(dest="action", required=True, metavar="create|list|revoke")
        create = actions.add_parser("create", help="make a key and print it (once)")
        create.add_argument("name", metavar="NAME", help="who uses the key, e.g. chat-frontend")
        create.add_argument("--scopes", default=",".join(Scope.values),
                            help=f"comma-separated, from {', '.join(Scope.values)} (default: all)")
        create.add_argument("--expires", type=int, metavar="DAYS", help="expire after DAYS days (default: never)")
        actions.add_parser("list", help="every key: name, prefix, scopes, state, last use")
        revoke = actions.add_parser("revoke", help="revoke a key by name or prefix")
        revoke.add_argument("key", metavar="NAME|PREFIX")

    def handle(self, *args, action: str, **options):
        try:
            getattr(self, f"_{action}")(**options)
        except (services.InvalidKeyRequest, selectors.KeyNotFound) as error:
            raise CommandError(str(error)) from None
        except DatabaseError as error:
            raise CommandError(f"PostgreSQL: {describe_error(error)}") from None

    def _create(self, *, name: str, scopes: str, expires: int | None, **options):
        key, secret = services.create_key(name=name, scopes=scopes, expires_in_days=expires)
        until = f", expires {key.expires_at:%Y-%m-%d %H:%M} UTC" if key.expires_at else ""
        self.stderr.write(f"created API key {key.name} (prefix {key.prefix}, scopes {','.join(key.scopes)}{until}); "
                          "it is shown once, store it now:")
        self.stdout.write(secret)

    def _list(self, **options):
        rows = list(selectors.listing())
        if not rows:
            self.stdout.write("no API keys (make one: manage.py api_key create NAME --scopes search)")
            return
        self.stdout.write(f"{'name':<24} {'prefix':<8}  {'scopes':<26} {'state':<8} {'last used':<16} expires")
        for key in rows:
            used = f"{key.last_used_at:%Y-%m-%d %H:%M}" if key.last_used_at else "never"
            expires = f"{key.expires_at:%Y-%m-%d %H:%M}" if key.expires_at else "never"
            self.stdout.write(f"{key.name:<24} {key.prefix:<8}  {','.join(key.scopes):<26} {key.state:<8} "
                              f"{used:<16} {expires}")

    def _revoke(self, *, key: str, **options):
        row = services.revoke_key(key)
        self.stdout.write(f"revoked {row.name} (prefix {row.prefix}) at {row.revoked_at:%Y-%m-%d %H:%M:%S} UTC")
