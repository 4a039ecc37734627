//! The operator's take-down against moto, through the operator's command with the operator's
//! own identity: both regions emptied, every link answering 410 `file_removed`; with the
//! replica region down, finished by the sweep once it is back.

use integration_tests::{json, stack, Stack};
use operator::{run, Command};
use twinshare_api::{CopyRole, ErrorBody, FileStatus, FileView};
use twinshare_core::ServiceSettings;

async fn redundant(stack: &Stack, name: &str) -> FileView {
    let file = stack.share(name, b"reported bytes", None, "listed").await;
    stack.deliver_events().await;
    assert_eq!(stack.file(&file.id).await.status, FileStatus::Redundant);
    file
}

async fn error_of(stack: &Stack, path: &str) -> (u16, String) {
    let response = stack.api("GET", path, None).await;
    (response.status().as_u16(), json::<ErrorBody>(&response).error)
}

#[tokio::test]
async fn a_file_taken_down_leaves_both_regions_and_its_links_answer_410() {
    let stack = stack(ServiceSettings::default()).await;
    let file = redundant(&stack, "reported.txt").await;
    let recent = run(&stack.operator, Command::Recent(5)).await.unwrap();
    assert!(recent.contains(&file.id) && recent.contains("reported.txt"), "{recent}");

    let take_down = Command::TakeDown {
        id: file.id.clone(),
        block: true,
    };
    let out = run(&stack.operator, take_down).await.unwrap();
    assert!(out.contains("no bytes left in either region"), "{out}");
    assert!(out.contains("content blocked"), "{out}");
    assert_eq!(stack.object(CopyRole::Primary, &file.id).await, None);
    assert_eq!(stack.object(CopyRole::Replica, &file.id).await, None);
    for path in [
        format!("/api/files/{}", file.id),
        format!("/api/files/{}/download", file.id),
    ] {
        assert_eq!(error_of(&stack, &path).await, (410, "file_removed".into()), "{path}");
    }
    let shown = run(&stack.operator, Command::Show(file.id.clone())).await.unwrap();
    assert!(shown.contains("removed (taken_down)"), "{shown}");
    // The same bytes under another name are refused before anything is signed or written.
    let records = stack.record_count().await;
    let body = serde_json::json!({
        "name": "renamed copy.txt", "size": 14, "content_type": "text/plain",
        "sha256": integration_tests::sha256_base64(b"reported bytes"), "visibility": "listed",
    });
    let again = stack.api("POST", "/api/uploads", Some(&body.to_string())).await;
    assert_eq!(again.status(), 403);
    assert_eq!(json::<ErrorBody>(&again).error, "content_blocked");
    assert_eq!(stack.record_count().await, records, "nothing written");
}

#[tokio::test]
async fn a_take_down_with_the_replica_region_down_is_finished_by_the_sweep() {
    let stack = stack(ServiceSettings::default()).await;
    let file = redundant(&stack, "reported while down.txt").await;
    stack.replica.set_fault("down").await;
    let take_down = Command::TakeDown {
        id: file.id.clone(),
        block: false,
    };
    let out = run(&stack.operator, take_down).await.unwrap();
    assert!(out.contains("deleted by the sweep once it answers"), "{out}");
    assert_eq!(stack.object(CopyRole::Primary, &file.id).await, None);
    assert_eq!(error_of(&stack, &format!("/api/files/{}", file.id)).await.0, 410);
    stack.replica.set_fault("ok").await;
    assert!(stack.object(CopyRole::Replica, &file.id).await.is_some(), "still there");
    stack.sweep.sweep(1_000).await.unwrap();
    assert_eq!(stack.object(CopyRole::Replica, &file.id).await, None);
}

#[tokio::test]
async fn a_file_sent_in_parts_is_blocked_by_its_composite_sha256_and_refused_when_sent_again() {
    let stack = stack(ServiceSettings::default()).await;
    // Over the 32 MiB threshold: sent in parts, with no whole-file SHA-256 from the browser.
    let bytes: Vec<u8> = (0..33 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect();
    let file = stack.share("big.bin", &bytes, None, "listed").await;
    let take_down = Command::TakeDown {
        id: file.id.clone(),
        block: true,
    };
    let out = run(&stack.operator, take_down).await.unwrap();
    assert!(out.contains("content blocked") && out.contains("-5"), "{out}");

    let again = stack
        .announce("same bytes, new name.bin", &bytes, None, "unlisted")
        .await;
    stack.put(&again, &bytes).await;
    let path = format!("/api/uploads/{}/complete", again.file.id);
    let response = stack.api("POST", &path, None).await;
    assert_eq!(response.status(), 403);
    assert_eq!(json::<ErrorBody>(&response).error, "content_blocked");
    assert_eq!(error_of(&stack, &format!("/api/files/{}", again.file.id)).await.0, 410);
    assert_eq!(stack.object(CopyRole::Primary, &again.file.id).await, None);

    let mut other = bytes.clone();
    other[0] ^= 1;
    stack.share("other bytes.bin", &other, None, "unlisted").await;
}
