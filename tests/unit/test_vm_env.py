"""A VM starts from a clean environment: nothing of the server's but the locale and the interpreter."""

from __future__ import annotations

from pathlib import Path

from app.runtime import vm_env


def test_the_servers_secrets_never_reach_a_vm() -> None:
    server_env = {
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "server-secret",
        "SAGELITE_ROOT_SECRET_ACCESS_KEY": "root-secret",
        "GITHUB_TOKEN": "token",
        "PATH": "/home/someone/bin:/usr/bin",
        "LANG": "C.UTF-8",
        "PYTHONPATH": "/src",
    }
    env = vm_env.base_environment(server_env, interpreter=Path("/venv/bin/python"), home=Path("/vm"))
    assert env == {
        "LANG": "C.UTF-8",
        "PYTHONPATH": "/src",
        "PATH": "/venv/bin:/usr/local/bin:/usr/bin:/bin",
        "HOME": "/vm",
    }
