"""`calltracker demo`: the whole pipeline offline on the recorded real payloads."""

from __future__ import annotations

import shlex
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import click

from calltracker.cli.context import print_summaries_once, state


def own_command(argv0: str | None = None) -> str:
    """How to run this same calltracker again from any shell, venv activated or not."""
    script = Path(argv0 if argv0 is not None else sys.argv[0])
    if script.name == "calltracker" and script.is_file():
        return shlex.quote(str(script.resolve()))
    return f"{shlex.quote(sys.executable)} -m calltracker"


@click.command()
@click.option("--output", type=click.Path(file_okay=False, path_type=Path),
              help="Folder for the database, the .eml outbox and the .html previews (default: a new temporary one).")
@click.option("--as-of", "as_of", type=click.DateTime(["%Y-%m-%d"]),
              help="Run as on this day (default: 2026-09-01, when the recorded calls were open or forthcoming).")
def demo(output: Path | None, as_of: datetime | None) -> None:
    """Scrape the recorded sources from a local replay server, classify, and write example digests."""
    from calltracker.demo import RECORDED_AS_OF, run_demo

    state().settings  # noqa: B018 - a bad --config still fails first, with exit 2, and logging is set up
    print_summaries_once()  # the source and digest lines below are the summary, not also log lines
    folder = output or Path(tempfile.mkdtemp(prefix="calltracker-demo-"))
    start = as_of.replace(hour=7, tzinfo=UTC) if as_of else RECORDED_AS_OF
    summary = run_demo(folder, start)
    click.echo(f"calltracker demo: the whole pipeline, offline, on recorded real payloads, as on {start:%Y-%m-%d}\n")
    for report in summary.sources:
        click.echo(f"  {report.line()}")
    for note in summary.notes:
        click.echo(f"  note: {note}")
    themes = ", ".join(f"{t} {n}" for t, n in summary.by_theme.items()) or "none"
    click.echo(f"\n{summary.calls} calls stored, {summary.open_calls} open or forthcoming, "
               f"{summary.tri_regional} fit a joint tri-regional bid")
    click.echo(f"themes of the open calls: {themes}")
    click.echo(f"{summary.members} example members in LAC, DAP and LIG; {summary.digest.line()}")
    click.echo("\nwhat each member got, and why:")
    for got in summary.member_digests:
        themes = ", ".join(got.themes) or "any cluster theme"
        click.echo(f"  {got.cluster} {got.email} ({got.region or 'no region'}; {themes}): "
                   f"{len(got.calls) or 'no'} call{'' if len(got.calls) == 1 else 's'}")
        for source, title, reason in got.calls:
            shown = title if len(title) <= 70 else title[:67] + "..."
            click.echo(f"      [{source}] {shown} -- {reason}")
    for heading, lines in summary.sections:
        click.echo(f"\n{heading}")
        for line in lines:
            click.echo(f"  {line}")
    click.echo("\n" + "\n".join(summary.board))
    click.echo(f"\ndatabase:        {summary.database}")
    click.echo(f"digests (.eml):  {summary.output / 'outbox'} ({len(summary.eml_files)} files)")
    click.echo(f"previews (.html): {summary.output / 'html'} ({len(summary.html_files)} files)")
    click.echo(f"\nlook around:     CALLTRACKER_DATABASE_URL={shlex.quote(summary.database)} {own_command()} "
               "calls list")
    click.echo(f"done in {summary.seconds:.1f}s")
