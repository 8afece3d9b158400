"""bench.load's client loop against a small local HTTP server: requests, errors and latencies are counted."""

from __future__ import annotations

import http.server
import itertools
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
