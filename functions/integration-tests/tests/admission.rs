//! Who may upload and how much, against moto through the upload function's handler: each upload
//! mode, the storage quota and the per-client limits held exactly however many announce at
//! once, and an address the operator blocked.

use futures::future::join_all;
use integration_tests::{json, stack, Stack};
use operator::{run, Command};
use twinshare_api::{CreateUploadResponse, ErrorBody, StatusView, UploadMode};
use twinshare_core::{access::UploadAccess, password, rate::RateLimits, ServiceSettings};

const EDGE_SECRET: &str = "edge-secret";

const FILE: &[u8] = b"abc";

fn announcement(name: &str) -> String {
    serde_json::json!({
        "name": name, "size": FILE.len(), "content_type": "text/plain",
        "sha256": integration_tests::sha256_base64(FILE), "visibility": "listed",
    })
    .to_string()
}

/// Announces an upload with this upload code (or none); the status and error code.
async fn announce_with(stack: &Stack, name: &str, code: Option<&str>) -> (u16, Option<String>) {
    let (status, error, _) = announce(stack, name, code).await;
    (status, error)
}

/// The status, the error code, and the upload's id and manage token when it was admitted.
async fn announce(stack: &Stack, name: &str, code: Option<&str>) -> (u16, Option<String>, Option<(String, String)>) {
    let mut request = twinshare_lambda::testing::request("POST", "/api/uploads", Some(&announcement(name)));
    if let Some(code) = code {
        request.headers_mut().insert("x-upload-code", code.parse().unwrap());
    }
    let response = upload_api::handle(&stack.upload_api, request).await;
    match response.status().as_u16() {
        201 => {
            let created: CreateUploadResponse = json(&response);
            (201, None, Some((created.file.id, created.manage_token)))
        }
        status => (status, Some(json::<ErrorBody>(&response).error), None),
    }
}

#[tokio::test]
async fn each_upload_mode_admits_whom_it_says_and_downloads_stay_open() {
    let open = stack(ServiceSettings::default()).await;
    let shared = open.share("shared before.txt", FILE, None, "listed").await;
    assert_eq!(announce_with(&open, "a.txt", None).await, (201, None));

    let code = stack(ServiceSettings {
        upload_access: UploadAccess::Code {
            hash: password::hash("team-42").unwrap(),
        },
        ..Default::default()
    })
    .await;
    let refused = |status, error: &str| (status, Some(error.to_owned()));
    assert_eq!(
        announce_with(&code, "a.txt", None).await,
        refused(401, "upload_code_required")
    );
    assert_eq!(
        announce_with(&code, "a.txt", Some("team-41")).await,
        refused(403, "upload_code_invalid")
    );
    assert_eq!(code.record_count().await, 0, "refused announcements wrote nothing");
    assert_eq!(announce_with(&code, "a.txt", Some("team-42")).await, (201, None));
    let status: StatusView = code.expect(200, "GET", "/api/status", None).await;
    assert_eq!(status.uploads.mode, UploadMode::Code);

    let closed = stack(ServiceSettings {
        upload_access: UploadAccess::Closed,
        ..Default::default()
    })
    .await;
    assert_eq!(
        announce_with(&closed, "a.txt", Some("team-42")).await,
        refused(403, "uploads_closed")
    );
    // Whatever the mode, a shared link keeps working: the first stack's file, downloaded.
    assert_eq!(open.download(&shared.id).await.bytes, FILE);
}

#[tokio::test]
async fn concurrent_announcements_never_pass_the_quota_and_deleting_frees_room() {
    // Room for exactly 5 files of 3 bytes; 40 announce at once. The bucket's canary check gets
    // time to answer all 40 on a busy machine (at its deployed 400 ms, some were refused as
    // `uploads_paused`, which is not what this test is about).
    let stack = stack(ServiceSettings {
        storage_quota_bytes: Some(5 * FILE.len() as u64 + 2),
        copy_check_timeout: std::time::Duration::from_secs(5),
        ..Default::default()
    })
    .await;
    let answers = join_all((0..40).map(|i| {
        let stack = &stack;
        async move { announce(stack, &format!("file {i}.txt"), None).await }
    }))
    .await;
    let admitted: Vec<(String, String)> = answers.iter().filter_map(|(_, _, created)| created.clone()).collect();
    let refused = answers
        .iter()
        .filter(|(status, error, _)| (*status, error.as_deref()) == (413, Some("storage_quota_exceeded")))
        .count();
    assert_eq!((admitted.len(), refused), (5, 35), "{answers:?}");
    assert_eq!(stack.record_count().await, 5 + 1, "five records and the usage counter");
    let status: StatusView = stack.expect(200, "GET", "/api/status", None).await;
    assert_eq!(status.uploads.used_bytes, Some(15));
    assert_eq!(status.uploads.quota_bytes, Some(17));

    // The refusal says how much room is left; deleting a file gives it back.
    let response = stack
        .api("POST", "/api/uploads", Some(&announcement("one more.txt")))
        .await;
    let body: ErrorBody = json(&response);
    assert!(body.message.contains("needs 3 B and 2 B are free"), "{}", body.message);
    let (id, token) = &admitted[0];
    let cancelled = stack
        .api_as(Some(token), "DELETE", &format!("/api/uploads/{id}"), None)
        .await;
    assert_eq!(cancelled.status(), 204);
    assert_eq!(announce_with(&stack, "after the cancel.txt", None).await, (201, None));
    assert_eq!(announce_with(&stack, "one too many.txt", None).await.0, 413);
}

/// Announces an upload as CloudFront forwards it from the viewer at `address`; the status and
/// the `Retry-After` header, if any.
async fn announce_from(stack: &Stack, address: &str) -> (u16, Option<String>) {
    let request = twinshare_lambda::testing::request("POST", "/api/uploads", Some(&announcement("a.txt")));
    let request = twinshare_lambda::testing::from_viewer(request, address, EDGE_SECRET);
    let response = upload_api::handle(&stack.upload_api, request).await;
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|v| v.to_str().unwrap().to_owned());
    (response.status().as_u16(), retry_after)
}

#[tokio::test]
async fn a_client_gets_429_past_its_hourly_uploads_however_many_it_sends_at_once() {
    let stack = stack(ServiceSettings {
        edge_secret: Some(EDGE_SECRET.into()),
        rate_limits: RateLimits {
            uploads_per_hour: Some(5),
            bytes_per_day: None,
        },
        ..Default::default()
    })
    .await;
    let answers = join_all((0..30).map(|_| announce_from(&stack, "198.51.100.7"))).await;
    let admitted = answers.iter().filter(|(status, _)| *status == 201).count();
    let limited: Vec<u64> = answers
        .iter()
        .filter(|(status, _)| *status == 429)
        .map(|(_, retry)| retry.as_deref().expect("Retry-After").parse().unwrap())
        .collect();
    assert_eq!((admitted, limited.len()), (5, 25), "{answers:?}");
    assert!(limited.iter().all(|&secs| (1..=3600).contains(&secs)), "{limited:?}");
    assert_eq!(
        announce_from(&stack, "203.0.113.9").await.0,
        201,
        "another client is not limited"
    );
}

#[tokio::test]
async fn an_address_the_operator_blocks_can_no_longer_announce() {
    let stack = stack(ServiceSettings {
        edge_secret: Some(EDGE_SECRET.into()),
        ..Default::default()
    })
    .await;
    assert_eq!(announce_from(&stack, "198.51.100.7").await.0, 201);
    let out = run(&stack.operator, Command::BlockAddress("198.51.100.7".parse().unwrap()))
        .await
        .unwrap();
    assert!(out.contains("198.51.100.7"), "{out}");
    let request = twinshare_lambda::testing::request("POST", "/api/uploads", Some(&announcement("b.txt")));
    let request = twinshare_lambda::testing::from_viewer(request, "198.51.100.7", EDGE_SECRET);
    let response = upload_api::handle(&stack.upload_api, request).await;
    assert_eq!(response.status(), 403);
    assert_eq!(json::<ErrorBody>(&response).error, "uploader_blocked");
    assert_eq!(announce_from(&stack, "198.51.100.8").await.0, 201);
}

#[tokio::test]
async fn expiry_and_abandoned_uploads_free_room_and_the_sweep_sets_a_drifted_count_right() {
    use aws_sdk_dynamodb::types::AttributeValue;
    use twinshare_core::ports::{Clock, SystemClock};
    let stack = stack(ServiceSettings {
        storage_quota_bytes: Some(6),
        ..Default::default()
    })
    .await;
    // A file shared for a minute, and an upload never sent: the quota is full.
    let expiring = serde_json::json!({
        "name": "for a minute.txt", "size": FILE.len(), "content_type": "text/plain",
        "sha256": integration_tests::sha256_base64(FILE), "visibility": "listed", "expires_in_secs": 60,
    });
    let created: CreateUploadResponse = stack
        .expect(201, "POST", "/api/uploads", Some(&expiring.to_string()))
        .await;
    stack.put(&created, FILE).await;
    let path = format!("/api/uploads/{}/complete", created.file.id);
    let _: twinshare_api::FileView = stack.expect(200, "POST", &path, None).await;
    assert_eq!(announce_with(&stack, "never sent.txt", None).await, (201, None));
    assert_eq!(announce_with(&stack, "no room.txt", None).await.0, 413);

    // A day later: expired and abandoned, both removed by the sweep, their room back.
    let day_later = SystemClock.now_ms() + 24 * 3600 * 1000;
    let report = stack.sweep_at(day_later).sweep(1_000).await.unwrap();
    assert_eq!((report.expired, report.abandoned), (1, 1), "{report:?}");
    let status: StatusView = stack.expect(200, "GET", "/api/status", None).await;
    assert_eq!(status.uploads.used_bytes, Some(0));

    // The counter edited by hand: the next quiet pass sets it to what the records say.
    assert_eq!(announce_with(&stack, "kept.txt", None).await, (201, None));
    stack
        .dynamodb
        .put_item()
        .table_name(integration_tests::TABLE)
        .item("id", AttributeValue::S("usage#storage".into()))
        .item("bytes", AttributeValue::N("999".into()))
        .item("files", AttributeValue::N("7".into()))
        .item("changes", AttributeValue::N("100".into()))
        .send()
        .await
        .unwrap();
    let report = stack.sweep_at(SystemClock.now_ms()).sweep(1_000).await.unwrap();
    assert!(report.usage_repaired, "{report:?}");
    let status: StatusView = stack.expect(200, "GET", "/api/status", None).await;
    assert_eq!(status.uploads.used_bytes, Some(3));
}
