"""The recruitment tree (DESIGN §6): who recruited whom, stored as a materialised path.

`Distributor.path` is "/<root id>/…/<own id>/", so an order's commission chain is the last
ids of one row's path (no recursion), and a leader's team is every row whose path starts
with the leader's: one range scan of the `varchar_pattern_ops` index, which also carries
`sales_fen`, so team totals never touch the table.

Every change of the tree takes one transaction-scoped advisory lock per mall, then reads
the paths again: two concurrent moves (A under B while B goes under A) cannot both pass
the cycle check, because the second one sees the first's committed path.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Count, Sum

from core.actors import Actor
from storefront.distribution.errors import DistributionInvalid, RecruitmentCycle
from storefront.distribution.models import Distributor, RecruitmentChange

# pg_advisory_xact_lock key of the tree: "dist" in ASCII, one lock per schema (the lock is
# per database, so the schema's name is hashed in with it).
_TREE_LOCK = 0x64697374


def lock_tree() -> None:
    """Serialise changes of this mall's tree until the transaction ends."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_advisory_xact_lock(%s, hashtext(current_schema()))", [_TREE_LOCK]
        )


def path_for(distributor_id: int, recruiter: Distributor | None) -> str:
    return f"{recruiter.path if recruiter else '/'}{distributor_id}/"


def place_new(distributor: Distributor, recruiter: Distributor | None) -> None:
    """Give a just-created distributor its place. A new row has no descendants, so it
    cannot close a cycle; the lock only orders it after a concurrent move of its
    recruiter, whose path is read again under it."""
    lock_tree()
    if recruiter is not None:
        recruiter = Distributor.objects.only("id", "path", "depth").get(pk=recruiter.pk)
    distributor.recruiter = recruiter
    distributor.path = path_for(distributor.pk, recruiter)
    distributor.depth = recruiter.depth + 1 if recruiter else 0
    distributor.save(update_fields=["recruiter", "path", "depth"])


def recruiter_change(*, distributor_id: int, recruiter_id: int | None, actor: Actor,
                     reason: str = "") -> Distributor:
    """Move a distributor (and their whole team) under another recruiter, or to the top.
    Refused with a 409 when the new recruiter is the distributor or in their team."""
    with transaction.atomic():
        lock_tree()
        moved = Distributor.objects.select_for_update().get(pk=distributor_id)
        recruiter = None
        if recruiter_id is not None:
            recruiter = Distributor.objects.filter(pk=recruiter_id).first()
            if recruiter is None:
                raise DistributionInvalid(fields={"recruiter": ["No such distributor."]})
            if recruiter.path.startswith(moved.path):
                raise RecruitmentCycle(
                    f"{recruiter.invite_code} is in {moved.invite_code}'s own team: "
                    "that would make a cycle.",
                    fields={"recruiter": ["In the distributor's own team."]},
                )
        if moved.recruiter_id == recruiter_id:
            return moved
        old_path, new_path = moved.path, path_for(moved.pk, recruiter)
        depth_shift = (recruiter.depth + 1 if recruiter else 0) - moved.depth
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {Distributor._meta.db_table} "
                "SET path = %s || substr(path, %s), depth = depth + %s "
                "WHERE path LIKE %s",
                [new_path, len(old_path) + 1, depth_shift, _like_prefix(old_path)],
            )
        RecruitmentChange.objects.create(
            distributor=moved, from_recruiter_id=moved.recruiter_id, to_recruiter=recruiter,
            actor_kind=actor.kind, actor_id=actor.id, reason=(reason or "")[:200],
        )
        Distributor.objects.filter(pk=moved.pk).update(recruiter=recruiter)
        moved.refresh_from_db()
    return moved


def _like_prefix(path: str) -> str:
    return path.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_") + "%"


def upline(distributor: Distributor, count: int) -> list[Distributor]:
    """The `count` nearest recruiters above `distributor`, nearest first, with their levels
    (one query)."""
    ids = distributor.ancestor_ids[:count]
    if not ids:
        return []
    found = Distributor.objects.select_related("level").in_bulk(ids)
    return [found[pk] for pk in ids if pk in found]


@dataclass(frozen=True)
class TeamTotals:
    members: int  # everyone below the leader, at any depth
    direct: int
    sales_fen: int  # the members' attributed sales


def team_totals(leader: Distributor) -> TeamTotals:
    """Everyone below the leader: one range scan of the path index counting rows and
    summing the `sales_fen` it carries (an index-only scan: nothing else is read), less
    the leader's own row, which the range includes."""
    below = Distributor.objects.filter(path__startswith=leader.path)
    totals = below.aggregate(rows=Count("*"), sales=Sum("sales_fen"))
    own = Distributor.objects.filter(pk=leader.pk).values_list("sales_fen", flat=True).get()
    direct = Distributor.objects.filter(recruiter=leader).count()
    return TeamTotals(members=totals["rows"] - 1, direct=direct,
                      sales_fen=(totals["sales"] or 0) - own)
