"""The tuner's doorbell: a create or stop wakes every tuning job, an ended training job only its own."""

from __future__ import annotations

from app.tuning.doorbell import Rings, TunerDoorbell


def test_the_first_wait_is_for_everything_then_a_timeout_is_the_periodic_pass() -> None:
    doorbell = TunerDoorbell()
    assert doorbell.wait(timeout=0) == Rings(everything=True, ended=frozenset())
    assert doorbell.wait(timeout=0) == Rings(everything=True, ended=frozenset())  # nothing rang: periodic


def test_ended_training_jobs_ring_for_themselves_only_and_are_taken_once() -> None:
    doorbell = TunerDoorbell()
    doorbell.wait(timeout=0)
    doorbell.training_job_ended("arn:job/a")
    doorbell.training_job_ended("arn:job/b")
    assert doorbell.wait(timeout=0) == Rings(everything=False, ended=frozenset({"arn:job/a", "arn:job/b"}))
    doorbell.training_job_ended("arn:job/c")
    assert doorbell.wait(timeout=0) == Rings(everything=False, ended=frozenset({"arn:job/c"}))


def test_a_ring_for_all_outweighs_the_ended_jobs_beside_it() -> None:
    doorbell = TunerDoorbell()
    doorbell.wait(timeout=0)
    doorbell.training_job_ended("arn:job/a")
    doorbell.ring_all()
    assert doorbell.wait(timeout=0).everything
