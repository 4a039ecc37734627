//! Downloads while a region's S3 fails and DynamoDB stays up: the fault is set on the region's
//! S3 gateway, as the local stack does it.

use std::time::{Duration, Instant};

use integration_tests::{json, stack, Stack};
use twinshare_api::{ErrorBody, FileStatus, FileView};
use twinshare_core::ServiceSettings;

async fn redundant_files(stack: &Stack, count: usize) -> Vec<(FileView, Vec<u8>)> {
    let mut files = Vec::new();
    for i in 0..count {
        let bytes = format!("file {i} in two regions").repeat(100).into_bytes();
        files.push((stack.share(&format!("f{i}.txt"), &bytes, None, "listed").await, bytes));
    }
    let (_, failed) = stack.deliver_events().await;
    assert_eq!(failed, 0);
    for (file, _) in &files {
        assert_eq!(stack.file(&file.id).await.status, FileStatus::Redundant);
    }
    files
}

#[tokio::test]
async fn every_redundant_file_downloads_from_whichever_region_is_up() {
    let stack = stack(ServiceSettings::default()).await;
    let files = redundant_files(&stack, 5).await;

    stack.primary.set_fault("down").await;
    for (file, bytes) in &files {
        let integration_tests::Downloaded {
            location, bytes: body, ..
        } = stack.download(&file.id).await;
        assert!(location.starts_with(&stack.replica.url), "{location}");
        assert_eq!(&body, bytes);
    }

    stack.primary.set_fault("ok").await;
    stack.replica.set_fault("down").await;
    for (file, bytes) in &files {
        let integration_tests::Downloaded {
            location, bytes: body, ..
        } = stack.download(&file.id).await;
        assert!(location.starts_with(&stack.primary.url), "{location}");
        assert_eq!(&body, bytes);
    }

    stack.replica.set_fault("ok").await;
    let location = stack.download(&files[0].0.id).await.location;
    assert!(
        location.starts_with(&stack.primary.url),
        "back to the primary once it recovered"
    );
}

#[tokio::test]
async fn both_regions_down_is_a_clear_503() {
    let stack = stack(ServiceSettings::default()).await;
    let files = redundant_files(&stack, 1).await;
    stack.primary.set_fault("down").await;
    stack.replica.set_fault("down").await;
    let response = stack
        .api("GET", &format!("/api/files/{}/download", files[0].0.id), None)
        .await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    let error: ErrorBody = json(&response);
    assert_eq!(error.error, "no_reachable_copy");
    assert!(
        error.message.contains("eu-west-1") && error.message.contains("us-west-2"),
        "{}",
        error.message
    );
}

#[tokio::test]
async fn a_primary_down_before_replication_says_the_second_copy_is_not_ready() {
    let stack = stack(ServiceSettings::default()).await;
    let file = stack.share("early.txt", b"only one copy yet", None, "listed").await;
    stack.primary.set_fault("down").await;
    let response = stack
        .api("GET", &format!("/api/files/{}/download", file.id), None)
        .await;
    assert_eq!(response.status(), 503);
    let error: ErrorBody = json(&response);
    assert!(error.message.contains("second copy is not ready"), "{}", error.message);
}

#[tokio::test]
async fn a_hanging_region_costs_a_bounded_wait() {
    let stack = stack(ServiceSettings::default()).await;
    let files = redundant_files(&stack, 1).await;
    stack.primary.set_fault("hang").await;
    let started = Instant::now();
    let integration_tests::Downloaded {
        location, bytes: body, ..
    } = stack.download(&files[0].0.id).await;
    let waited = started.elapsed();
    stack.primary.set_fault("ok").await;
    assert!(location.starts_with(&stack.replica.url), "{location}");
    assert_eq!(body, files[0].1);
    // The check gives up after copy_check_timeout (400 ms); the SDK alone would wait 5 s per
    // attempt. This bounds the mechanism, not the speed (that is in infra/bench).
    assert!(waited < Duration::from_secs(3), "waited {waited:?}");
}

#[tokio::test]
async fn uploads_are_refused_at_once_while_the_primary_is_down() {
    let stack = stack(ServiceSettings::default()).await;
    stack.primary.set_fault("hang").await;
    let body = serde_json::json!({ "name": "a.txt", "size": 3, "sha256": integration_tests::sha256_base64(b"abc") });
    let response = stack.api("POST", "/api/uploads", Some(&body.to_string())).await;
    stack.primary.set_fault("ok").await;
    assert_eq!(response.status(), 503);
    let error: ErrorBody = json(&response);
    assert_eq!(error.error, "uploads_paused");
    assert!(error.message.contains("downloads still work"), "{}", error.message);
    assert_eq!(stack.record_count().await, 0, "nothing recorded");
}

#[tokio::test]
async fn once_the_probe_marks_the_primary_down_downloads_skip_it_and_status_shows_it() {
    let stack = stack(ServiceSettings::default()).await;
    let files = redundant_files(&stack, 1).await;
    let probe = stack.probe(Duration::from_millis(500)).await;

    probe.run().await.unwrap();
    let status: twinshare_api::StatusView = json(&stack.api("GET", "/api/status", None).await);
    assert!(
        status
            .regions
            .iter()
            .all(|r| r.status == twinshare_api::RegionStatus::Up),
        "{status:?}"
    );

    stack.primary.set_fault("hang").await;
    probe.run().await.unwrap();
    probe.run().await.unwrap();
    let status: twinshare_api::StatusView = json(&stack.api("GET", "/api/status", None).await);
    assert_eq!(
        status.regions[0].status,
        twinshare_api::RegionStatus::Down,
        "{status:?}"
    );
    assert_eq!(status.regions[0].consecutive_failures, 2);

    // Marked down: the hanging primary is not even asked, so no check timeout is spent on it.
    let started = Instant::now();
    let redirect = stack
        .api("GET", &format!("/api/files/{}/download", files[0].0.id), None)
        .await;
    let waited = started.elapsed();
    let integration_tests::Downloaded {
        location, bytes: body, ..
    } = stack.download(&files[0].0.id).await;
    stack.primary.set_fault("ok").await;
    assert_eq!(redirect.status(), 302);
    assert!(location.starts_with(&stack.replica.url), "{location}");
    assert_eq!(body, files[0].1);
    assert!(
        waited < Duration::from_millis(400),
        "waited {waited:?}: the marked-down region was tried"
    );

    probe.run().await.unwrap();
    let location = stack.download(&files[0].0.id).await.location;
    assert!(
        location.starts_with(&stack.primary.url),
        "back to the primary after one good probe"
    );
}

#[tokio::test]
async fn a_hanging_table_costs_a_read_well_under_a_second() {
    // As deployed: files-api's table calls give up after 300 ms per attempt.
    let stack = integration_tests::stack_reading_within(ServiceSettings::default(), Duration::from_millis(300)).await;
    let files = redundant_files(&stack, 1).await;
    stack.metadata.set_fault("hang").await;
    let mut waits = Vec::new();
    for path in [
        "/api/files".to_owned(),
        "/api/files?q=f0".to_owned(),
        format!("/api/files/{}", files[0].0.id),
        format!("/api/files/{}/download", files[0].0.id),
    ] {
        let started = Instant::now();
        let response = stack.api("GET", &path, None).await;
        waits.push((path, response.status(), started.elapsed()));
    }
    stack.metadata.set_fault("ok").await;
    for (path, status, waited) in waits {
        assert_eq!(status, 503, "{path}");
        // files-api's table calls give up after 300 ms per attempt and 600 ms in all; the SDK's
        // defaults would hold each read 10 s. This bounds the mechanism, not the speed.
        assert!(waited < Duration::from_millis(1500), "{path} waited {waited:?}");
    }
    assert_eq!(
        stack
            .api("GET", &format!("/api/files/{}", files[0].0.id), None)
            .await
            .status(),
        200,
        "answers again once the table does"
    );
}
