//! The contract of [`MetadataStore`] for the health table's rows: each region's probe result,
//! the sweep's summary of its last pass and its pass in progress (a conditional save).

use twinshare_api::{BucketUsage, CopyRole, RegionStatus, StorageView};

use crate::{
    health::{RegionHealth, ReplicationSummary, SweepPass},
    ports::MetadataStore,
};

pub(super) async fn region_health_and_summary_round_trip<M: MetadataStore>(store: &M) {
    const REGIONS: [(CopyRole, &str); 2] = [(CopyRole::Primary, "eu-west-1"), (CopyRole::Replica, "us-west-2")];
    assert_eq!(store.replication_summary().await.unwrap(), None);
    assert_eq!(store.region_health("eu-west-1", REGIONS).await.unwrap(), vec![]);
    let health = RegionHealth {
        observer: "eu-west-1".into(),
        role: CopyRole::Replica,
        region: "us-west-2".into(),
        status: RegionStatus::Down,
        checked_at_ms: 9_000,
        latency_ms: 401,
        consecutive_failures: 2,
        last_error: Some("not answering (refused or timed out)".into()),
    };
    store.record_region_health(&health).await.unwrap();
    let up = RegionHealth {
        role: CopyRole::Primary,
        region: "eu-west-1".into(),
        status: RegionStatus::Up,
        latency_ms: 12,
        consecutive_failures: 0,
        last_error: None,
        ..health.clone()
    };
    store.record_region_health(&up).await.unwrap();
    let read = store.region_health("eu-west-1", REGIONS).await.unwrap();
    assert_eq!(read, vec![up.clone(), health.clone()], "in the order asked");

    // The other region's probe sees the same regions differently: its rows are its own.
    let seen_from_b = RegionHealth {
        observer: "us-west-2".into(),
        status: RegionStatus::Down,
        consecutive_failures: 3,
        ..up.clone()
    };
    store.record_region_health(&seen_from_b).await.unwrap();
    assert_eq!(
        store.region_health("us-west-2", REGIONS).await.unwrap(),
        vec![seen_from_b]
    );
    assert_eq!(
        store.region_health("eu-west-1", REGIONS).await.unwrap(),
        vec![up.clone(), health],
        "untouched by the other observer's rows"
    );

    // A newer probe replaces the region's row.
    let recovered = RegionHealth {
        role: CopyRole::Replica,
        region: "us-west-2".into(),
        ..up
    };
    store.record_region_health(&recovered).await.unwrap();
    let read = store.region_health("eu-west-1", REGIONS).await.unwrap();
    assert_eq!(read.len(), 2);
    assert!(read.contains(&recovered));

    let summary = ReplicationSummary {
        started_at_ms: 1_000,
        finished_at_ms: Some(9_000),
        runs: 2,
        records: 2_000,
        files: 1_900,
        not_redundant: 3,
        oldest_pending_since_ms: Some(4_000),
        lost: 1,
        abandoned: 4,
        orphans_deleted: 5,
        orphan_bytes_deleted: 6,
        storage: StorageView {
            buckets: vec![BucketUsage {
                role: CopyRole::Replica,
                region: "us-west-2".into(),
                objects: 7,
                bytes: u64::MAX,
            }],
            accounted_bytes: 8,
            uploading_bytes: 9,
        },
    };
    store.record_replication_summary(&summary).await.unwrap();
    assert_eq!(store.replication_summary().await.unwrap(), Some(summary.clone()));

    // The pass in progress: saved only by a run that read the last save.
    let first = SweepPass {
        saves: 1,
        cursor: Some("opaque position".into()),
        tally: summary,
        usage_at_start: Some(crate::quota::StorageUsage {
            bytes: 7,
            files: 2,
            changes: 9,
        }),
        charged: crate::quota::StorageUsage {
            bytes: 3,
            files: 1,
            changes: 0,
        },
    };
    assert!(store.save_sweep_pass(CopyRole::Primary, &first).await.unwrap());
    assert_eq!(store.sweep_pass(CopyRole::Primary).await.unwrap(), Some(first.clone()));
    // The second region's sweep keeps its own pass, saved from its own first save.
    assert_eq!(store.sweep_pass(CopyRole::Replica).await.unwrap(), None);
    let second = SweepPass {
        saves: 2,
        cursor: None,
        ..first.clone()
    };
    let overlapping = SweepPass {
        tally: Default::default(),
        ..second.clone()
    };
    assert!(store.save_sweep_pass(CopyRole::Primary, &second).await.unwrap());
    assert!(
        !store.save_sweep_pass(CopyRole::Primary, &overlapping).await.unwrap(),
        "a second save of the same read"
    );
    assert!(
        !store.save_sweep_pass(CopyRole::Primary, &first).await.unwrap(),
        "a stale one"
    );
    assert_eq!(store.sweep_pass(CopyRole::Primary).await.unwrap(), Some(second));
    let its_own = SweepPass {
        saves: 1,
        cursor: Some("the second region's position".into()),
        ..SweepPass::default()
    };
    assert!(store.save_sweep_pass(CopyRole::Replica, &its_own).await.unwrap());
    assert_eq!(store.sweep_pass(CopyRole::Replica).await.unwrap(), Some(its_own));
    assert_eq!(
        store.sweep_pass(CopyRole::Primary).await.unwrap().map(|p| p.saves),
        Some(2),
        "the primary's pass is untouched"
    );
}
