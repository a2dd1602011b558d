"""The pure placement decision: gangs, no overcommit, first fit, FIFO with EASY backfill."""

from dataclasses import dataclass, field

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.scheduler import placement as pl
from app.scheduler.placement import Decision, Demand, HostSnapshot, Reason, Resources
from tests.support.cluster import HOST_SPECS, Cluster, Vm, host, job, minus

WAIT, NEVER = Reason.WAITING_FOR_CAPACITY, Reason.NEVER_FITS


@dataclass(frozen=True)
class Case:
    hosts: list[HostSnapshot]
    queue: list[Demand]
    placed: dict[str, tuple[str, ...]]
    unplaced: dict[str, Reason] = field(default_factory=dict)


CASES = {
    "fits": Case([host("a", 8, 32)], [job("j", 4, 16)], {"j": ("a",)}),
    "siblings share a host": Case([host("a", 8, 32)], [job("j", 4, 16, count=2)], {"j": ("a", "a")}),
    "gang spans hosts": Case(
        [host("a", 8, 32), host("b", 8, 32), host("c", 8, 32)],
        [job("j", 8, 32, count=3)],
        {"j": ("a", "b", "c")},
    ),
    "gang fits only across two part-used hosts": Case(
        [host("a", 8, 32, running=[(4, 16, 99)]), host("b", 8, 32, running=[(4, 16, 99)])],
        [job("j", 4, 16, count=2)],
        {"j": ("a", "b")},
    ),
    "gang that does not fit now places nothing": Case(
        [host("a", 8, 32, running=[(4, 16, 99)]), host("b", 8, 32)],
        [job("gang", 8, 32, count=2), job("short", 4, 16, runtime=50)],
        {"short": ("a",)},
        {"gang": WAIT},
    ),
    "a failed gang leaves its hosts to a smaller gang of the same shape": Case(
        [host("a", 8, 32, running=[(8, 32, 100)]), host("b", 8, 32), host("c", 8, 32)],
        [job("three", 8, 32, count=3), job("two", 8, 32, count=2, runtime=100)],
        {"two": ("b", "c")},
        {"three": WAIT},
    ),
    "small hosts fill first so the big one stays whole": Case(
        [host("big", 16, 64), host("small", 4, 16)],
        [job("s", 4, 16), job("b", 16, 64)],
        {"s": ("small",), "b": ("big",)},
    ),
    "consolidates instead of spreading": Case(
        [host("a", 8, 32), host("b", 8, 32)],
        [job("j1", 4, 16), job("j2", 4, 16), job("whole", 8, 32)],
        {"j1": ("a",), "j2": ("a",), "whole": ("b",)},
    ),
    "cpu jobs keep off gpu hosts while cpu hosts have room": Case(
        [host("gpu", 8, 32, gpus=1), host("cpu", 8, 32)],
        [job("c", 8, 32), job("g", 4, 16, gpus=1)],
        {"c": ("cpu",), "g": ("gpu",)},
    ),
    "memory binds before vcpus": Case(
        [host("a", 8, 16), host("b", 8, 16)],
        [job("j", 2, 8, count=3)],
        {"j": ("a", "a", "b")},
    ),
    "binary-exact fractional memory fills a host exactly": Case(
        [host("a", 8, 15)], [job("c4", 4, 7.5, count=2)], {"c4": ("a", "a")}
    ),
    "no overcommit across jobs of one decision": Case(
        [host("a", 8, 32)],
        [job("j1", 4, 16, runtime=10), job("j2", 4, 16, runtime=10), job("j3", 4, 16, runtime=10)],
        {"j1": ("a",), "j2": ("a",)},
        {"j3": WAIT},
    ),
    "instance larger than every host never fits": Case(
        [host("a", 8, 32)], [job("huge", 16, 64), job("ok", 8, 32)], {"ok": ("a",)}, {"huge": NEVER}
    ),
    "gang larger than the whole pool never fits": Case(
        [host("a", 8, 32), host("b", 8, 32)], [job("g", 8, 32, count=3)], {}, {"g": NEVER}
    ),
    "gpu demand on a cpu-only pool never fits": Case(
        [host("a", 96, 384), host("b", 96, 384)],
        [job("p3", 8, 61, gpus=1), job("m5", 4, 16)],
        {"m5": ("a",)},
        {"p3": NEVER},
    ),
    "disk limits instances per host": Case(
        [host("a", 8, 32, disk=100), host("b", 8, 32, disk=100)],
        [job("j", 2, 8, count=2, disk=60)],
        {"j": ("a", "b")},
    ),
    "disk larger than any host never fits": Case(
        [host("a", 8, 32, disk=100)], [job("j", 2, 8, disk=200)], {}, {"j": NEVER}
    ),
    "blocked head: a long job that would delay it waits": Case(
        [host("a", 8, 32, running=[(4, 16, 100)]), host("b", 8, 32)],
        [job("gang", 8, 32, count=2), job("long", 4, 16, runtime=500)],
        {},
        {"gang": WAIT, "long": WAIT},
    ),
    "blocked head: a job that ends before its start backfills": Case(
        [host("a", 8, 32, running=[(4, 16, 100)]), host("b", 8, 32)],
        [job("gang", 8, 32, count=2), job("short", 8, 32, runtime=100)],
        {"short": ("b",)},
        {"gang": WAIT},
    ),
    "blocked head: a long job backfills on a host it does not need": Case(
        [host("small", 4, 16), host("a", 8, 32, running=[(8, 32, 100)]), host("b", 8, 32)],
        [job("gang", 8, 32, count=2), job("long", 4, 16, runtime=500), job("long2", 4, 16, runtime=500)],
        {"long": ("small",)},
        {"gang": WAIT, "long2": WAIT},
    ),
    "blocked head: a long job uses the spare the reservation leaves": Case(
        [host("a", 16, 64, running=[(16, 64, 100)]), host("b", 16, 64)],
        [job("gang", 8, 32, count=3), job("long", 8, 32, runtime=500), job("long2", 8, 32, runtime=500)],
        {"long": ("b",)},
        {"gang": WAIT, "long2": WAIT},
    ),
}


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_decide(case: Case) -> None:
    decision = pl.decide(hosts=case.hosts, queue=case.queue, now=0)
    assert dict(decision.placements) == case.placed
    assert dict(decision.unplaced) == case.unplaced


def test_reservation_names_the_head_its_start_and_its_hosts() -> None:
    hosts = [host("a", 8, 32, running=[(4, 16, 70), (4, 16, 100)]), host("b", 8, 32, running=[(8, 32, 40)])]
    decision = pl.decide(hosts=hosts, queue=[job("gang", 8, 32, count=2), job("other", 8, 32)], now=0)
    reservation = decision.reservation
    assert reservation is not None
    assert (reservation.job_key, reservation.start_by, dict(reservation.hosts)) == (
        "gang",
        100,
        {"a": 1, "b": 1},
    )


def test_no_reservation_while_everything_fits() -> None:
    decision = pl.decide(hosts=[host("a", 8, 32)], queue=[job("j", 4, 16)], now=0)
    assert decision.reservation is None


def test_the_result_is_read_only() -> None:
    decision = pl.decide(hosts=[host("a", 8, 32)], queue=[job("j", 4, 16)], now=0)
    with pytest.raises(TypeError):
        decision.placements["x"] = ("a",)  # type: ignore[index]


def test_never_fits_and_the_largest_host() -> None:
    hosts = [host("small", 4, 16), host("gpu", 8, 32, gpus=1), host("big", 96, 384)]
    assert pl.never_fits(job("p3", 8, 61, gpus=1), hosts)
    assert not pl.never_fits(job("g4", 4, 16, gpus=1), hosts)
    assert pl.never_fits(job("g4", 4, 16, gpus=1, count=2), hosts)
    assert not pl.never_fits(job("m5", 4, 16, count=27), hosts)  # 24 on big, 2 on gpu, 1 on small
    assert pl.never_fits(job("m5", 4, 16, count=28), hosts)
    assert pl.largest_capacity(hosts) == Resources(8, 32, 1, 500)
    assert pl.largest_capacity([]) is None


def test_never_fits_ignores_what_is_running() -> None:
    assert not pl.never_fits(job("j", 8, 32), [host("a", 8, 32, running=[(8, 32, 100)])])


def test_instance_count_must_be_positive() -> None:
    with pytest.raises(ValueError, match="instance_count"):
        job("j", 1, 1, count=0)


# --- simulation: repeated decisions over time ---------------------------------------------------------


def _stream_against_a_gang(small_runtime: float) -> Cluster:
    """Two full hosts freeing up at 25/50 (a) and 75/100 (b); a whole-pool gang; a small job every 5 s."""
    cluster = Cluster({"a": Resources(8, 32, 0, 500), "b": Resources(8, 32, 0, 500)})
    for i, runtime in enumerate((25, 50, 75, 100)):
        cluster.submit(job(f"seed{i}", 4, 16, runtime=runtime))
    cluster.step()
    assert len(cluster.started) == 4
    cluster.now = 1
    cluster.submit(job("gang", 8, 32, count=2, runtime=100))
    for tick in range(60):
        cluster.now = 1 + 5 * tick
        cluster.submit(job(f"small{tick}", 4, 16, runtime=small_runtime))
        cluster.step()
    return cluster


def test_a_large_gang_is_not_starved_by_a_stream_of_small_jobs() -> None:
    cluster = _stream_against_a_gang(small_runtime=100)
    assert cluster.started["gang"] == 101  # the first tick at or after its shadow time (100)
    smalls = sorted(t for key, t in cluster.started.items() if key.startswith("small"))
    assert smalls == [201] * 4  # none jumped the gang; the stream resumes when the gang ends


def test_short_jobs_backfill_without_delaying_the_gang() -> None:
    cluster = _stream_against_a_gang(small_runtime=20)
    assert cluster.started["gang"] <= 101
    backfilled = [t for key, t in cluster.started.items() if key.startswith("small") and t < 101]
    assert backfilled  # small jobs used the holes while the gang waited


# --- property: random pools and event sequences -----------------------------------------------------------

# Jobs of sizes comparable to the hosts (HOST_SPECS), so that queues form, heads block and backfill happens.
_submit_st = st.tuples(
    st.just("submit"),
    st.sampled_from([1, 2, 4]),
    st.sampled_from([2, 4, 8]),
    st.sampled_from([0, 0, 0, 1]),
    st.integers(1, 3),
    st.sampled_from([0, 10, 50]),
    st.integers(10, 200),
)
_action_st = st.one_of(  # mostly submits, so that queues build up
    _submit_st,
    _submit_st,
    _submit_st,
    st.tuples(st.just("finish"), st.integers(0, 50)),
    st.tuples(st.just("advance"), st.integers(1, 60)),
)


@settings(max_examples=300, deadline=None)
@given(
    hosts=st.lists(HOST_SPECS, min_size=1, max_size=4),
    actions=st.lists(_action_st, min_size=1, max_size=40),
)
def test_repeated_decisions_keep_every_invariant(
    hosts: list[tuple[int, int, int, int]], actions: list[tuple[object, ...]]
) -> None:
    cluster = Cluster({f"h{i}": Resources(*spec) for i, spec in enumerate(hosts)})
    promise: tuple[str, float] | None = None
    for n, action in enumerate(actions):
        _apply(cluster, action, n)
        queue = list(cluster.queue)
        decision = cluster.step()
        _check(cluster, queue, decision)
        promise = _check_promise(cluster, decision, promise)


def _apply(cluster: Cluster, action: tuple[object, ...], n: int) -> None:
    kind, *args = action
    if kind == "submit":
        vcpus, memory, gpus, count, disk, runtime = (int(a) for a in args)  # type: ignore[call-overload]
        cluster.submit(job(f"j{n}", vcpus, memory, gpus, count=count, disk=disk, runtime=runtime))
    elif kind == "finish" and cluster.vms:
        index = int(args[0]) % len(cluster.vms)  # type: ignore[call-overload]
        cluster.finish(cluster.vms[index].job)
    elif kind == "advance":
        cluster.now += int(args[0])  # type: ignore[call-overload]


def _check(cluster: Cluster, queue: list[Demand], decision: Decision) -> None:
    by_key = {d.job_key: d for d in queue}
    assert set(decision.placements) | set(decision.unplaced) == set(by_key)
    assert not set(decision.placements) & set(decision.unplaced)
    for key, hosts in decision.placements.items():
        assert len(hosts) == by_key[key].instance_count  # whole gangs only
    for key, reason in decision.unplaced.items():
        assert (reason is NEVER) == pl.never_fits(by_key[key], cluster.snapshot())
    for snapshot in cluster.snapshot():  # never overcommitted, on any resource
        assert min(snapshot.free.as_tuple()) >= 0, snapshot


def _check_promise(
    cluster: Cluster, decision: Decision, promise: tuple[str, float] | None
) -> tuple[str, float] | None:
    """A reservation is kept: its job starts by start_by, and start_by never moves later."""
    if promise is not None and promise[0] not in decision.placements:
        key, start_by = promise
        assert cluster.now < start_by, f"{key} should have started by {start_by}"
        assert decision.reservation is not None and decision.reservation.job_key == key
        assert decision.reservation.start_by <= start_by
    r = decision.reservation
    if r is None:
        return None
    head = next(d for d in cluster.queue if d.job_key == r.job_key)
    assert _fits_at(cluster, head, r.start_by), "backfill took capacity the head was promised"
    return (r.job_key, r.start_by)


def _fits_at(cluster: Cluster, demand: Demand, t: float) -> bool:
    """Whether the gang fits once every VM past its deadline at `t` is gone (counting whole instances)."""
    need = demand.per_instance.as_tuple()
    total = 0
    for name, capacity in cluster.capacity.items():
        left = minus(capacity, [vm.resources for vm in cluster.vms if vm.host == name and vm.deadline > t])
        total += min(int(a // n) for a, n in zip(left.as_tuple(), need, strict=True) if n > 0)
    return total >= demand.instance_count


_vm_st = st.tuples(st.sampled_from([1, 2, 4]), st.sampled_from([2, 4, 8]), st.integers(1, 100))
_busyHOST_SPECS = st.tuples(HOST_SPECS, st.lists(_vm_st, max_size=6))
_queued_st = st.tuples(
    st.sampled_from([1, 2, 4, 8]),
    st.sampled_from([2, 4, 8, 16, 32]),
    st.sampled_from([0, 0, 1]),
    st.integers(1, 3),
    st.integers(1, 150),
)


@settings(max_examples=600, deadline=None)
@given(
    hosts=st.lists(_busyHOST_SPECS, min_size=1, max_size=4),
    queue=st.lists(_queued_st, min_size=1, max_size=12),
)
def test_backfill_never_takes_what_the_head_was_promised(
    hosts: list[tuple[tuple[int, int, int, int], list[tuple[int, int, int]]]],
    queue: list[tuple[int, int, int, int, int]],
) -> None:
    cluster = Cluster({f"h{i}": Resources(*spec) for i, (spec, _) in enumerate(hosts)})
    for i, (spec, vms) in enumerate(hosts):
        for v, m, deadline in vms:
            used = [vm.resources for vm in cluster.vms if vm.host == f"h{i}"]
            if min(minus(Resources(*spec), [*used, Resources(v, m)]).as_tuple()) >= 0:
                cluster.vms.append(Vm(f"old{i}", f"h{i}", Resources(v, m), deadline))
    for n, (v, m, g, count, runtime) in enumerate(queue):
        cluster.submit(job(f"j{n}", v, m, g, count=count, runtime=runtime))
    queued = list(cluster.queue)
    decision = cluster.step()
    _check(cluster, queued, decision)
    r = decision.reservation
    if r is not None:
        head = next(d for d in queued if d.job_key == r.job_key)
        assert _fits_at(cluster, head, r.start_by), "backfill took capacity the head was promised"
        earlier = [vm.deadline for vm in cluster.vms if vm.deadline < r.start_by] + [cluster.now]
        assert not _fits_at(cluster, head, max(earlier)), "the head could have been promised an earlier start"
