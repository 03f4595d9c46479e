"""`calltracker db ...`: create and upgrade the database."""

from __future__ import annotations

import click

from calltracker.cli.context import state
from calltracker.cli.output import emit_json, json_option


@click.group()
def db() -> None:
    """Create, upgrade and inspect the database."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create the database or upgrade it to the newest schema (run this after installing a new version)."""
    from calltracker import migrate
    from calltracker.bootstrap import describe_database, open_store, utc_now

    settings = state().settings
    store = open_store(settings, check_schema=False)
    try:
        before, after = migrate.upgrade(store.engine, settings.database_url())
        store.ensure_default_clusters()
        store.ensure_sources({name: src.type for name, src in settings.sources.items()},
                             utc_now())
    finally:
        store.close()
    where = describe_database(settings)
    if before == after:
        click.echo(f"database {where} is up to date (revision {after})")
    else:
        click.echo(f"database {where} upgraded from {before or 'empty'} to revision {after}")


@db.command("status")
@json_option
def db_status(as_json: bool) -> None:
    """Show the database in use, where its URL comes from, and its schema revision (creates nothing)."""
    from calltracker import migrate
    from calltracker.bootstrap import describe_database, open_store
    from calltracker.storage import schema_state

    settings = state().settings
    store = open_store(settings, check_schema=False, create=False)
    try:
        revision, _ = schema_state(store.engine)
        head = migrate.head_revision(settings.database_url())
    finally:
        store.close()
    data = {"database": describe_database(settings), "config": settings.origin,
            "default_database": settings.default_database, "revision": revision, "newest": head,
            "up_to_date": revision == head}
    if as_json:
        emit_json(data)
        return
    click.echo(f"database: {data['database']} (config: {settings.origin})")
    click.echo(f"revision: {revision or 'none (empty database)'}; newest: {head}")
