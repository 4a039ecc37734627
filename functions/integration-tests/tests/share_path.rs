//! The share path against moto with the real SDK: announce → PUT → complete → list → search →
//! download; unlisted files; incomplete uploads; every input limit; a region outage.

use std::time::{Duration, Instant};

use integration_tests::{json, sha256_base64, stack, Stack};
use lambda_http::{Body, Response};
use serde_json::json as j;
use twinshare_api::{ErrorBody, FileList, FileStatus, FileView, UploadPlan};
use twinshare_core::ServiceSettings;

fn settings() -> ServiceSettings {
    ServiceSettings {
        max_upload_bytes: 10 * 1024 * 1024,
        ..ServiceSettings::default()
    }
}

async fn list(stack: &Stack, query: &str) -> FileList {
    stack.expect(200, "GET", &format!("/api/files{query}"), None).await
}

fn error_of(response: &Response<Body>) -> ErrorBody {
    json(response)
}

#[tokio::test]
async fn share_list_search_and_download_round_trip() {
    let stack = stack(settings()).await;
    let report = b"quarterly numbers".repeat(1000);
    let shared = stack
        .share("Quarterly Report.txt", &report, Some("Alice"), "listed")
        .await;
    assert_eq!(shared.status, FileStatus::Available);
    let photo = stack.share("photo.jpg", b"jpeg bytes", None, "listed").await;

    let all = list(&stack, "").await;
    let names: Vec<&str> = all.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["photo.jpg", "Quarterly Report.txt"], "newest first");
    assert_eq!(all.files[0].uploader, None);
    assert_eq!(all.files[1].uploader.as_deref(), Some("Alice"));
    assert_eq!(all.next_cursor, None);

    let found = list(&stack, "?q=REPORT").await;
    assert_eq!(
        found.files.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
        [shared.id.as_str()],
        "search ignores case"
    );
    assert_eq!(list(&stack, "?uploader=alice").await.files.len(), 1);
    assert!(list(&stack, "?q=nothing-like-this").await.files.is_empty());

    let integration_tests::Downloaded { bytes, disposition, .. } = stack.download(&shared.id).await;
    assert_eq!(bytes, report);
    assert!(
        disposition.contains("filename*=UTF-8''Quarterly%20Report.txt"),
        "{disposition}"
    );
    assert_eq!(stack.download(&photo.id).await.bytes, b"jpeg bytes");
}

#[tokio::test]
async fn names_with_spaces_quotes_and_non_ascii_survive() {
    let stack = stack(settings()).await;
    let name = "Über \"final\" 報告 v2.txt";
    let shared = stack.share(name, b"content", None, "listed").await;
    let fetched: FileView = json(&stack.api("GET", &format!("/api/files/{}", shared.id), None).await);
    assert_eq!(fetched.name, name);
    let disposition = stack.download(&shared.id).await.disposition;
    assert!(
        disposition.contains("filename*=UTF-8''%C3%9Cber%20%22final%22%20%E5%A0%B1%E5%91%8A%20v2.txt"),
        "{disposition}"
    );
    assert!(disposition.starts_with("attachment;"), "{disposition}");
}

#[tokio::test]
async fn unlisted_files_are_not_listed_but_download_by_id() {
    let stack = stack(settings()).await;
    let secret = stack.share("secret plans.txt", b"shh", None, "unlisted").await;
    stack.share("public plans.txt", b"hello", None, "listed").await;
    let names: Vec<String> = list(&stack, "?q=plans")
        .await
        .files
        .into_iter()
        .map(|f| f.name)
        .collect();
    assert_eq!(names, ["public plans.txt"]);
    assert_eq!(stack.download(&secret.id).await.bytes, b"shh");
}

#[tokio::test]
async fn completing_without_the_bytes_or_with_the_wrong_size_is_refused() {
    let stack = stack(settings()).await;
    let created = stack.announce("a.txt", b"twelve bytes", None, "listed").await;
    let complete = format!("/api/uploads/{}/complete", created.file.id);

    let response = stack.api("POST", &complete, None).await;
    assert_eq!(response.status(), 409);
    assert_eq!(error_of(&response).error, "upload_missing");

    // Other bytes than announced: storage refuses them (S3, and locally the region's gateway,
    // check the signed SHA-256).
    let UploadPlan::Single(put) = &created.upload else {
        panic!("a small file goes in one PUT")
    };
    assert_eq!(stack.send(put, b"short").await.as_u16(), 400);
    // Were a short object there anyway, completing would refuse it.
    stack
        .primary_s3
        .put_object()
        .bucket(integration_tests::BUCKET)
        .key(format!("files/{}", created.file.id))
        .body(b"short".to_vec().into())
        .send()
        .await
        .unwrap();
    let response = stack.api("POST", &complete, None).await;
    assert_eq!(response.status(), 409);
    assert_eq!(error_of(&response).error, "size_mismatch");
    assert!(
        error_of(&response).message.contains("5 bytes"),
        "{}",
        error_of(&response).message
    );

    let record: FileView = json(&stack.api("GET", &format!("/api/files/{}", created.file.id), None).await);
    assert_eq!(
        record.status,
        FileStatus::Uploading,
        "the record did not become available"
    );
    assert!(list(&stack, "").await.files.is_empty());
    assert_eq!(
        stack
            .api("GET", &format!("/api/files/{}/download", created.file.id), None)
            .await
            .status(),
        409
    );

    // The right bytes, then completing twice: same answer.
    stack.put(&created, b"twelve bytes").await;
    let first: FileView = json(&stack.api("POST", &complete, None).await);
    let second: FileView = json(&stack.api("POST", &complete, None).await);
    assert_eq!(first.status, FileStatus::Available);
    assert_eq!(first, second);
}

#[tokio::test]
async fn every_input_limit_is_a_4xx_that_writes_nothing() {
    let stack = stack(settings()).await;
    let good = j!({ "name": "a.txt", "size": 3, "content_type": "text/plain", "sha256": sha256_base64(b"abc") });
    let with = |field: &str, value: serde_json::Value| {
        let mut body = good.clone();
        body[field] = value;
        body.to_string()
    };
    let cases = [
        ("name too long", with("name", j!("n".repeat(256))), 400),
        ("empty name", with("name", j!("  ")), 400),
        ("control character", with("name", j!("a\u{7}b")), 400),
        ("path in name", with("name", j!("../etc/passwd")), 400),
        ("size zero", with("size", j!(0)), 400),
        ("size above maximum", with("size", j!(10 * 1024 * 1024 + 1)), 400),
        ("negative size", with("size", j!(-5)), 400),
        ("bad sha256", with("sha256", j!("abc")), 400),
        ("bad content type", with("content_type", j!("not a type")), 400),
        ("uploader too long", with("uploader", j!("u".repeat(65))), 400),
        ("bad visibility", with("visibility", j!("everyone")), 400),
        ("unknown field", with("colour", j!("red")), 400),
        ("not json", "{oops".to_owned(), 400),
        ("empty body", String::new(), 400),
        ("huge body", " ".repeat(17 * 1024), 413),
    ];
    for (what, body, status) in cases {
        let response = stack.api("POST", "/api/uploads", Some(&body)).await;
        assert_eq!(response.status(), status, "{what}");
        let error = error_of(&response);
        assert!(!error.message.is_empty() && !error.error.is_empty(), "{what}");
    }
    for query in [
        "?limit=0",
        "?limit=101",
        "?limit=x",
        "?cursor=bogus",
        &format!("?q={}", "q".repeat(101)),
    ] {
        assert_eq!(
            stack.api("GET", &format!("/api/files{query}"), None).await.status(),
            400,
            "{query}"
        );
    }
    for path in ["/api/files/not-an-id", "/api/files/not-an-id/download"] {
        assert_eq!(stack.api("GET", path, None).await.status(), 400, "{path}");
    }
    // Owner calls: a token is asked for first, then the id is checked.
    assert_eq!(stack.api("POST", "/api/uploads/xyz/complete", None).await.status(), 401);
    let token = Some("a-token-of-nobody");
    let complete = "/api/uploads/xyz/complete";
    assert_eq!(stack.api_as(token, "POST", complete, None).await.status(), 400);
    let unknown = "0123456789abcdef0123456789abcdef";
    assert_eq!(
        stack.api("GET", &format!("/api/files/{unknown}"), None).await.status(),
        404
    );
    assert_eq!(
        stack
            .api_as(token, "POST", &format!("/api/uploads/{unknown}/complete"), None)
            .await
            .status(),
        404
    );
    assert_eq!(stack.record_count().await, 0, "refused requests wrote nothing");
}

#[tokio::test]
async fn pages_follow_the_cursor_without_gaps_or_repeats() {
    let stack = stack(settings()).await;
    let mut shared = Vec::new();
    for i in 0..5 {
        shared.push(
            stack
                .share(
                    &format!("file {i}.txt"),
                    format!("content {i}").as_bytes(),
                    None,
                    "listed",
                )
                .await
                .id,
        );
        // Distinct creation times keep "newest first" unambiguous.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let mut seen = Vec::new();
    let mut cursor = String::new();
    loop {
        let page = list(&stack, &format!("?limit=2{cursor}")).await;
        assert!(page.files.len() <= 2);
        seen.extend(page.files.into_iter().map(|f| f.id));
        match page.next_cursor {
            Some(next) => cursor = format!("&cursor={next}"),
            None => break,
        }
    }
    shared.reverse();
    assert_eq!(seen, shared);
}

#[tokio::test]
async fn storage_outage_fails_fast_with_503_and_leaves_the_upload_pending() {
    let mut stack = stack(settings()).await;
    let created = stack.announce("a.txt", b"abc", None, "listed").await;
    stack.put(&created, b"abc").await;
    stack.primary.stop();
    let started = Instant::now();
    let response = stack
        .api("POST", &format!("/api/uploads/{}/complete", created.file.id), None)
        .await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "bounded by the SDK timeouts, not hung"
    );
    let record: FileView = json(&stack.api("GET", &format!("/api/files/{}", created.file.id), None).await);
    assert_eq!(record.status, FileStatus::Uploading);
}
