"""Where a grid's staff go when a new version is published (geo/lineage.py): kept grids keep them,
a split gives each member the part that holds their post (else the largest), a merge takes the
staff of both."""

import shapely
from shapely.geometry import box

from geo.lineage import Assignment, staff_moves, successors

X0, Y0 = 120.0, 30.3
A = box(X0, Y0, X0 + 0.01, Y0 + 0.01)
B = box(X0 + 0.01, Y0, X0 + 0.02, Y0 + 0.01)
OLD = {1: A, 2: B}


def test_a_grid_kept_or_redrawn_a_little_keeps_its_staff():
    redrawn = {"A": box(X0, Y0, X0 + 0.01005, Y0 + 0.01), "B": box(X0 + 0.01005, Y0, X0 + 0.02, Y0 + 0.01)}
    moves = staff_moves(OLD, redrawn, [Assignment(7, 1, None), Assignment(8, 2, None)])
    assert [(m.member, m.new_grid, m.reason) for m in moves] == [(7, "A", "kept"), (8, "B", "kept")]
    assert [code for code, _ in successors(OLD, redrawn)[2]] == ["B"]  # half a per cent of B is not a successor


def test_a_split_gives_each_member_the_part_that_holds_their_post_else_the_largest():
    split = {"A1": box(X0, Y0, X0 + 0.004, Y0 + 0.01), "A2": box(X0 + 0.004, Y0, X0 + 0.01, Y0 + 0.01), "B": B}
    moves = staff_moves(OLD, split, [
        Assignment(7, 1, shapely.Point(X0 + 0.002, Y0 + 0.005)),  # post in the west part
        Assignment(8, 1, shapely.Point(X0 + 0.008, Y0 + 0.005)),  # post in the east part
        Assignment(9, 1, None),  # no post known: the largest part
        Assignment(10, 1, shapely.Point(X0 + 0.05, Y0)),  # a post elsewhere: the largest part
    ])
    assert [(m.member, m.new_grid, m.reason) for m in moves] == [
        (7, "A1", "post"), (8, "A2", "post"), (9, "A2", "largest"), (10, "A2", "largest")]


def test_a_merge_takes_the_staff_of_both():
    merged = {"AB": box(X0, Y0, X0 + 0.02, Y0 + 0.01)}
    moves = staff_moves(OLD, merged, [Assignment(7, 1, None), Assignment(8, 2, None)])
    assert {(m.member, m.new_grid) for m in moves} == {(7, "AB"), (8, "AB")}
    assert staff_moves(OLD, {"far": box(X0 + 1, Y0, X0 + 1.01, Y0 + 0.01)}, [Assignment(7, 1, None)])[0].new_grid is None
