"""An S3-compatible server (moto, server mode) on 127.0.0.1 for the tests of this folder, and a bucket each."""

from __future__ import annotations

import itertools

import pytest
from s3server import S3Server

_buckets = itertools.count()


@pytest.fixture(scope="module")
def s3_server():
    server = S3Server()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def s3(s3_server, monkeypatch, tmp_path):
    """The endpoint as users give it (AWS_ENDPOINT_URL, read by botocore under s3fs), a fresh bucket, and a
    cache folder of the test's own; yields the bucket's name."""
    import fsspec

    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_server.endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("FLOWSHEET_CACHE_DIR", str(tmp_path / "cache"))
    bucket = f"bucket{next(_buckets)}"
    fsspec.filesystem("s3", skip_instance_cache=True).mkdir(bucket)
    s3_server.traffic.reset()
    return bucket
