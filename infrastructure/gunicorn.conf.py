"""gunicorn settings for the app image (GUNICORN_CMD_ARGS still adds to or overrides them).

worker_exit closes what the worker's stores opened (the Milvus channel, the Neo4j driver's pool, idle
PostgreSQL connections) even when a worker is stopped in a way that skips atexit.
"""


def worker_exit(server, worker):
    from stores.lifecycle import close_opened_clients  # the worker's Django is set up by now

    close_opened_clients()
