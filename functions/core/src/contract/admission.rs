//! The contract of what admits an upload: the storage usage (charged with each new record
//! against the quota, released once by its removal, settled and reconciled only as read) and
//! the per-client announcement counts.

use twinshare_api::Visibility;

use super::metadata::upload;
use crate::{
    ports::{MetadataStore, Written},
    quota::{Creation, Settle, StorageUsage},
    rate::{Limit, RateLimits, DAY_MS, HOUR_MS},
    record::{Removal, RemovalReason},
};

fn removal(at_ms: i64) -> Removal {
    Removal {
        reason: RemovalReason::Deleted,
        at_ms,
        bytes_gone_at_ms: None,
    }
}

pub(super) async fn usage_is_charged_released_and_settled<M: MetadataStore>(store: &M) {
    let start = store.storage_usage().await.unwrap();
    let used = |bytes: u64, files: u64| (start.bytes + bytes, start.files + files);
    let now = || async { store.storage_usage().await.unwrap() };

    // Each record of 3 bytes; room for exactly two more.
    let quota = Some(start.bytes + 6);
    let first = upload("one.txt", Visibility::Listed, None, 1_000);
    let second = upload("two.txt", Visibility::Listed, None, 1_000);
    let third = upload("three.txt", Visibility::Listed, None, 1_000);
    assert_eq!(store.create(&first, quota).await.unwrap(), Creation::Created);
    assert_eq!(store.create(&second, quota).await.unwrap(), Creation::Created);
    assert_eq!(
        store.create(&third, quota).await.unwrap(),
        Creation::OverQuota {
            used_bytes: start.bytes + 6
        }
    );
    assert_eq!(
        store.get(third.id).await.unwrap(),
        None,
        "nothing written past the quota"
    );
    let after = now().await;
    assert_eq!((after.bytes, after.files), used(6, 2));
    assert!(store.get(first.id).await.unwrap().unwrap().charged);

    // A removal releases the charge, once however often it is asked.
    for at in [2_000, 3_000] {
        assert!(matches!(
            store.remove(first.id, removal(at)).await.unwrap(),
            Written::Done(_)
        ));
    }
    let after = now().await;
    assert_eq!((after.bytes, after.files), used(3, 1));
    let removed = store.get(first.id).await.unwrap().unwrap();
    assert!(!removed.charged);
    assert_eq!(
        store.create(&third, quota).await.unwrap(),
        Creation::Created,
        "the room is back"
    );

    // A removed record that is charged (only by hand) is released; a settled one is not again.
    assert_eq!(
        store.settle_charge(&removed, Settle::Release).await.unwrap(),
        Written::ConditionFailed,
        "not charged: nothing to release"
    );
    let before = now().await;
    let live = store.get(second.id).await.unwrap().unwrap();
    assert_eq!(
        store.settle_charge(&live, Settle::Charge).await.unwrap(),
        Written::ConditionFailed,
        "charged already"
    );
    assert_eq!(now().await, before, "a refused settlement changes nothing");

    // The counter is set only over the reading it was computed from.
    let seen = now().await;
    let stale = StorageUsage {
        changes: seen.changes.wrapping_sub(1),
        ..seen
    };
    let right = StorageUsage {
        bytes: seen.bytes + 100,
        files: seen.files,
        changes: seen.changes + 1,
    };
    assert!(!store.reconcile_usage(stale, right).await.unwrap());
    assert_eq!(now().await, seen);
    assert!(store.reconcile_usage(seen, right).await.unwrap());
    assert_eq!(now().await, right);
    // Back as it was, for the suites that follow.
    let restored = StorageUsage {
        changes: right.changes + 1,
        ..seen
    };
    assert!(store.reconcile_usage(right, restored).await.unwrap());
}

pub(super) async fn announcements_are_counted_per_client_and_window<M: MetadataStore>(store: &M) {
    let limits = RateLimits {
        uploads_per_hour: Some(2),
        bytes_per_day: Some(100),
    };
    let noon = 20_000 * DAY_MS + 12 * HOUR_MS;
    let count = |client: &'static str, size: u64, at: i64| store.count_upload(client, size, at, limits);
    assert_eq!(count("client-a", 10, noon).await.unwrap(), None);
    assert_eq!(count("client-a", 10, noon + 1).await.unwrap(), None);
    assert_eq!(
        count("client-a", 10, noon + 2).await.unwrap(),
        Some(Limit::UploadsPerHour)
    );
    assert_eq!(
        count("client-b", 10, noon + 3).await.unwrap(),
        None,
        "each client its own count"
    );
    // The next hour: uploads again, but the day's bytes are still counted (20 of 100; the
    // refused one was not).
    let next_hour = noon + HOUR_MS;
    assert_eq!(count("client-a", 80, next_hour).await.unwrap(), None);
    assert_eq!(
        count("client-a", 1, next_hour + 1).await.unwrap(),
        Some(Limit::BytesPerDay)
    );
    assert_eq!(
        count("client-a", 101, next_hour + 2 * HOUR_MS).await.unwrap(),
        Some(Limit::BytesPerDay)
    );
    assert_eq!(count("client-a", 100, noon + DAY_MS).await.unwrap(), None, "a new day");
}
