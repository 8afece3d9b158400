"""gunicorn's gthread worker, except that a worker that stops answers what its open connections already sent.

gthread (gunicorn 23.0.0, pinned) stops a worker (a `max_requests` restart, or SIGTERM) by leaving its event loop at
once: the connections it kept alive, and any it had just accepted, are closed when the process exits, including a
request a client had already sent on one of them. That client gets no response at all (bench/load.py saw
BrokenPipeError / ConnectionResetError on ~1 request per restart per kept-alive client; behind Caddy it would be a
502, since a proxy does not resend a POST the server may have read).

DrainingThreadWorker keeps serving the connections it holds after it stops: it no longer accepts new ones (the other
workers, and the worker the arbiter starts in its place, do), each request that arrives on a held connection is
answered with `Connection: close` (gthread does that once the worker is stopping), and it leaves when it holds none,
or after `keepalive` seconds (at most `graceful_timeout`) for connections that stay idle, which it then closes as an
idle keep-alive connection is closed anyway. A request that was being answered when the worker stopped had its
response sent keep-alive: gthread then closed that connection too; here it is held for its next request.
`run` and `finish_request` are gthread's with these changes, on gthread's own attributes (futures, _keep, nr_conns,
poller, _lock): re-check them when gunicorn is upgraded (tests/test_gunicorn_worker.py: 4 s of 6 keep-alive clients
across ~20 restarts; gthread itself gave 14-42 errors there, this worker none).
"""

from __future__ import annotations

import selectors
import time
from concurrent import futures
from functools import partial

from gunicorn.workers.gthread import ThreadWorker


class DrainingThreadWorker(ThreadWorker):
    _drained = False  # set once the drain is over: from then on, what finishes closes its connection (as in gthread)
    _answering = 0  # requests submitted whose finish_request has not run yet (a done future may still be before it)

    def _wrap_future(self, fs, conn):
        with self._lock:
            self._answering += 1
        super()._wrap_future(fs, conn)

    def finish_request(self, fs):
        try:
            self._finish(fs)
        finally:
            with self._lock:
                self._answering -= 1

    def _finish(self, fs):
        """gthread's, except that once the worker stopped (and until the drain is over), a connection whose response
        was sent keep-alive (it was being answered when the worker stopped) is held for its next request: gthread
        closes it, under a client that may already be sending on it."""
        if not self.alive and not self._drained and not fs.cancelled() and fs.exception() is None and fs.result()[0]:
            conn = fs.result()[1]
            try:
                conn.sock.setblocking(False)
                conn.set_timeout()
                with self._lock:
                    self._keep.append(conn)
                    self.poller.register(conn.sock, selectors.EVENT_READ, partial(self.on_client_socket_readable, conn))
                return
            except Exception:  # noqa: BLE001 (as gthread: whatever went wrong, the connection is closed)
                self.nr_conns -= 1
                conn.close()
                return
        super().finish_request(fs)

    def run(self):
        for sock in self.sockets:
            sock.setblocking(False)
            self.poller.register(sock, selectors.EVENT_READ, partial(self.accept, sock.getsockname()))
        while self.alive:
            self.notify()
            self._turn(accepting=self.nr_conns < self.worker_connections)
            if not self.is_parent_alive():
                break
            self.murder_keepalived()
        self._drain()
        self.tpool.shutdown(False)
        self.poller.close()
        for sock in self.sockets:
            sock.close()
        futures.wait(self.futures, timeout=self.cfg.graceful_timeout)

    def _turn(self, accepting: bool) -> None:
        """One turn of gthread's loop: dispatch readable sockets (or wait for a request to finish), reap futures."""
        if accepting:
            for key, _ in self.poller.select(1.0 if self.alive else 0.05):
                key.data(key.fileobj)
            done = futures.wait(self.futures, timeout=0, return_when=futures.FIRST_COMPLETED).done
        else:
            done = futures.wait(self.futures, timeout=1.0 if self.alive else 0.05,
                                return_when=futures.FIRST_COMPLETED).done
        for future in done:
            self.futures.remove(future)

    def _drain(self) -> None:
        """Stopped: accept nothing more; answer what the held connections send (each response closes its
        connection, since the worker is no longer alive) until none is held or the idle ones time out."""
        for sock in self.sockets:
            try:
                self.poller.unregister(sock)
            except (KeyError, ValueError):
                pass
        deadline = time.monotonic() + min(self.cfg.keepalive, self.cfg.graceful_timeout)
        # Held: a connection in the poller (the listeners are out of it now) or one being answered: counted until its
        # finish_request has run (the future is done before its callback holds the connection again).
        while (self.poller.get_map() or self._answering) and time.monotonic() < deadline and self.is_parent_alive():
            self.notify()
            self._turn(accepting=True)
        self._drained = True
        with self._lock:
            idle, self._keep = list(self._keep), type(self._keep)()
        for conn in idle:  # idle until the deadline: closed as an idle keep-alive connection times out
            try:
                self.poller.unregister(conn.sock)
            except (KeyError, ValueError, OSError):
                pass
            conn.close()
            self.nr_conns -= 1

