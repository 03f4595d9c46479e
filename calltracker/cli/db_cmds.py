"""`calltracker db ...`: create and upgrade the database."""

from __future__ import annotations

import click

from calltracker import migrate
from calltracker.bootstrap import open_store, utc_now
from calltracker.cli.context import state
from calltracker.storage import schema_state


@click.group()
def db() -> None:
    """Create, upgrade and inspect the database."""


@db.command("upgrade")
def db_upgrade() -> None:
    """Create the database or upgrade it to the newest schema (run this first after an upgrade)."""
    settings = state().settings
    store = open_store(settings, check_schema=False)
    try:
        before, after = migrate.upgrade(store.engine, settings.database_url())
        store.ensure_default_clusters()
        store.ensure_sources({name: src.type for name, src in settings.sources.items()},
                             utc_now())
    finally:
        store.close()
    where = store.engine.url.render_as_string(hide_password=True)
    if before == after:
        click.echo(f"database {where} is up to date (revision {after})")
    else:
        click.echo(f"database {where} upgraded from {before or 'empty'} to revision {after}")


@db.command("status")
def db_status() -> None:
    """Show the database URL and its schema revision."""
    settings = state().settings
    store = open_store(settings, check_schema=False)
    try:
        revision, _ = schema_state(store.engine)
        head = migrate.head_revision(settings.database_url())
    finally:
        store.close()
    click.echo(f"database: {store.engine.url.render_as_string(hide_password=True)}")
    click.echo(f"revision: {revision or 'none (empty database)'}; newest: {head}")
