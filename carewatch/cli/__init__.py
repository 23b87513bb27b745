"""The `carewatch` command."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Iterator
from typing import Annotated

import orjson
import typer
from rich.console import Console

from carewatch.cli.admin import admin
from carewatch.settings import Settings
from carewatch.cli.settings import settings_or_exit

app = typer.Typer(help="carewatch: watches over elders who live alone through their gas and water meters.",
                  no_args_is_help=True, add_completion=False)
err = Console(stderr=True)
app.add_typer(admin, name="admin")


def _logging(verbose: bool) -> None:
    logging.basicConfig(
        level=logging.INFO if verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # amqtt logs every connection at INFO, and at ERROR each time a subscriber's PUBACK takes over
    # its fixed 5 s (ours wait for the database commit); the message was delivered all the same.
    logging.getLogger("amqtt").setLevel(logging.CRITICAL if not verbose else logging.INFO)
    logging.getLogger("transitions").setLevel(logging.ERROR)


EXAMPLES = {"mqtt_url": "mqtt://localhost:1883", "kafka_url": "kafka://localhost:9092"}


def _settings(verbose: bool, *required: str) -> Settings:
    """Logging set up and settings read; a required setting that is not set is a one-line error (exit 2)."""
    _logging(verbose)
    settings = settings_or_exit(err)
    missing = [name for name in required if not getattr(settings, name)]
    if missing:
        names = " and ".join(f"CAREWATCH_{name.upper()}" for name in missing)
        err.print(f"[red]{names} must be set[/] (e.g. {', '.join(EXAMPLES[name] for name in missing)})")
        raise typer.Exit(2)
    return settings


def _serve_metrics(settings: Settings) -> None:
    """Prometheus metrics on CAREWATCH_METRICS_PORT (a thread of this process), for the processes without a console."""
    if settings.metrics_port is None:
        return
    from prometheus_client import start_http_server

    start_http_server(settings.metrics_port, addr=settings.http_host)
    err.print(f"metrics at http://{settings.http_host}:{settings.metrics_port}/metrics")


@contextlib.contextmanager
def _said_in_one_line() -> Iterator[None]:
    """What an operator can mend, as one line instead of a traceback: a bad registry (exit 2), an MQTT broker
    or Kafka out of reach or Kafka topics that do not fit the settings (exit 1); Ctrl-C says it stopped."""
    from carewatch.registry import RegistryError

    try:
        yield
    except RegistryError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    except ConnectionError as exc:  # KafkaUnavailable is one
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(1) from exc
    except KeyboardInterrupt:
        err.print("stopped")


@app.command()
def demo(
    headless: Annotated[bool, typer.Option(help="No web console; run as fast as possible and print one JSON summary.")] = False,
    days: Annotated[float, typer.Option(min=1.0, help="Simulated days.")] = 3.0,
    households: Annotated[int, typer.Option(min=4, help="Simulated households (incidents need at least 4).")] = 50,
    seed: Annotated[int, typer.Option(help="Seed of the simulation.")] = 1,
    speed: Annotated[float, typer.Option(min=1.0, help="Console mode: simulated seconds per real second while nothing waits for a person.")] = 3600.0,
    pace: Annotated[float, typer.Option(min=0.1, help="Console mode: simulated seconds per real second from shortly before an alert until it is acknowledged.")] = 5.0,
    approach: Annotated[float, typer.Option(min=0.0, help="Console mode: real seconds at --pace before an expected alert, to watch it arrive.")] = 60.0,
    mqtt_url: Annotated[str | None, typer.Option(help="Use this broker instead of the embedded one.")] = None,
    port: Annotated[int | None, typer.Option(help="Console port (default: CAREWATCH_HTTP_PORT or 8000).")] = None,
    engine: Annotated[str, typer.Option(help="embedded (one process) or faust (bridge → Kafka → Faust worker → alert service; headless).")] = "embedded",
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run everything in one process: simulated gateways, an MQTT broker, the detectors, alerts and the console."""
    import warnings

    from carewatch.cli.demo import DEMO_SETTINGS, DemoOptions, run_demo

    _logging(verbose)
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    settings = settings_or_exit(err, **DEMO_SETTINGS)
    if port is not None:
        settings = settings.model_copy(update={"http_port": port})
    options = DemoOptions(
        households=households, days=days, seed=seed, headless=headless, speed=speed, pace=pace, approach_s=approach,
        mqtt_url=mqtt_url or settings.mqtt_url, engine=engine,
    )
    if engine not in ("embedded", "faust") or (engine == "faust" and not headless):
        err.print("[red]--engine must be embedded or faust, and faust runs with --headless[/]")
        raise typer.Exit(2)
    try:
        summary = asyncio.run(run_demo(settings, options, err))
    except KeyboardInterrupt:
        err.print("stopped")
        return
    except (ConnectionError, TimeoutError) as exc:
        err.print(f"[red]demo failed:[/] {exc}")
        raise typer.Exit(1) from exc
    if headless:
        sys.stdout.write(orjson.dumps(summary, option=orjson.OPT_INDENT_2).decode() + "\n")


@app.command()
def run(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Run ingest, detectors, alerts and the API against the broker, database and registry in settings.

    This is what an integrator runs with real gateways (settings: CAREWATCH_MQTT_URL,
    CAREWATCH_DATABASE_URL, CAREWATCH_REGISTRY_PATH, CAREWATCH_HTTP_HOST/PORT).
    """
    from carewatch.runners.embedded.service import run_service

    settings = _settings(verbose, "mqtt_url")
    with _said_in_one_line():
        asyncio.run(run_service(settings, err))


@app.command()
def simulate(
    mqtt_url: Annotated[str, typer.Option(help="Broker to publish to, mqtt://host:port.")],
    households: Annotated[int, typer.Option(min=4)] = 50,
    days: Annotated[float, typer.Option(min=1.0)] = 3.0,
    seed: int = 1,
    speed: Annotated[float | None, typer.Option(help="Simulated seconds per real second; unset = as fast as possible.")] = None,
    registry_out: Annotated[str | None, typer.Option(help="Write the simulated households' registry JSON here.")] = None,
) -> None:
    """Publish simulated gateways' readings to a broker (for trying `carewatch run`)."""
    from carewatch.cli.demo import DEMO_START
    from gateway_sim import SimConfig, Simulation, publish_simulation
    from ingest.subscriber import BrokerAddress

    _logging(False)
    simulation = Simulation(SimConfig(households=households, days=days, seed=seed, start=DEMO_START))
    if registry_out:
        with open(registry_out, "wb") as out:
            out.write(orjson.dumps(simulation.registry_document(), option=orjson.OPT_INDENT_2))
        err.print(f"registry written to {registry_out}")
    address = BrokerAddress.from_url(mqtt_url)
    stats = asyncio.run(
        publish_simulation(simulation, address.host, address.port, speed=speed, username=address.username, password=address.password)
    )
    err.print(f"published {stats.messages} messages, {stats.readings} readings")


@app.command()
def evaluate(
    households: Annotated[int, typer.Option(min=4, help="Households per simulation.")] = 30,
    shards: Annotated[int, typer.Option(min=1, help="Simulations per scenario family, each with its own seed.")] = 2,
    days: Annotated[float, typer.Option(min=3.0, help="Simulated days, warm-up included.")] = 33.0,
    warmup_days: Annotated[float, typer.Option(min=0.0, help="Days learned before incidents start and scoring begins.")] = 16.0,
    seed: Annotated[int, typer.Option(help="Seed of the scenarios.")] = 1,
    family: Annotated[list[str] | None, typer.Option(help="Only this scenario family (repeatable).")] = None,
    jobs: Annotated[int, typer.Option(min=0, help="Worker processes (0: one per core).")] = 0,
    markdown: Annotated[bool, typer.Option(help="Print Markdown tables, as in docs/detectors.md.")] = False,
    json_out: Annotated[str | None, typer.Option(help="Also write the figures as JSON here.")] = None,
    rule: Annotated[list[str] | None, typer.Option(help="NAME=VALUE: a RuleConfig setting for the learned column (repeatable).")] = None,
    river: Annotated[bool, typer.Option(help="Add a column: the learned detectors plus the river model (river_quiet).")] = False,
    staff_outcomes: Annotated[bool, typer.Option(help="Add a column taught by simulated staff outcomes (false learned quiet alerts closed as \"went out\").")] = False,
) -> None:
    """Run labelled scenarios through the detectors in-process: recall, delays and false alarms,
    learned detectors next to the seed rule alone (docs/detectors.md)."""
    import os
    import time

    from carewatch.cli.evaluation.report import render, summary_document
    from carewatch.cli.evaluation.scenarios import FAMILIES, SuiteConfig, run_suite

    names = tuple(family) if family else tuple(f.name for f in FAMILIES)
    try:
        rules = tuple((name, float(value)) for name, value in (setting.split("=", 1) for setting in rule or ()))
    except ValueError as exc:
        err.print(f"[red]--rule takes NAME=NUMBER, e.g. quiet_grace_h=0.75[/] ({exc})")
        raise typer.Exit(2) from exc
    suite = SuiteConfig(
        households=households, shards=shards, days=days, warmup_days=warmup_days, seed=seed, families=names, rules=rules,
        river=river, staff_outcomes=staff_outcomes,
    )
    started = time.monotonic()
    try:
        result = run_suite(suite, jobs=jobs or os.cpu_count() or 1)
    except ValueError as exc:
        err.print(f"[red]{exc}[/]")
        raise typer.Exit(2) from exc
    out = Console()
    render(result, out, as_markdown=markdown)
    out.print(f"{result.readings} readings, {len(result.shards)} simulations, {time.monotonic() - started:.0f} s", highlight=False)
    if json_out:
        with open(json_out, "wb") as handle:
            handle.write(orjson.dumps(summary_document(result), option=orjson.OPT_INDENT_2))


@app.command()
def ingest(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Bridge MQTT to Kafka: validate readings, send them to the readings topic, acknowledge MQTT after Kafka.

    Settings: CAREWATCH_MQTT_URL, CAREWATCH_KAFKA_URL, CAREWATCH_REGISTRY_PATH, CAREWATCH_MQTT_CLIENT_ID
    (keep it fixed: the broker keeps the session under it while the bridge is down).
    """
    from carewatch.registry import Registry
    from ingest.bridge import run_bridge

    settings = _settings(verbose, "mqtt_url", "kafka_url")
    _serve_metrics(settings)
    with _said_in_one_line():
        asyncio.run(run_bridge(settings, Registry.load(settings.registry_path)))


@app.command()
def worker(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Run one Faust worker of the detector stream (start up to CAREWATCH_KAFKA_PARTITIONS of them).

    Settings: CAREWATCH_KAFKA_URL, CAREWATCH_REGISTRY_PATH, CAREWATCH_STREAM_STORE, CAREWATCH_STREAM_DATA_DIR.
    """
    from carewatch.runners.faust.worker import run_worker

    settings = _settings(verbose, "kafka_url")
    _serve_metrics(settings)
    with _said_in_one_line():
        run_worker(settings, loglevel="info" if verbose else "warning")


@app.command()
def alerts(
    console: Annotated[bool, typer.Option("--console", help="Also serve the duty console and API (CAREWATCH_HTTP_HOST/PORT).")] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False,
) -> None:
    """Run the alert service of the scaled-out path: detections → alerts, dead letters and gateway status → the
    console's ingest panels, and the escalation ladder and notifications (as `carewatch run` does).

    Settings: CAREWATCH_KAFKA_URL, CAREWATCH_DATABASE_URL, CAREWATCH_REGISTRY_PATH (imported into the directory at
    start, as `carewatch run` does), CAREWATCH_PEOPLE_PATH and the channel settings (docs/notifications.md);
    without --console, its metrics on CAREWATCH_METRICS_PORT. Stops cleanly on SIGTERM/SIGINT.
    """
    from carewatch.runners.faust.alert_service import run_alert_service

    settings = _settings(verbose, "kafka_url")
    if not console:  # with the console, /metrics is on its port
        _serve_metrics(settings)
    with _said_in_one_line():
        asyncio.run(run_alert_service(settings, err, serve_api=console))
        err.print("stopped")  # by SIGTERM or SIGINT, handled by the service


if __name__ == "__main__":
    app()
