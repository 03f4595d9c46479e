"""The consortium builder through the real server: `calltracker serve` in a subprocess, spoken to over HTTP.

Interest links (GET asks, POST records), partners on the interest page, introductions queued once, the
sharing preference, and the staff pages (sign-in, cookies, CSRF, rate limit, the board).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from calltracker.bootstrap import signing_key
from calltracker.config import load_settings
from calltracker.introductions import INTRO_KIND
from calltracker.staff_auth import hash_password
from calltracker.storage import MemberInput, Store
from calltracker.tokens import make_token
from tests.digest_support import store_fixture_calls
from tests.process_support import serving
from tests.smtp_sink import free_port

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime.now(UTC)
JOINT = "HORIZON-CL5-2027-03-D5-05"
PASSWORD = "a long staff password"


@dataclass
class Server:
    base: str
    store: Store
    key: str
    joint: int

    def interest(self, email: str, call_id: int | None = None) -> str:
        m = self.store.member(email)
        return f"/i/{make_token(self.key, 'interest', m.id, m.token_version, NOW, subject=call_id or self.joint)}"

    def prefs(self, email: str) -> str:
        m = self.store.member(email)
        return f"/p/{make_token(self.key, 'prefs', m.id, m.token_version, NOW)}"


def _seed(store: Store) -> int:
    ids = store_fixture_calls(store, NOW - timedelta(days=2))
    rows = [("LAC", "alice@lac.example", "lombardia", True, "AeroLomb"),
            ("DAP", "bob@dap.example", "piemonte", True, "SpaceTo"),
            ("DAP", "quiet@dap.example", "piemonte", False, "Quiet Piemonte"),
            ("LIG", "lia@lig.example", "liguria", True, "LigAir")]
    for cluster, email, region, share, org in rows:
        store.import_members(cluster, [MemberInput(email, email.split("@")[0].title(), org, region, "it",
                                                   ("green_aviation",), share_profile=share)], NOW)
    store.update_member(store.member("bob@dap.example").id, NOW, share_contact=True)
    store.save_staff_account("staff@lac.example", hash_password(PASSWORD), NOW)
    return ids[JOINT]


@pytest.fixture
def server(store: Store, config_file: Path, tmp_path: Path) -> Iterator[Server]:
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    config = tmp_path / "web.toml"
    config.write_text(config_file.read_text(encoding="utf-8") + f'[web]\nbase_url = "{base}"\n', "utf-8")
    key = signing_key(load_settings(config))
    joint = _seed(store)
    with serving(config, tmp_path / "serve.log", "--port", str(port)):
        yield Server(base, store, key, joint)


def _csrf(html: str) -> str:
    m = re.search(r'name="csrf" value="([^"]+)"', html)
    assert m, html
    return m.group(1)


def _post_interest(client: httpx.Client, link: str, action: str = "add") -> httpx.Response:
    page = client.get(link)
    assert page.status_code == 200
    return client.post(link, data={"csrf": _csrf(page.text), "action": action})


def test_interest_is_recorded_by_post_only(server: Server) -> None:
    link = server.interest("alice@lac.example")
    with httpx.Client(base_url=server.base, follow_redirects=False) as client:
        page = client.get(link)
        assert page.status_code == 200 and "Mi interessa" in page.text
        assert page.headers["cache-control"] == "no-store"
        assert client.get(link).status_code == 200 and client.head(link).status_code in (200, 405)
        assert server.store.interests() == []  # opening the link (twice) changed nothing
        csrf = _csrf(page.text)
        assert client.post(link, data={"action": "add"}).status_code == 403
        assert client.post(link, data={"csrf": csrf, "action": "add"},
                           headers={"origin": "https://evil.example"}).status_code == 403
        assert server.store.interests() == []
        done = client.post(link, data={"csrf": csrf, "action": "add"})
        assert done.status_code == 303 and done.headers["location"].endswith("?done=added")
        assert [i.member.email for i in server.store.interests(server.joint)] == ["alice@lac.example"]
        assert "Abbiamo registrato il tuo interesse" in client.get(done.headers["location"]).text
        assert _post_interest(client, link, "withdraw").status_code == 303
        assert server.store.interests() == []


def test_a_tampered_or_foreign_token_is_refused(server: Server) -> None:
    link = server.interest("alice@lac.example")
    payload, mac = link[3:].split(".")
    other_call = server.interest("alice@lac.example", server.joint + 1)[3:].split(".")[0]
    with httpx.Client(base_url=server.base, follow_redirects=False) as client:
        for bad in (f"/i/{payload}.{mac[:-2]}xx", f"/i/{other_call}.{mac}", f"/i/{payload}",
                    server.prefs("alice@lac.example").replace("/p/", "/i/")):
            assert client.get(bad).status_code == 400
            assert client.post(bad, data={"action": "add"}).status_code == 400
        missing = server.interest("alice@lac.example", 987_654)
        assert client.get(missing).status_code == 404
    assert server.store.interests() == []


def test_partners_on_the_interest_page_respect_the_opt_in(server: Server) -> None:
    with httpx.Client(base_url=server.base, follow_redirects=True) as client:
        page = _post_interest(client, server.interest("alice@lac.example"))
    assert page.status_code == 200
    partners = page.text[page.text.index('id="partners"'):]
    assert "SpaceTo" in partners and "bob@dap.example" in partners  # agreed to both
    assert "LigAir" in partners and "lia@lig.example" not in partners  # profile only, no address
    assert "Quiet Piemonte" not in page.text and "AeroLomb" not in partners  # never agreed; own region


def test_introductions_are_queued_once_when_two_regions_are_interested(server: Server) -> None:
    with httpx.Client(base_url=server.base, follow_redirects=False) as client:
        _post_interest(client, server.interest("alice@lac.example"))
        assert server.store.deliveries(INTRO_KIND) == []
        _post_interest(client, server.interest("bob@dap.example"))
        _post_interest(client, server.interest("bob@dap.example"))  # again: nothing new
        _post_interest(client, server.interest("quiet@dap.example"))  # same group of regions
        queued = server.store.deliveries(INTRO_KIND)
        assert sorted(d.email for d in queued) == ["alice@lac.example", "bob@dap.example", "quiet@dap.example"]
        assert {d.period_key for d in queued} == {f"{server.joint}:lombardia+piemonte"}
        call = client.get(f"/calls/{server.joint}").text
    counts = call[call.index('id="interest-counts"'):]
    assert re.search(r'data-region="piemonte">2<', counts) and re.search(r'data-region="liguria">0<', counts)
    assert "DAP: 2" in counts and "LAC: 1" in counts


def test_the_sharing_preference_is_saved_from_the_preferences_page(server: Server) -> None:
    link = server.prefs("quiet@dap.example")
    with httpx.Client(base_url=server.base, follow_redirects=False) as client:
        page = client.get(link)
        assert 'id="sharing-form"' in page.text
        assert client.post(f"{link}/sharing", data={"share_profile": "on"}).status_code == 403
        assert not server.store.member("quiet@dap.example").share_profile
        done = client.post(f"{link}/sharing", data={"csrf": _csrf(page.text), "share_profile": "on"})
        assert done.status_code == 303
    quiet = server.store.member("quiet@dap.example")
    assert quiet.share_profile and not quiet.share_contact


def _cookies(response: httpx.Response) -> dict[str, str]:
    """Set-Cookie headers by name (httpx's jar rightly keeps Secure cookies off plain http)."""
    return {h.split("=", 1)[0]: h for h in response.headers.get_list("set-cookie")}


def _login(client: httpx.Client, email: str, password: str, csrf: str | None = None) -> httpx.Response:
    page = client.get("/staff/login")
    cookie = _cookies(page)["ct_staff_login"]
    value = cookie.split(";")[0].split("=", 1)[1]
    return client.post("/staff/login", data={"csrf": value if csrf is None else csrf, "email": email,
                                             "password": password}, headers={"cookie": f"ct_staff_login={value}"})


def test_staff_pages_refuse_anonymous_users_and_sign_in_safely(server: Server) -> None:
    with httpx.Client(base_url=server.base, follow_redirects=False) as client:
        _post_interest(client, server.interest("alice@lac.example"))
        anonymous = client.get("/staff")
        assert anonymous.status_code == 303 and anonymous.headers["location"].endswith("/staff/login")
        assert client.get("/staff", headers={"cookie": "ct_staff=forged"}).status_code == 303
        assert client.post("/staff/logout").status_code == 303
        assert _login(client, "staff@lac.example", PASSWORD, csrf="wrong").status_code == 403
        assert _login(client, "staff@lac.example", "wrong password!").status_code == 401
        good = _login(client, "staff@lac.example", PASSWORD)
        assert good.status_code == 303 and good.headers["location"].endswith("/staff")
        session = _cookies(good)["ct_staff"]
        attributes = {a.strip().lower() for a in session.split(";")[1:]}
        assert {"secure", "httponly", "samesite=strict"} <= attributes
        cookie = {"cookie": session.split(";")[0]}
        board = client.get("/staff", headers=cookie)
        assert board.status_code == 200 and board.headers["cache-control"] == "no-store"
        assert f'data-call="{server.joint}"' in board.text and 'data-region="lombardia">1<' in board.text
        assert client.get("/staff?sort=-deadline", headers=cookie).status_code == 200
        assert client.post("/staff/logout", headers=cookie, data={"csrf": "wrong"}).status_code == 303
        assert client.get("/staff", headers=cookie).status_code == 200  # a forged logout did nothing
        client.post("/staff/logout", headers=cookie, data={"csrf": _csrf(board.text)})
        assert client.get("/staff", headers=cookie).status_code == 303


def test_staff_sign_in_is_rate_limited(server: Server) -> None:
    with httpx.Client(base_url=server.base, follow_redirects=False) as client:
        for _ in range(5):
            assert _login(client, "staff@lac.example", "not the password").status_code == 401
        limited = _login(client, "staff@lac.example", PASSWORD)  # even the right password now waits
        assert limited.status_code == 429 and "ct_staff=" not in limited.headers.get("set-cookie", "")
        assert int(limited.headers["retry-after"]) > 0
