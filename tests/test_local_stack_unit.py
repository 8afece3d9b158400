"""Unit tests of the local stack's launcher logic that needs no engine (a fake engine on a real socket)."""

from __future__ import annotations

import socket

import pytest

from infrastructure.local import common


class FakeEngine(common.Engine):
    name = "fake"
    start_timeout = 2.0

    def __init__(self, port, tmp_path):
        self._port = port
        super().__init__()
        self.home = tmp_path
        self.pid_file = tmp_path / "fake.pid"
        self.log_file = tmp_path / "fake.log"

    def address(self):
        return ("127.0.0.1", self._port)

    def launch(self):
        raise AssertionError("must not launch when the port is taken")

    def probe(self):
        raise ConnectionRefusedError


def test_a_taken_port_gives_a_clear_message_naming_engine_and_port(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(common.StackError, match=rf"fake: port {port} on 127.0.0.1 is already taken"):
            FakeEngine(port, tmp_path).up()


def test_waiting_gives_up_with_the_log_tail(tmp_path):
    engine = FakeEngine(1, tmp_path)
    engine.log_file.write_text("line one\nthe real reason\n")
    engine.pid_file.write_text("1")  # pid 1 is alive
    with pytest.raises(common.StackError, match="(?s)did not answer within 2s.*the real reason"):
        engine.wait(started=True)


def test_stopping_a_stack_that_is_not_running_is_harmless(tmp_path):
    assert FakeEngine(1, tmp_path).down() == "fake: not running"
