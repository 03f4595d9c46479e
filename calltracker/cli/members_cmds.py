"""`calltracker members ...`: import and list cluster members."""

from __future__ import annotations

from pathlib import Path

import click

from calltracker.cli.context import known_cluster, state
from calltracker.cli.output import emit_json, emit_table, json_option
from calltracker.errors import InputError
from calltracker.members_csv import read_members_file


@click.group()
def members() -> None:
    """Import and list the clusters' members."""


@members.command("import")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--cluster", required=True, callback=known_cluster,
              help="Cluster to import into: LAC, DAP or LIG (any case).")
@click.option("--dry-run", is_flag=True, help="Check the file and report, without saving anything.")
@json_option
def members_import(file: Path, cluster: str, dry_run: bool, as_json: bool) -> None:
    """Import or update members from a CSV with columns email, name, organisation, region, language, themes
    (or in Italian: email, nome, organizzazione, regione, lingua, temi; other columns are ignored).

    Several themes are separated by ';'. The file may be UTF-8 (with or without BOM) or Windows-1252.
    Valid rows are imported in one transaction; every invalid row is reported with its line number, and
    the exit status is 1 when any row was rejected.
    """
    app = state().app
    target = app.store.cluster(cluster)  # unknown clusters fail before the file is read
    try:
        data = file.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot read {file}: {exc.strerror}") from None
    found = read_members_file(data)
    good, bad = found.good, found.bad
    if found.encoding != "utf-8":
        click.echo(f"{file}: read as {found.encoding}", err=True)
    if found.ignored_columns:
        click.echo(f"{file}: ignored column(s): {', '.join(found.ignored_columns)}", err=True)
    created = updated = unchanged = 0
    if not dry_run:
        created, updated, unchanged = app.store.import_members(target.code, [m for _, m in good], app.clock())
    if as_json:
        emit_json({"cluster": target.code, "file": str(file), "encoding": found.encoding,
                   "ignored_columns": list(found.ignored_columns), "dry_run": dry_run, "valid": len(good),
                   "created": created, "updated": updated, "unchanged": unchanged,
                   "rejected": [{"line": p.line, "message": p.message} for p in bad]})
    else:
        for problem in bad:
            click.echo(f"{file}:{problem.line}: rejected: {problem.message}", err=True)
        if dry_run:
            click.echo(f"{len(good)} valid rows, {len(bad)} rejected (dry run: nothing saved)")
        else:
            click.echo(f"{target.code}: {created} created, {updated} updated, {unchanged} unchanged, "
                       f"{len(bad)} rejected")
    if bad:
        raise SystemExit(1)


@members.command("list")
@json_option
@click.option("--cluster", callback=known_cluster, help="Only members of this cluster.")
def members_list(as_json: bool, cluster: str | None) -> None:
    """List members with their cluster, region, language and themes."""
    found = state().app.store.members(cluster)
    if as_json:
        emit_json([m.to_json() for m in found])
        return
    emit_table(["cluster", "email", "name", "organisation", "region", "lang", "themes", "receiving"],
               [[m.cluster, m.email, m.name, m.organisation, m.region, m.language, m.themes, m.receives_mail]
                for m in found], widths={"organisation": 30, "themes": 50}, empty="no members")
