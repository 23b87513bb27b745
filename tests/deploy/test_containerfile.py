"""deploy/Containerfile, parsed (dockerfile-parse): what it copies exists, what it runs is carewatch's, it ends as a
user that is not root and checks /livez. Nothing is built here (no container runtime)."""

from __future__ import annotations

import io
import json
import re
import tomllib

from dockerfile_parse import DockerfileParser

from api.routes.health import router as health_router
from tests.deploy.checks import DEPLOY, ROOT, is_carewatch_command, unknown_settings

PARSER = DockerfileParser(fileobj=io.BytesIO((DEPLOY / "Containerfile").read_bytes()))  # path= wants a name "Dockerfile"
INSTRUCTIONS = PARSER.structure
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def of(kind: str) -> list[str]:
    return [i["value"] for i in INSTRUCTIONS if i["instruction"] == kind]


def test_every_stage_starts_from_a_slim_python_of_a_version_the_package_supports():
    bases = [value.split()[0] for value in of("FROM")]
    assert bases and all(re.fullmatch(r"python:3\.(1[1-9])-slim(-\w+)?", base) for base in bases), bases


def test_it_copies_every_package_the_project_ships_and_only_files_that_exist():
    sources = [part for value in of("COPY") if not value.startswith("--from") for part in value.split()[:-1]]
    for source in sources:
        assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
    packages = {pattern.rstrip("*") for pattern in PYPROJECT["tool"]["setuptools"]["packages"]["find"]["include"]}
    assert packages <= set(sources)
    assert {"pyproject.toml", PYPROJECT["project"]["readme"]} <= set(sources)


def test_it_installs_the_extras_the_scaled_out_path_needs():
    installs = [value for value in of("RUN") if "pip install" in value]
    extras = {extra for value in installs for group in re.findall(r"\.\[([^\]]+)\]", value) for extra in group.split(",")}
    assert "rocksdb" in extras  # CAREWATCH_STREAM_STORE=rocksdb:// in compose.yaml
    assert extras <= set(PYPROJECT["project"]["optional-dependencies"])


def test_it_runs_carewatch_as_a_user_that_is_not_root():
    assert of("USER")[-1] not in ("root", "0")
    assert json.loads(of("ENTRYPOINT")[-1]) == ["carewatch"]
    assert is_carewatch_command(json.loads(of("CMD")[-1]))


def test_its_settings_are_real_and_its_port_is_the_one_it_exposes_and_checks():
    environment = PARSER.envs
    assert unknown_settings(environment) == []
    assert environment["CAREWATCH_HTTP_HOST"] == "0.0.0.0"
    assert of("EXPOSE") == [environment["CAREWATCH_HTTP_PORT"]]
    (healthcheck,) = of("HEALTHCHECK")
    assert "/livez" in healthcheck and "CAREWATCH_HTTP_PORT" in healthcheck
    assert "/livez" in {route.path for route in health_router.routes}  # type: ignore[attr-defined]
