"""Every Dockerfile in docker/ passes hadolint and keeps our rules: pinned bases, installs
from the constraints file, runs as a non-root user, and bakes in no secret."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

DOCKER = Path(__file__).resolve().parents[2] / "docker"
DOCKERFILES = sorted(DOCKER.glob("*.Dockerfile"))
# name:MAJOR.MINOR.PATCH[-variant] (an exact tag) or name@sha256:digest.
PINNED = re.compile(
    r"^[\w./-]+(:\d+\.\d+\.\d+[\w.-]*(@sha256:[0-9a-f]{64})?|@sha256:[0-9a-f]{64})$"
)


def test_the_three_images_have_dockerfiles():
    assert {p.name for p in DOCKERFILES} == {
        "server.Dockerfile",
        "station.Dockerfile",
        "car-sim.Dockerfile",
    }


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_hadolint_passes(dockerfile: Path, hadolint_bin: Path):
    r = subprocess.run(
        [hadolint_bin, "--no-color", dockerfile], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stdout + r.stderr


def test_hadolint_really_lints(hadolint_bin: Path, tmp_path: Path):
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python\nRUN pip install flask\n")
    r = subprocess.run([hadolint_bin, "--no-color", bad], capture_output=True, text=True)
    assert r.returncode != 0 and "DL3006" in r.stdout and "DL3013" in r.stdout


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_pinned_slim_base_constraints_and_a_non_root_user(dockerfile: Path):
    text = dockerfile.read_text()
    bases = re.findall(r"^FROM\s+(\S+)", text, flags=re.M)
    assert bases, dockerfile
    for base in bases:
        assert PINNED.match(base), f"{dockerfile.name}: unpinned base {base}"
        assert "slim" in base, f"{dockerfile.name}: not a slim base {base}"
    installs = re.findall(r"pip install[^\n]*", text)
    assert installs and all("-c requirements/constraints.txt" in i for i in installs)
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.M)
    assert users and users[-1].split(":")[0] not in ("root", "0")
    assert re.fullmatch(r"\d+:\d+", users[-1]), "a numeric uid:gid (hadolint DL3066)"


@pytest.mark.parametrize("dockerfile", DOCKERFILES, ids=lambda p: p.name)
def test_no_secret_is_baked_in(dockerfile: Path):
    text = dockerfile.read_text()
    for line in re.findall(r"^(?:ENV|ARG|LABEL)\s.*(?:\n\s+.*)*", text, flags=re.M):
        assert not re.search(r"FLEET_KEY|TOKEN|PASSWORD|SECRET", line, flags=re.I), line
    assert "secrets" not in re.sub(r"#.*", "", text)


def test_the_build_context_excludes_secrets_and_local_data():
    lines = [line.strip() for line in (DOCKER.parent / ".dockerignore").read_text().splitlines()]
    assert "**" in lines  # everything is left out unless named
    assert not any(line.startswith(("!docker/secrets", "!docker/\n", "!.env")) for line in lines)
    assert (DOCKER / ".gitignore").read_text().count("secrets/") == 1
