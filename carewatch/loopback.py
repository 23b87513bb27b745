"""Local services on loopback ports: the demo's brokers and catchers, and the tests' real services."""

from __future__ import annotations

import contextlib
import socket
import subprocess
import time


_HANDED_OUT: set[int] = set()
"""Ports this process already gave: the kernel may offer a port again until its server binds it."""


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now (asked of the kernel), for a server that cannot report the port 0 chose;
    never one this process handed out before (two servers started one after the other would share it).

    >>> first, second = free_port(), free_port()
    >>> 0 < first < 65536 and first != second
    True
    """
    while True:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            probe.bind((host, 0))
            port = int(probe.getsockname()[1])
        if port not in _HANDED_OUT:
            _HANDED_OUT.add(port)
            return port


def wait_listening(
    port: int, process: subprocess.Popen[bytes] | None = None, timeout: float = 10.0, what: str = "the service"
) -> None:
    """Return once something accepts connections on 127.0.0.1:``port``; fail early if ``process`` exits first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode} before listening on port {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"{what} did not listen on 127.0.0.1:{port} within {timeout:.0f} s")


def stop_process(process: subprocess.Popen[bytes], grace: float = 5.0) -> None:
    """SIGTERM, then SIGKILL if it has not ended within ``grace`` seconds; returns once it has ended."""
    process.terminate()
    try:
        process.wait(grace)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
