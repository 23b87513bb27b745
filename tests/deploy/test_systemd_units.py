"""deploy/systemd/: one unit per long-running command, hardened, with settings that exist.

`systemd-analyze verify` checks every unit as systemd would load it (unknown keys, bad values, an ExecStart that is not
executable); `systemd-analyze security --offline` scores the hardening. The rest checks what systemd cannot know:
that each ExecStart is a real `carewatch` command and each CAREWATCH_ name a real setting.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.deploy.checks import DEPLOY, LONG_RUNNING, is_carewatch_command, settings_from, tool, unknown_settings

UNITS = DEPLOY / "systemd"
SERVICES = sorted(UNITS.glob("*.service"))
ENV_FILE = UNITS / "carewatch.env.example"
INSTALLED_AT = "/opt/carewatch/bin/carewatch"
HARDENING = {
    "NoNewPrivileges": "yes", "ProtectSystem": "strict", "ProtectHome": "yes", "PrivateTmp": "yes", "PrivateDevices": "yes",
    "ProtectKernelTunables": "yes", "ProtectKernelModules": "yes", "ProtectControlGroups": "yes", "RestrictNamespaces": "yes",
    "RestrictSUIDSGID": "yes", "LockPersonality": "yes", "RestrictAddressFamilies": "AF_UNIX AF_INET AF_INET6",
    "SystemCallFilter": "@system-service", "SystemCallArchitectures": "native", "User": "carewatch", "UMask": "0027",
}


def unit(path: Path) -> dict[str, list[tuple[str, str]]]:
    """Sections of a unit file, each a list of (key, value): keys repeat in units (Environment=, SystemCallFilter=)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for line in path.read_text().splitlines():
        line = line.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            current = sections.setdefault(line.strip("[]"), [])
        else:
            key, _, value = line.partition("=")
            current.append((key.strip(), value.strip()))
    return sections


def values(path: Path, section: str, key: str) -> list[str]:
    return [v for k, v in unit(path).get(section, []) if k == key]


def command_of(path: Path) -> list[str]:
    (exec_start,) = values(path, "Service", "ExecStart")
    program, *arguments = exec_start.split()
    assert program == INSTALLED_AT, f"{path.name}: ExecStart runs {program}, not the installed {INSTALLED_AT}"
    return arguments


def test_every_long_running_command_has_its_unit_and_only_those():
    commands = {command_of(path)[0] for path in SERVICES}
    assert commands == LONG_RUNNING
    assert len(SERVICES) == len(LONG_RUNNING)


@pytest.mark.parametrize("path", SERVICES, ids=lambda p: p.name)
def test_exec_start_is_a_real_carewatch_command(path: Path):
    assert is_carewatch_command(command_of(path)), f"{path.name}: `carewatch {' '.join(command_of(path))} --help` fails"


@pytest.mark.parametrize("path", SERVICES, ids=lambda p: p.name)
def test_every_service_is_hardened_restarted_with_a_limit_and_keeps_state_in_its_directory(path: Path):
    service = dict(unit(path)["Service"])  # the last of a repeated key; the first SystemCallFilter is checked below
    missing = {key: want for key, want in HARDENING.items() if service.get(key) != want and want not in values(path, "Service", key)}
    assert missing == {}, f"{path.name} lacks {missing}"
    assert service["Restart"] == "on-failure" and service["RestartPreventExitStatus"] == "2"
    assert "StartLimitIntervalSec" in dict(unit(path)["Unit"]) and "StartLimitBurst" in dict(unit(path)["Unit"])
    assert service["StateDirectory"].split()[0] == "carewatch"
    assert service["WorkingDirectory"].startswith("/var/lib/carewatch")
    assert service["EnvironmentFile"] == "/etc/carewatch/env"
    assert "CapabilityBoundingSet" in service
    assert values(path, "Install", "WantedBy")


def test_the_scaled_out_units_are_part_of_the_target_and_the_embedded_one_conflicts_with_them():
    for name in ("carewatch-ingest.service", "carewatch-worker@.service", "carewatch-alerts.service"):
        assert values(UNITS / name, "Unit", "PartOf") == ["carewatch.target"]
        assert values(UNITS / name, "Install", "WantedBy") == ["carewatch.target"]
    # Both would take the same MQTT session.
    assert "carewatch-ingest.service" in values(UNITS / "carewatch-run.service", "Unit", "Conflicts")[0].split()


def unit_environment(path: Path) -> dict[str, str]:
    return dict(line.split("=", 1) for line in values(path, "Service", "Environment"))


def env_file_lines() -> dict[str, str]:
    """The active KEY=value lines, unquoted as systemd does for a value wholly in single quotes."""
    pairs = {}
    for line in ENV_FILE.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            key, _, value = line.partition("=")
            pairs[key] = value[1:-1] if len(value) > 1 and value[0] == value[-1] == "'" else value
    return pairs


def test_every_variable_of_the_units_and_the_environment_file_is_a_real_setting():
    commented = re.findall(r"^#\s*(CAREWATCH_[A-Z0-9_]+)=", ENV_FILE.read_text(), re.MULTILINE)
    named = [*env_file_lines(), *commented, *(key for path in SERVICES for key in unit_environment(path))]
    assert unknown_settings(named) == []


def test_the_environment_file_is_settings_carewatch_accepts_and_leaves_each_units_own_alone():
    environment = env_file_lines()
    settings = settings_from(environment)  # raises on a value the Settings refuse (a JSON list, a URL, the secret)
    assert settings.environment == "production" and settings.trusted_proxies == ["127.0.0.1"]
    assert not {"CAREWATCH_METRICS_PORT", "CAREWATCH_STREAM_DATA_DIR"} & set(environment)  # it would override the units'


def test_each_worker_has_its_own_metrics_port_and_table_directory():
    worker = UNITS / "carewatch-worker@.service"
    assert unit_environment(worker) == {"CAREWATCH_METRICS_PORT": "%i", "CAREWATCH_STREAM_DATA_DIR": "/var/lib/carewatch/worker-%i"}
    assert values(worker, "Service", "StateDirectory") == ["carewatch carewatch/worker-%i"]


def systemd_analyze() -> str:
    return tool("systemd-analyze", "systemd")


@pytest.fixture
def installed_units(tmp_path: Path) -> Path:
    """The units with ExecStart pointing at this environment's carewatch, so verify finds an executable."""
    beside_python = Path(sys.executable).parent / "carewatch"
    carewatch = str(beside_python) if beside_python.exists() else shutil.which("carewatch")
    assert carewatch, "the carewatch command is not installed (pip install -e .)"
    for path in UNITS.glob("carewatch*"):
        (tmp_path / path.name).write_text(path.read_text().replace(INSTALLED_AT, carewatch))
    return tmp_path


def test_systemd_analyze_verify_finds_nothing_wrong(installed_units: Path):
    names = [p.name for p in SERVICES] + ["carewatch-worker@9201.service", "carewatch.target"]
    result = subprocess.run([systemd_analyze(), "verify", *names], cwd=installed_units, capture_output=True, text=True, timeout=120)
    assert (result.returncode, result.stdout + result.stderr) == (0, "")


@pytest.mark.parametrize("path", SERVICES, ids=lambda p: p.name)
def test_systemd_rates_the_hardening_ok(installed_units: Path, path: Path):
    result = subprocess.run([systemd_analyze(), "security", "--offline=yes", "--no-pager", path.name],
                            cwd=installed_units, capture_output=True, text=True, timeout=120)
    exposure = re.search(r"Overall exposure level for \S+: (\d+\.\d)", result.stdout)
    assert exposure, result.stdout + result.stderr
    assert float(exposure[1]) <= 2.0, result.stdout  # 1.6-1.8 when written; 10 is an unhardened service
