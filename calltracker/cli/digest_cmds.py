"""`calltracker digest ...` and `calltracker alerts ...`: preview and send member emails."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from calltracker.cli.context import known_cluster, print_summaries_once, state
from calltracker.cli.output import emit_json, json_option
from calltracker.errors import InputError

if TYPE_CHECKING:
    from calltracker.delivery import DeliveryReport


def _period(_ctx: click.Context, _param: click.Parameter, value: str | None) -> str | None:
    """A malformed --period is a usage error (exit 2), caught before anything is read or sent."""
    if value is None:
        return None
    from calltracker.delivery import parse_period

    try:
        return parse_period(value)
    except InputError as exc:
        raise click.BadParameter(str(exc).removeprefix("period: ")) from None


@click.group()
def digest() -> None:
    """Weekly digests: preview one, or send this week's."""


@digest.command("preview")
@click.option("--member", "member_ref", required=True, metavar="EMAIL",
              help="The member (email, id, or CLUSTER:email when in several clusters).")
@click.option("--html", "html_file", type=click.Path(dir_okay=False, path_type=Path),
              help="Write the HTML part to this file.")
@click.option("--text", "show_text", is_flag=True, help="Print the plain-text part.")
@click.option("--period", callback=_period, help="ISO week shown in the digest (default: the current one).")
def digest_preview(member_ref: str, html_file: Path | None, show_text: bool, period: str | None) -> None:
    """Render a member's digest as it would go out now, without sending or recording anything."""
    from calltracker.delivery import preview_digest

    preview = preview_digest(state().app, member_ref, period=period)
    c = preview.content
    click.echo(f"To: {preview.member.email} ({preview.member.language})")
    click.echo(f"Subject: {preview.rendered.subject}")
    click.echo(f"Sections: joint {len(c.joint)}, other {len(c.other)}, closing soon {len(c.closing)}, "
               f"changed {len(c.changed)}; {c.news} new or changed")
    if not c.news:
        click.echo("Nothing new: no digest would be sent (unless digest.nothing_new_note is on).")
    if html_file is not None:
        html_file.write_text(preview.rendered.html, encoding="utf-8")
        click.echo(f"HTML written to {html_file}")
    if show_text:
        click.echo("")
        click.echo(preview.rendered.text, nl=False)


def _print_report(report: DeliveryReport, as_json: bool) -> None:
    if as_json:
        emit_json(report.to_json())
        return
    if report.dry_run:
        for email, subject in report.planned:
            click.echo(f"would send to {email}: {subject}")
    click.echo(report.line())
    for error in report.errors:
        click.echo(f"  {error}", err=True)


@digest.command("send")
@click.option("--cluster", callback=known_cluster, help="Only members of this cluster (LAC, DAP, LIG).")
@click.option("--period", callback=_period, help="ISO week, YYYY-Www (default: the current week in Europe/Rome).")
@click.option("--dry-run", is_flag=True, help="Show who would get what; write and send nothing.")
@json_option
def digest_send(cluster: str | None, period: str | None, dry_run: bool, as_json: bool) -> None:
    """Prepare and send the period's digests; a second run for the same period sends nothing.

    Exit status 1 when the mail server was unavailable or a delivery failed for good.
    """
    from calltracker.bootstrap import build_mail_transport
    from calltracker.delivery import send_digests

    state().settings  # noqa: B018 - logging is set up, so the summary filter has a handler to go on
    print_summaries_once()
    app = state().app
    report = send_digests(app, period=period, cluster=cluster, dry_run=dry_run,
                          transport=None if dry_run else build_mail_transport(app.settings))
    _print_report(report, as_json)
    if report.deferred or report.failed:
        raise SystemExit(1)


@click.group()
def alerts() -> None:
    """Deadline reminders at the configured lead times (digest.alert_lead_days)."""


@alerts.command("send")
@click.option("--dry-run", is_flag=True, help="Show which reminders are due; write and send nothing.")
@json_option
def alerts_send(dry_run: bool, as_json: bool) -> None:
    """Send today's deadline reminders; each reminder goes out once."""
    from calltracker.bootstrap import build_mail_transport
    from calltracker.delivery import send_alerts

    state().settings  # noqa: B018 - logging is set up, so the summary filter has a handler to go on
    print_summaries_once()
    app = state().app
    report = send_alerts(app, dry_run=dry_run, transport=None if dry_run else build_mail_transport(app.settings))
    _print_report(report, as_json)
    if report.deferred or report.failed:
        raise SystemExit(1)
