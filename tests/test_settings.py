"""Safe defaults (issue 11, item 9): production unless told otherwise, and never with the development link secret."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from typer.testing import CliRunner

from carewatch.cli import app as cli
from carewatch.settings import DEFAULT_LINK_SECRET, Settings


@pytest.fixture
def unset_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CAREWATCH_ENVIRONMENT", raising=False)
    monkeypatch.delenv("CAREWATCH_LINK_SECRET", raising=False)


def test_production_is_the_default_and_refuses_the_development_link_secret(unset_environment):
    with pytest.raises(ValidationError, match="CAREWATCH_LINK_SECRET") as refused:
        Settings(_env_file=None)  # type: ignore[call-arg]
    assert "secrets.token_urlsafe" in str(refused.value), "the message says how to make one"


def test_production_with_a_real_secret_is_accepted(unset_environment):
    settings = Settings(_env_file=None, link_secret="x" * 43)  # type: ignore[call-arg]
    assert settings.environment == "production"


def test_development_must_be_asked_for(unset_environment):
    assert Settings(_env_file=None, environment="development").link_secret == DEFAULT_LINK_SECRET  # type: ignore[call-arg]


def test_carewatch_run_refuses_to_start_with_the_development_secret_in_one_line(unset_environment, tmp_path):
    result = CliRunner().invoke(cli, ["run"], env={"CAREWATCH_MQTT_URL": "mqtt://127.0.0.1:1",
                                                   "CAREWATCH_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'x.db'}"})
    assert result.exit_code == 2, result.output
    assert "CAREWATCH_LINK_SECRET" in result.output and "token_urlsafe" in result.output
    assert "Traceback" not in result.output
