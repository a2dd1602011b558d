"""Failures that are the caller's to fix, reported as `ClientError: <message>` in output/failure."""

from __future__ import annotations


class ClientError(Exception):
    """The job's request or data is wrong; retrying the same job cannot succeed."""


class DataError(ClientError):
    """A channel's files cannot be read as the algorithm's input (format, columns, values, emptiness)."""


class HyperparameterError(ClientError):
    """A hyperparameter is unknown, missing, or has a value the algorithm refuses."""
