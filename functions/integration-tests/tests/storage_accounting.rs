//! The buckets hold exactly what the records say, against moto through the handlers and the
//! real SDK: cancels empty both buckets, abandoned uploads and orphans are cleaned up once no
//! URL can write, a cancel racing a completion never leaves an available file without bytes,
//! the sweep covers a table larger than one run, and a storm of all of it ends with each
//! bucket holding exactly the live records' objects.

use std::{collections::HashMap, time::Duration};

use aws_sdk_dynamodb::types::AttributeValue;
use futures::future::join_all;
use integration_tests::{json, stack, Stack, BUCKET, TABLE};
use twinshare_api::{CopyRole, CreateUploadResponse, FileStatus, StatusView};
use twinshare_core::{
    ports::{Clock, MetadataStore, SystemClock},
    record::{FileRecord, RecordState, RemovalReason},
    FileId, ServiceSettings,
};

/// Past the moment any upload URL signed now could still write (the stack's sweep grace is 0).
fn after_every_url() -> i64 {
    SystemClock.now_ms() + ServiceSettings::default().upload_url_ttl.as_millis() as i64 + 1_000
}

async fn cancel(stack: &Stack, id: &str) -> u16 {
    stack
        .api("DELETE", &format!("/api/uploads/{id}"), None)
        .await
        .status()
        .as_u16()
}

async fn complete(stack: &Stack, id: &str) -> u16 {
    let path = format!("/api/uploads/{id}/complete");
    stack.api("POST", &path, None).await.status().as_u16()
}

async fn announced(stack: &Stack, name: &str) -> CreateUploadResponse {
    stack.announce(name, name.as_bytes(), None, "listed").await
}

/// The file's record as the table holds it (removed ones too).
async fn record(stack: &Stack, id: &str) -> FileRecord {
    let id = FileId::parse(id).unwrap();
    stack.operator.metadata.get(id).await.unwrap().expect("the record")
}

async fn status(stack: &Stack) -> StatusView {
    json(&stack.api("GET", "/api/status", None).await)
}

#[tokio::test]
async fn a_single_put_replicated_before_completion_then_cancelled_leaves_both_buckets_empty() {
    let stack = stack(ServiceSettings::default()).await;
    let created = announced(&stack, "copied then cancelled.txt").await;
    stack.put(&created, b"copied then cancelled.txt").await;
    stack.deliver_events().await;
    let id = &created.file.id;
    assert!(
        stack.object(CopyRole::Replica, id).await.is_some(),
        "copied before completion"
    );
    assert_eq!(cancel(&stack, id).await, 204);
    assert_eq!(stack.object(CopyRole::Primary, id).await, None);
    assert_eq!(stack.object(CopyRole::Replica, id).await, None);
}

#[tokio::test]
async fn an_abandoned_upload_is_removed_from_both_buckets_after_its_url_ttl_and_the_grace() {
    let stack = stack(ServiceSettings::default()).await;
    let created = announced(&stack, "abandoned.txt").await;
    stack.put(&created, b"abandoned.txt").await;
    stack.deliver_events().await;
    let never_sent = announced(&stack, "never sent.txt").await;
    let id = &created.file.id;

    let report = stack.sweep_at(SystemClock.now_ms()).sweep(1_000).await.unwrap();
    assert_eq!(report.abandoned, 0, "its URL may still write");
    assert!(stack.object(CopyRole::Replica, id).await.is_some());

    let report = stack.sweep_at(after_every_url()).sweep(1_000).await.unwrap();
    assert_eq!(report.abandoned, 2, "{report:?}");
    assert_eq!(stack.object(CopyRole::Primary, id).await, None);
    assert_eq!(stack.object(CopyRole::Replica, id).await, None);
    for id in [id, &never_sent.file.id] {
        let record = record(&stack, id).await;
        assert_eq!(record.removal.map(|r| r.reason), Some(RemovalReason::Abandoned));
        assert_eq!(complete(&stack, id).await, 410, "too late to complete");
    }
}

#[tokio::test]
async fn bytes_put_back_after_a_cancel_are_deleted_by_the_audit_even_with_no_record_left() {
    let stack = stack(ServiceSettings::default()).await;
    // Put back on the URL, still valid, after the cancel; the event is lost.
    let removed = announced(&stack, "put back.txt").await;
    assert_eq!(cancel(&stack, &removed.file.id).await, 204);
    stack.put(&removed, b"put back.txt").await;
    // The same, and the record is gone as well (the table's TTL ran before the sweep did).
    let forgotten = announced(&stack, "forgotten.txt").await;
    assert_eq!(cancel(&stack, &forgotten.file.id).await, 204);
    stack.put(&forgotten, b"forgotten.txt").await;
    for key in [forgotten.file.id.clone(), format!("removed#{}", forgotten.file.id)] {
        stack
            .dynamodb
            .delete_item()
            .table_name(TABLE)
            .key("id", AttributeValue::S(key))
            .send()
            .await
            .unwrap();
    }
    // A file shared meanwhile is left alone.
    let kept = stack.share("kept.txt", b"kept", None, "listed").await;
    stack.deliver_events().await;

    let young = stack.sweep_at(SystemClock.now_ms()).sweep(1_000).await.unwrap();
    assert_eq!(young.orphans_deleted, 0, "a PUT may still be on its way");
    let report = stack.sweep_at(after_every_url()).sweep(1_000).await.unwrap();
    // The removed record's bytes go by its removal's watch; those with no record by the audit.
    assert_eq!((report.removals_watched, report.orphans_deleted), (1, 1), "{report:?}");
    assert_eq!(stack.object(CopyRole::Primary, &removed.file.id).await, None);
    assert_eq!(stack.object(CopyRole::Primary, &forgotten.file.id).await, None);
    assert_eq!(stack.object(CopyRole::Primary, &kept.id).await.unwrap(), b"kept");
    assert_eq!(stack.object(CopyRole::Replica, &kept.id).await.unwrap(), b"kept");
}

#[tokio::test]
async fn a_cancel_racing_a_completion_never_leaves_an_available_file_without_bytes() {
    let stack = stack(ServiceSettings::default()).await;
    let mut outcomes: HashMap<(u16, u16), usize> = HashMap::new();
    for i in 0..25 {
        let name = format!("race {i}.txt");
        let created = announced(&stack, &name).await;
        stack.put(&created, name.as_bytes()).await;
        let id = &created.file.id;
        // Which one the handlers' awaits interleave first varies with each request's timing.
        let (cancelled, completed) = if i % 2 == 0 {
            tokio::join!(cancel(&stack, id), complete(&stack, id))
        } else {
            let (b, a) = tokio::join!(complete(&stack, id), cancel(&stack, id));
            (a, b)
        };
        *outcomes.entry((cancelled, completed)).or_default() += 1;
        let record = record(&stack, id).await;
        let bytes = stack.object(CopyRole::Primary, id).await;
        match (record.removal, record.state) {
            (None, RecordState::Available) => assert_eq!(bytes.as_deref(), Some(name.as_bytes()), "{i}"),
            (None, RecordState::Uploading) => panic!("{i}: neither the cancel nor the completion took"),
            (Some(_), _) => assert_eq!(bytes, None, "{i}: removed, yet its bytes stay"),
        }
    }
    // The cancel always wins (mark first), whichever lands first: the owner asked for it.
    assert!(outcomes.keys().all(|(cancelled, _)| *cancelled == 204), "{outcomes:?}");
}

#[tokio::test]
async fn a_table_larger_than_one_run_is_covered_in_passes_and_its_damage_repaired() {
    const RECORDS: usize = 2_000;
    const PER_RUN: usize = 500;
    let stack = stack(ServiceSettings::default()).await;
    let template = stack.share("template.txt", b"one object", None, "listed").await;
    stack.deliver_events().await;
    // One more file, whose replica vanished behind our back; its record says both verified.
    let damaged = stack.share("damaged.txt", b"damaged", None, "listed").await;
    stack.deliver_events().await;
    stack.delete_object(CopyRole::Replica, &damaged.id).await;
    stack.seed_records(&template.id, RECORDS - 2, true).await;

    // The documented number of runs: the records over the per-run cap, rounded up; and one
    // more when the last of them filled its page exactly, as a full page cannot tell that
    // nothing follows (the table's other items, here the storage counter, sit anywhere in
    // the scan's order).
    let runs = RECORDS.div_ceil(PER_RUN);
    let mut ran = 0;
    loop {
        ran += 1;
        let report = stack.sweep.sweep(PER_RUN).await.unwrap();
        let expected = if ran <= runs { PER_RUN as u64 } else { 0 };
        assert_eq!(report.records, expected, "run {ran}");
        if report.pass_finished {
            break;
        }
        assert!(ran <= runs, "run {ran}: the pass should have ended");
    }
    assert!((runs..=runs + 1).contains(&ran), "{ran} runs");
    assert_eq!(stack.object(CopyRole::Replica, &damaged.id).await.unwrap(), b"damaged");
    let status = status(&stack).await;
    let pass = status.last_pass.expect("a finished pass");
    assert_eq!(
        (pass.runs, pass.records, pass.files),
        (ran as u32, RECORDS as u64, RECORDS as u64)
    );
    assert_eq!(status.not_redundant, Some(0));
    // The seeded records all name the template's object: each bucket holds two objects.
    let bytes: Vec<(CopyRole, u64, u64)> = pass
        .storage
        .buckets
        .iter()
        .map(|b| (b.role, b.objects, b.bytes))
        .collect();
    assert_eq!(bytes, vec![(CopyRole::Primary, 2, 17), (CopyRole::Replica, 2, 17)]);
}

#[tokio::test]
async fn after_a_storm_each_bucket_holds_exactly_the_live_records_objects() {
    let stack = stack(ServiceSettings::default()).await;
    let shared = |i: usize| {
        let stack = &stack;
        async move {
            stack
                .share(
                    &format!("shared {i}.txt"),
                    format!("shared {i}").as_bytes(),
                    None,
                    "listed",
                )
                .await
        }
    };
    let announce_and_put = |name: String| {
        let stack = &stack;
        async move {
            let created = announced(stack, &name).await;
            stack.put(&created, name.as_bytes()).await;
            created
        }
    };
    // Concurrent uploads, cancels after the PUT, uploads abandoned after the PUT, uploads
    // never sent; the replica region goes down in the middle of it.
    let (files, cancelled, abandoned, never_sent) = tokio::join!(
        join_all((0..12).map(shared)),
        join_all((0..6).map(|i| announce_and_put(format!("cancelled {i}.txt")))),
        join_all((0..4).map(|i| announce_and_put(format!("abandoned {i}.txt")))),
        join_all((0..3).map(|i| {
            let stack = &stack;
            async move { announced(stack, &format!("never sent {i}.txt")).await }
        })),
    );
    stack.replica.set_fault("down").await;
    // Half the events are delivered while the replica is down (those copies fail and stay
    // queued); half the cancels land then too (their replica delete is left to the sweep).
    let (delivered, _) = stack.deliver_events().await;
    assert!(delivered > 0);
    let halves = cancelled.split_at(3);
    let statuses = join_all(halves.0.iter().map(|c| cancel(&stack, &c.file.id))).await;
    assert!(statuses.iter().all(|s| *s == 204), "{statuses:?}");
    stack.replica.set_fault("ok").await;
    let statuses = join_all(halves.1.iter().map(|c| cancel(&stack, &c.file.id))).await;
    assert!(statuses.iter().all(|s| *s == 204), "{statuses:?}");
    // Bytes put back after their cancel, on URLs still valid.
    for c in halves.0 {
        stack.put(c, c.file.name.as_bytes()).await;
    }
    // Duplicate and late events: every key's event again, three times, at once; and a
    // redelivery of whatever failed while the replica was down.
    let keys: Vec<String> = files
        .iter()
        .map(|f| f.id.clone())
        .chain(cancelled.iter().chain(&abandoned).map(|c| c.file.id.clone()))
        .map(|id| format!("files/{id}"))
        .collect();
    let duplicates = keys.iter().flat_map(|key| (0..3).map(move |_| key));
    for outcome in join_all(duplicates.map(|key| stack.replicate.on_object_created(BUCKET, key))).await {
        outcome.expect("a duplicate event is handled");
    }
    stack.replica.set_fault("down").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    stack.replica.set_fault("ok").await;
    stack.deliver_events().await;

    // The sweep, once no URL of the storm can write any more: two runs (the second finds
    // nothing left to do).
    let later = after_every_url();
    let first = stack.sweep_at(later).sweep(10_000).await.unwrap();
    assert_eq!(
        first.abandoned,
        (abandoned.len() + never_sent.len()) as u64,
        "{first:?}"
    );
    let second = stack.sweep_at(later + 1_000).sweep(10_000).await.unwrap();
    assert_eq!(
        (
            second.replicas_copied,
            second.abandoned,
            second.orphans_deleted,
            second.not_redundant
        ),
        (0, 0, 0, 0),
        "{second:?}"
    );

    let live = stack.live_keys().await;
    let expected: std::collections::BTreeSet<String> = files.iter().map(|f| format!("files/{}", f.id)).collect();
    assert_eq!(live, expected, "only the shared files are live");
    assert_eq!(stack.bucket_keys(CopyRole::Primary).await, live);
    assert_eq!(stack.bucket_keys(CopyRole::Replica).await, live);
    for file in &files {
        assert_eq!(
            stack.file(&file.id).await.status,
            FileStatus::Redundant,
            "{}",
            file.name
        );
    }
    let pass = status(&stack).await.last_pass.expect("a finished pass");
    let accounted: u64 = files.iter().map(|f| f.size).sum();
    assert_eq!(pass.storage.accounted_bytes, accounted);
    assert_eq!(pass.storage.uploading_bytes, 0);
    for bucket in &pass.storage.buckets {
        assert_eq!(
            (bucket.objects, bucket.bytes),
            (files.len() as u64, accounted),
            "{bucket:?}"
        );
    }
    assert_eq!(pass.storage.buckets.len(), 2);
}
