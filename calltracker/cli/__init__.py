"""The command-line interface: `calltracker ...` (also `python -m calltracker`).

Commands are loaded when invoked, so `calltracker --help` and a command import only what they need (no
database, HTTP or web code for `--help`). A new command is one line in COMMANDS.
"""

from __future__ import annotations

import importlib
import traceback
from typing import Any

import click

from calltracker import __version__
from calltracker.cli.context import CliState, set_config_path
from calltracker.errors import CalltrackerError, ConfigError, redact_urls

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}

#: Command name -> (module in calltracker.cli, attribute, the summary `calltracker --help` shows).
#: tests/test_cli_ops.py checks each summary against the command's own help.
COMMANDS: dict[str, tuple[str, str, str]] = {
    "alerts": ("digest_cmds", "alerts", "Deadline reminders at the configured lead times (digest.alert_lead_days)."),
    "calls": ("calls_cmds", "calls", "List and show stored calls."),
    "classify": ("classify_cmds", "classify_command", "Tag themes, eligible regions and tri-regional fit of calls."),
    "db": ("db_cmds", "db", "Create, upgrade and inspect the database."),
    "demo": ("demo_cmds", "demo", "Scrape the recorded sources from a local replay server, classify, and write"),
    "digest": ("digest_cmds", "digest", "Weekly digests: preview one, or send this week's."),
    "eval": ("classify_cmds", "eval_command", "Score the classifier on labelled JSON-lines files"),
    "interest": ("consortium_cmds", "interest", "Members' interest in joint bids: the board, introductions and the"),
    "members": ("members_cmds", "members", "Import and list the clusters' members."),
    "partners": ("consortium_cmds", "partners_command", "Members who could bid on a joint-bid CALL with others:"),
    "run": ("run_cmds", "run", "Run the scheduler: scrape, alerts and digest on their cron schedules until"),
    "run-once": ("run_cmds", "run_once", "Run the jobs once and exit, for cron or systemd timers."),
    "scrape": ("scrape_cmds", "scrape", "Collect calls from SOURCES (default: every enabled source) and record each"),
    "serve": ("web_cmds", "serve", "Serve the web pages that digests link to: unsubscribe, preferences, calls"),
    "sources": ("sources_cmds", "sources", "Configured sources."),
    "staff": ("consortium_cmds", "staff", "Staff accounts for the web board (/staff)."),
    "status": ("sources_cmds", "status", "Per source: last run, outcome, counts, failures in a row; unsent"),
}


def _config_option() -> click.Option:
    """`--config` after the subcommand (`calltracker status --config FILE`) means the same as before it."""
    return click.Option(["--config"], type=click.Path(dir_okay=False), expose_value=False, is_eager=True,
                        callback=lambda _ctx, _param, value: set_config_path(value),
                        help="TOML config file (also accepted before the command).")


def _add_config_option(command: click.Command) -> None:
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            _add_config_option(sub)
    elif not any(p.name == "config" for p in command.params):
        command.params.append(_config_option())


class CalltrackerGroup(click.Group):
    """Loads commands lazily; turns calltracker's errors into one line and an exit status: 2 for a usage error
    or bad configuration, 1 for any other calltracker error."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(COMMANDS))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in COMMANDS:
            module, attr, _ = COMMANDS[cmd_name]
            command = getattr(importlib.import_module(f"calltracker.cli.{module}"), attr)
            assert isinstance(command, click.Command)
            _add_config_option(command)
            self.add_command(command, cmd_name)
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list from COMMANDS' summaries, without importing any command."""
        limit = formatter.width - 6 - max(len(name) for name in self.list_commands(ctx))
        rows = []
        for name in self.list_commands(ctx):
            if name in COMMANDS and name not in self.commands:
                summary = COMMANDS[name][2]
                rows.append((name, summary if len(summary) <= limit else summary[: limit - 3].rstrip() + "..."))
            else:
                command = self.commands[name]
                if not command.hidden:
                    rows.append((name, command.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:  # a subcommand's bad option or argument: one line, exit 2
            where = exc.ctx.command_path if exc.ctx is not None else ctx.command_path
            self._fail(ctx, f"usage error: {exc.format_message()} (see '{where} --help')", 2)
        except ConfigError as exc:
            self._fail(ctx, f"config error: {exc}", 2)
        except CalltrackerError as exc:
            self._fail(ctx, f"error: {exc}", 1)
        finally:
            obj = ctx.obj
            if isinstance(obj, CliState):
                obj.close()

    @staticmethod
    def _fail(ctx: click.Context, message: str, code: int) -> None:
        obj = ctx.obj
        redact = obj.redact if isinstance(obj, CliState) else redact_urls
        if isinstance(obj, CliState) and obj.debug:
            click.echo(redact(traceback.format_exc()).rstrip("\n"), err=True)
        click.echo(redact(message), err=True)
        ctx.exit(code)


@click.group("calltracker", cls=CalltrackerGroup, context_settings=CONTEXT_SETTINGS)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar="CALLTRACKER_CONFIG",
              help="TOML config file (default: $CALLTRACKER_CONFIG, else built-in defaults).")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logging.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default=None,
              help="Log line format (default: logging.format from config).")
@click.version_option(__version__, prog_name="calltracker")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, debug: bool, log_format: str | None) -> None:
    """calltracker: funding calls worth a joint Lombardia-Piemonte-Liguria aerospace bid."""
    given = ctx.obj if isinstance(ctx.obj, CliState) else CliState()  # a caller may hand in its own wiring
    given.config_path, given.debug, given.log_format = config_path, debug, log_format
    ctx.obj = given


def main() -> None:
    cli(prog_name="calltracker")
