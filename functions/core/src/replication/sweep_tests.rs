//! The sweep's passes, abandoned uploads and the orphan audit, on fakes.
use twinshare_api::{CopyRole, Visibility};

use crate::{
    fakes::{replication, FakeReplication, FakeService},
    ports::MetadataStore,
    record::{RemovalReason, MULTIPART_RESUMABLE_MS},
    service::test_support::{announce, announce_in_parts, redundant, service, uploaded},
    ApiError, FileId,
};

/// The fakes' upload URL TTL (15 min) plus the sweep's grace (60 s): how long after an upload
/// began no URL it was given can write any more.
const WINDOW_MS: i64 = 15 * 60 * 1000 + 60 * 1000;

/// The sweep, `after_ms` after the test service's clock (1,000).
fn sweep_at(svc: &FakeService, after_ms: i64) -> FakeReplication {
    replication(svc, 1_000 + after_ms)
}

#[tokio::test]
async fn an_abandoned_single_put_leaves_both_buckets_once_its_url_cannot_write() {
    let svc = service();
    let created = uploaded(&svc, announce("never completed.txt", Visibility::Listed)).await;
    let id = FileId::parse(&created.file.id).unwrap();
    let key = id.object_key();
    // Replication copies what a record exists for, completed or not.
    sweep_at(&svc, 10)
        .on_object_created("primary", key.as_str())
        .await
        .unwrap();
    assert!(svc.replica.holds(&key));

    let report = sweep_at(&svc, WINDOW_MS - 1).sweep(1_000).await.unwrap();
    assert_eq!(report.abandoned, 0, "its URL may still write");
    assert_eq!(report.uploading_bytes, 3);
    assert!(svc.primary.holds(&key));

    let report = sweep_at(&svc, WINDOW_MS).sweep(1_000).await.unwrap();
    assert_eq!(report.abandoned, 1);
    assert!(!svc.primary.holds(&key) && !svc.replica.holds(&key));
    let record = svc.metadata.get(id).await.unwrap().unwrap();
    assert_eq!(record.removal.map(|r| r.reason), Some(RemovalReason::Abandoned));
    assert_eq!(
        svc.complete_upload(&created.file.id, Some(&created.manage_token)).await,
        Err(ApiError::UploadGone(created.file.id.clone()))
    );
}

#[tokio::test]
async fn a_multipart_upload_may_be_resumed_for_a_day_before_it_counts_as_abandoned() {
    let svc = service();
    let created = svc
        .create_upload(announce_in_parts("big.bin"), &Default::default())
        .await
        .unwrap();
    let report = sweep_at(&svc, WINDOW_MS).sweep(1_000).await.unwrap();
    assert_eq!(report.abandoned, 0, "parts may still be asked for");
    assert_eq!(svc.primary.open_uploads(), 1);
    let report = sweep_at(&svc, MULTIPART_RESUMABLE_MS + WINDOW_MS)
        .sweep(1_000)
        .await
        .unwrap();
    assert_eq!(report.abandoned, 1);
    assert_eq!(svc.primary.open_uploads(), 0, "its parts are freed");
    let late = crate::Service {
        clock: crate::fakes::FixedClock(1_000 + MULTIPART_RESUMABLE_MS),
        ..service()
    };
    let late = crate::Service {
        primary: svc.primary.clone(),
        replica: svc.replica.clone(),
        metadata: svc.metadata.clone(),
        ..late
    };
    let asked = twinshare_api::PartUrlsRequest { parts: vec![] };
    assert!(matches!(
        late.part_urls(&created.file.id, Some(&created.manage_token), asked)
            .await,
        Err(ApiError::UploadGone(_))
    ));
}

#[tokio::test]
async fn the_audit_deletes_old_objects_no_live_record_accounts_for_and_nothing_else() {
    let svc = service();
    let live = redundant(&svc).await.object_key();
    let never_recorded = FileId::random().object_key();
    let young = FileId::random().object_key();
    svc.primary.put(&never_recorded, b"orphan");
    svc.replica.put(&never_recorded, b"orphan");
    svc.primary.put(&young, b"in flight");
    svc.primary.set_modified(&young, 1_000 + WINDOW_MS - 10);
    svc.replica.put_foreign("files/not-ours.txt", b"someone else's");
    // A removed file whose bytes came back after its removal was settled.
    let removed = redundant(&svc).await;
    svc.delete_file(&removed.to_string(), None).await.ok();
    crate::removal::remove(
        [&svc.primary, &svc.replica],
        &svc.metadata,
        removed,
        RemovalReason::Deleted,
        1_500,
    )
    .await
    .unwrap();
    svc.primary.put(&removed.object_key(), b"abc");

    let report = sweep_at(&svc, WINDOW_MS).sweep(1_000).await.unwrap();
    assert_eq!(report.orphans_deleted, 3, "{report:?}");
    assert_eq!(report.orphan_bytes_deleted, 6 + 6 + 3);
    assert!(!svc.primary.holds(&never_recorded) && !svc.replica.holds(&never_recorded));
    assert!(!svc.primary.holds(&removed.object_key()));
    assert!(svc.primary.holds(&young), "a PUT may still be on its way");
    assert!(svc.primary.holds(&live) && svc.replica.holds(&live));
    let summary = svc.metadata.replication_summary().await.unwrap().unwrap();
    assert_eq!(summary.orphans_deleted, 3);
}

#[tokio::test]
async fn a_pass_covers_the_whole_table_over_several_runs_and_then_starts_again() {
    let svc = service();
    for _ in 0..25 {
        redundant(&svc).await;
    }
    // One file lost its replica behind our back.
    let damaged = redundant(&svc).await;
    svc.replica.remove(&damaged.object_key());
    let mut runs = 0;
    let summary = loop {
        runs += 1;
        let report = sweep_at(&svc, 10_000 * runs).sweep(10).await.unwrap();
        assert!(report.records <= 10);
        if report.pass_finished {
            break svc.metadata.replication_summary().await.unwrap().unwrap();
        }
        assert_eq!(
            svc.metadata.replication_summary().await.unwrap(),
            None,
            "not before the pass ends"
        );
    };
    assert_eq!(runs, 3, "26 records at 10 a run");
    assert!(svc.replica.holds(&damaged.object_key()), "repaired on its run");
    assert_eq!(summary.runs, 3);
    assert_eq!((summary.records, summary.files, summary.not_redundant), (26, 26, 0));
    assert_eq!(summary.started_at_ms, 1_000 + 10_000);
    assert_eq!(summary.finished_at_ms, Some(1_000 + 30_000));
    assert_eq!(summary.storage.accounted_bytes, 26 * 3);
    let stored: Vec<(CopyRole, u64, u64)> = summary
        .storage
        .buckets
        .iter()
        .map(|b| (b.role, b.objects, b.bytes))
        .collect();
    assert_eq!(stored, vec![(CopyRole::Primary, 26, 78), (CopyRole::Replica, 26, 78)]);
    // The next run starts the next pass from the beginning.
    let report = sweep_at(&svc, 40_000).sweep(10).await.unwrap();
    assert!(!report.pass_finished);
    assert_eq!(
        svc.metadata
            .sweep_pass(CopyRole::Primary)
            .await
            .unwrap()
            .unwrap()
            .tally
            .started_at_ms,
        1_000 + 40_000
    );
}

#[tokio::test]
async fn a_region_that_cannot_be_listed_is_checked_object_by_object_and_not_audited() {
    let svc = service();
    let id = redundant(&svc).await;
    let orphan = FileId::random().object_key();
    svc.replica.put(&orphan, b"orphan");
    svc.replica.set_down(true);
    let report = sweep_at(&svc, WINDOW_MS).sweep(1_000).await.unwrap();
    assert_eq!(report.unreachable, 1, "the file could not be checked");
    assert_eq!(report.orphans_deleted, 0);
    svc.replica.set_down(false);
    assert!(svc.replica.holds(&orphan));
    let summary = svc.metadata.replication_summary().await.unwrap().unwrap();
    assert_eq!(summary.storage.buckets.len(), 1, "only the primary was listed");
    assert_eq!(summary.not_redundant, 1);
    let _ = id;
}

#[tokio::test]
async fn records_whose_search_entries_fell_behind_are_rewritten_once() {
    let svc = service();
    // Shared through the service: every write brought the index along.
    redundant(&svc).await;
    // Written without its index (it predates the index, or its follow-up failed).
    let behind = uploaded(&svc, announce("behind.txt", Visibility::Listed)).await;
    let id = FileId::parse(&behind.file.id).unwrap();
    svc.complete_upload(&behind.file.id, Some(&behind.manage_token))
        .await
        .unwrap();
    let mut record = svc.metadata.get(id).await.unwrap().unwrap();
    record.indexed_ms = None;
    svc.metadata.put_record(record);
    // Uploads in progress need no entry.
    uploaded(&svc, announce("in progress.txt", Visibility::Listed)).await;

    let report = sweep_at(&svc, 10).sweep(1_000).await.unwrap();
    assert_eq!(report.reindexed, 1);
    assert!(!svc.metadata.get(id).await.unwrap().unwrap().needs_index());
    let report = sweep_at(&svc, 20).sweep(1_000).await.unwrap();
    assert_eq!(report.reindexed, 0, "rewritten once");
}
