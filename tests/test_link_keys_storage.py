"""Link keys as stored (issue #14): looked up by digest, matched by text; migration 0010 carries them over,
0011 writes title keys per deadline day instead of per region and day."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import text

from calltracker import migrate
from calltracker.domain import Deadline, Region, ScrapedCall
from calltracker.linking import key_hash, link_keys
from calltracker.storage import Store, make_engine
from calltracker.storage.bounds import LINK_KEY_LEN, distinct_cut

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
ROME = ZoneInfo("Europe/Rome")


def _filse() -> ScrapedCall:
    return ScrapedCall(source="liguria", external_id="filse-123", title="Bando Innovazione PMI liguri 2027",
                       url="https://www.filse.it/bandi/innovazione-pmi-2027", regions=(Region.LIGURIA,),
                       deadlines=(Deadline(datetime(2027, 3, 31, 12, tzinfo=ROME)),))


def _catalogue() -> ScrapedCall:
    return ScrapedCall(source="incentivi", external_id="inc-9", title="Bando innovazione PMI liguri 2027",
                       url="https://www.incentivi.gov.it/it/catalogo/bando-innovazione-pmi-liguri",
                       regions=(Region.LIGURIA,), raw={"link": "https://filse.it/bandi/innovazione-pmi-2027/"},
                       deadlines=(Deadline(datetime(2027, 3, 31, 12, tzinfo=ROME)),))


def _per_region(keys: set[str], regions: tuple[Region, ...]) -> set[str]:
    """The keys as stored before 0011: a title key per region and deadline day."""
    out = {k for k in keys if not k.startswith("title:")}
    for key in keys - out:
        title, day = key.rsplit("|", 1)
        out.update(f"{title}|{region.value}|{day}" for region in regions)
    return out


def _stored_keys(store: Store) -> set[tuple[int, int, str]]:
    with store.engine.connect() as conn:
        return {(r[0], r[1], r[2]) for r in conn.execute(text("SELECT key_hash, call_id, key FROM call_link_keys"))}


def test_every_key_is_stored_with_its_digest(store: Store) -> None:
    (call_id,) = store.save_calls("liguria", [_filse()], run_id=None, now=NOW).new_ids
    assert _stored_keys(store) == {(key_hash(k), call_id, k) for k in link_keys(_filse())}


def test_a_key_with_the_same_digest_but_other_text_never_links(store: Store) -> None:
    """A digest collision stands in for a row whose digest matches one of the new call's keys: not a match."""
    (unrelated,) = store.save_calls("eu_ft", [ScrapedCall(
        source="eu_ft", external_id="X-1", title="Something else entirely", url="https://example.org/x")],
        run_id=None, now=NOW).new_ids
    some_key = sorted(link_keys(_filse()))[0]
    with store.engine.begin() as conn:
        conn.execute(text("INSERT INTO call_link_keys (key_hash, call_id, key) VALUES (:h, :i, :k)"),
                     {"h": key_hash(some_key), "i": unrelated, "k": "not:" + some_key})
    (call_id,) = store.save_calls("liguria", [_filse()], run_id=None, now=NOW).new_ids
    assert store.get_call(call_id).canonical_id is None


def test_migration_0010_carries_existing_keys_over_and_they_still_link(db_url: str) -> None:
    from alembic import command

    engine = make_engine(db_url)
    cfg = migrate.alembic_config(db_url)

    def migrate_to(revision: str) -> None:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, revision)

    migrate_to("0005_quarantine")  # the text-keyed table of 0002
    store = Store(engine)
    with engine.begin() as conn:  # a call saved before 0010, with its keys as they were stored then
        conn.execute(text("INSERT INTO sources (name, type, created_at) VALUES ('liguria', 'coded', :now)"),
                     {"now": NOW.replace(tzinfo=None)})
        conn.execute(text(
            "INSERT INTO calls (source, external_id, title, url, status, content_hash, first_seen_at, "
            "last_seen_at, last_changed_at, regions, raw) VALUES ('liguria', 'filse-123', 'Bando', "
            "'https://www.filse.it/bandi/innovazione-pmi-2027', 'open', 'x', :now, :now, :now, '[]', '{}')"),
            {"now": NOW.replace(tzinfo=None)})
        old_id = conn.execute(text("SELECT id FROM calls")).scalar_one()
        for key in _per_region(link_keys(_filse()), _filse().regions):
            conn.execute(text("INSERT INTO call_link_keys (key, call_id) VALUES (:k, :i)"), {"k": key, "i": old_id})
    migrate_to("0010_link_key_hash")
    assert _stored_keys(store) == {(key_hash(k), old_id, k) for k in _per_region(link_keys(_filse()),
                                                                                   _filse().regions)}
    migrate_to("head")
    assert _stored_keys(store) == {(key_hash(k), old_id, k) for k in link_keys(_filse())}
    (second,) = store.save_calls("incentivi", [_catalogue()], run_id=None, now=NOW).new_ids
    assert store.get_call(second).canonical_id == old_id
    with engine.begin() as conn:  # and back down: the text-keyed rows again
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0005_quarantine")
    with engine.connect() as conn:
        back = {(r[0], r[1]) for r in conn.execute(text("SELECT key, call_id FROM call_link_keys"))}
    # (down from 0011, title keys are rebuilt per region from the calls' regions: the old row has none)
    assert back == ({(k, old_id) for k in link_keys(_filse()) if not k.startswith("title:")}
                    | {(k, second) for k in _per_region(link_keys(_catalogue()), _catalogue().regions)})
    store.close()
    engine.dispose()


def test_a_title_and_deadline_day_link_calls_only_when_they_share_a_region(store: Store) -> None:
    (filse,) = store.save_calls("liguria", [_filse()], run_id=None, now=NOW).new_ids
    elsewhere = ScrapedCall(source="incentivi", external_id="inc-1", title=_filse().title,
                            url="https://www.incentivi.gov.it/it/catalogo/inc-1", regions=(Region.LOMBARDIA,),
                            deadlines=_filse().deadlines)
    shared = replace(elsewhere, external_id="inc-2", url="https://www.incentivi.gov.it/it/catalogo/inc-2",
                     regions=(Region.PIEMONTE, Region.LIGURIA))
    first, second = store.save_calls("incentivi", [elsewhere, shared], run_id=None, now=NOW).new_ids
    assert store.get_call(first).canonical_id is None
    assert store.get_call(second).canonical_id == filse


def test_migration_0011_writes_title_keys_per_day_and_back_per_region(db_url: str) -> None:
    from alembic import command

    engine = make_engine(db_url)
    cfg = migrate.alembic_config(db_url)

    def migrate_to(revision: str, down: bool = False) -> None:
        with engine.begin() as conn:
            cfg.attributes["connection"] = conn
            (command.downgrade if down else command.upgrade)(cfg, revision)

    migrate_to("head")
    store = Store(engine)
    regions = (Region.LIGURIA, Region.PIEMONTE)
    # (the first day is the 1st in Rome but the 31st in UTC: a rebuilt key takes the day in the call's zone)
    deadlines = (Deadline(datetime(2027, 4, 1, 0, 30, tzinfo=ROME)), Deadline(datetime(2027, 6, 1, tzinfo=ROME)))
    short = replace(_filse(), regions=regions, deadlines=deadlines)
    long = replace(short, external_id="filse-long", url="https://www.filse.it/bandi/long",
                   title="Bando " + "per l'innovazione delle imprese liguri " * 20)  # keys cut to 512 characters
    ids = dict(zip(("short", "long"), store.save_calls("liguria", [short, long], run_id=None, now=NOW).new_ids,
                   strict=True))

    def expected(per_region: bool) -> set[tuple[int, int, str]]:
        out = set()
        for name, call in (("short", short), ("long", long)):
            keys = _per_region(link_keys(call), regions) if per_region else link_keys(call)
            out.update((key_hash(k), ids[name], k) for k in (distinct_cut(k, LINK_KEY_LEN) for k in keys))
        return out

    assert _stored_keys(store) == expected(per_region=False)
    assert any(len(k) == LINK_KEY_LEN and "#" in k for _, _, k in _stored_keys(store))
    migrate_to("0010_link_key_hash", down=True)
    assert _stored_keys(store) == expected(per_region=True)
    migrate_to("head")
    assert _stored_keys(store) == expected(per_region=False)
    other = ScrapedCall(source="incentivi", external_id="inc-long", title=long.title.upper(),
                        url="https://www.incentivi.gov.it/it/catalogo/long", regions=(Region.PIEMONTE,),
                        deadlines=(Deadline(datetime(2027, 6, 1, 9, tzinfo=ROME)),))
    (linked,) = store.save_calls("incentivi", [other], run_id=None, now=NOW).new_ids
    assert store.get_call(linked).canonical_id == ids["long"]
    store.close()
    engine.dispose()
