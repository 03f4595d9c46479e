"""The deploy/ files cannot run here (no systemd, no Docker): check what can go stale instead."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import click
import pytest

from calltracker.cli import cli
from calltracker.config import ScheduleSettings, load_settings
from calltracker.jobs import JOB_NAMES

DEPLOY = Path(__file__).resolve().parent.parent / "deploy"
VALUED_GROUP_OPTIONS = {"--config", "--log-format"}


def check_invocation(args: list[str]) -> None:
    """Parse `calltracker ARGS` as the CLI would, without running it; UsageError if it is wrong."""
    i = 0
    group_args: list[str] = []
    while i < len(args) and args[i].startswith("-"):
        group_args.append(args[i])
        if args[i] in VALUED_GROUP_OPTIONS:
            group_args.append(args[i + 1])
            i += 1
        i += 1
    cli.make_context("calltracker", [*group_args, "status"])
    rest = args[i:]
    command: click.Command = cli
    name = "calltracker"
    while isinstance(command, click.Group):
        name = rest.pop(0)
        found = command.get_command(click.Context(command), name)  # commands load lazily
        assert found is not None, f"no command {name!r}"
        command = found
    command.make_context(name, rest)


def invocations() -> list[tuple[str, list[str]]]:
    found: list[tuple[str, list[str]]] = []
    for path in sorted(p for p in DEPLOY.rglob("*") if p.is_file()):
        text = path.read_text(encoding="utf-8")
        for line in text.splitlines():
            if line.lstrip().startswith("#"):
                continue
            m = re.search(r"bin/calltracker\s+(.*)$", line)
            if m:
                args = shlex.split(m.group(1))
                variants = [[a.replace("%i", job) for a in args] for job in JOB_NAMES] if "%i" in m.group(1) \
                    else [args]
                found += [(path.name, v) for v in variants]
        if path.name == "Dockerfile":
            entry = re.search(r'^ENTRYPOINT \["calltracker", (.*)\]$', text, re.M)
            cmd = re.search(r"^CMD \[(.*)\]$", text, re.M)
            assert entry and cmd
            found.append((path.name, [*shlex.split(entry.group(1).replace(",", "")),
                                      *shlex.split(cmd.group(1).replace(",", ""))]))
        if path.name == "docker-compose.yml":
            prefix = ["--log-format", "json"]
            found += [(path.name, prefix + shlex.split(c.replace(",", "")))
                      for c in re.findall(r'^\s+command: \[(.*)\]$', text, re.M)]
    return found


def test_every_command_in_deploy_files_parses() -> None:
    found = invocations()
    assert len(found) >= 9
    for where, args in found:
        try:
            check_invocation(args)
        except click.UsageError as exc:
            pytest.fail(f"{where}: calltracker {' '.join(args)}: {exc}")


def test_the_checker_catches_a_wrong_invocation() -> None:
    with pytest.raises(click.UsageError):
        check_invocation(["run-once", "--only", "scrapes"])


def test_crontab_and_timers_match_the_default_schedule() -> None:
    defaults = ScheduleSettings()
    crontab = (DEPLOY / "crontab").read_text(encoding="utf-8")
    assert f"CRON_TZ={defaults.timezone}" in crontab
    for job in JOB_NAMES:
        line = next(x for x in crontab.splitlines() if x.endswith(f"--only {job}"))
        assert " ".join(line.split()[:5]) == getattr(defaults, job)
    timers = {job: (DEPLOY / "systemd" / f"calltracker-{job}.timer").read_text(encoding="utf-8") for job in JOB_NAMES}
    assert defaults.scrape == "0 6 * * *" and "OnCalendar=*-*-* 06:00:00 Europe/Rome" in timers["scrape"]
    assert defaults.alerts == "30 7 * * *" and "OnCalendar=*-*-* 07:30:00 Europe/Rome" in timers["alerts"]
    assert defaults.digest == "0 7 * * mon" and "OnCalendar=Mon *-*-* 07:00:00 Europe/Rome" in timers["digest"]
    for job, text in timers.items():
        assert f"Unit=calltracker-once@{job}.service" in text


def test_the_docker_config_is_valid() -> None:
    settings = load_settings(DEPLOY / "calltracker.docker.toml", environ={
        "CALLTRACKER_DATABASE_URL": "postgresql+psycopg://calltracker@db:5432/calltracker"})
    assert settings.mail.transport == "smtp" and settings.database.url.startswith("postgresql")
