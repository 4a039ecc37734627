//! Multipart uploads against moto with the real SDK, through the region's gateway (which checks
//! each part's SHA-256 as S3 does): parts in any order, a corrupted part, resume, abort.

use integration_tests::{json, pseudo_random_bytes, stack, Stack};
use twinshare_api::{CopyRole, CreateUploadResponse, ErrorBody, FileStatus, StoredParts, UploadPlan};
use twinshare_core::ServiceSettings;

const MIB: usize = 1024 * 1024;

/// 36 MiB and a bit: five parts of 8 MiB, the last one short.
fn large_file() -> Vec<u8> {
    pseudo_random_bytes(36 * MIB + 4321, 0x2545_f491_4f6c_dd1d)
}

fn part_count(created: &CreateUploadResponse) -> u32 {
    match &created.upload {
        UploadPlan::Multipart(plan) => plan.part_count,
        other => panic!("a file over the threshold must go in parts: {other:?}"),
    }
}

async fn complete(stack: &Stack, id: &str) -> lambda_http::Response<lambda_http::Body> {
    stack.api("POST", &format!("/api/uploads/{id}/complete"), None).await
}

async fn stored_parts(stack: &Stack, id: &str) -> Vec<u32> {
    let stored: StoredParts = stack
        .expect(200, "GET", &format!("/api/uploads/{id}/parts"), None)
        .await;
    stored.parts.iter().map(|p| p.number).collect()
}

async fn open_uploads(stack: &Stack) -> usize {
    let open = stack
        .primary_s3
        .list_multipart_uploads()
        .bucket(integration_tests::BUCKET)
        .send()
        .await
        .unwrap();
    open.uploads().len()
}

#[tokio::test]
async fn parts_sent_out_of_order_complete_download_identical_and_replicate() {
    let stack = stack(ServiceSettings::default()).await;
    let bytes = large_file();
    let created = stack.announce("video.bin", &bytes, Some("alice"), "listed").await;
    assert_eq!(part_count(&created), 5);
    assert_eq!(created.file.sha256, None);
    stack.put_parts(&created, &bytes, [5, 2, 4, 1, 3]).await;

    let response = complete(&stack, &created.file.id).await;
    assert_eq!(
        response.status(),
        200,
        "{}",
        String::from_utf8_lossy(response.body().as_ref())
    );
    let downloaded = stack.download(&created.file.id).await;
    assert!(downloaded.bytes == bytes, "the downloaded bytes differ");
    assert_eq!(open_uploads(&stack).await, 0);

    let (handled, failed) = stack.deliver_events().await;
    assert!(handled >= 1 && failed == 0, "handled {handled}, failed {failed}");
    assert_eq!(stack.file(&created.file.id).await.status, FileStatus::Redundant);
    assert!(stack.object(CopyRole::Replica, &created.file.id).await.unwrap() == bytes);
}

#[tokio::test]
async fn a_part_with_other_bytes_than_its_signed_sha256_is_refused() {
    let stack = stack(ServiceSettings::default()).await;
    let bytes = large_file();
    let created = stack.announce("video.bin", &bytes, None, "listed").await;
    let urls = stack.part_urls(&created, &bytes, [1]).await;
    let part = &urls.parts[0].request;
    // The URL binds the checksum and the length: S3 checks both against the body.
    let signed = url_query(&part.url, "X-Amz-SignedHeaders");
    assert!(
        signed.contains("x-amz-checksum-sha256") && signed.contains("content-length"),
        "{signed}"
    );

    let mut corrupted = bytes[..8 * MIB].to_vec();
    corrupted[12_345] ^= 0xff;
    assert_eq!(stack.send(part, &corrupted).await.as_u16(), 400);
    assert_eq!(stored_parts(&stack, &created.file.id).await, Vec::<u32>::new());
    let response = complete(&stack, &created.file.id).await;
    assert_eq!(response.status(), 409);
    assert_eq!(json::<ErrorBody>(&response).error, "upload_incomplete");
    // The right bytes go through.
    assert!(stack.send(part, &bytes[..8 * MIB]).await.is_success());
    assert_eq!(stored_parts(&stack, &created.file.id).await, [1]);
}

#[tokio::test]
async fn a_resumed_upload_sends_only_the_missing_parts() {
    let stack = stack(ServiceSettings::default()).await;
    let bytes = large_file();
    let created = stack.announce("video.bin", &bytes, None, "unlisted").await;
    // The first client sends two parts, then goes away (a reload, a dropped connection).
    stack.put_parts(&created, &bytes, [1, 3]).await;
    let response = complete(&stack, &created.file.id).await;
    assert_eq!(response.status(), 409);
    let message = json::<ErrorBody>(&response).message;
    assert!(message.contains("parts 2, 4, 5"), "{message}");

    // The next one asks what is stored and sends the rest.
    let stored = stored_parts(&stack, &created.file.id).await;
    assert_eq!(stored, [1, 3]);
    let missing: Vec<u32> = (1..=part_count(&created)).filter(|n| !stored.contains(n)).collect();
    assert_eq!(missing, [2, 4, 5]);
    stack.put_parts(&created, &bytes, missing).await;
    assert_eq!(complete(&stack, &created.file.id).await.status(), 200);
    assert!(stack.download(&created.file.id).await.bytes == bytes);
}

#[tokio::test]
async fn abort_leaves_nothing_behind() {
    let stack = stack(ServiceSettings::default()).await;
    let bytes = large_file();
    let created = stack.announce("video.bin", &bytes, None, "listed").await;
    stack.put_parts(&created, &bytes, [1, 2]).await;
    assert_eq!(open_uploads(&stack).await, 1);

    let id = &created.file.id;
    let response = stack.api("DELETE", &format!("/api/uploads/{id}"), None).await;
    assert_eq!(response.status(), 204);
    assert_eq!(open_uploads(&stack).await, 0);
    assert_eq!(stack.object(CopyRole::Primary, id).await, None);
    // The record stays, marked cancelled: a PUT that lands later is deleted by replication.
    assert_eq!(stack.api("GET", &format!("/api/files/{id}"), None).await.status(), 410);
    assert_eq!(complete(&stack, id).await.status(), 410);

    // A completed file cannot be cancelled.
    let small = stack.share("small.txt", b"kept", None, "listed").await;
    let response = stack.api("DELETE", &format!("/api/uploads/{}", small.id), None).await;
    assert_eq!(response.status(), 409);
    assert_eq!(stack.download(&small.id).await.bytes, b"kept");
}

fn url_query(url: &str, name: &str) -> String {
    reqwest::Url::parse(url)
        .unwrap()
        .query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
        .unwrap_or_default()
}
