"""docker/compose.yaml, checked by the real Compose v2 (`docker-compose config`) and against
the commands it runs: a three-member replica set initiated once, several server instances
behind nginx, stations and simulated cars, the fleet key as a secret only."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from pixelopolis.cli import build_parser
from server.config import ServerConfig, check_rate_limit

DOCKER = Path(__file__).resolve().parents[2] / "docker"

COMPOSE = DOCKER / "compose.yaml"
# Variables the compose file reads; the tests set them explicitly or not at all.
KEY_VARIABLES = (
    "PIXELOPOLIS_FLEET_KEY",
    "FLEET_KEY_FILE",
    "SERVER_INSTANCES",
    "SERVER_WORKERS",
    "CAR_SIMS",
    "CARS",
    "FLEET_PORT",
)


def compose_config(compose_bin: Path, *files: Path, env: dict[str, str] | None = None):
    clean = {k: v for k, v in os.environ.items() if k not in KEY_VARIABLES}
    return subprocess.run(
        [compose_bin, *[a for f in files for a in ("-f", str(f))], "config", "--format", "json"],
        capture_output=True,
        text=True,
        timeout=60,
        env={**clean, **(env or {})},
    )


@pytest.fixture(scope="module")
def config(compose_bin: Path) -> dict[str, Any]:
    r = compose_config(compose_bin, COMPOSE)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)


def test_compose_config_accepts_the_file_and_rejects_a_broken_one(compose_bin, tmp_path):
    broken = tmp_path / "compose.yaml"
    broken.write_text("services:\n  server:\n    image: x\n    depends_on: [nowhere]\n")
    r = compose_config(compose_bin, broken)
    assert r.returncode != 0 and "nowhere" in r.stderr
    typo = tmp_path / "typo.yaml"
    typo.write_text(COMPOSE.read_text().replace("    command:", "    comand:", 1))
    assert compose_config(compose_bin, typo).returncode != 0


def test_three_mongo_members_in_one_replica_set_with_an_idempotent_init(config):
    services = config["services"]
    members = [f"mongo{i}" for i in (1, 2, 3)]
    for name in members:
        mongo = services[name]
        assert re.fullmatch(r"mongo:\d+\.\d+\.\d+", mongo["image"]), mongo["image"]
        assert mongo["command"][:3] == ["mongod", "--replSet", "rs0"]
        assert "healthcheck" in mongo and mongo["volumes"][0]["target"] == "/data/db"
    init = services["mongo-init"]
    assert init["image"] == services["mongo1"]["image"]
    assert init["restart"] == "no"
    assert {k: v["condition"] for k, v in init["depends_on"].items()} == dict.fromkeys(
        members, "service_healthy"
    )
    script = (DOCKER / "mongo" / "rs-init.js").read_text()
    assert init["volumes"][0]["source"] == str(DOCKER / "mongo" / "rs-init.js")
    # Initiated only when rs.status() says it is not yet: running it twice is harmless.
    assert script.index("rs.status()") < script.index("rs.initiate(")
    assert "NotYetInitialized" in script
    assert all(f'"{m}:27017"' in script for m in members)


def test_several_server_instances_on_the_replica_set_behind_the_proxy(config):
    server = config["services"]["server"]
    assert server["deploy"]["replicas"] >= 2
    uri = server["environment"]["MONGODB_URI"]
    assert "replicaSet=rs0" in uri and all(f"mongo{i}:27017" in uri for i in (1, 2, 3))
    assert server["depends_on"]["mongo-init"]["condition"] == "service_completed_successfully"
    assert "ports" not in server  # reached through the proxy only
    proxy = config["services"]["proxy"]
    assert re.fullmatch(r"nginx:\d+\.\d+\.\d+-alpine", proxy["image"])
    assert proxy["depends_on"]["server"]["condition"] == "service_healthy"
    nginx = (DOCKER / "nginx.conf").read_text()
    assert "server server:8000 resolve" in nginx and "X-Forwarded-For" in nginx
    assert "client_max_body_size 64k" in nginx
    # The database network is internal and joined by the database and the servers only.
    assert config["networks"]["db"]["internal"] is True
    on_db = {name for name, s in config["services"].items() if "db" in s.get("networks", {})}
    assert on_db == {"mongo1", "mongo2", "mongo3", "mongo-init", "server"}


def test_the_fleet_key_is_a_secret_never_an_environment_value(config):
    assert set(config["secrets"]) == {"fleet_key"}
    assert config["secrets"]["fleet_key"]["file"].endswith("secrets/fleet_key")
    users = {"server", "station-square", "station-harbour", "car-sim"}
    for name, service in config["services"].items():
        env = service.get("environment", {})
        assert "PIXELOPOLIS_FLEET_KEY" not in env, name
        assert not any("fleet-key=" in str(part) for part in service.get("command") or [])
        if name in users:
            assert env["PIXELOPOLIS_FLEET_KEY_FILE"] == "/run/secrets/fleet_key"
            assert [s["source"] for s in service["secrets"]] == ["fleet_key"]


def test_our_containers_are_hardened(config):
    for name in ("server", "station-square", "station-harbour", "car-sim"):
        service = config["services"][name]
        assert service["read_only"] is True and service["cap_drop"] == ["ALL"], name
        assert "no-new-privileges:true" in service["security_opt"], name
        assert service["build"]["dockerfile"].startswith("docker/"), name


def test_every_command_in_the_file_is_accepted_by_our_command_line(config):
    """The flags compose passes exist, and the settings they carry are valid."""
    parser = build_parser()
    services = config["services"]
    server = parser.parse_args(services["server"]["command"])
    assert server.command == "server" and server.trusted_proxies == 1 and server.host == "0.0.0.0"
    env = services["server"]["environment"]
    ServerConfig(
        mongodb_uri=env["MONGODB_URI"],
        fleet_key="a-fleet-key-from-the-secret",
        trusted_proxies=server.trusted_proxies,
        register_limit=env["PIXELOPOLIS_REGISTER_LIMIT"],
        booking_limit=env["PIXELOPOLIS_BOOKING_LIMIT"],
        liveness_timeout_s=float(env["PIXELOPOLIS_LIVENESS_TIMEOUT"]),
    )
    check_rate_limit("booking_limit", env["PIXELOPOLIS_BOOKING_LIMIT"])
    ports = set()
    for name in ("station-square", "station-harbour"):
        station = parser.parse_args(services[name]["command"])
        assert station.command == "station" and station.server == "http://proxy:8000"
        ports.add(services[name]["ports"][0]["published"])
    assert len(ports) == 2


def _car_sim() -> ModuleType:
    """docker/car_sim.py as a module (docker/ is no package)."""
    spec = importlib.util.spec_from_file_location("car_sim", DOCKER / "car_sim.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_car_sim_command_and_the_cars_it_starts_are_accepted(config, tmp_path):
    car_sim = _car_sim()
    car_commands, parse_args, world_command = (
        car_sim.car_commands,
        car_sim.parse_args,
        car_sim.world_command,
    )
    args = parse_args(config["services"]["car-sim"]["command"])
    assert args.server == "http://proxy:8000" and args.cars == 3
    world = {
        "url": "http://127.0.0.1:9000",
        "cars": [
            {
                "id": f"sim-{k}",
                "camera": f"http://127.0.0.1:9000/cars/sim-{k}/shot.jpg",
                "board": str(tmp_path / f"sim-{k}.board"),
                "node": "A",
                "from_node": "B",
            }
            for k in (1, 2, 3)
        ],
    }
    parser = build_parser()
    commands = car_commands(world, args, host="172.20.0.7", prefix="carsim")
    assert len(commands) == 3
    ports = []
    for command in commands:
        index = command.index("pixelopolis") + 1
        car = parser.parse_args(command[index:])
        assert car.command == "car" and car.fleet_key is None and car.fleet_key_file is None
        assert car.advertise_host == "172.20.0.7" and car.server == args.server
        ports.append(car.stream_port)
    assert ports == [8201, 8202, 8203]
    sim = world_command(args, seed=7)
    parsed = parser.parse_args(sim[sim.index("pixelopolis") + 1 :])
    assert parsed.command == "sim" and parsed.verb == "world" and parsed.cars == 3


def test_the_deployment_can_be_scaled_and_pointed_elsewhere(compose_bin, tmp_path):
    key = tmp_path / "fleet_key"
    key.write_text("k" * 32)
    env = {"SERVER_INSTANCES": "5", "CAR_SIMS": "2", "CARS": "4", "FLEET_KEY_FILE": str(key)}
    r = compose_config(compose_bin, COMPOSE, env=env)
    assert r.returncode == 0, r.stderr
    scaled = json.loads(r.stdout)
    assert scaled["services"]["server"]["deploy"]["replicas"] == 5
    assert scaled["services"]["car-sim"]["deploy"]["replicas"] == 2
    assert "--cars=4" in scaled["services"]["car-sim"]["command"]
    assert scaled["secrets"]["fleet_key"]["file"] == str(key)
    assert "k" * 32 not in r.stdout  # compose shows the file's path, never its content


def test_car_sim_checks_its_settings_at_start(monkeypatch, capsys):
    car_sim = _car_sim()
    monkeypatch.delenv("PIXELOPOLIS_FLEET_KEY", raising=False)
    monkeypatch.delenv("PIXELOPOLIS_FLEET_KEY_FILE", raising=False)
    assert car_sim.main(["--server", "http://proxy:8000"]) == 2
    err = capsys.readouterr().err.strip()
    assert (
        err
        == "car_sim: error: fleet key: set PIXELOPOLIS_FLEET_KEY_FILE (or PIXELOPOLIS_FLEET_KEY)"
    )
    for argv in (["--server", "proxy:8000"], ["--server", "http://p", "--cars", "40"]):
        with pytest.raises(SystemExit) as stopped:
            car_sim.parse_args(argv)
        assert stopped.value.code == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("car_sim: error: --") and len(err.splitlines()) == 1
