"""Tests never read the developer's home: after the README tour, `~/.maas/cli.json` holds a
server, a token and an account, and a CLI test that expects "no account given" must not pick
them up. `tests/conftest.py` gives every test (and every process a test starts) a home of its
own; these tests check that from inside a test, and run one under a poisoned home."""

from __future__ import annotations

import json
import os
import pwd
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from maas.cli import config
from maas.cli.main import app
from maas.core.settings import Settings

ROOT = Path(__file__).resolve().parents[2]
POISON = {
    "url": "http://127.0.0.1:9",
    "token": "poisoned-token",
    "subscription": "poisoned-account",
    "defaults": {"workspace": "poisoned-ws", "group": "poisoned-rg", "location": "poisonland"},
}


def test_the_cli_sees_no_user_settings(tmp_path_factory: pytest.TempPathFactory) -> None:
    base = tmp_path_factory.getbasetemp().resolve()
    assert Path.home().resolve() != Path(pwd.getpwuid(os.getuid()).pw_dir).resolve()
    assert Path.home().resolve().is_relative_to(base)
    assert config.config_path().resolve().is_relative_to(base)
    assert Settings().data_dir.resolve().is_relative_to(base)
    assert config.load() == {}
    profile = config.resolve()
    assert (profile.url, profile.token, profile.subscription) == (config.DEFAULT_URL, None, None)
    assert (profile.group, profile.workspace, profile.location) == (None, None, None)
    result = CliRunner().invoke(app, ["usage", "show", "-g", "rg1", "--token", "t"])
    assert result.exit_code == 2 and "--subscription" in result.stderr
    # a process the test starts (as `maas serve` is) has the same home
    child = subprocess.run(
        [
            sys.executable,
            "-c",
            "import os, pathlib; print(pathlib.Path.home(), os.environ['MAAS_CONFIG_DIR'])",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    assert child.stdout.split() == [str(Path.home()), str(config.config_path().parent)]


@pytest.mark.parametrize("run", [1, 2])
def test_each_test_has_a_fresh_home(run: int, tmp_path_factory: pytest.TempPathFactory) -> None:
    assert config.config_path().resolve().is_relative_to(tmp_path_factory.getbasetemp().resolve())
    assert not config.config_path().exists()
    config.save({"token": "written-by-this-test"})  # the next test must not see it


def test_a_poisoned_home_does_not_reach_the_tests(tmp_path: Path) -> None:
    """The test above, run by a fresh pytest whose HOME (and shell) hold a previous tour's
    settings, as a newcomer's do."""
    home = tmp_path / "home"
    (home / ".maas").mkdir(parents=True)
    (home / ".maas" / "cli.json").write_text(json.dumps(POISON))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MAAS_", "XDG_"))}
    env.update(
        HOME=str(home),
        MAAS_URL=POISON["url"],
        MAAS_TOKEN="poisoned-token",
        MAAS_SUBSCRIPTION="poisoned-account",
        MAAS_DATA_DIR=str(home / ".maas"),
    )
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:xdist",
            "--basetemp",
            str(tmp_path / "inner"),
            f"{Path(__file__).relative_to(ROOT)}::test_the_cli_sees_no_user_settings",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    assert "1 passed" in run.stdout
    assert json.loads((home / ".maas" / "cli.json").read_text()) == POISON
