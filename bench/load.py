"""`python -m bench.load`: search under load through gunicorn, as a deployment serves it (not a test).

    python -m bench.load [--clients 8] [--seconds 25] [--workers 2] [--corpus django] [--name load] [--clean]

On the local stack (`make bench` starts it), in a database, Milvus collection and graph namespace of its own:
fetch a real documentation corpus (eval/fetch_corpus.py; Django's docs: ~650 files, ~8k chunks), ingest it with
the default embedder (once: a run finds it already loaded and reuses it), start gunicorn with
infrastructure/gunicorn.conf.py and `--workers` workers on a free loopback port, warm every worker (3 s of the
same load), then `--clients` clients, each on its own keep-alive connection, send the evaluation sets' questions to
POST /api/search back to back for `--seconds` seconds (a request the server left unanswered on a kept-alive connection
it closed is sent once more on a new one and counted as retried: `Client`). Reports requests per second, latency
percentiles, errors, retries, and the most PostgreSQL connections the server held (sampled from pg_stat_activity
every 0.2 s) against the bound its settings allow. Writes bench/results/load-<time>.json.
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import itertools
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

from bench import stack
from bench.report import machine
from bench.stats import summary

REPO = Path(__file__).resolve().parents[1]
RESULTS = REPO / "bench" / "results"
NAME = "load"  # the database rag_<name>, the Milvus collection <name>_chunks and the graph namespace <name>


def names(name: str = NAME) -> tuple[str, str, str]:
    """(database, collection, namespace) of a run named `name` (--name: two people sharing a Milvus server)."""
    return f"rag_{name}", f"{name}_chunks", name
GOAL = {"requests_per_second": 60, "p95_ms": 250}


def parse(argv=None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=25.0)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--corpus", default="django", help="a corpus of eval/fetch_corpus.py")
    parser.add_argument("--name", default=NAME, help="the run's database rag_NAME, Milvus collection NAME_chunks and "
                                                     "graph namespace NAME (default: %(default)s)")
    parser.add_argument("--clean", action="store_true",
                        help="drop the benchmark's database instead of running (the corpus stays loaded between runs)")
    parser.add_argument("--out", type=Path)
    return parser.parse_args(argv)


def log(message: str) -> None:
    print(f"[{datetime.datetime.now():%H:%M:%S}] {message}", flush=True)


def environment(name: str = NAME) -> dict:
    database, collection, namespace = names(name)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROMETHEUS", "DJANGO_SETTINGS"))}
    env.update(DATABASE_URL=stack.database_url(database), MILVUS_URI=os.environ.get("BENCH_MILVUS_URI", stack.MILVUS_SERVER),
               MILVUS_COLLECTION=collection, RAG_NAMESPACE=namespace, DJANGO_SETTINGS_MODULE="config.settings",
               LOG_LEVEL="WARNING", DJANGO_DEBUG="false", API_TOKEN="",
               API_RATE_LIMIT="")  # 8 clients from one address would meet the per-client limit (docs/api.md)
    return env


def database_name(env: dict) -> str:
    return urlsplit(env["DATABASE_URL"]).path.lstrip("/")


def manage(env: dict, *args: str, quiet: bool = True) -> None:
    result = subprocess.run([sys.executable, "manage.py", *args], cwd=REPO, env=env, text=True,
                            capture_output=quiet, timeout=3600)
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed: {(result.stderr or '').strip()[-800:]}")


def load_corpus(env: dict, name: str) -> int:
    """Fetch and ingest the corpus (an ingest of unchanged files writes nothing); returns its chunk count."""
    corpus = REPO / ".stack" / "eval-corpora" / name
    subprocess.run([sys.executable, "eval/fetch_corpus.py", name], cwd=REPO, check=True, timeout=900)
    stack.create_database(database_name(env))
    manage(env, "init_stores")
    log(f"ingesting {corpus} (unchanged files are skipped; the first run takes a few minutes)")
    manage(env, "ingest", "--no-progress", "--id-prefix", name, str(corpus), quiet=False)
    return chunk_count(env)


def _pg(env: dict):
    import psycopg

    return psycopg.connect(env["DATABASE_URL"], autocommit=True, connect_timeout=5)


def chunk_count(env: dict) -> int:
    with _pg(env) as conn:
        return conn.execute("SELECT count(*) FROM rag_data_chunk c JOIN rag_data_document d ON d.id = c.document_id "
                            "WHERE d.status = 'complete'").fetchone()[0]


def questions(name: str) -> list[str]:
    texts = []
    for path in sorted((REPO / "eval" / "sets").glob(f"{name}.*.jsonl")):
        texts += [json.loads(line)["question"] for line in path.read_text().splitlines() if line.strip()]
    return texts


class Server:
    def __init__(self, env: dict, workers: int):
        import socket

        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.log_path = RESULTS / "load-gunicorn.log"
        RESULTS.mkdir(parents=True, exist_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "infrastructure/gunicorn.conf.py", "--workers", str(workers),
             "--bind", f"127.0.0.1:{self.port}", "config.wsgi:application"],
            cwd=REPO, env=env, stdout=open(self.log_path, "w"), stderr=subprocess.STDOUT, start_new_session=True)

    def wait(self, seconds: float = 120) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited: see {self.log_path}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", "/health/live/")
                if conn.getresponse().status == 200:
                    return
            except OSError:
                time.sleep(0.3)
        raise SystemExit(f"gunicorn did not answer within {seconds:g}s: see {self.log_path}")

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)


class NoResponse(Exception):
    """The connection failed before any byte of the response arrived (`error`: the OSError)."""

    def __init__(self, error: OSError):
        super().__init__(error)
        self.error = error


def search_once(conn: http.client.HTTPConnection, question: str) -> int:
    try:
        conn.request("POST", "/api/search", body=json.dumps({"query": question}),
                     headers={"Content-Type": "application/json"})
        response = conn.getresponse()  # RemoteDisconnected (an OSError) when the connection closed before a status line
    except OSError as error:
        raise NoResponse(error) from error
    response.read()
    return response.status


class Client:
    """One keep-alive connection, used as browsers and HTTP client libraries use one.

    A server may close a kept-alive connection at any moment (gunicorn: a worker's max_requests restart leaves the
    connections it kept alive unanswered; any server: its keep-alive timeout), and a request sent at that moment gets
    no response at all. Such a request, on a *reused* connection and before any byte of the response arrived, is sent
    once more on a new connection (what Chromium does for any method, and Go's net/http for requests it can replay):
    counted in `retried`, not as an error, and its latency includes the failed attempt. Every other failure is an
    error: a new connection that fails, a retry that fails, a failure after the response began, any status but 200.
    """

    def __init__(self, port: int):
        self.port, self.conn, self.used = port, None, False

    def _connect(self) -> None:
        if self.conn is not None:
            self.conn.close()
        self.conn, self.used = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60), False

    def search(self, question: str, retried: dict) -> int | str:
        """The response's status, or the name of the error that ended the request."""
        if self.conn is None:
            self._connect()
        try:
            try:
                status = search_once(self.conn, question)
            except NoResponse as failed:
                if not self.used:
                    raise
                retried[type(failed.error).__name__] = retried.get(type(failed.error).__name__, 0) + 1
                self._connect()
                status = search_once(self.conn, question)
        except (NoResponse, OSError, http.client.HTTPException) as error:
            self._connect()
            return type(getattr(error, "error", error)).__name__
        self.used = True
        return status

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()


def run_clients(port: int, clients: int, seconds: float, texts: list[str]) -> dict:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    retried: dict[str, int] = {}
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def client(offset: int) -> None:
        connection = Client(port)
        cycle = itertools.islice(itertools.cycle(texts), offset, None)
        mine, failed, again = [], {}, {}
        start.wait()
        while time.monotonic() < stop_at[0]:
            question = next(cycle)
            began = time.perf_counter()
            status = connection.search(question, again)
            if status == 200:
                mine.append((time.perf_counter() - began) * 1000)
            else:
                failed[str(status)] = failed.get(str(status), 0) + 1
        connection.close()
        with lock:
            latencies.extend(mine)
            for totals, counts in ((errors, failed), (retried, again)):
                for key, count in counts.items():
                    totals[key] = totals.get(key, 0) + count

    threads = [threading.Thread(target=client, args=(n * 7,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    stop_at[0] = time.monotonic() + seconds
    began = time.monotonic()
    start.wait()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - began
    return {"seconds": round(elapsed, 2), "ok": len(latencies), "errors": errors, "retried": retried,
            "requests_per_second": round(len(latencies) / elapsed, 1), "latency_ms": summary(latencies)}


class ConnectionSampler(threading.Thread):
    """The most connections to the benchmark's database (pg_stat_activity), sampled every 0.2 s."""

    def __init__(self, env: dict):
        super().__init__(daemon=True)
        self.env, self.most, self.samples, self.running = env, 0, 0, True

    def run(self) -> None:
        with _pg(self.env) as conn:
            while self.running:
                count = conn.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> "
                                     "pg_backend_pid()", (database_name(self.env),)).fetchone()[0]
                self.most, self.samples = max(self.most, count), self.samples + 1
                time.sleep(0.2)


def connection_bound(env: dict, workers: int) -> int:
    """The most PostgreSQL connections the server may hold: per worker, its request threads (gunicorn --threads)
    plus the search and keyword pools (SEARCH_WORKERS each); the health probes' pool adds at most 6."""
    code = ("import django; django.setup(); from django.conf import settings; print(settings.SEARCH_WORKERS)")
    search_workers = int(subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True,
                                        text=True, timeout=120).stdout.strip() or 8)
    threads = int(subprocess.run([sys.executable, "-c", "import runpy; c = runpy.run_path('infrastructure/gunicorn.conf.py'); "
                                  "print(c.get('threads', 1))"], cwd=REPO, env=env, capture_output=True, text=True,
                                 timeout=60).stdout.strip() or 1)
    given = os.environ.get("GUNICORN_CMD_ARGS", "").split()  # `--threads N` there overrides the config file
    if "--threads" in given[:-1]:
        threads = int(given[given.index("--threads") + 1])
    return workers * (threads + 2 * search_workers + 6)


def main(argv=None) -> int:
    args = parse(argv)
    env = environment(args.name)
    if args.clean:
        database, collection, namespace = names(args.name)
        stack.drop_database(database)
        log(f"dropped database {database}; drop the collection {collection} and namespace {namespace} with "
            "`manage.py milvus_drop` / the graph clean-up if you loaded them")
        return 0
    started = datetime.datetime.now(datetime.timezone.utc)
    load_before = os.getloadavg()
    chunks = load_corpus(env, args.corpus)
    texts = questions(args.corpus)
    log(f"{chunks} chunks loaded; {len(texts)} questions; starting gunicorn with {args.workers} workers")
    server = Server(env, args.workers)
    sampler = ConnectionSampler(env)
    try:
        server.wait()
        # Every worker opens its store clients and pools (the model and the URL conf are loaded by gunicorn.conf.py's
        # post_worker_init): as many connections as the run, for 3 s. One keep-alive connection reached one worker
        # only, and the other's first requests landed in the measured window.
        run_clients(server.port, args.clients, 3.0, texts)
        sampler.start()
        log(f"{args.clients} clients for {args.seconds:g} s (load average before: "
            f"{', '.join(f'{x:.2f}' for x in load_before)})")
        result = run_clients(server.port, args.clients, args.seconds, texts)
    finally:
        sampler.running = False
        server.stop()
    result.update(chunks=chunks, clients=args.clients, workers=args.workers, corpus=args.corpus,
                  postgres_connections_max=sampler.most, postgres_connections_bound=connection_bound(env, args.workers),
                  load_average_before=[round(x, 2) for x in load_before],
                  load_average_after=[round(x, 2) for x in os.getloadavg()], machine=machine(),
                  goal=GOAL, started=started.isoformat(timespec="seconds"),
                  goal_met=(result["requests_per_second"] >= GOAL["requests_per_second"]
                            and result["latency_ms"].get("p95", 1e9) <= GOAL["p95_ms"] and not result["errors"]))
    out = args.out or RESULTS / f"load-{started:%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    latency = result["latency_ms"]
    retried = sum(result["retried"].values())
    print(f"\n{result['requests_per_second']} req/s over {result['seconds']} s ({result['ok']} ok, errors "
          f"{result['errors'] or 0}, retried {retried}{' ' + str(result['retried']) if retried else ''}); "
          f"p50 {latency.get('p50')} ms, p95 {latency.get('p95')} ms, p99 {latency.get('p99')} ms; "
          f"PostgreSQL connections at most {sampler.most} (bound {result['postgres_connections_bound']}); "
          f"{chunks} chunks, {args.clients} clients, {args.workers} gunicorn workers; goal "
          f">= {GOAL['requests_per_second']} req/s, p95 <= {GOAL['p95_ms']} ms: {'met' if result['goal_met'] else 'NOT met'}")
    if retried:
        print("retried: requests sent again once on a new connection because the server closed the kept-alive one "
              "before answering (a gunicorn worker's max_requests restart); see bench.load.Client")
    print(f"results: {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
