"""bench.load's client loop against a small local HTTP server: requests, errors and latencies are counted."""

from __future__ import annotations

import http.server
import itertools
import json
import threading

from bench import load


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    counter = itertools.count()

    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        status = 503 if next(self.counter) % 5 == 4 else 200  # every fifth request fails
        body = b"{}"
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


def test_clients_count_requests_errors_and_latency():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        result = load.run_clients(server.server_address[1], clients=3, seconds=0.5, texts=["a", "b"])
    finally:
        server.shutdown()
        server.server_close()
    assert result["ok"] > 0 and result["errors"].get("503", 0) > 0
    total = result["ok"] + result["errors"]["503"]
    assert abs(result["errors"]["503"] - total / 5) <= 3
    assert result["latency_ms"]["n"] == result["ok"] and result["requests_per_second"] > 0


def test_questions_come_from_the_evaluation_sets():
    texts = load.questions("django")
    assert len(texts) >= 20 and all(isinstance(text, str) and text for text in texts)


class _Closer(http.server.BaseHTTPRequestHandler):
    """Answers 200, except: "drop" on a connection that already answered one request, and "always-drop", are read
    and left unanswered (the connection closed, as a restarting gunicorn worker does); "partial" gets a status line
    and half of its body."""

    protocol_version = "HTTP/1.1"

    def setup(self):
        super().setup()
        self.answered = 0

    def do_POST(self):
        question = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["query"]
        if question == "always-drop" or (question == "drop" and self.answered):
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header("Content-Length", "10")
        self.end_headers()
        self.wfile.write(b"{}" if question == "partial" else b"{}        ")
        if question == "partial":
            self.close_connection = True
        self.answered += 1

    def log_message(self, *args):
        pass


def test_a_request_left_unanswered_on_a_reused_connection_is_sent_again_once_and_counted():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Closer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    client, retried = load.Client(server.server_address[1]), {}
    try:
        assert client.search("drop", retried) == 200 and retried == {}  # a new connection: answered
        assert client.search("drop", retried) == 200  # reused and dropped: sent again on a new connection
        assert retried == {"RemoteDisconnected": 1}
        # Dropped on the new connection too: an error, as is a drop on a connection that never answered.
        assert client.search("always-drop", retried) == "RemoteDisconnected" and retried == {"RemoteDisconnected": 2}
        assert client.search("always-drop", retried) == "RemoteDisconnected" and retried == {"RemoteDisconnected": 2}
        # A response that began and broke off is an error, never retried.
        assert client.search("ok", retried) == 200
        assert client.search("partial", retried) == "IncompleteRead" and retried == {"RemoteDisconnected": 2}
        assert client.search("ok", retried) == 200
    finally:
        client.close()
        server.shutdown()
        server.server_close()
