"""`carewatch worker` and `carewatch ingest` serve their metrics on CAREWATCH_METRICS_PORT (they have no console)."""

from __future__ import annotations

import httpx

from carewatch.cli import _serve_metrics
from carewatch.loopback import free_port, wait_listening
from carewatch.settings import Settings


def test_the_metrics_port_serves_carewatch_metrics_in_prometheus_text_format():
    port = free_port()
    _serve_metrics(Settings(metrics_port=port, http_host="127.0.0.1"))
    wait_listening(port)
    response = httpx.get(f"http://127.0.0.1:{port}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert "# TYPE carewatch_mqtt_reconnects_total counter" in response.text
