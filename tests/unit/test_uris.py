"""`app.storage.uris`: the one s3:// parser, S3's bucket-name rules and our key rules."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from app.storage import uris
from app.storage.uris import S3Uri


@pytest.mark.parametrize(
    ("uri", "bucket", "key"),
    [
        ("s3://my-bucket/data/train.csv", "my-bucket", "data/train.csv"),
        ("s3://my-bucket", "my-bucket", ""),
        ("s3://my-bucket/", "my-bucket", ""),
        ("s3://my-bucket/prefix/", "my-bucket", "prefix/"),
        ("s3://my.bucket.v2/a b+c/ü.txt", "my.bucket.v2", "a b+c/ü.txt"),
        ("s3://abc/a//b", "abc", "a//b"),
    ],
)
def test_parse_splits_bucket_and_key(uri: str, bucket: str, key: str) -> None:
    assert uris.parse_s3_uri(uri) == S3Uri(bucket, key)


@pytest.mark.parametrize("uri", ["http://bucket/key", "bucket/key", "S3://bucket/key", "s3:/bucket/key", ""])
def test_parse_refuses_other_schemes(uri: str) -> None:
    with pytest.raises(uris.InvalidS3Uri):
        uris.parse_s3_uri(uri)


@pytest.mark.parametrize(
    "uri", ["s3://", "s3:///key", "s3://Bad_Bucket/k", "s3://192.168.1.1/k", "s3://ab/k", "s3://bucket/../x"]
)
def test_parse_refuses_invalid_halves(uri: str) -> None:
    with pytest.raises(uris.UriError):
        uris.parse_s3_uri(uri)


def test_str_round_trips_and_value_is_frozen() -> None:
    uri = S3Uri("bucket", "a/b")
    assert str(uri) == "s3://bucket/a/b"
    assert uris.parse_s3_uri(str(uri)) == uri
    with pytest.raises(dataclasses.FrozenInstanceError):
        uri.key = "c"  # type: ignore[misc]


@pytest.mark.parametrize(
    "name",
    ["abc", "my-bucket", "my.bucket", "a" * 63, "1bucket", "bucket1", "a-b.c-d", "xn-ok", "s3alias-ok"],
)
def test_valid_bucket_names(name: str) -> None:
    assert uris.check_bucket_name(name) == name
    assert uris.is_valid_bucket_name(name)


@pytest.mark.parametrize(
    "name",
    [
        "ab",  # too short
        "a" * 64,  # too long
        "My-Bucket",  # upper case
        "my_bucket",  # underscore
        "-bucket",  # must start with a letter or digit
        "bucket-",  # ... and end with one
        "my..bucket",  # adjacent periods
        "my.-bucket",  # period next to a hyphen
        "192.168.5.4",  # IP address
        "xn--bucket",  # reserved prefix
        "sthree-bucket",
        "bucket-s3alias",  # reserved suffix
        "bucket--ol-s3",
        "bucket.mrap",
        "bucket--x-s3",
        "",
    ],
)
def test_invalid_bucket_names(name: str) -> None:
    with pytest.raises(uris.InvalidBucketName):
        uris.check_bucket_name(name)
    assert not uris.is_valid_bucket_name(name)


@pytest.mark.parametrize(
    "key",
    ["../etc/passwd", "a/../b", "a/..", "..", "./a", "a/./b", "/abs/path", "\\abs", "a\\..\\b", "a\x00b"],
)
def test_unsafe_keys_are_refused(key: str) -> None:
    with pytest.raises(uris.InvalidKey):
        uris.check_key(key)


def test_key_length_counts_utf8_bytes() -> None:
    assert uris.check_key("k" * 1024) == "k" * 1024
    with pytest.raises(uris.KeyTooLong) as raised:
        uris.check_key("é" * 513)  # 1026 bytes in 513 characters
    assert raised.value.code == "KeyTooLongError"


@pytest.mark.parametrize(
    "key", ["a", "a/b/c.txt", "dir/", "a//b", "..a", "a..", ".hidden/x", "sp ace+plus", "ü/日本"]
)
def test_ordinary_keys_are_accepted(key: str) -> None:
    assert uris.check_key(key) == key


def test_empty_key_only_where_allowed() -> None:
    with pytest.raises(uris.InvalidKey):
        uris.check_key("")
    assert uris.check_key("", allow_empty=True) == ""


@pytest.mark.parametrize(
    ("base", "parts", "expected"),
    [
        ("s3://b0b/out", ("job", "output", "model.tar.gz"), "s3://b0b/out/job/output/model.tar.gz"),
        ("s3://b0b/out/", ("job",), "s3://b0b/out/job"),
        ("s3://b0b", ("job", "output/"), "s3://b0b/job/output/"),
        ("s3://b0b/", ("/job/", "/x"), "s3://b0b/job/x"),
        ("s3://b0b/out", (), "s3://b0b/out"),
        ("s3://b0b/a", ("", "b"), "s3://b0b/a/b"),
    ],
)
def test_join_puts_one_slash_between_segments(base: str, parts: tuple[str, ...], expected: str) -> None:
    assert str(uris.join(base, *parts)) == expected
    assert uris.join(uris.parse_s3_uri(base), *parts) == uris.parse_s3_uri(expected)


def test_join_refuses_traversal() -> None:
    with pytest.raises(uris.InvalidKey):
        uris.join("s3://bucket/out", "..", "secrets")


_segment = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="/\\\x00"),
    min_size=1,
    max_size=12,
).filter(lambda s: s not in (".", ".."))


@given(
    bucket=st.from_regex(r"[a-z0-9][a-z0-9-]{1,20}[a-z0-9]", fullmatch=True).filter(
        uris.is_valid_bucket_name
    ),
    segments=st.lists(_segment, max_size=6),
)
def test_parse_inverts_str(bucket: str, segments: list[str]) -> None:
    uri = S3Uri(bucket, "/".join(segments))
    assert uris.parse_s3_uri(str(uri)) == uri
