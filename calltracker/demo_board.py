"""The demo's consortium step: example members click "Mi interessa" on joint-bid calls of their digests,
introductions are queued, and a small board of interest is printed (calls x regions)."""

from __future__ import annotations

from calltracker.bootstrap import App
from calltracker.consortium import REGIONS, BoardRow
from calltracker.introductions import INTRO_KIND, queue_introductions, staff_board
from calltracker.storage import CallFilter

#: How many joint-bid calls the example members declare interest in.
DEMO_CALLS = 3


def demo_interest(app: App) -> list[str]:
    """Record the example interest and queue its introductions; the lines of a small board to print.

    Each member is interested in the joint-bid calls their digest carried (the demo's members "click" the
    first DEMO_CALLS calls that reached members of most regions).
    """
    store, now = app.store, app.clock()
    members = {m.id: m for m in store.members()}
    regions = {m.id: store.member_region(m.id) for m in members.values()}
    readers: dict[int, set[int]] = {}
    for d in store.deliveries("digest"):
        for call_id in d.payload.get("calls", []):
            readers.setdefault(int(call_id), set()).add(d.member_id)
    joint = {c.id for c in store.find_calls(CallFilter(ids=tuple(sorted(readers))), now=now) if c.classification
             and c.classification.tri_regional_fit} if readers else set()
    chosen = sorted(joint, key=lambda cid: (-len({regions[m] for m in readers[cid]}), -len(readers[cid]), cid))
    for call_id in chosen[:DEMO_CALLS]:
        for member_id in sorted(readers[call_id]):
            store.add_interest(member_id, members[member_id].token_version, call_id, now)
        queue_introductions(app, call_id)
    rows = staff_board(app)
    queued = len(store.deliveries(INTRO_KIND))
    return [*board_lines(rows), f"{queued} introductions queued (sent by `calltracker interest introduce`)"]


def board_lines(rows: list[BoardRow], width: int = 56) -> list[str]:
    """The board as plain lines: call, next deadline, members interested per region."""
    head = f"{'call':>5}  {'title':<{width}}  {'deadline':<10}  " + "  ".join(f"{r[:4]:>4}" for r in REGIONS)
    out = ["interest board (calls x regions):", head]
    for r in rows:
        title = r.title if len(r.title) <= width else r.title[: width - 1] + "…"
        when = r.deadline.date().isoformat() if r.deadline else "—"
        out.append(f"{r.call_id:>5}  {title:<{width}}  {when:<10}  "
                   + "  ".join(f"{r.counts.by_region[k]:>4}" for k in REGIONS))
    if not rows:
        out.append("  (no interest)")
    return out
