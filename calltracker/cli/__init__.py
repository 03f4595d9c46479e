"""The command-line interface: `calltracker ...` (also `python -m calltracker`)."""

from __future__ import annotations

import traceback
from typing import Any

import click

from calltracker import __version__
from calltracker.cli.context import CliState
from calltracker.errors import CalltrackerError, ConfigError, redact_urls

CONTEXT_SETTINGS = {"help_option_names": ["-h", "--help"], "max_content_width": 100}


class CalltrackerGroup(click.Group):
    """Turns calltracker's errors into one clear line and an exit status (2 for configuration)."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
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


@click.group(cls=CalltrackerGroup, context_settings=CONTEXT_SETTINGS)
@click.option("--config", "config_path", type=click.Path(dir_okay=False), envvar="CALLTRACKER_CONFIG",
              help="TOML config file (default: $CALLTRACKER_CONFIG, else built-in defaults).")
@click.option("--debug", is_flag=True, help="Show tracebacks and debug logging.")
@click.option("--log-format", type=click.Choice(["text", "json"]), default=None,
              help="Log line format (default: logging.format from config).")
@click.version_option(__version__, prog_name="calltracker")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None, debug: bool, log_format: str | None) -> None:
    """calltracker: funding calls worth a joint Lombardia-Piemonte-Liguria aerospace bid."""
    ctx.obj = CliState(config_path=config_path, debug=debug, log_format=log_format)


def _register() -> None:
    from calltracker.cli import (
        calls_cmds,
        db_cmds,
        demo_cmds,
        digest_cmds,
        members_cmds,
        run_cmds,
        scrape_cmds,
        sources_cmds,
        web_cmds,
    )
    from calltracker.cli.classify_cmds import classify_command, eval_command

    cli.add_command(db_cmds.db)
    cli.add_command(calls_cmds.calls)
    cli.add_command(members_cmds.members)
    cli.add_command(sources_cmds.sources)
    cli.add_command(sources_cmds.status)
    cli.add_command(scrape_cmds.scrape)
    cli.add_command(classify_command, "classify")
    cli.add_command(eval_command, "eval")
    cli.add_command(run_cmds.run)
    cli.add_command(run_cmds.run_once)
    cli.add_command(web_cmds.serve)
    cli.add_command(demo_cmds.demo)
    cli.add_command(digest_cmds.digest)
    cli.add_command(digest_cmds.alerts)


_register()


def main() -> None:
    cli(prog_name="calltracker")
