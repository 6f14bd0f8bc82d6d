"""PyAthena's ``encryption_option`` and ``kms_key`` keywords: they reach StartQueryExecution, and
a CSE_KMS result (ciphertext in S3) is read through GetQueryResults with one warning, or refused."""

from __future__ import annotations

import pytest

from adbc_driver_athena import dbapi

SQL = "SELECT a FROM many_rows WHERE a < 3 ORDER BY a"


def test_cse_kms_results_are_read_through_the_api(endpoint):
    since = endpoint.log_size()
    kwargs = endpoint.kwargs(encryption_option="CSE_KMS", kms_key="arn:aws:kms:us-east-1:000000000000:key/results")
    with dbapi.connect(**kwargs) as conn, conn.cursor() as cur:
        cur.execute(SQL)
        assert cur.fetchall() == [(0,), (1,), (2,)]
        query_id = cur.query_id
    started = endpoint.athena_calls("StartQueryExecution", since)
    assert started[-1]["ResultConfiguration"]["EncryptionConfiguration"] == {
        "EncryptionOption": "CSE_KMS",
        "KmsKey": "arn:aws:kms:us-east-1:000000000000:key/results",
    }
    # Rows came from GetQueryResults: no GET of the (encrypted) result file.
    with open(endpoint.log, encoding="utf-8") as f:
        f.seek(since)
        gets = [line for line in f.read().splitlines() if line.startswith("GET ") and query_id in line]
    assert gets == []
    assert endpoint.athena_calls("GetQueryResults", since)


def test_encryption_keywords_are_checked(endpoint):
    with pytest.raises(dbapi.ProgrammingError, match="encryption_option SSE_KMS needs kms_key"):
        dbapi.connect(**endpoint.kwargs(encryption_option="SSE_KMS"))
    off = endpoint.kwargs(encryption_option="CSE_KMS", kms_key="alias/results", encrypted_result_fallback=False)
    with dbapi.connect(**off) as conn, conn.cursor() as cur:
        with pytest.raises(dbapi.NotSupportedError, match=r"encrypted client-side \(CSE_KMS\)"):
            cur.execute(SQL)
