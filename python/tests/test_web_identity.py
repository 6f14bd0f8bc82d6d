"""Sign-in with a web identity token (a JWT of the company's identity provider): the driver's
keywords, the STS call as boto3 makes it (unsigned, its answer and errors parsed by botocore),
and what a partition's worker gets of the token."""

from __future__ import annotations

import boto3
import botocore.exceptions
import pytest

from adbc_driver_athena import _partitions, dbapi

from conftest import WEB_IDENTITY_AUDIENCE, WEB_IDENTITY_ROLE


def _kwargs(endpoint, **extra):
    """Connection keywords without access keys: the token is the only credential."""
    base = dict(s3_staging_dir="s3://athena-results/python-jwt/", region_name="us-east-1", endpoint_url=endpoint.url, role_arn=WEB_IDENTITY_ROLE)
    base.update(extra)
    return base


def test_a_token_signs_in(endpoint, monkeypatch):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    with dbapi.connect(**_kwargs(endpoint, web_identity_token=endpoint.issuer.token("dave"))) as conn, conn.cursor() as cur:
        cur.execute("SELECT a FROM many_rows WHERE a < 3 ORDER BY a")
        assert cur.fetchall() == [(0,), (1,), (2,)]


def test_a_token_file_and_a_variable(endpoint, tmp_path, monkeypatch):
    path = tmp_path / "token"
    path.write_text(endpoint.issuer.token("dave") + "\n", encoding="utf-8")
    with dbapi.connect(**_kwargs(endpoint, web_identity_token=f"file:{path}", duration_seconds=900)) as conn, conn.cursor() as cur:
        cur.execute("SELECT 1 AS one")
        assert cur.fetchall() == [(1,)]
    monkeypatch.setenv("TEST_JWT", endpoint.issuer.token("dave"))
    with dbapi.connect(**_kwargs(endpoint, web_identity_token="env:TEST_JWT")) as conn, conn.cursor() as cur:
        cur.execute("SELECT 2 AS two")
        assert cur.fetchall() == [(2,)]


@pytest.mark.parametrize(
    ("audience", "valid_for", "role", "said"),
    [
        (WEB_IDENTITY_AUDIENCE, -60, WEB_IDENTITY_ROLE, "ExpiredTokenException: Token expired"),
        ("another-app", 600, WEB_IDENTITY_ROLE, "InvalidIdentityToken: Incorrect token audience"),
        (WEB_IDENTITY_AUDIENCE, 600, "arn:aws:iam::000000000000:role/admin", "AccessDenied: Not authorized to perform sts:AssumeRoleWithWebIdentity"),
    ],
)
def test_a_refused_token_says_why_and_never_shows(endpoint, audience, valid_for, role, said):
    token = endpoint.issuer.token("dave", audience, valid_for)
    with pytest.raises(dbapi.OperationalError) as e:
        with dbapi.connect(**_kwargs(endpoint, web_identity_token=token, role_arn=role)) as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
    message = str(e.value)
    assert f"STS AssumeRoleWithWebIdentity of role {role} failed: {said}" in message, message
    assert token not in message and token not in repr(e.value)


def test_boto3_assumes_the_role_unsigned(endpoint):
    """What any SDK sees: botocore sends AssumeRoleWithWebIdentity without a signature and parses
    the endpoint's answer and its error shapes."""
    sts = boto3.client("sts", endpoint_url=endpoint.url, region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="y")
    out = sts.assume_role_with_web_identity(
        RoleArn=WEB_IDENTITY_ROLE, RoleSessionName="dave-session", WebIdentityToken=endpoint.issuer.token("dave"), DurationSeconds=900
    )
    assert out["SubjectFromWebIdentityToken"] == "dave"
    assert out["Audience"] == WEB_IDENTITY_AUDIENCE
    assert out["Provider"] == "idp.python.test"
    assert out["AssumedRoleUser"]["Arn"] == "arn:aws:sts::000000000000:assumed-role/python-analyst/dave-session"
    creds = out["Credentials"]
    assert creds["AccessKeyId"].startswith("ASIA")
    # The credentials sign Athena calls, and STS names whom it issued them to.
    def signed_with_them(service):
        return boto3.client(
            service,
            endpoint_url=endpoint.url,
            region_name="us-east-1",
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
        )

    assert "WorkGroups" in signed_with_them("athena").list_work_groups()
    me = signed_with_them("sts").get_caller_identity()
    assert me["Arn"] == out["AssumedRoleUser"]["Arn"]
    assert me["UserId"] == out["AssumedRoleUser"]["AssumedRoleId"]
    for token, code, status in [
        (endpoint.issuer.token("dave", valid_for=-5), "ExpiredTokenException", 400),
        (endpoint.issuer.token("dave", audience="nope"), "InvalidIdentityToken", 400),
        ("not.a.jwt", "InvalidIdentityToken", 400),
    ]:
        with pytest.raises(botocore.exceptions.ClientError) as e:
            sts.assume_role_with_web_identity(RoleArn=WEB_IDENTITY_ROLE, RoleSessionName="dave", WebIdentityToken=token)
        assert (e.value.response["Error"]["Code"], e.value.response["ResponseMetadata"]["HTTPStatusCode"]) == (code, status)


def test_workers_get_a_reference_never_the_token():
    token_kwargs = dict(region_name="us-east-1", role_arn=WEB_IDENTITY_ROLE, duration_seconds=900, web_identity_token="eyJhbGciOi.x.y")
    assert _partitions.worker_kwargs(token_kwargs) == {"region_name": "us-east-1"}
    by_file = dict(token_kwargs, web_identity_token="file:/var/run/secrets/token")
    assert _partitions.worker_kwargs(by_file) == by_file
    in_options = {"db_kwargs": {"adbc.athena.web_identity_token": "eyJ.x.y", "adbc.athena.role_arn": WEB_IDENTITY_ROLE, "adbc.athena.unload": "true"}}
    assert _partitions.worker_kwargs(in_options) == {"db_kwargs": {"adbc.athena.unload": "true"}}
    assert _partitions.worker_kwargs(token_kwargs, credentials_to_workers=True) == token_kwargs
