"""deploy/grafana/: the dashboard asks Prometheus only for metrics carewatch defines (carewatch/metrics.py), with their
labels, shows every one of them, and asks InfluxDB for the measurement, tags and fields the archiver writes."""

from __future__ import annotations

import ast
import re
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import orjson
import prometheus_client
import pytest
import yaml

import carewatch.metrics
from ingest.archive import MEASUREMENT, line_of
from tests.deploy.checks import DEPLOY, ROOT, tool

DASHBOARD = orjson.loads((DEPLOY / "grafana" / "dashboards" / "carewatch.json").read_bytes())
DATASOURCES = yaml.safe_load((DEPLOY / "grafana" / "provisioning" / "datasources" / "carewatch.yaml").read_text())["datasources"]
SUFFIXES = {"counter": ("_total",), "gauge": ("",), "histogram": ("_bucket", "_sum", "_count")}
PROMETHEUS_LABELS = {"job", "instance", "le"}
"""Labels Prometheus adds (job, instance) or a histogram has (le)."""


def defined_metrics() -> dict[str, str]:
    """Each metric carewatch defines (its base name, as prometheus-client describes it) → its type."""
    return {
        family.name: family.type
        for value in vars(carewatch.metrics).values()
        if isinstance(value, prometheus_client.metrics.MetricWrapperBase)
        for family in value.describe()
    }


def defined_labels() -> dict[str, set[str]]:
    """The label names of each metric, read from carewatch/metrics.py's calls (prometheus-client keeps them private)."""
    labels = {}
    for node in ast.walk(ast.parse((ROOT / "carewatch" / "metrics.py").read_text())):
        if isinstance(node, ast.Call) and getattr(node.func, "id", None) in ("Counter", "Gauge", "Histogram"):
            names = next((ast.literal_eval(a) for a in node.args[2:3] if isinstance(a, ast.List)), [])
            labels[ast.literal_eval(node.args[0])] = set(names)
    return labels


SERIES = {name + suffix: base for base, kind in defined_metrics().items() for suffix in SUFFIXES[kind] for name in [base]}


def targets(datasource_type: str) -> list[dict[str, object]]:
    return [t for p in DASHBOARD["panels"] for t in p.get("targets", []) if p["datasource"]["type"] == datasource_type]


PROMQL = [str(t["expr"]) for t in targets("prometheus")]
FLUX = [str(t["query"]) for t in targets("influxdb")]


def test_the_metrics_are_found_at_all():
    assert {"carewatch_readings", "carewatch_open_alerts", "carewatch_ingest_lag_seconds"} <= set(defined_metrics())
    assert defined_labels()["carewatch_readings"] == {"outcome", "reason", "format"}


@pytest.mark.parametrize("expr", PROMQL)
def test_every_series_a_query_names_is_one_carewatch_exports(expr: str):
    named = set(re.findall(r"\bcarewatch_[a-z0-9_]+", expr))
    assert named and named <= set(SERIES), f"not exported: {named - set(SERIES)}"


@pytest.mark.parametrize("expr", PROMQL)
def test_every_label_a_query_uses_is_one_its_metrics_have(expr: str):
    metrics = {SERIES[name] for name in re.findall(r"\bcarewatch_[a-z0-9_]+", expr)}
    allowed = set().union(*(defined_labels()[m] for m in metrics)) | PROMETHEUS_LABELS
    in_selectors = {label for selector in re.findall(r"\{([^}]*)\}", expr) for label in re.findall(r"(\w+)\s*(?:=~|!~|!=|=)", selector)}
    in_groupings = {label.strip() for grouping in re.findall(r"\b(?:by|without)\s*\(([^)]*)\)", expr) for label in grouping.split(",")}
    assert in_selectors | in_groupings <= allowed


def test_every_metric_carewatch_defines_is_on_the_dashboard():
    shown = {SERIES[name] for expr in PROMQL for name in re.findall(r"\bcarewatch_[a-z0-9_]+", expr)}
    assert shown == set(defined_metrics())


def archived_point() -> tuple[str, set[str], set[str]]:
    """(measurement, tags, fields) of a reading with every optional field, as the archiver writes it."""
    line = line_of((1, "hh-1", "gas-1", "gas", "east", datetime(2026, 1, 5, tzinfo=UTC), 10.5, 0.25, 87, -70))
    series, fields, _ = line.split(" ")
    measurement, *tags = series.split(",")
    return measurement, {t.split("=")[0] for t in tags}, {f.split("=")[0] for f in fields.split(",")}


@pytest.mark.parametrize("query", FLUX)
def test_flux_queries_use_the_archived_measurement_tags_and_fields(query: str):
    measurement, tags, fields = archived_point()
    assert measurement == MEASUREMENT
    assert re.findall(r'r\._measurement == "(\w+)"', query) == [measurement]
    used_fields = set(re.findall(r'r\._field == "(\w+)"', query))
    assert used_fields and used_fields <= fields
    used_tags = set(re.findall(r"\br\.([a-z]\w*)", query))
    grouped = {c for g in re.findall(r"group\(columns: \[([^\]]*)\]", query) for c in re.findall(r'"(\w+)"', g)}
    assert used_tags | grouped <= tags


def test_every_panel_uses_a_provisioned_data_source_and_there_are_both_kinds():
    provisioned = {d["uid"]: d["type"] for d in DATASOURCES}
    used = {(p["datasource"]["uid"], p["datasource"]["type"]) for p in DASHBOARD["panels"] if "datasource" in p}
    assert used == set(provisioned.items())
    assert PROMQL and FLUX


def test_panels_have_unique_ids_and_the_dashboard_a_fixed_uid():
    ids = [p["id"] for p in DASHBOARD["panels"]]
    assert len(ids) == len(set(ids))
    assert DASHBOARD["uid"] == "carewatch-overview"


def test_the_influx_data_source_reads_the_org_and_bucket_compose_sets_up():
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    influx = next(d for d in DATASOURCES if d["type"] == "influxdb")
    init = compose["services"]["influxdb"]["environment"]
    assert (influx["jsonData"]["organization"], influx["jsonData"]["defaultBucket"]) == (init["DOCKER_INFLUXDB_INIT_ORG"], init["DOCKER_INFLUXDB_INIT_BUCKET"])
    bucket = next(v for v in DASHBOARD["templating"]["list"] if v["name"] == "bucket")
    assert bucket["query"] == init["DOCKER_INFLUXDB_INIT_BUCKET"]


def promtool() -> str:
    return tool("promtool", "prometheus")


def test_prometheus_parses_every_query_of_the_dashboard(tmp_path: Path):
    """Each expression as a recording rule: promtool refuses one that is not PromQL."""
    rules = {"groups": [{"name": "dashboard", "rules": [
        {"record": f"dashboard:query_{n}", "expr": expr.replace("$__rate_interval", "5m")} for n, expr in enumerate(PROMQL)
    ]}]}
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(rules))
    result = subprocess.run([promtool(), "check", "rules", str(tmp_path / "rules.yml")], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr


def test_prometheus_accepts_the_scrape_configuration_of_compose():
    result = subprocess.run([promtool(), "check", "config", "--syntax-only", str(DEPLOY / "prometheus" / "prometheus.yml")],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
