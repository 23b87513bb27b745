"""Per-gateway MQTT credentials from the API, enforced by a real Mosquitto using the files the API wrote."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest
from fastapi import FastAPI

from api.app import create_app
from api.mqtt_credentials import mosquitto_hash
from carewatch.settings import Settings
from carewatch.loopback import free_port
from tests.services import mosquitto_process

pytestmark = pytest.mark.service

INGEST_PASSWORD = "ingest-secret"
SHIPPED_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto.conf.example"
HOST_SPECIFIC = ("listener", "password_file", "acl_file", "persistence", "persistence_location", "persistent_client_expiration")


def shipped_directives() -> str:
    """deploy/mosquitto.conf.example without what names the host's ports and paths: the tests run what ships."""
    lines = [line.strip() for line in SHIPPED_CONFIG.read_text().splitlines()]
    return "".join(f"{line}\n" for line in lines if line and not line.startswith("#") and line.split()[0] not in HOST_SPECIFIC)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(  # type: ignore[call-arg]
        _env_file=None,
        mqtt_url=f"mqtt://carewatch-ingest:{INGEST_PASSWORD}@127.0.0.1:1",
        mosquitto_password_file=tmp_path / "carewatch.passwd",
        mosquitto_acl_file=tmp_path / "carewatch.acl",
        mosquitto_pid_file=tmp_path / "mosquitto.pid",
    )


@contextmanager
def broker(settings: Settings, workdir: Path) -> Iterator[int]:
    config = (
        "allow_anonymous false\npersistence false\nuser root\n"  # root: reads pytest's private tmp dir
        f"password_file {settings.mosquitto_password_file}\nacl_file {settings.mosquitto_acl_file}\n"
        + shipped_directives()
    )
    with mosquitto_process(workdir, config, name="secured") as (port, process):
        assert settings.mosquitto_pid_file is not None
        settings.mosquitto_pid_file.write_text(str(process.pid))  # what a packaged broker's pid_file would hold
        yield port


class Client:
    """A paho client that records whether it was let in and what it received."""

    def __init__(
        self, port: int, username: str | None, password: str | None, subscribe: str | None = None, client_id: str | None = None
    ):
        self.connected = threading.Event()
        self.refused = threading.Event()
        self.dropped = threading.Event()
        self.received: list[tuple[str, bytes]] = []
        self.arrived = threading.Condition()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id or f"test-{username}-{free_port()}")
        if username is not None:
            self.client.username_pw_set(username, password)

        def on_connect(client, userdata, flags, reason, properties):  # type: ignore[no-untyped-def]
            if reason.is_failure:
                self.refused.set()
                return
            if subscribe:
                client.subscribe(subscribe, qos=1)
            else:
                self.connected.set()

        def on_subscribe(client, userdata, mid, reasons, properties):  # type: ignore[no-untyped-def]
            self.connected.set()

        def on_message(client, userdata, message):  # type: ignore[no-untyped-def]
            with self.arrived:
                self.received.append((message.topic, message.payload))
                self.arrived.notify_all()

        def on_disconnect(client, userdata, flags, reason, properties):  # type: ignore[no-untyped-def]
            self.dropped.set()

        self.client.on_connect, self.client.on_subscribe, self.client.on_message = on_connect, on_subscribe, on_message
        self.client.on_disconnect = on_disconnect
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def let_in(self, timeout: float = 5.0) -> bool:
        for _ in range(int(timeout * 20)):
            if self.connected.is_set():
                return True
            if self.refused.is_set():
                return False
            self.connected.wait(0.05)
        raise TimeoutError("no CONNACK")

    def wait_for(self, payload: bytes, timeout: float = 5.0) -> None:
        with self.arrived:
            assert self.arrived.wait_for(lambda: any(p == payload for _, p in self.received), timeout), self.received

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def app(sessions, registry, settings, directory) -> FastAPI:  # type: ignore[no-untyped-def]
    return create_app(sessions=sessions, registry=registry, settings=settings)


async def test_rewriting_the_password_file_keeps_the_owner_and_mode_the_broker_reads_it_with(client, settings):
    import grp
    import os
    import stat

    group = grp.getgrnam("mosquitto").gr_gid  # the Debian package's user: the broker reads the file as it
    for path in (settings.mosquitto_password_file, settings.mosquitto_acl_file):
        path.write_text("")
        os.chown(path, 0, group)
        path.chmod(0o640)
    assert (await client.post("/api/gateways/gw-north/credentials")).status_code == 200
    for path in (settings.mosquitto_password_file, settings.mosquitto_acl_file):
        info = path.stat()
        assert (info.st_gid, stat.S_IMODE(info.st_mode)) == (group, 0o640), path
        assert "gw-north" in settings.mosquitto_password_file.read_text()


def test_the_password_file_uses_mosquittos_own_hash_format(tmp_path):
    line = mosquitto_hash("secret")
    assert line.startswith("$7$10000$") and len(line.split("$")) == 5


async def test_a_gateway_may_publish_only_its_own_topics_and_anonymous_clients_are_refused(client, settings, tmp_path):
    north = (await client.post("/api/gateways/gw-north/credentials")).json()
    south = (await client.post("/api/gateways/gw-south/credentials")).json()
    # Written, but no broker runs yet to be told: not reported as updated.
    assert north["files_written"] and not north["broker_updated"] and north["username"] == "gw-north"
    assert north["publish_topics"] == ["carewatch/v1/gateways/gw-north/readings", "carewatch/v1/gateways/gw-north/status"]
    assert north["password"] not in settings.mosquitto_password_file.read_text()  # only its hash is written
    assert (await client.get("/api/gateways/gw-north")).json()["has_mqtt_credentials"] is True

    with broker(settings, tmp_path) as port:
        ingest = Client(port, "carewatch-ingest", INGEST_PASSWORD, subscribe="carewatch/v1/gateways/#")
        gateway = Client(port, "gw-north", north["password"])
        anonymous = Client(port, None, None)
        wrong = Client(port, "gw-south", north["password"])
        try:
            assert ingest.let_in() and gateway.let_in()
            assert not anonymous.let_in() and not wrong.let_in()

            gateway.client.publish("carewatch/v1/gateways/gw-south/readings", b"forged", qos=1).wait_for_publish(5)
            gateway.client.publish("carewatch/v1/gateways/gw-north/readings", b"genuine", qos=1).wait_for_publish(5)
            ingest.wait_for(b"genuine")
            # Same connection, published in order: had the broker let "forged" through, it would have come first.
            assert [p for _, p in ingest.received] == [b"genuine"]

            south_gateway = Client(port, "gw-south", south["password"])
            assert south_gateway.let_in()
            south_gateway.close()

            # Revoked: the broker reloads its files (SIGHUP) and refuses the next connection.
            assert (await client.delete("/api/gateways/gw-north/credentials")).status_code == 204
            for _ in range(50):
                retry = Client(port, "gw-north", north["password"])
                allowed = retry.let_in()
                retry.close()
                if not allowed:
                    break
            assert not allowed
        finally:
            for c in (ingest, gateway, anonymous, wrong):
                c.close()


async def test_a_gateway_cannot_take_carewatchs_client_id(client, settings, tmp_path):
    north = (await client.post("/api/gateways/gw-north/credentials")).json()

    with broker(settings, tmp_path) as port:
        ingest = Client(port, "carewatch-ingest", INGEST_PASSWORD, subscribe="carewatch/v1/gateways/#", client_id=settings.mqtt_client_id)
        assert ingest.let_in()
        impostor = Client(port, "gw-north", north["password"], client_id=settings.mqtt_client_id)
        try:
            assert impostor.let_in(), "it may connect, but as itself"
            impostor.client.publish("carewatch/v1/gateways/gw-north/readings", b"after the impostor", qos=1).wait_for_publish(5)
            ingest.wait_for(b"after the impostor")
            assert not ingest.dropped.is_set(), "the broker pins each client id to its user: carewatch keeps its session"
        finally:
            impostor.close()
            ingest.close()
