"""`calltracker serve` for real: a subprocess on a free 127.0.0.1 port, spoken to over HTTP like a mail provider."""

from __future__ import annotations

import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import httpx

from calltracker.bootstrap import signing_key
from calltracker.config import load_settings
from calltracker.storage import MemberInput, Store
from calltracker.tokens import make_token
from tests.process_support import serving

ROOT = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_serve_takes_host_and_port_from_config_and_honours_one_click(store: Store, config_file: Path,
                                                                     tmp_path: Path) -> None:
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    config = tmp_path / "serve.toml"
    config.write_text(config_file.read_text(encoding="utf-8")
                      + f'[web]\nbase_url = "{base}"\nhost = "127.0.0.1"\nport = {port}\n', "utf-8")
    key = signing_key(load_settings(config))
    now = datetime.now(UTC)
    store.import_members("LIG", [MemberInput("carla@lig.example", "Carla", "", "liguria", "it", ())], now)
    carla = store.member("carla@lig.example")
    token = make_token(key, "unsubscribe", carla.id, carla.token_version, now)
    log = tmp_path / "serve.log"
    with serving(config, log), httpx.Client(base_url=base, follow_redirects=False) as client:
        assert client.get(f"/u/{token}").status_code == 200
        assert store.member("carla@lig.example").receives_mail
        response = client.post(f"/u/{token}", content=b"List-Unsubscribe=One-Click",
                               headers={"content-type": "application/x-www-form-urlencoded"})
        assert response.status_code == 200 and "set-cookie" not in response.headers
        assert store.member("carla@lig.example").unsubscribed_at is not None
        assert client.post(f"/u/{token[:-1]}x", data={"List-Unsubscribe": "One-Click"}).status_code == 400
    assert f"serving on http://127.0.0.1:{port}" in log.read_text()


def test_serve_is_documented() -> None:
    out = subprocess.run([sys.executable, "-m", "calltracker", "serve", "--help"], capture_output=True, text=True,
                         cwd=ROOT, check=True).stdout
    assert "--host" in out and "--port" in out
