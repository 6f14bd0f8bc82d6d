"""Trusted identity propagation (IAM Identity Center): the driver's keywords run queries as the
user in an Identity Center-enabled workgroup, and the endpoint's SSO-OIDC CreateTokenWithIAM and
STS AssumeRole with ProvidedContexts answer botocore as its models say."""

from __future__ import annotations

import uuid

import boto3
import botocore.exceptions
import pytest

from adbc_driver_athena import _partitions, dbapi

from conftest import IDC_APPLICATION, WEB_IDENTITY_ROLE

pytest.importorskip("jwt")

ACCESS_ROLE = "arn:aws:iam::000000000000:role/python-access"
CONTEXT_PROVIDER = "arn:aws:iam::aws:contextProvider/IdentityCenter"


def _client(endpoint, service, creds=None):
    keys = creds or {"AccessKeyId": "test", "SecretAccessKey": "test"}
    return boto3.client(
        service,
        endpoint_url=endpoint.url,
        region_name="us-east-1",
        aws_access_key_id=keys["AccessKeyId"],
        aws_secret_access_key=keys["SecretAccessKey"],
        aws_session_token=keys.get("SessionToken"),
    )


@pytest.fixture(scope="module")
def workgroup(endpoint):
    name = f"idc-{uuid.uuid4().hex[:8]}"
    _client(endpoint, "athena").create_work_group(
        Name=name,
        Configuration={
            "ResultConfiguration": {"OutputLocation": "s3://athena-results/python-idc/"},
            "IdentityCenterConfiguration": {"EnableIdentityCenter": True, "IdentityCenterInstanceArn": "arn:aws:sso:::instance/ssoins-python"},
        },
    )
    return name


def test_the_chain_through_botocore(endpoint, workgroup):
    token = endpoint.issuer.token("erin@example.com")
    sts = _client(endpoint, "sts")
    app = sts.assume_role_with_web_identity(RoleArn=WEB_IDENTITY_ROLE, RoleSessionName="erin", WebIdentityToken=token)["Credentials"]
    oidc = _client(endpoint, "sso-oidc", app)
    out = oidc.create_token_with_iam(clientId=IDC_APPLICATION, grantType="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion=token)
    assert out["tokenType"] == "Bearer" and out["expiresIn"] == 3600 and out["idToken"].count(".") == 2
    context = out["awsAdditionalDetails"]["identityContext"]
    session = _client(endpoint, "sts", app).assume_role(
        RoleArn=ACCESS_ROLE, RoleSessionName="erin", ProvidedContexts=[{"ProviderArn": CONTEXT_PROVIDER, "ContextAssertion": context}]
    )["Credentials"]
    athena = _client(endpoint, "athena", session)
    wg = athena.get_work_group(WorkGroup=workgroup)["WorkGroup"]
    assert wg["Configuration"]["IdentityCenterConfiguration"] == {"EnableIdentityCenter": True, "IdentityCenterInstanceArn": "arn:aws:sso:::instance/ssoins-python"}
    assert athena.start_query_execution(QueryString="SELECT 1", WorkGroup=workgroup)["QueryExecutionId"]
    # Keys without an identity context are refused there.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        _client(endpoint, "athena").start_query_execution(QueryString="SELECT 1", WorkGroup=workgroup)
    assert e.value.response["Error"]["Code"] == "AccessDeniedException"
    # SSO-OIDC's refusals: botocore's modeled exceptions, with error_description.
    with pytest.raises(oidc.exceptions.InvalidGrantException) as e:
        oidc.create_token_with_iam(
            clientId=IDC_APPLICATION, grantType="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion=endpoint.issuer.token("erin", "other-app")
        )
    assert e.value.response["error_description"] == "Incorrect token audience"
    with pytest.raises(oidc.exceptions.InvalidClientException):
        oidc.create_token_with_iam(clientId="arn:aws:sso::000000000000:application/x/apl-x", grantType="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion=token)
    # A context assertion the endpoint did not make is refused by STS.
    with pytest.raises(botocore.exceptions.ClientError) as e:
        _client(endpoint, "sts", app).assume_role(
            RoleArn=ACCESS_ROLE, RoleSessionName="erin", ProvidedContexts=[{"ProviderArn": CONTEXT_PROVIDER, "ContextAssertion": context[:-4] + "AAAA"}]
        )
    assert e.value.response["Error"]["Code"] == "InvalidParameterValue"


def test_the_drivers_keywords(endpoint, workgroup, monkeypatch):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    kwargs = dict(
        region_name="us-east-1",
        endpoint_url=endpoint.url,
        work_group=workgroup,
        role_arn=WEB_IDENTITY_ROLE,
        web_identity_token=endpoint.issuer.token("erin@example.com"),
        identity_center_application_arn=IDC_APPLICATION,
        access_role_arn=ACCESS_ROLE,
    )
    with dbapi.connect(**kwargs) as conn, conn.cursor() as cur:
        cur.execute("SELECT a FROM many_rows WHERE a < 3 ORDER BY a")
        assert cur.fetchall() == [(0,), (1,), (2,)]
    other = dict(kwargs, identity_center_application_arn="arn:aws:sso::000000000000:application/x/apl-x")
    with pytest.raises(dbapi.OperationalError, match="SSO-OIDC CreateTokenWithIAM for application arn:aws:sso::000000000000:application/x/apl-x failed: InvalidClientException"):
        with dbapi.connect(**other) as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
    # Workers get neither the token's text nor what it signs in to.
    assert _partitions.worker_kwargs(kwargs) == {"region_name": "us-east-1", "endpoint_url": endpoint.url, "work_group": workgroup}
