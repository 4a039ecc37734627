//! The owner's controls against moto, through the handlers and the real SDK: the manage token,
//! edits, delete in both regions (with a region down, and with a late replication event),
//! expiry and exact download limits under concurrency.

use aws_sdk_dynamodb::types::AttributeValue;
use integration_tests::{json, stack, Stack, TABLE};
use twinshare_api::{CopyRole, ErrorBody, FileList, FileStatus, FileView};
use twinshare_core::ServiceSettings;

/// A listed file whose two copies are verified.
async fn redundant(stack: &Stack, name: &str) -> FileView {
    let file = stack.share(name, b"two regions of bytes", None, "listed").await;
    let (_, failed) = stack.deliver_events().await;
    assert_eq!(failed, 0);
    assert_eq!(stack.file(&file.id).await.status, FileStatus::Redundant);
    file
}

async fn error_of(stack: &Stack, method: &str, path: &str) -> (u16, String) {
    let response = stack.api(method, path, None).await;
    let status = response.status().as_u16();
    (status, json::<ErrorBody>(&response).error)
}

async fn listed_names(stack: &Stack) -> Vec<String> {
    let list: FileList = json(&stack.api("GET", "/api/files", None).await);
    list.files.into_iter().map(|f| f.name).collect()
}

#[tokio::test]
async fn owner_calls_need_the_token_and_edits_show_at_once() {
    let stack = stack(ServiceSettings::default()).await;
    let file = redundant(&stack, "draft.txt").await;
    let manage = format!("/api/manage/{}", file.id);
    let edit = r#"{"name":"final.txt"}"#;
    for token in [None, Some("not-the-token")] {
        let response = stack.api_as(token, "PATCH", &manage, Some(edit)).await;
        assert_eq!(response.status(), if token.is_none() { 401 } else { 403 });
        let response = stack.api_as(token, "DELETE", &manage, None).await;
        assert_eq!(response.status(), if token.is_none() { 401 } else { 403 });
    }
    assert_eq!(listed_names(&stack).await, ["draft.txt"]);

    let edited: FileView = stack.expect(200, "PATCH", &manage, Some(edit)).await;
    assert_eq!(edited.name, "final.txt");
    assert_eq!(listed_names(&stack).await, ["final.txt"]);
    let found: FileList = json(&stack.api("GET", "/api/files?q=FINAL", None).await);
    assert_eq!(found.files.len(), 1, "search finds the new name");
    let _: FileView = stack
        .expect(200, "PATCH", &manage, Some(r#"{"visibility":"unlisted"}"#))
        .await;
    assert!(listed_names(&stack).await.is_empty(), "unlisted: gone from the table");
    assert_eq!(
        stack.file(&file.id).await.name,
        "final.txt",
        "still reachable by its link"
    );
    let _: FileView = stack
        .expect(200, "PATCH", &manage, Some(r#"{"visibility":"listed"}"#))
        .await;
    assert_eq!(listed_names(&stack).await, ["final.txt"]);
    let (status, code) = {
        let response = stack.api("PATCH", &manage, Some(r#"{"max_downloads":0}"#)).await;
        (response.status().as_u16(), json::<ErrorBody>(&response).error)
    };
    assert_eq!((status, code.as_str()), (400, "invalid_request"));
}

#[tokio::test]
async fn delete_removes_both_copies_answers_410_and_is_idempotent() {
    let stack = stack(ServiceSettings::default()).await;
    let file = redundant(&stack, "gone.txt").await;
    let manage = format!("/api/manage/{}", file.id);
    assert_eq!(stack.api("DELETE", &manage, None).await.status(), 204);
    assert_eq!(stack.object(CopyRole::Primary, &file.id).await, None);
    assert_eq!(stack.object(CopyRole::Replica, &file.id).await, None);
    assert!(listed_names(&stack).await.is_empty());
    for path in [
        format!("/api/files/{}", file.id),
        format!("/api/files/{}/download", file.id),
    ] {
        assert_eq!(
            error_of(&stack, "GET", &path).await,
            (410, "file_deleted".into()),
            "{path}"
        );
    }
    assert_eq!(
        stack.api("DELETE", &manage, None).await.status(),
        204,
        "a second delete"
    );
    // The tombstone is an item of its own beside the record.
    let tombstone = stack
        .dynamodb
        .get_item()
        .table_name(TABLE)
        .key("id", AttributeValue::S(format!("removed#{}", file.id)))
        .send()
        .await
        .unwrap();
    let item = tombstone.item().expect("a tombstone item");
    assert_eq!(item["removed_reason"], AttributeValue::S("deleted".into()));
    // The sweep sees nothing left to do but watch.
    let report = stack.sweep.sweep(1_000).await.unwrap();
    assert_eq!((report.removals_watched, report.lost), (1, 0));
}

#[tokio::test]
async fn a_delete_with_the_replica_region_down_is_finished_by_the_sweep_on_its_return() {
    let stack = stack(ServiceSettings::default()).await;
    let file = redundant(&stack, "far.txt").await;
    stack.replica.set_fault("down").await;
    let response = stack.api("DELETE", &format!("/api/manage/{}", file.id), None).await;
    assert_eq!(response.status(), 204, "accepted while a region is down");
    assert_eq!(error_of(&stack, "GET", &format!("/api/files/{}", file.id)).await.0, 410);
    stack.sweep.sweep(1_000).await.unwrap();
    stack.replica.set_fault("ok").await;
    assert!(stack.object(CopyRole::Replica, &file.id).await.is_some(), "still there");
    stack.sweep.sweep(1_000).await.unwrap();
    assert_eq!(stack.object(CopyRole::Replica, &file.id).await, None);
    assert_eq!(stack.object(CopyRole::Primary, &file.id).await, None);
}

#[tokio::test]
async fn a_late_replication_event_after_a_delete_copies_nothing() {
    let stack = stack(ServiceSettings::default()).await;
    // Shared, but its event not yet delivered; deleted; then the event arrives.
    let file = stack.share("late.txt", b"bytes in flight", None, "listed").await;
    assert_eq!(
        stack
            .api("DELETE", &format!("/api/manage/{}", file.id), None)
            .await
            .status(),
        204
    );
    let (handled, failed) = stack.deliver_events().await;
    assert!(handled >= 1, "the upload's event was delivered");
    assert_eq!(failed, 0);
    assert_eq!(stack.object(CopyRole::Replica, &file.id).await, None);
    assert_eq!(stack.object(CopyRole::Primary, &file.id).await, None);
}

#[tokio::test]
async fn cancelling_during_the_upload_leaves_nothing_even_if_the_put_lands_after() {
    let stack = stack(ServiceSettings::default()).await;
    let bytes = b"sent after the cancel";
    let created = stack.announce("cancelled.txt", bytes, None, "listed").await;
    let cancel = format!("/api/uploads/{}", created.file.id);
    assert_eq!(stack.api("DELETE", &cancel, None).await.status(), 204);
    // The browser's PUT on the URL, still valid, lands afterwards; then its event.
    stack.put(&created, bytes).await;
    stack.deliver_events().await;
    assert_eq!(stack.object(CopyRole::Primary, &created.file.id).await, None);
    assert_eq!(stack.object(CopyRole::Replica, &created.file.id).await, None);
    assert_eq!(stack.api("DELETE", &cancel, None).await.status(), 204, "again");
}

#[tokio::test]
async fn an_expired_file_is_hidden_at_once_and_the_sweep_removes_its_bytes() {
    let stack = stack(ServiceSettings::default()).await;
    let file = redundant(&stack, "old.txt").await;
    // Time passes: the file's expiry is set in the past, as the clock would make it.
    stack
        .dynamodb
        .update_item()
        .table_name(TABLE)
        .key("id", AttributeValue::S(file.id.clone()))
        .update_expression("SET expiry_ms = :past")
        .expression_attribute_values(":past", AttributeValue::N("1".into()))
        .send()
        .await
        .unwrap();
    assert!(listed_names(&stack).await.is_empty());
    let download = format!("/api/files/{}/download", file.id);
    assert_eq!(error_of(&stack, "GET", &download).await, (410, "file_expired".into()));
    let report = stack.sweep.sweep(1_000).await.unwrap();
    assert_eq!(report.expired, 1);
    assert_eq!(stack.object(CopyRole::Primary, &file.id).await, None);
    assert_eq!(stack.object(CopyRole::Replica, &file.id).await, None);
    assert_eq!(error_of(&stack, "GET", &download).await, (410, "file_expired".into()));
}

#[tokio::test]
async fn a_password_is_required_on_download_and_a_wrong_one_refused() {
    let stack = stack(ServiceSettings::default()).await;
    let file = redundant(&stack, "protected.txt").await;
    let manage = format!("/api/manage/{}", file.id);
    let edited: FileView = stack
        .expect(200, "PATCH", &manage, Some(r#"{"password":"open sesame"}"#))
        .await;
    assert!(edited.protected);
    let item = stack
        .dynamodb
        .get_item()
        .table_name(TABLE)
        .key("id", AttributeValue::S(file.id.clone()))
        .send()
        .await
        .unwrap();
    let stored = item.item().unwrap()["password_hash"].as_s().unwrap().clone();
    assert!(
        stored.starts_with("$argon2id$") && !stored.contains("sesame"),
        "{stored}"
    );
    let download = |password: Option<&str>| {
        let mut request = twinshare_lambda::testing::request("GET", &format!("/api/files/{}/download", file.id), None);
        if let Some(password) = password {
            let headers = request.headers_mut();
            headers.insert(twinshare_api::PASSWORD_HEADER, password.parse().unwrap());
        }
        files_api::handle(&stack.files_api, request)
    };
    assert_eq!(download(None).await.status(), 401);
    let wrong = download(Some("open says me")).await;
    assert_eq!(wrong.status(), 403);
    assert_eq!(json::<ErrorBody>(&wrong).error, "password_wrong");
    let right = download(Some("open sesame")).await;
    assert_eq!(right.status(), 302);
    let _: FileView = stack.expect(200, "PATCH", &manage, Some(r#"{"password":null}"#)).await;
    assert_eq!(download(None).await.status(), 302, "the password removed");
}

#[tokio::test]
async fn fifty_concurrent_downloads_of_a_file_limited_to_three_succeed_exactly_three_times() {
    let stack = stack(ServiceSettings::default()).await;
    let file = redundant(&stack, "limited.txt").await;
    let _: FileView = stack
        .expect(
            200,
            "PATCH",
            &format!("/api/manage/{}", file.id),
            Some(r#"{"max_downloads":3}"#),
        )
        .await;
    let download = format!("/api/files/{}/download", file.id);
    let attempts = (0..50).map(|_| stack.api("GET", &download, None));
    let answers = futures::future::join_all(attempts).await;
    let mut statuses: Vec<u16> = answers.iter().map(|a| a.status().as_u16()).collect();
    statuses.sort_unstable();
    assert_eq!(statuses.iter().filter(|s| **s == 302).count(), 3, "{statuses:?}");
    assert_eq!(statuses.iter().filter(|s| **s == 410).count(), 47, "{statuses:?}");
    assert_eq!(stack.file(&file.id).await.downloads_left, Some(0));
    assert_eq!(
        error_of(&stack, "GET", &download).await,
        (410, "download_limit_reached".into())
    );
}
