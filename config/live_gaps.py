"""Loss on the live pipeline, seen by the receiving socket: every group message carries its group's
sequence number, and a socket that misses one says so to its client instead of going on silently.

Channel layers drop group messages without a word: channels-redis when a process's channel holds
`capacity` messages already (its `group_send` only logs it) or a message waited longer than
`expiry`, and its in-process buffer per socket drops the oldest beyond `capacity`; the in-memory
layer when a socket's queue is full. Event ids cannot show that (they are global across
sub-districts, and a member's messages skip the ids of everybody else's), so the layer numbers the
messages of each group itself at `group_send` (config/channel_layers.py: `seq`, a Redis counter per
group with channels-redis — one INCR, shared by every publishing process — or a process counter in
memory).

`Gaps` is the bookkeeping of one process's membership of a group (config/live_hub.Hub), no I/O
(tests/config/test_live_gaps.py): the numbers it has seen; a jump leaves numbers missing, which may
still come (two publishers take numbers 5 and 6 and the 6 reaches Redis first). Whether they came is
asked by a check that travels through the hub's own channel behind whatever is queued for it: when it
is handled, every message sent before it has been handled too, so a number at or below its `upto`
not seen by then is lost.
"""

SEQ = "seq"  # a group message's field: its number in its group (set by the layer at group_send)
GAP_CHECK = "live.check"  # the check a socket sends itself: {"type": GAP_CHECK, "upto": <a number>}
MAX_MISSING = 1000  # a jump wider than this is a loss at once (no set of that many numbers kept)


class Gaps:
    """The sequence numbers of one socket's group. `baseline`: the group's counter read after the
    socket joined (what it may not expect), None when unknown (the first number seen is then the
    baseline)."""

    def __init__(self, baseline: int | None) -> None:
        self.last = baseline
        self.missing: set[int] = set()

    def see(self, seq: int) -> bool:
        """A message numbered `seq` arrived; True when a loss is certain now: a jump wider than
        MAX_MISSING, or the counter started again at 1 (Redis restarted empty: what was sent while
        it was away is gone). Another number not above the last one seen is older than the socket's
        baseline (taken before the socket joined, sent after): nothing is missing."""
        if self.last is None:
            self.last = seq
            return False
        if seq in self.missing:  # late, not lost
            self.missing.discard(seq)
            return False
        if seq == 1 and self.last > 1:
            self.last, self.missing = seq, set()
            return True
        if seq <= self.last:
            return False
        if seq - self.last - 1 > MAX_MISSING:
            self.last, self.missing = seq, set()
            return True
        self.missing.update(range(self.last + 1, seq))
        self.last = seq
        return False

    def restarted(self, upto: int) -> bool:
        """The group's counter read as `upto` is behind the last number seen: Redis started again
        empty (what was sent meanwhile is gone). True then, and `upto` is the new baseline."""
        if self.last is None or upto >= self.last:
            return False
        self.last, self.missing = upto, set()
        return True

    def outstanding(self, upto: int) -> bool:
        """Whether a check for `upto` (the group's counter some time ago) is worth sending: some
        number at or below it not seen yet."""
        return (self.last is not None and self.last < upto) or any(s <= upto for s in self.missing)

    def check(self, upto: int) -> bool:
        """A check for `upto` reached the socket, behind everything sent before it: True when a number
        at or below `upto` never came (a loss). Those are then forgotten (the client resyncs)."""
        if self.last is None:
            self.last = upto
            return False
        lost = self.outstanding(upto)
        if lost:
            self.missing = {s for s in self.missing if s > upto}
            self.last = max(self.last, upto)
        return lost
