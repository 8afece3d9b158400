"""The three stores as one: the owner of their clients (manager), init_stores, health endpoints."""
