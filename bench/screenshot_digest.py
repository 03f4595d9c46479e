"""Render a realistic digest (Italian and English) and screenshot it in headless Chromium at phone width.

    python bench/screenshot_digest.py [OUT_DIR]      (default: ./screenshots)

Not a test: look at the PNGs. Needs the `chromium` binary (Debian package `chromium`).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from calltracker import migrate  # noqa: E402
from calltracker.bootstrap import App  # noqa: E402
from calltracker.config import parse_settings  # noqa: E402
from calltracker.delivery import preview_digest  # noqa: E402
from calltracker.domain import Deadline, Status  # noqa: E402
from calltracker.storage import Store, make_engine  # noqa: E402
from tests.digest_support import add_member, fixture_records, scraped, store_fixture_calls  # noqa: E402

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def build_app(folder: Path) -> App:
    url = f"sqlite:///{folder / 'shot.sqlite3'}"
    settings = parse_settings({"data_dir": str(folder), "database": {"url": url},
                               "web": {"base_url": "https://bandi.example.org", "signing_key": "s" * 32}},
                              environ={})
    engine = make_engine(url)
    migrate.upgrade(engine, url)
    store = Store(engine)
    store.ensure_default_clusters()
    return App(settings=settings, store=store, clock=lambda: NOW)


def main() -> None:
    out = Path(sys.argv[1] if len(sys.argv) > 1 else "screenshots")
    out.mkdir(parents=True, exist_ok=True)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    with tempfile.TemporaryDirectory() as tmp:
        app = build_app(Path(tmp))
        records = fixture_records()
        earlier = NOW - timedelta(days=10)
        # One call known before the last digest, then moved (deadline and status); the others are new.
        moved = next(r for r in records if r["external_id"].startswith("HORIZON-CL5"))
        bxl = scraped(moved).deadlines[0].at.tzinfo
        store_fixture_calls(app.store, earlier, [moved])
        store_fixture_calls(app.store, NOW - timedelta(days=3), [r for r in records if r is not moved])
        app.store.save_calls("eu_ft", [scraped(moved, status=Status.OPEN, deadlines=(
            Deadline(datetime(2027, 5, 6, 17, 0, tzinfo=bxl)),))], run_id=None, now=NOW - timedelta(days=2))
        for lang, email, name in (("it", "giulia.rossi@example.it", "Giulia Rossi"),
                                  ("en", "j.smith@example.com", "John Smith")):
            add_member(app.store, email, language=lang, name=name, region="piemonte", now=earlier)
        # Pretend both had a digest a week ago, so the sections split into new, changed and closing soon.
        for member in app.store.members():
            from calltracker.storage import NewDelivery

            app.store.add_deliveries([NewDelivery(member.id, "digest", "2026-W47", "old", f"<old.{member.id}@x>",
                                                  {})], NOW - timedelta(days=7))
            from calltracker.storage import DeliveryRow  # noqa: F401 - direct status fix for the demo

            with app.store.engine.begin() as conn:
                from sqlalchemy import update

                conn.execute(update(DeliveryRow).where(DeliveryRow.member_id == member.id)
                             .values(status="sent", sent_at=NOW - timedelta(days=7)))
        for email in ("giulia.rossi@example.it", "j.smith@example.com"):
            preview = preview_digest(app, email)
            lang = preview.member.language
            html_path = out / f"digest_{lang}.html"
            html_path.write_text(preview.rendered.html, encoding="utf-8")
            (out / f"digest_{lang}.txt").write_text(preview.rendered.text, encoding="utf-8")
            print(f"{lang}: {preview.rendered.subject!r} -> {html_path}")
            if chromium:
                png = out / f"digest_{lang}.png"
                subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                                f"--screenshot={png}", "--window-size=420,2400", html_path.resolve().as_uri()],
                               check=True, capture_output=True, timeout=120)
                print(f"    screenshot {png}")
        app.close()
    if not chromium:
        print("chromium not found: HTML written, no screenshots")


if __name__ == "__main__":
    main()
