"""Where the staff of a grid go when a new version of the grids is published: its lineage.

A planner's new version keeps some grids, splits some, merges others and redraws borders. Every grid
worker and grid leader is assigned to grids of the version in force; publishing must give each of
them the grid of the new version they now serve, so that no grid is left without its staff in the
recommendation. The rule (issue 13), by geometry rather than by code (a split keeps one code at
most, a merge keeps one of two):

- the new grids that take a real share of the old grid (more than MIN_SHARE of its area) are its
  successors;
- one successor: the staff follow it (kept, redrawn, or merged into a larger grid);
- several (a split): each member follows the part that holds their duty post (else their home);
  a member whose post lies in none of them follows the largest part.

The planner sees the result before publishing and may change any member's grid. Pure functions of
shapely geometries (lon, lat): the publishing service reads the rows and writes the links.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

MIN_SHARE = 0.01  # of the old grid's area: less is a border moved a little, not a successor


@dataclass(frozen=True)
class Assignment:
    member: int
    grid: int  # the old grid's id
    post: BaseGeometry | None  # the member's duty post, else home (lon, lat); None when unknown


@dataclass(frozen=True)
class Move:
    member: int
    old_grid: int
    new_grid: str | None  # the new grid's code; None when no new grid covers the old one
    reason: str  # "kept" (one successor), "post" (the part that holds the post), "largest" (a split, no post in it)


def successors(old: Mapping[int, BaseGeometry], new: Mapping[str, BaseGeometry]) -> dict[int, list[tuple[str, float]]]:
    """For each old grid, its successors: (new code, share of the old grid's area), largest first.
    Vectorised (one spatial-index query, one intersection per candidate pair): a city's 10,000 grids
    are published in seconds."""
    codes = list(new)
    ids = list(old)
    out: dict[int, list[tuple[str, float]]] = {grid_id: [] for grid_id in ids}
    if not codes or not ids:
        return out
    olds = np.asarray([old[i] for i in ids], dtype=object)
    news = np.asarray([new[c] for c in codes], dtype=object)
    left, right = shapely.STRtree(news).query(olds, predicate="intersects")
    areas = shapely.area(olds)
    shared = shapely.area(shapely.intersection(olds[left], news[right])) if len(left) else np.zeros(0)
    with np.errstate(divide="ignore", invalid="ignore"):
        shares = np.where(areas[left] > 0, shared / areas[left], 0.0)
    for i, j, share in zip(left.tolist(), right.tolist(), shares.tolist(), strict=True):
        if share > MIN_SHARE:
            out[ids[i]].append((codes[j], share))
    return {grid_id: sorted(parts, key=lambda cs: (-cs[1], cs[0])) for grid_id, parts in out.items()}


def staff_moves(old: Mapping[int, BaseGeometry], new: Mapping[str, BaseGeometry],
                assignments: Iterable[Assignment]) -> list[Move]:
    """Each assignment's grid in the new version (see the module docstring)."""
    heirs = successors(old, new)
    moves = []
    for a in assignments:
        parts = heirs.get(a.grid, [])
        if not parts:
            moves.append(Move(a.member, a.grid, None, "none"))
        elif len(parts) == 1:
            moves.append(Move(a.member, a.grid, parts[0][0], "kept"))
        else:
            holding = next((code for code, _share in parts if a.post is not None and new[code].covers(a.post)), None)
            moves.append(Move(a.member, a.grid, holding or parts[0][0], "post" if holding else "largest"))
    return moves
