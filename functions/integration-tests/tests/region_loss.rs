//! Losing a whole region: the primary region's tables and bucket down together, while the
//! second region's read API (infra/replica.yaml's files-api) serves from its replica of the
//! tables, which `infra/local/global_tables.py` keeps in step as DynamoDB global tables do.

use std::time::{Duration, Instant};

use integration_tests::{json, sha256_base64, stack_in_two_regions, ApiRegion, Stack, REPLICA_REGION};
use twinshare_api::{ErrorBody, FileList, FileStatus, FileView, RegionStatus, StatusView};
use twinshare_core::ServiceSettings;

/// Waits until the second region holds the file as the primary has it now.
async fn redundant_in_second_region(stack: &Stack, id: &str) -> FileView {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let file: FileView = json(&stack.in_second_region(&format!("/api/files/{id}"), 200).await);
        if file.status == FileStatus::Redundant {
            return file;
        }
        assert!(Instant::now() < deadline, "the second region still has {file:?}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test]
async fn with_the_primary_region_down_files_are_found_and_downloaded_from_the_second() {
    let stack = stack_in_two_regions(ServiceSettings::default()).await;
    let report = b"quarterly numbers, kept in two regions".repeat(50);
    let listed = stack
        .share("Quarterly report.pdf", &report, Some("ana"), "listed")
        .await;
    let limited = stack
        .share("limited.txt", b"three downloads only", None, "unlisted")
        .await;
    let response = stack
        .api(
            "PATCH",
            &format!("/api/manage/{}", limited.id),
            Some(r#"{"max_downloads":3}"#),
        )
        .await;
    assert_eq!(response.status(), 200);
    let (_, failed) = stack.deliver_events().await;
    assert_eq!(failed, 0);
    redundant_in_second_region(&stack, &listed.id).await;
    let limited_there = redundant_in_second_region(&stack, &limited.id).await;
    assert_eq!(
        limited_there.max_downloads,
        Some(3),
        "the edit reached the second region too"
    );

    stack.set_primary_region("down").await;

    // The primary's API cannot read its table: a 5xx, on which the front fails over.
    let response = stack.api("GET", "/api/files", None).await;
    assert!(response.status().is_server_error(), "{}", response.status());

    // Search, details and download, all from the second region.
    let found: FileList = json(&stack.second_region_api("GET", "/api/files?q=quarterly").await);
    let names: Vec<_> = found.files.iter().map(|f| f.name.as_str()).collect();
    assert_eq!(names, ["Quarterly report.pdf"]);
    let downloaded = stack.download_in(ApiRegion::Second, &listed.id).await;
    assert!(
        downloaded.location.starts_with(&stack.replica.url),
        "signed from the second region's copy: {}",
        downloaded.location
    );
    assert_eq!(downloaded.bytes, report);

    // A limited download is counted only in its home region, the primary's: here it is refused
    // rather than counted where the count would be lost.
    let response = stack
        .second_region_api("GET", &format!("/api/files/{}/download", limited.id))
        .await;
    assert_eq!(response.status(), 503);
    assert_eq!(json::<ErrorBody>(&response).error, "limit_unavailable");

    // The status page says which region answered.
    let status: StatusView = json(&stack.second_region_api("GET", "/api/status").await);
    assert_eq!(status.served_by, REPLICA_REGION);

    // The primary region refuses uploads while it is down; the second region takes them
    // (tests/write_failover.rs follows them to two copies).
    let body = serde_json::json!({
        "name": "new.txt", "size": 3, "content_type": "text/plain", "sha256": sha256_base64(b"new"),
    })
    .to_string();
    let response = stack.api_as(None, "POST", "/api/uploads", Some(&body)).await;
    assert_eq!(response.status(), 503);
    let response = stack.api("POST", "/api/uploads", Some(&body)).await;
    assert_eq!(
        response.status(),
        201,
        "{}",
        String::from_utf8_lossy(response.body().as_ref())
    );

    // Back up: the primary serves again, and counts the limited download.
    stack.set_primary_region("ok").await;
    let response = stack
        .api("GET", &format!("/api/files/{}/download", limited.id), None)
        .await;
    assert_eq!(response.status(), 302);
    let left: FileView = json(&stack.api("GET", &format!("/api/files/{}", limited.id), None).await);
    assert_eq!(left.downloads_left, Some(2));

    // Each region's probe writes only its own view; both views reach both tables, and then
    // every table holds the same items in both regions.
    stack.probe(Duration::from_secs(2)).await.run().await.unwrap();
    let second = stack.second_region.as_ref().unwrap();
    second.probe(Duration::from_secs(2)).await.run().await.unwrap();
    stack.wait_until_tables_agree().await;
    let status: StatusView = json(&stack.second_region_api("GET", "/api/status").await);
    let apis: Vec<_> = status.regions.iter().map(|r| r.api).collect();
    assert_eq!(
        apis,
        [RegionStatus::Up, RegionStatus::Up],
        "the primary's reports arrive"
    );
}

#[tokio::test]
async fn what_is_written_while_the_second_region_is_away_reaches_it_on_its_return() {
    let stack = stack_in_two_regions(ServiceSettings::default()).await;
    let second = stack.second_region.as_ref().unwrap();
    second.metadata.set_fault("down").await;
    let file = stack
        .share(
            "written meanwhile.txt",
            b"made while us-west-2 was away",
            None,
            "listed",
        )
        .await;
    let (_, failed) = stack.deliver_events().await;
    assert_eq!(failed, 0);
    let response = stack.second_region_api("GET", &format!("/api/files/{}", file.id)).await;
    assert_eq!(response.status(), 503, "the second region's own table is down");

    second.metadata.set_fault("ok").await;
    let there = redundant_in_second_region(&stack, &file.id).await;
    assert_eq!(there.name, "written meanwhile.txt");

    // A rename in the primary region replaces the whole item there too (last writer wins).
    let response = stack
        .api(
            "PATCH",
            &format!("/api/manage/{}", file.id),
            Some(r#"{"name":"renamed.txt"}"#),
        )
        .await;
    assert_eq!(response.status(), 200);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let there: FileView = json(&stack.in_second_region(&format!("/api/files/{}", file.id), 200).await);
        if there.name == "renamed.txt" {
            assert_eq!(there.status, FileStatus::Redundant);
            break;
        }
        assert!(Instant::now() < deadline, "the rename did not reach the second region");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}
