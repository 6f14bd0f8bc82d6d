"""One local Athena endpoint for the whole test session (the `athena-arrow emulator` command of
the workspace's build, on 127.0.0.1:0)."""

from __future__ import annotations

import contextlib
import json
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import threading
import typing

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]

#: Rows of `default.bench`, the large table of the streaming test.
BENCH_ROWS = 4_000_000
#: A KMS key whose policy names another principal than the endpoint's user (``test``).
OTHERS_KMS_KEY = {
    "key_id": "0b0e5b1c-7d1f-4c55-9d1e-5a4cfa2b7e01",
    "aliases": ["alias/someone-elses"],
    "principals": ["arn:aws:iam::000000000000:user/someone-else"],
}


def _cli() -> str:
    explicit = os.environ.get("ATHENA_ARROW_CLI")
    if explicit:
        return explicit
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target"))
    for profile in ("debug", "release"):
        candidate = target / profile / "athena-arrow"
        if candidate.exists():
            return str(candidate)
    found = shutil.which("athena-arrow")
    if found:
        return found
    raise RuntimeError("the athena-arrow binary is not built: run `cargo build -p athena-arrow-cli` or set ATHENA_ARROW_CLI")


#: The role the session endpoint lets :class:`Issuer`'s tokens assume, and their audience.
WEB_IDENTITY_ROLE = "arn:aws:iam::000000000000:role/python-analyst"
WEB_IDENTITY_AUDIENCE = "python-tests"
#: The IAM Identity Center application the session endpoint serves (trusting :class:`Issuer`).
IDC_APPLICATION = "arn:aws:sso::000000000000:application/ssoins-local/apl-python-tests"


class Issuer:
    """An OpenID Connect identity provider for the tests: an ES256 key made for the session, the
    provider file the endpoint trusts it by, and tokens signed with it (PyJWT)."""

    def __init__(self, issuer: str = "https://idp.python.test"):
        from cryptography.hazmat.primitives.asymmetric import ec

        self.issuer = issuer
        self.kid = os.urandom(8).hex()
        self._key = ec.generate_private_key(ec.SECP256R1())

    def provider(self, client_ids: typing.Sequence[str], roles: typing.Sequence[str]) -> dict:
        import jwt

        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self._key.public_key()))
        jwk.update(kid=self.kid, alg="ES256", use="sig")
        return {"issuer": self.issuer, "client_ids": list(client_ids), "jwks": {"keys": [jwk]}, "roles": list(roles)}

    def token(self, subject: str, audience: str = WEB_IDENTITY_AUDIENCE, valid_for: int = 600) -> str:
        import time

        import jwt

        now = int(time.time())
        claims = {"iss": self.issuer, "sub": subject, "aud": audience, "iat": now, "exp": now + valid_for}
        return jwt.encode(claims, self._key, algorithm="ES256", headers={"kid": self.kid})


class Endpoint:
    def __init__(self, url: str, process: subprocess.Popen, log: typing.Optional[pathlib.Path] = None, issuer: typing.Optional[Issuer] = None):
        self.url = url
        self.process = process
        #: The endpoint's request log (S3 GETs and Athena calls), when it keeps one.
        self.log = log
        #: The identity provider the endpoint trusts for WEB_IDENTITY_ROLE, when it trusts one.
        self.issuer = issuer

    def athena_calls(self, operation: str, since: int = 0) -> typing.List[dict]:
        """The input of each `operation` call logged after byte `since` of the request log."""
        assert self.log is not None, "this endpoint keeps no request log"
        with open(self.log, "rb") as f:
            f.seek(since)
            lines = f.read().decode().splitlines()
        prefix = f"ATHENA {operation} "
        return [json.loads(line[len(prefix) :]) for line in lines if line.startswith(prefix)]

    def log_size(self) -> int:
        return self.log.stat().st_size if self.log is not None and self.log.exists() else 0

    def kwargs(self, **extra):
        """PyAthena-style keywords for this endpoint."""
        base = dict(
            s3_staging_dir="s3://athena-results/python/",
            region_name="us-east-1",
            endpoint_url=self.url,
            aws_access_key_id="test",
            aws_secret_access_key="test",
        )
        base.update(extra)
        return base


@contextlib.contextmanager
def start_endpoint(data: str | pathlib.Path, *args: str):
    """Runs `athena-arrow emulator` on 127.0.0.1:0 with `data` as its data dir; yields its URL."""
    process = subprocess.Popen(
        [_cli(), "emulator", "--listen", "127.0.0.1:0", "--data-dir", str(data), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = None
    assert process.stdout is not None
    for line in process.stdout:
        m = re.search(r"listening on (http://\S+)", line)
        if m:
            url = m.group(1)
            break
    if url is None:
        err = process.stderr.read() if process.stderr else ""
        raise RuntimeError(f"the endpoint did not start: {err}")
    # Keep reading its output so the pipe never fills.
    threading.Thread(target=process.stdout.read, daemon=True).start()
    threading.Thread(target=process.stderr.read, daemon=True).start()
    try:
        yield url, process
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def endpoint():
    data = tempfile.mkdtemp(prefix="athena-py-")
    log = pathlib.Path(tempfile.mkdtemp(prefix="athena-py-log-")) / "requests.log"
    args: typing.Tuple[str, ...] = ("--bench-rows", str(BENCH_ROWS), "--unload-rows-per-file", "200000", "--request-log", str(log))
    issuer: typing.Optional[Issuer] = None
    try:
        # The boto3 compatibility venvs of run-tests.sh have no JWT library: no issuer there.
        import cryptography  # noqa: F401
        import jwt  # noqa: F401
    except ImportError:
        pass
    else:
        issuer = Issuer()
        provider = log.parent / "oidc-provider.json"
        provider.write_text(json.dumps(issuer.provider([WEB_IDENTITY_AUDIENCE], [WEB_IDENTITY_ROLE])), encoding="utf-8")
        args += ("--oidc-provider", str(provider))
        application = log.parent / "identity-center-application.json"
        application.write_text(
            json.dumps({"arn": IDC_APPLICATION, "issuer": issuer.issuer, "audiences": [WEB_IDENTITY_AUDIENCE]}), encoding="utf-8"
        )
        args += ("--identity-center-application", str(application))
    # A KMS key only another principal may use (the fixture key alias/athena-results serves all).
    others_key = log.parent / "kms-key.json"
    others_key.write_text(json.dumps(OTHERS_KMS_KEY), encoding="utf-8")
    args += ("--kms-key", str(others_key))
    try:
        with start_endpoint(data, *args) as (url, process):
            yield Endpoint(url, process, log, issuer)
    finally:
        shutil.rmtree(data, ignore_errors=True)
        shutil.rmtree(log.parent, ignore_errors=True)


@pytest.fixture()
def conn(endpoint):
    from adbc_driver_athena import dbapi

    with dbapi.connect(**endpoint.kwargs()) as c:
        yield c


@pytest.fixture()
def unload_conn(endpoint):
    from adbc_driver_athena import dbapi

    with dbapi.connect(**endpoint.kwargs(unload=True)) as c:
        yield c
