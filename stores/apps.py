"""The three stores together: one owner of their clients, init_stores, and the health endpoints."""

import atexit

from django.apps import AppConfig


class StoresConfig(AppConfig):
    name = "stores"
    verbose_name = "Stores"

    def ready(self):
        from stores.lifecycle import close_opened_clients

        # Every Django process (server worker, management command, test run) closes the clients it opened.
        atexit.register(close_opened_clients)
