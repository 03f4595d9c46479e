"""Pure: the consortium builder's read models and rules: interest counts, the staff board, partner
suggestions and introduction groups. Stdlib only; storage hands the views in.

A call "fits a joint bid" when the classifier found it open to a tri-regional consortium. Partners are
members of the *other* regions whose themes match the call, whose region may apply, and who agreed to be
suggested (`share_profile`); their address is shown only when they also agreed to that (`share_contact`).
Introductions go to members of a call once interest spans at least two of the three regions, once per
call and group of regions.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from calltracker.views import CallView, MemberView

REGIONS = ("lombardia", "piemonte", "liguria")
CLUSTERS = ("LAC", "DAP", "LIG")
#: Interest from this many regions makes a call worth an introduction (and a line in the staff email).
INTRO_MIN_REGIONS = 2


@dataclass(frozen=True, slots=True)
class InterestView:
    """One member's interest in one call. `region` is the member's, else their cluster's."""

    call_id: int
    member: MemberView
    region: str | None
    at: datetime

    def to_json(self) -> dict[str, Any]:
        return {"call_id": self.call_id, "member_id": self.member.id, "cluster": self.member.cluster,
                "organisation": self.member.organisation, "region": self.region, "at": self.at.isoformat()}


@dataclass(frozen=True, slots=True)
class InterestCounts:
    """How many members of each region and cluster are interested in one call."""

    by_region: dict[str, int] = field(default_factory=dict)
    by_cluster: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_cluster.values())

    @property
    def regions(self) -> tuple[str, ...]:
        return tuple(r for r in REGIONS if self.by_region.get(r))


def interest_counts(interests: Iterable[InterestView]) -> InterestCounts:
    by_region = dict.fromkeys(REGIONS, 0)
    by_cluster = dict.fromkeys(CLUSTERS, 0)
    for i in interests:
        if i.region in by_region:
            by_region[i.region] += 1
        by_cluster[i.member.cluster] = by_cluster.get(i.member.cluster, 0) + 1
    return InterestCounts(by_region, by_cluster)


def fits_joint_bid(call: CallView) -> bool:
    c = call.classification
    return c is not None and c.tri_regional_fit


def next_deadline(call: CallView, now: datetime) -> datetime | None:
    """When the call's next deadline falls, by the one closing rule (a date alone lasts all of its day)."""
    found = call.next_deadline(now)
    return found.at if found else None


@dataclass(frozen=True, slots=True)
class BoardRow:
    call_id: int
    title: str
    deadline: datetime | None
    status: str
    counts: InterestCounts

    def to_json(self) -> dict[str, Any]:
        return {"call_id": self.call_id, "title": self.title, "status": self.status,
                "deadline": self.deadline.isoformat() if self.deadline else None,
                "regions": self.counts.by_region, "clusters": self.counts.by_cluster, "total": self.counts.total}


SORTS = ("deadline", "-deadline", "interest")


def board(calls: Sequence[CallView], interests: Sequence[InterestView], now: datetime,
          sort: str = "deadline") -> list[BoardRow]:
    """The calls x regions matrix of interest: one row per call that has any interest.

    Sorted by next deadline (soonest first; calls without one last), latest first with "-deadline", or by
    how many regions and members are interested.
    """
    by_call: dict[int, list[InterestView]] = {}
    for i in interests:
        by_call.setdefault(i.call_id, []).append(i)
    rows = [BoardRow(c.id, c.title, next_deadline(c, now), c.status, interest_counts(by_call[c.id]))
            for c in calls if c.id in by_call]
    never = datetime.max.replace(tzinfo=UTC)
    if sort == "interest":
        rows.sort(key=lambda r: (-len(r.counts.regions), -r.counts.total, r.deadline or never, r.call_id))
    elif sort == "-deadline":
        rows.sort(key=lambda r: (r.deadline is None, -(r.deadline.timestamp() if r.deadline else 0), r.call_id))
    else:
        rows.sort(key=lambda r: (r.deadline or never, r.call_id))
    return rows


# --- partners ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Partner:
    """A member suggested as a partner: what they agreed to show. `email` is None unless they agreed."""

    member_id: int
    cluster: str
    region: str
    name: str
    organisation: str
    themes: tuple[str, ...]
    email: str | None
    interested: bool

    def to_json(self) -> dict[str, Any]:
        return {"member_id": self.member_id, "cluster": self.cluster, "region": self.region, "name": self.name,
                "organisation": self.organisation, "themes": list(self.themes), "email": self.email,
                "interested": self.interested}


def themes_match(member: MemberView, call: CallView) -> bool:
    """The member follows one of the call's themes (a member with no themes follows them all)."""
    c = call.classification
    if c is None or not c.themes:
        return False
    return not member.themes or bool(set(member.themes) & set(c.themes))


def partners(call: CallView, candidates: Sequence[tuple[MemberView, str | None]], *,
             interested_ids: Iterable[int] = (), for_region: str | None = None) -> list[Partner]:
    """Members who could bid on `call` with others: opted in, active, themes matching, region eligible.

    `candidates` are (member, region) pairs; with `for_region` only members of the other regions are
    suggested. Members already interested in the call come first.
    """
    if not fits_joint_bid(call) or call.classification is None:
        return []
    eligible = call.classification.eligible
    interested = set(interested_ids)
    out: list[Partner] = []
    for member, region in candidates:
        if not member.share_profile or not member.active or region is None or region == for_region:
            continue
        if not eligible.get(region, False) or not themes_match(member, call):
            continue
        out.append(Partner(member.id, member.cluster, region, member.name, member.organisation, member.themes,
                           member.email if member.share_contact else None, member.id in interested))
    out.sort(key=lambda p: (not p.interested, REGIONS.index(p.region), p.organisation.lower(), p.member_id))
    return out


# --- introductions ------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Introduction:
    """One introduction email: to `recipient`, about `call_id`, naming the `others` who agreed."""

    call_id: int
    recipient: MemberView
    group: tuple[str, ...]
    others: tuple[Partner, ...]
    #: Interested members who did not agree to be named, by region.
    unnamed: dict[str, int]

    @property
    def period_key(self) -> str:
        """Unique per call and group of regions: a member is introduced once per group, never twice."""
        return f"{self.call_id}:{'+'.join(self.group)}"


def introductions(call_id: int, interests: Sequence[InterestView]) -> list[Introduction]:
    """The introductions due for one call: none until members of two regions are interested."""
    regions = tuple(r for r in REGIONS if any(i.region == r for i in interests))
    if len(regions) < INTRO_MIN_REGIONS:
        return []
    out = []
    for i in interests:
        others = tuple(
            Partner(o.member.id, o.member.cluster, o.region or "", o.member.name, o.member.organisation,
                    o.member.themes, o.member.email if o.member.share_contact else None, True)
            for o in interests if o.member.id != i.member.id and o.member.share_profile)
        unnamed: dict[str, int] = {}
        for o in interests:
            if o.member.id != i.member.id and not o.member.share_profile and o.region:
                unnamed[o.region] = unnamed.get(o.region, 0) + 1
        out.append(Introduction(call_id, i.member, regions, others, unnamed))
    return out
