"""PyAthena's ``encryption_option`` and ``kms_key`` keywords: they reach StartQueryExecution; a
CSE_KMS result (the S3 Encryption Client's envelope) is read from S3 on the fast path, and what
the endpoint stores opens with botocore's KMS client and ``cryptography``'s AES-GCM, two
implementations independent of ours. When KMS refuses the data key, the result is read through
GetQueryResults, or refused."""

from __future__ import annotations

import base64
import json

import boto3
import pytest

from adbc_driver_athena import dbapi

SQL = "SELECT a FROM many_rows WHERE a < 3 ORDER BY a"
#: 10 000 rows: more than GetQueryResults' first page, so the CSV is read from S3.
MANY = "SELECT a, 'row ' || CAST(a AS varchar) AS s FROM many_rows ORDER BY a"
KEY = "alias/athena-results"
OTHERS_KEY = "alias/someone-elses"


def _client(endpoint, service):
    return boto3.client(service, endpoint_url=endpoint.url, region_name="us-east-1", aws_access_key_id="test", aws_secret_access_key="test")


def _gets(endpoint, since, query_id):
    with open(endpoint.log, encoding="utf-8") as f:
        f.seek(since)
        return [line for line in f.read().splitlines() if line.startswith("GET ") and query_id in line]


def test_cse_kms_results_are_read_from_s3(endpoint):
    since = endpoint.log_size()
    kwargs = endpoint.kwargs(encryption_option="CSE_KMS", kms_key=KEY)
    with dbapi.connect(**kwargs) as conn, conn.cursor() as cur:
        cur.execute(MANY)
        rows = cur.fetchall()
        query_id = cur.query_id
    assert len(rows) == 10_000
    assert rows[7] == (7, "row 7")
    started = endpoint.athena_calls("StartQueryExecution", since)
    assert started[-1]["ResultConfiguration"]["EncryptionConfiguration"] == {"EncryptionOption": "CSE_KMS", "KmsKey": KEY}
    assert _gets(endpoint, since, query_id), "the result file was not read from S3"


def test_the_stored_object_opens_with_botocore_and_cryptography(endpoint):
    pytest.importorskip("cryptography")
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    athena, s3, kms = (_client(endpoint, s) for s in ("athena", "s3", "kms"))
    with dbapi.connect(**endpoint.kwargs(encryption_option="CSE_KMS", kms_key=KEY)) as conn, conn.cursor() as cur:
        cur.execute(SQL)
        location = athena.get_query_execution(QueryExecutionId=cur.query_id)["QueryExecution"]["ResultConfiguration"]["OutputLocation"]
    bucket, key = location[len("s3://") :].split("/", 1)
    obj = s3.get_object(Bucket=bucket, Key=key)
    meta, body = obj["Metadata"], obj["Body"].read()
    assert meta["x-amz-cek-alg"] == "AES/GCM/NoPadding"
    assert meta["x-amz-wrap-alg"] == "kms"
    context = json.loads(meta["x-amz-matdesc"])
    assert context == {"kms_cmk_id": KEY}
    data_key = kms.decrypt(CiphertextBlob=base64.b64decode(meta["x-amz-key-v2"]), EncryptionContext=context)
    assert data_key["KeyId"] == "arn:aws:kms:us-east-1:000000000000:key/6a8d5c4e-3f2b-4e1a-9c7d-0b1e2f3a4b5c"
    plain = AESGCM(data_key["Plaintext"]).decrypt(base64.b64decode(meta["x-amz-iv"]), body, None)
    assert plain == b'"a"\n"0"\n"1"\n"2"\n'
    assert int(meta["x-amz-unencrypted-content-length"]) == len(plain)
    # A different context is refused as KMS refuses it.
    with pytest.raises(kms.exceptions.InvalidCiphertextException):
        kms.decrypt(CiphertextBlob=base64.b64decode(meta["x-amz-key-v2"]), EncryptionContext={"kms_cmk_id": "other"})
    # So is a principal the key policy does not name.
    with dbapi.connect(**endpoint.kwargs(encryption_option="CSE_KMS", kms_key=OTHERS_KEY)) as conn, conn.cursor() as cur:
        cur.execute(SQL)
        location = athena.get_query_execution(QueryExecutionId=cur.query_id)["QueryExecution"]["ResultConfiguration"]["OutputLocation"]
    bucket, key = location[len("s3://") :].split("/", 1)
    meta = s3.head_object(Bucket=bucket, Key=key)["Metadata"]
    with pytest.raises(kms.exceptions.ClientError, match="AccessDeniedException.*is not authorized to perform: kms:Decrypt"):
        kms.decrypt(CiphertextBlob=base64.b64decode(meta["x-amz-key-v2"]), EncryptionContext=json.loads(meta["x-amz-matdesc"]))


def test_a_refused_data_key_reads_through_the_api(endpoint, capfd):
    since = endpoint.log_size()
    with dbapi.connect(**endpoint.kwargs(encryption_option="CSE_KMS", kms_key=OTHERS_KEY)) as conn, conn.cursor() as cur:
        cur.execute(MANY)
        assert len(cur.fetchall()) == 10_000
        query_id = cur.query_id
    # One GET of the CSV's opening (its envelope named the key KMS refused), then the API.
    assert len(_gets(endpoint, since, query_id)) == 1
    assert len(endpoint.athena_calls("GetQueryResults", since)) > 10
    # The driver's warning says why, on standard error (once per connection).
    err = capfd.readouterr().err
    assert err.count("the result is encrypted client-side (CSE_KMS) and KMS Decrypt failed: AccessDeniedException") == 1, err
    assert "read through GetQueryResults instead" in err


def test_encryption_keywords_are_checked(endpoint):
    with pytest.raises(dbapi.ProgrammingError, match="encryption_option SSE_KMS needs kms_key"):
        dbapi.connect(**endpoint.kwargs(encryption_option="SSE_KMS"))
    off = endpoint.kwargs(encryption_option="CSE_KMS", kms_key=OTHERS_KEY, encrypted_result_fallback=False)
    with dbapi.connect(**off) as conn, conn.cursor() as cur:
        with pytest.raises(dbapi.NotSupportedError, match=r"encrypted client-side \(CSE_KMS\): KMS Decrypt failed: AccessDeniedException"):
            cur.execute(MANY)
