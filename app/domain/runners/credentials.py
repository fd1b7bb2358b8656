"""Handing a credential to git/ssh/ansible without putting it on a command line.

A command line is readable by every user of the machine (``ps``); an environment or a 0600
file is not. A credential value is either an SSH private key (``-----BEGIN ...``) or a token.
"""

from __future__ import annotations

import base64
import os
import shlex
import shutil
import tempfile
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def is_ssh_key(value: str) -> bool:
    """True for a PEM/OpenSSH private key, false for a token or password."""
    return value.lstrip().startswith("-----BEGIN")


@contextmanager
def ssh_key_file(value: str) -> Iterator[Path]:
    """Write the key to a 0600 file in a private temp dir outside the workspace; delete after.

    Outside the workspace so a step cannot archive or print it by accident.
    """
    directory = Path(tempfile.mkdtemp(prefix="ansflow-key-"))  # created 0700
    try:
        path = directory / "id_key"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            text = value.strip().replace("\r\n", "\n")
            fh.write(text + "\n")  # ssh rejects a key without its final newline
        yield path
    finally:
        shutil.rmtree(directory, ignore_errors=True)


def git_ssh_command(key: Path) -> str:
    """GIT_SSH_COMMAND using only ``key``, never prompting."""
    return " ".join(
        [
            "ssh",
            "-i",
            shlex.quote(str(key)),
            "-o IdentitiesOnly=yes",
            "-o BatchMode=yes",
            "-o StrictHostKeyChecking=accept-new",
        ]
    )


def git_token_env(url: str, token: str) -> dict[str, str]:
    """Env making git send ``token`` to ``url``'s host only, as an HTTP Authorization header.

    Uses ``http.<origin>/.extraHeader`` through GIT_CONFIG_COUNT/KEY/VALUE (git >= 2.31), the
    way actions/checkout does: Basic ``x-access-token:<token>`` is accepted by GitHub, GitLab
    and Gitea. Nothing is written to disk or to a command line.
    """
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https"):
        return {}
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    origin = f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "") + "/"
    basic = base64.b64encode(f"x-access-token:{token}".encode()).decode("ascii")
    return {
        "GIT_CONFIG_COUNT": "1",
        "GIT_CONFIG_KEY_0": f"http.{origin}.extraHeader",
        "GIT_CONFIG_VALUE_0": f"Authorization: Basic {basic}",
    }


def display_url(url: str) -> str:
    """``url`` without a password in its userinfo, for log lines."""
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = (parts.username or "") + ":***@" + parts.netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))
