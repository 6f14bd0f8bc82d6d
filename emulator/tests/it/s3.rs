use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};

use crate::*;

#[tokio::test]
async fn ranged_get_if_match_and_listing() {
    let s3 = s3();
    s3.create_bucket().bucket("it-s3").send().await.unwrap();
    let body: Vec<u8> = (0..=255u8).cycle().take(100_000).collect();
    let put = s3.put_object().bucket("it-s3").key("dir/a.bin").body(ByteStream::from(body.clone())).send().await.unwrap();
    let etag = put.e_tag().unwrap().to_owned();
    for k in ["dir/b.bin", "dir/sub/c.bin", "top.bin"] {
        s3.put_object().bucket("it-s3").key(k).body(ByteStream::from_static(b"x")).send().await.unwrap();
    }

    let got = s3.get_object().bucket("it-s3").key("dir/a.bin").range("bytes=10-19").send().await.unwrap();
    assert_eq!(got.content_range(), Some("bytes 10-19/100000"));
    assert_eq!(got.content_length(), Some(10));
    assert_eq!(got.e_tag(), Some(etag.as_str()));
    assert_eq!(got.body.collect().await.unwrap().into_bytes().as_ref(), &body[10..20]);

    let head = s3.head_object().bucket("it-s3").key("dir/a.bin").send().await.unwrap();
    assert_eq!((head.content_length(), head.e_tag()), (Some(100_000), Some(etag.as_str())));
    let ok = s3.get_object().bucket("it-s3").key("dir/a.bin").if_match(&etag).send().await;
    assert!(ok.is_ok());
    let err = s3.get_object().bucket("it-s3").key("dir/a.bin").if_match("\"0000\"").send().await.unwrap_err();
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 412);
    let missing = s3.get_object().bucket("it-s3").key("nope").send().await.unwrap_err();
    assert!(missing.into_service_error().is_no_such_key());

    let listed = s3.list_objects_v2().bucket("it-s3").prefix("dir/").delimiter("/").send().await.unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["dir/a.bin", "dir/b.bin"]);
    let prefixes: Vec<&str> = listed.common_prefixes().iter().filter_map(|p| p.prefix()).collect();
    assert_eq!(prefixes, ["dir/sub/"]);
    let page1 = s3.list_objects_v2().bucket("it-s3").max_keys(2).send().await.unwrap();
    assert_eq!(page1.contents().len(), 2);
    assert_eq!(page1.is_truncated(), Some(true));
    let page2 =
        s3.list_objects_v2().bucket("it-s3").max_keys(2).continuation_token(page1.next_continuation_token().unwrap()).send().await.unwrap();
    let all: Vec<&str> = page1.contents().iter().chain(page2.contents()).filter_map(|o| o.key()).collect();
    assert_eq!(all, ["dir/a.bin", "dir/b.bin", "dir/sub/c.bin", "top.bin"]);
}

#[tokio::test]
async fn multipart_upload_and_delete() {
    let s3 = s3();
    s3.create_bucket().bucket("it-mpu").send().await.unwrap();
    let up = s3.create_multipart_upload().bucket("it-mpu").key("big").send().await.unwrap();
    let id = up.upload_id().unwrap();
    let part1 = vec![b'a'; 5 * 1024 * 1024];
    let part2 = b"tail".to_vec();
    let mut parts = Vec::new();
    for (n, data) in [(1, part1.clone()), (2, part2.clone())] {
        let p =
            s3.upload_part().bucket("it-mpu").key("big").upload_id(id).part_number(n).body(ByteStream::from(data)).send().await.unwrap();
        parts.push(CompletedPart::builder().part_number(n).e_tag(p.e_tag().unwrap()).build());
    }
    s3.complete_multipart_upload()
        .bucket("it-mpu")
        .key("big")
        .upload_id(id)
        .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
        .send()
        .await
        .unwrap();
    let got = s3.get_object().bucket("it-mpu").key("big").send().await.unwrap();
    let bytes = got.body.collect().await.unwrap().into_bytes();
    assert_eq!(bytes.len(), part1.len() + part2.len());
    assert_eq!(&bytes[part1.len()..], b"tail");
    s3.delete_object().bucket("it-mpu").key("big").send().await.unwrap();
    assert!(s3.head_object().bucket("it-mpu").key("big").send().await.is_err());
}

#[tokio::test]
async fn result_objects_are_served_with_etags() {
    let client = athena();
    let q = run(&client, "SELECT 1 AS i").await;
    let loc = q.result_configuration().unwrap().output_location().unwrap();
    let (bucket, key) = loc.strip_prefix("s3://").unwrap().split_once('/').unwrap();
    let head = s3().head_object().bucket(bucket).key(key).send().await.unwrap();
    assert_eq!(head.content_length(), Some(8));
    let etag = head.e_tag().unwrap().to_owned();
    let got = s3().get_object().bucket(bucket).key(key).if_match(&etag).send().await.unwrap();
    assert_eq!(got.e_tag(), Some(etag.as_str()));
}

#[tokio::test]
async fn realism_injects_faults_and_latency() {
    let emulator = athena_emulator::Emulator::builder()
        .with_faults(1.0, 0.0, 1.0)
        .with_s3_latency(std::time::Duration::from_millis(50))
        .start()
        .await
        .unwrap();
    let s3 = s3_at(&emulator.endpoint(), "test");
    s3.create_bucket().bucket("faulty").send().await.unwrap();
    s3.put_object().bucket("faulty").key("k").body(ByteStream::from_static(b"hello")).send().await.unwrap();
    let err = s3.get_object().bucket("faulty").key("k").send().await.unwrap_err();
    assert_eq!(err.raw_response().unwrap().status().as_u16(), 503);
    let athena = athena_at(&emulator.endpoint(), "test");
    let err = athena.list_work_groups().send().await.unwrap_err();
    assert!(format!("{:?}", err.into_service_error()).contains("ThrottlingException"));
    emulator.shutdown().await;

    // Connections cut mid-body: the client sees a truncated body, never wrong bytes.
    let emulator = athena_emulator::Emulator::builder()
        .with_faults(0.0, 1.0, 0.0)
        .with_s3_latency(std::time::Duration::from_millis(50))
        .start()
        .await
        .unwrap();
    let s3 = s3_at(&emulator.endpoint(), "test");
    s3.create_bucket().bucket("cut").send().await.unwrap();
    s3.put_object().bucket("cut").key("k").body(ByteStream::from(vec![7u8; 3_000_000])).send().await.unwrap();
    let started = std::time::Instant::now();
    let got = s3.get_object().bucket("cut").key("k").send().await.unwrap();
    assert!(started.elapsed() >= std::time::Duration::from_millis(50), "first-byte latency applied");
    assert!(got.body.collect().await.is_err(), "the body must not complete");
    emulator.shutdown().await;
}

#[tokio::test]
async fn a_folder_of_keys_is_no_object() {
    let s3 = s3();
    s3.put_object().bucket("athena-results").key("folder-test/inner/file.bin").body(ByteStream::from_static(b"x")).send().await.unwrap();
    for key in ["folder-test", "folder-test/inner"] {
        let e = s3.head_object().bucket("athena-results").key(key).send().await.unwrap_err();
        assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(404), "HEAD {key}");
        let e = s3.get_object().bucket("athena-results").key(key).send().await.unwrap_err();
        assert_eq!(e.raw_response().map(|r| r.status().as_u16()), Some(404), "GET {key}");
    }
}

#[tokio::test]
async fn empty_delimiter_is_ignored_and_deleting_a_folder_key_deletes_nothing() {
    let s3 = s3();
    s3.create_bucket().bucket("it-s3-edges").send().await.unwrap();
    for k in ["f/a.csv", "f/sub/b.csv"] {
        s3.put_object().bucket("it-s3-edges").key(k).body(ByteStream::from_static(b"x")).send().await.unwrap();
    }
    // fsspec's find() lists with `delimiter=`: S3 lists every key under the prefix.
    let listed = s3.list_objects_v2().bucket("it-s3-edges").prefix("f/").delimiter("").send().await.unwrap();
    let keys: Vec<&str> = listed.contents().iter().filter_map(|o| o.key()).collect();
    assert_eq!(keys, ["f/a.csv", "f/sub/b.csv"]);
    assert!(listed.common_prefixes().is_empty());
    // ListObjectsV2 gives Last-Modified with milliseconds, as S3 does (both on a whole
    // second: one chance in a million).
    assert!(listed.contents().iter().any(|o| o.last_modified().unwrap().subsec_nanos() != 0));

    // A "folder" key (a prefix of other keys) and an absent key: success, nothing deleted.
    let ids = ["f/sub", "f", "absent"]
        .into_iter()
        .map(|k| aws_sdk_s3::types::ObjectIdentifier::builder().key(k).build().unwrap())
        .collect::<Vec<_>>();
    let deleted = s3
        .delete_objects()
        .bucket("it-s3-edges")
        .delete(aws_sdk_s3::types::Delete::builder().set_objects(Some(ids)).build().unwrap())
        .send()
        .await
        .unwrap();
    assert!(deleted.errors().is_empty(), "{:?}", deleted.errors());
    assert_eq!(deleted.deleted().len(), 3);
    s3.delete_object().bucket("it-s3-edges").key("f/sub").send().await.unwrap();
    let after = s3.list_objects_v2().bucket("it-s3-edges").send().await.unwrap();
    assert_eq!(after.contents().len(), 2);
}
