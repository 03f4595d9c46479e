"""`calltracker partners`, `calltracker interest ...` and `calltracker staff ...`: the consortium builder."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from calltracker.cli.context import state
from calltracker.cli.output import emit_json, emit_table, json_option
from calltracker.consortium import REGIONS, SORTS, BoardRow, fits_joint_bid, interest_counts, partners
from calltracker.errors import InputError


@click.command("partners")
@click.argument("call_ref", metavar="CALL")
@click.option("--member", "member_ref", metavar="EMAIL",
              help="Suggest partners for this member: members of the other regions only.")
@json_option
def partners_command(call_ref: str, member_ref: str | None, as_json: bool) -> None:
    """Members who could bid on a joint-bid CALL with others: opted in (share_profile), themes matching,
    region eligible. Addresses are shown only for members who agreed to show them."""
    store = state().app.store
    call = store.get_call(call_ref)
    region = None
    if member_ref:
        member = store.member(member_ref)
        region = store.member_region(member.id)
    found = partners(call, store.partner_candidates(), interested_ids=[i.member.id for i in store.interests(call.id)],
                     for_region=region)
    if as_json:
        emit_json({"call_id": call.id, "title": call.title, "joint_bid": fits_joint_bid(call),
                   "partners": [p.to_json() for p in found]})
        return
    if not fits_joint_bid(call):
        click.echo(f"call {call.id} is not fit for a joint tri-regional bid: no partners suggested")
        return
    emit_table(["region", "cluster", "organisation", "name", "themes", "email", "interested"],
               [[p.region, p.cluster, p.organisation, p.name, p.themes, p.email or "(not shared)", p.interested]
                for p in found], widths={"organisation": 40, "themes": 50},
               empty="(no member of the other regions has agreed to be suggested)")


@click.group()
def interest() -> None:
    """Members' interest in joint bids: the board, introductions and the weekly staff email."""


@interest.command("list")
@click.option("--call", "call_ref", metavar="ID", help="Only this call: who is interested.")
@click.option("--sort", type=click.Choice(SORTS), default="deadline", show_default=True,
              help="Order of the board's calls.")
@json_option
def interest_list(call_ref: str | None, sort: str, as_json: bool) -> None:
    """The calls x regions board of interest, or the members interested in one call."""
    app = state().app
    if call_ref:
        call = app.store.get_call(call_ref)
        found = app.store.interests(call.id)
        counts = interest_counts(found)
        if as_json:
            emit_json({"call_id": call.id, "title": call.title, "regions": counts.by_region,
                       "clusters": counts.by_cluster, "interests": [i.to_json() for i in found]})
            return
        click.echo(f"[{call.id}] {call.title}")
        emit_table(["region", "cluster", "organisation", "email", "since"],
                   [[i.region, i.member.cluster, i.member.organisation, i.member.email, i.at.date()] for i in found],
                   widths={"organisation": 40})
        return
    from calltracker.introductions import staff_board

    rows = staff_board(app, sort)
    if as_json:
        emit_json([r.to_json() for r in rows])
        return
    emit_board(rows)


def emit_board(rows: Sequence[BoardRow], title_width: int = 60) -> None:
    """The board as a table: call, next deadline, one column per region, total."""
    emit_table(["call", "title", "deadline", *REGIONS, "total"],
               [[r.call_id, r.title, r.deadline.date() if r.deadline else "", *(r.counts.by_region[k] for k in REGIONS),
                 r.counts.total] for r in rows], widths={"title": title_width}, empty="(no interest yet)")


@interest.command("introduce")
@json_option
def interest_introduce(as_json: bool) -> None:
    """Queue the introductions that are due (interest from two regions or more) and send what is pending.

    Each member is introduced once per call and group of regions, however often this runs.
    """
    from calltracker.introductions import send_introductions

    report = send_introductions(state().app)
    if as_json:
        emit_json(report.to_json())
    else:
        click.echo(report.line())
        for error in report.errors:
            click.echo(f"  {error}", err=True)
    if report.deferred or report.failed:
        raise SystemExit(1)


@interest.command("report")
@click.option("--send", "do_send", is_flag=True, help="Send it to staff (once per week) instead of printing it.")
@click.option("--period", help="ISO week, YYYY-Www (default: the current one).")
def interest_report(do_send: bool, period: str | None) -> None:
    """The weekly staff email: calls with interest from two or three regions and their deadlines."""
    from calltracker.bootstrap import build_mail_transport
    from calltracker.delivery import parse_period
    from calltracker.introductions import build_staff_report, send_staff_report

    app = state().app
    period = parse_period(period) if period else None
    if not do_send:
        report = build_staff_report(app, period)
        if report.message is None:
            click.echo(f"{report.period}: nothing to report ({len(report.rows)} calls, "
                       f"{len(report.recipients)} staff addresses)")
            return
        click.echo(f"To: {report.message['To']}\nSubject: {report.message['Subject']}\n")
        click.echo(report.message.get_content(), nl=False)
        return
    with build_mail_transport(app.settings) as tx:
        sent = send_staff_report(app, tx, period)
    click.echo(f"{sent.period}: " + (f"sent to {len(sent.recipients)} addresses ({len(sent.rows)} calls)"
                                     if sent.message else "nothing sent (nothing to report, or already sent)"))


@click.group()
def staff() -> None:
    """Staff accounts for the web board (/staff)."""


@staff.command("add")
@click.argument("email")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (one line).")
def staff_add(email: str, password_stdin: bool) -> None:
    """Create a staff account, or set a new password (signing it out everywhere). The password is
    prompted for, or read from stdin; it is stored as an argon2 hash."""
    from calltracker.staff_auth import hash_password

    app = state().app
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if not password:
        raise InputError("empty password")
    created = app.store.save_staff_account(email, hash_password(password), app.clock())
    click.echo(f"staff account {email.strip().lower()} {'created' if created else 'updated'}")


