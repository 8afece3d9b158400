"""Runs the `milvus-server` wrapper of the milvus==2.3.5 wheel with one fix: ports in TIME_WAIT count as free.

The wrapper test-binds each port before starting Milvus, without SO_REUSEADDR, and silently moves to the
next port when the bind fails. Right after a restart the old server's connections sit in TIME_WAIT for
up to a minute, so the proxy would come up on 19531 instead of 19530. The Go server itself binds with
SO_REUSEADDR, so the pre-check may too (a port with a live listener still fails to bind).
"""

import socket

import milvus


def _try_bind_port(self, port):
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(("127.0.0.1", port))
        sock.listen()
        return sock
    except (OSError, OverflowError, ValueError):
        sock.close()
        return None


milvus.MilvusServerConfig.try_bind_port = _try_bind_port

if __name__ == "__main__":
    milvus.main()
