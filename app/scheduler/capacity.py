"""Pure capacity arithmetic for placement: how many instances fit, and an index to find the first host
that fits one.

Amounts are vectors of (vcpus, memory_gib, gpus, disk_gib), compared exactly (see placement).

Cost. The first fitting host is found with a segment tree over the ordered hosts. Each node keeps the
largest free amount of each resource among the hosts below it, and a debit rewrites one leaf-to-root
path: O(log hosts). The search only goes into subtrees whose maxima cover the demand, but with
several resources those maxima can come from different hosts, so a subtree can look promising and
hold no fitting host. Free amounts only shrink during a decision, so a host that did not fit a shape
never will: the planner keeps a per-shape cursor where the last search for that shape ended and the
next one resumes there. A dead end is then explored at most once per shape, so dead ends cost at most
shapes x hosts per decision in all, not per placement; bench/scheduler.py measures the rest.
"""

from collections.abc import Mapping, Sequence

Vec = tuple[float, float, float, float]  # vcpus, memory_gib, gpus, disk_gib


def fit_count(avail: Sequence[float], need: Vec, limit: int) -> int:
    """How many instances of `need` fit in `avail`, capped at `limit` (exact: no overcommit by rounding)."""
    k = limit
    for a, n in zip(avail, need, strict=True):
        if n > 0 and a < n * k:
            k = max(0, int(a // n))
            while k and a - n * k < 0:  # guard against float division rounding up
                k -= 1
    return k


def pool_count(groups: Mapping[Vec, int], need: Vec) -> int:
    """How many instances of `need` fit in empty hosts: `groups` counts the hosts of each capacity."""
    cap = 1 << 40  # "unbounded": instances that need nothing countable
    return sum(n * fit_count(capacity, need, cap) for capacity, n in groups.items())


class MaxTree:
    """Segment tree over host positions; node i holds, per resource, the max free amount below it."""

    __slots__ = ("_cols", "_size")

    def __init__(self, rows: Sequence[Sequence[float]]) -> None:
        size = 1
        while size < len(rows):
            size *= 2
        self._size = size
        self._cols: list[list[float]] = []
        for d in range(4):
            col = [-1.0] * (2 * size)  # padding leaves never fit: every need is >= 0
            col[size : size + len(rows)] = [r[d] for r in rows]
            for i in range(size - 1, 0, -1):
                col[i] = max(col[2 * i], col[2 * i + 1])
            self._cols.append(col)

    def covers(self, need: Vec) -> bool:
        """Whether some host might fit `need` (exact for one resource, an upper bound for four)."""
        return all(col[1] >= n for col, n in zip(self._cols, need, strict=True))

    def first_fit(self, need: Vec, start: int = 0) -> int:
        """Leftmost host position >= `start` whose free amounts all cover `need`, or -1."""
        size = self._size
        lo, hi = start + size, 2 * size
        roots: list[int] = []  # the O(log n) subtrees that tile [start, end), left to right
        while lo < hi:
            if lo & 1:
                roots.append(lo)
                lo += 1
            lo >>= 1
            hi >>= 1
        for root in roots:
            pos = self._leftmost(root, need)
            if pos >= 0:
                return pos
        return -1

    def _leftmost(self, root: int, need: Vec) -> int:
        tv, tm, tg, td = self._cols
        nv, nm, ng, nd = need
        size = self._size
        stack = [root]
        while stack:
            i = stack.pop()
            if tv[i] < nv or tm[i] < nm or tg[i] < ng or td[i] < nd:
                continue
            if i >= size:
                return i - size
            stack.append(2 * i + 1)
            stack.append(2 * i)
        return -1

    def set(self, pos: int, values: Sequence[float]) -> None:
        i = pos + self._size
        for col, v in zip(self._cols, values, strict=True):
            col[i] = v
        i >>= 1
        while i:
            changed = False
            for col in self._cols:
                left, right = col[2 * i], col[2 * i + 1]
                m = left if left >= right else right
                if col[i] != m:
                    col[i] = m
                    changed = True
            if not changed:
                break
            i >>= 1
