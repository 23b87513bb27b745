"""`carewatch demo` (the console) stops on Ctrl-C — once, or twice in quick succession, as people
press it — with the simulation, the broker and the console, as a real process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from carewatch.loopback import free_port, wait_listening
from tests.conftest import TEST_ENVIRONMENT

pytestmark = pytest.mark.service  # the demo runs as a real process


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_stops_the_console_demo_after_a_page_was_served(presses: int, tmp_path) -> None:
    port = free_port()
    log = tmp_path / "demo.log"
    # Without the tests' settings: the demo runs in development over plain http by itself.
    env = {name: value for name, value in os.environ.items() if name not in TEST_ENVIRONMENT}
    with open(log, "wb") as out:
        demo = subprocess.Popen(
            [sys.executable, "-m", "carewatch.cli", "demo", "--port", str(port)],
            stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path, env=env,
        )
    try:
        wait_listening(port, demo, timeout=60)
        login = httpx.get(f"http://127.0.0.1:{port}/login")
        assert login.status_code == 200
        assert "secure" not in login.headers["set-cookie"].lower(), "the demo serves plain http: its cookies must reach it"
        time.sleep(1.0)  # the simulation is publishing
        for _ in range(presses):
            demo.send_signal(signal.SIGINT)
            time.sleep(0.05)
        code = demo.wait(timeout=20)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait()
    assert code == 0, log.read_text()
    said = log.read_text()
    assert "stopped" in said
    # A clean stop says so and nothing more: no traceback, no asyncio error about a future left unread.
    assert "Traceback" not in said and "ERROR" not in said, said[-2000:]
