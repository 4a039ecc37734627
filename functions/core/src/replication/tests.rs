//! The replication event and the sweep, on fakes.
use twinshare_api::{CreateUploadRequest, Visibility};

use super::*;
use crate::{
    fakes::{replication, service, FakeService},
    record::REMOVAL_WATCH_MS,
    service::test_support::{announce, available},
};

/// A completed upload of "abc"; returns its key.
async fn uploaded(svc: &FakeService) -> ObjectKey {
    owned(svc).await.0.object_key()
}

/// A completed upload of "abc", and its manage token.
async fn owned(svc: &FakeService) -> (FileId, String) {
    let request = CreateUploadRequest {
        content_type: String::new(),
        ..announce("a.txt", Visibility::Listed)
    };
    available(svc, request).await
}

async fn state(svc: &FakeService, key: &ObjectKey, role: CopyRole) -> CopyState {
    svc.metadata
        .get(key.file_id())
        .await
        .unwrap()
        .unwrap()
        .copy_state(role)
        .unwrap()
}

#[tokio::test]
async fn an_event_copies_verifies_and_records() {
    let svc = service();
    let key = uploaded(&svc).await;
    let replication = replication(&svc, 10);
    assert_eq!(
        replication.on_object_created("primary", key.as_str()).await.unwrap(),
        Replicated::Copied
    );
    assert_eq!(svc.replica.get(&key).unwrap(), b"abc");
    assert_eq!(state(&svc, &key, CopyRole::Replica).await, CopyState::Verified);
    assert_eq!(
        svc.get_file(&key.file_id().to_string()).await.unwrap().status,
        twinshare_api::FileStatus::Redundant
    );
}

#[tokio::test]
async fn repeated_events_change_nothing() {
    let svc = service();
    let key = uploaded(&svc).await;
    let replication = replication(&svc, 10);
    replication.on_object_created("primary", key.as_str()).await.unwrap();
    let before = svc.metadata.get(key.file_id()).await.unwrap();
    for _ in 0..3 {
        assert_eq!(
            replication.on_object_created("primary", key.as_str()).await.unwrap(),
            Replicated::AlreadyVerified
        );
    }
    assert_eq!(svc.metadata.get(key.file_id()).await.unwrap(), before);
}

#[tokio::test]
async fn foreign_and_unknown_keys_are_acknowledged() {
    let svc = service();
    let replication = replication(&svc, 10);
    assert_eq!(
        replication.on_object_created("primary", "not+ours.txt").await.unwrap(),
        Replicated::NotOurs
    );
    let unknown = FileId::random().object_key();
    assert_eq!(
        replication
            .on_object_created("primary", unknown.as_str())
            .await
            .unwrap(),
        Replicated::NoRecord
    );
}

#[tokio::test]
async fn a_region_failure_is_retried_and_then_succeeds() {
    let svc = service();
    let key = uploaded(&svc).await;
    let replication = replication(&svc, 10);
    svc.replica.fail_next("replica region down");
    assert!(
        replication.on_object_created("primary", key.as_str()).await.is_err(),
        "the message must be retried"
    );
    assert_eq!(state(&svc, &key, CopyRole::Replica).await, CopyState::Failed);
    assert_eq!(
        replication.on_object_created("primary", key.as_str()).await.unwrap(),
        Replicated::Copied
    );
    assert_eq!(state(&svc, &key, CopyRole::Replica).await, CopyState::Verified);
}

#[tokio::test]
async fn bytes_that_do_not_match_the_record_are_not_verified() {
    let svc = service();
    let key = uploaded(&svc).await;
    svc.primary.put(&key, b"abcd");
    let outcome = replication(&svc, 10)
        .on_object_created("primary", key.as_str())
        .await
        .unwrap();
    assert!(matches!(outcome, Replicated::Mismatch(_)), "{outcome:?}");
    assert_eq!(state(&svc, &key, CopyRole::Replica).await, CopyState::Failed);
}

#[tokio::test]
async fn the_sweep_restores_a_vanished_replica_or_primary() {
    let svc = service();
    let key = uploaded(&svc).await;
    replication(&svc, 10)
        .on_object_created("primary", key.as_str())
        .await
        .unwrap();

    svc.replica.remove(&key);
    let report = replication(&svc, 20).sweep(1000).await.unwrap();
    assert_eq!((report.checked, report.replicas_copied), (1, 1), "{report:?}");
    assert_eq!(svc.replica.get(&key).unwrap(), b"abc");
    assert_eq!(state(&svc, &key, CopyRole::Replica).await, CopyState::Verified);

    svc.primary.remove(&key);
    let report = replication(&svc, 30).sweep(1000).await.unwrap();
    assert_eq!(report.primaries_restored, 1, "{report:?}");
    assert_eq!(svc.primary.get(&key).unwrap(), b"abc");
    assert_eq!(state(&svc, &key, CopyRole::Primary).await, CopyState::Verified);

    let report = replication(&svc, 40).sweep(1000).await.unwrap();
    assert_eq!(
        report,
        SweepReport {
            records: 1,
            checked: 1,
            accounted_bytes: 3,
            pass_finished: true,
            ..SweepReport::default()
        },
        "nothing left to do"
    );
}

#[tokio::test]
async fn the_sweep_copies_overdue_replicas_only_after_the_grace_period() {
    let svc = service();
    let key = uploaded(&svc).await; // the event never came
    let grace_ms = 60_000;
    assert_eq!(
        replication(&svc, 5 + grace_ms - 1)
            .sweep(1000)
            .await
            .unwrap()
            .replicas_copied,
        0
    );
    assert_eq!(
        replication(&svc, 5 + grace_ms)
            .sweep(1000)
            .await
            .unwrap()
            .replicas_copied,
        1
    );
    assert_eq!(state(&svc, &key, CopyRole::Replica).await, CopyState::Verified);
}

#[tokio::test]
async fn a_file_with_no_copy_left_is_reported_lost() {
    let svc = service();
    let key = uploaded(&svc).await;
    svc.primary.remove(&key);
    let report = replication(&svc, 10).sweep(1000).await.unwrap();
    assert_eq!(report.lost, 1);
    assert_eq!(state(&svc, &key, CopyRole::Primary).await, CopyState::Missing);
}

#[tokio::test]
async fn an_unreachable_region_is_skipped() {
    let svc = service();
    uploaded(&svc).await;
    svc.replica.set_down(true);
    assert_eq!(replication(&svc, 10).sweep(1000).await.unwrap().unreachable, 1);
}

#[tokio::test]
async fn a_late_event_after_a_delete_copies_nothing_and_deletes_what_arrived() {
    let svc = service();
    let (id, token) = owned(&svc).await;
    let key = id.object_key();
    svc.delete_file(&id.to_string(), Some(&token)).await.unwrap();
    // A PUT on a URL still valid lands after the delete, and its event arrives.
    svc.primary.put(&key, b"abc");
    let outcome = replication(&svc, 10)
        .on_object_created("primary", key.as_str())
        .await
        .unwrap();
    assert_eq!(outcome, Replicated::Removed);
    assert!(!svc.primary.holds(&key) && !svc.replica.holds(&key));
}

#[tokio::test]
async fn a_delete_while_the_copy_is_in_flight_leaves_no_copy() {
    let svc = service();
    let (id, token) = owned(&svc).await;
    let key = id.object_key();
    let replication = replication(&svc, 10);
    // The copy reads the record (live) and marks it copying; the owner deletes meanwhile.
    let record = svc.metadata.get(id).await.unwrap().unwrap();
    svc.delete_file(&id.to_string(), Some(&token)).await.unwrap();
    svc.primary.put(&key, b"abc"); // as if the copy had read the source before the delete
    let outcome = replication.copy_and_verify(&record, CopyRole::Primary).await.unwrap();
    assert_eq!(outcome, Replicated::Removed);
    assert!(!svc.primary.holds(&key) && !svc.replica.holds(&key));
}

#[tokio::test]
async fn the_sweep_finishes_a_delete_once_the_region_is_back_and_settles_it_after_the_watch() {
    let svc = service();
    let (id, token) = owned(&svc).await;
    let key = id.object_key();
    replication(&svc, 10)
        .on_object_created("primary", key.as_str())
        .await
        .unwrap();
    svc.replica.set_down(true);
    svc.delete_file(&id.to_string(), Some(&token)).await.unwrap();
    assert!(svc.replica.holds(&key));
    let report = replication(&svc, 20).sweep(1000).await.unwrap();
    assert_eq!(report.removals_watched, 1);
    assert!(svc.replica.holds(&key), "still down");
    svc.replica.set_down(false);
    replication(&svc, 30).sweep(1000).await.unwrap();
    assert!(!svc.replica.holds(&key), "deleted on the region's return");
    let removed_at = svc.metadata.get(id).await.unwrap().unwrap().removal.unwrap().at_ms;
    let report = replication(&svc, removed_at + REMOVAL_WATCH_MS)
        .sweep(1000)
        .await
        .unwrap();
    assert_eq!((report.removals_settled, report.removals_watched), (1, 0));
    let removal = svc.metadata.get(id).await.unwrap().unwrap().removal.unwrap();
    assert_eq!(removal.bytes_gone_at_ms, Some(removed_at + REMOVAL_WATCH_MS));
    let report = replication(&svc, removed_at + 2 * REMOVAL_WATCH_MS)
        .sweep(1000)
        .await
        .unwrap();
    assert_eq!(
        (report.removals_settled, report.removals_watched),
        (0, 0),
        "settled once"
    );
}

#[tokio::test]
async fn the_sweep_removes_an_expired_files_bytes_in_both_regions() {
    let svc = service();
    let request = CreateUploadRequest {
        expires_in_secs: Some(60),
        ..announce("a.txt", Visibility::Listed)
    };
    let (id, _) = available(&svc, request).await;
    let key = id.object_key();
    replication(&svc, 10)
        .on_object_created("primary", key.as_str())
        .await
        .unwrap();
    let before = replication(&svc, 5 + 59_999).sweep(1000).await.unwrap();
    assert_eq!(before.expired, 0);
    let report = replication(&svc, 5 + 60_000).sweep(1000).await.unwrap();
    assert_eq!(report.expired, 1);
    assert!(!svc.primary.holds(&key) && !svc.replica.holds(&key));
    let record = svc.metadata.get(id).await.unwrap().unwrap();
    assert_eq!(record.removal.map(|r| r.reason), Some(RemovalReason::Expired));
}
