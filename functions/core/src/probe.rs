//! The region probe: a canary write and read in each region's bucket, recorded as its health.

use std::time::Duration;

use twinshare_api::{CopyRole, RegionStatus};

use crate::{
    health::{RegionHealth, FAILURES_BEFORE_DOWN},
    ports::{Clock, MetadataStore, ObjectStore, PortError},
};

/// Checks both regions with a small canary write and read, and records what it saw.
pub struct Probe<S, M, C> {
    pub primary: S,
    pub replica: S,
    pub metadata: M,
    pub clock: C,
    /// The region this probe runs in: what it records is this region's view of each region.
    pub observer: String,
    /// Longest a region may take to answer before the check counts as failed.
    pub within: Duration,
}

impl<S: ObjectStore, M: MetadataStore, C: Clock> Probe<S, M, C> {
    pub async fn run(&self) -> Result<Vec<RegionHealth>, PortError> {
        let stores = [(CopyRole::Primary, &self.primary), (CopyRole::Replica, &self.replica)];
        let placements = stores.map(|(role, store)| (role, store.region()));
        let previous = self.metadata.region_health(&self.observer, placements).await?;
        let mut recorded = Vec::new();
        for (role, store) in stores {
            let started = self.clock.now_ms();
            let outcome = store.canary(self.within).await;
            let now = self.clock.now_ms();
            let failures_before = previous
                .iter()
                .find(|h| h.role == role)
                .map_or(0, |h| h.consecutive_failures);
            let health = match outcome {
                Ok(()) => RegionHealth {
                    observer: self.observer.clone(),
                    role,
                    region: store.region().to_owned(),
                    status: RegionStatus::Up,
                    checked_at_ms: now,
                    latency_ms: u64::try_from(now - started).unwrap_or(0),
                    consecutive_failures: 0,
                    last_error: None,
                },
                Err(err) => {
                    let failures = failures_before + 1;
                    tracing::warn!(region = store.region(), failures, error = %err, "region probe failed");
                    RegionHealth {
                        observer: self.observer.clone(),
                        role,
                        region: store.region().to_owned(),
                        status: if failures >= FAILURES_BEFORE_DOWN {
                            RegionStatus::Down
                        } else {
                            RegionStatus::Up
                        },
                        checked_at_ms: now,
                        latency_ms: u64::try_from(now - started).unwrap_or(0),
                        consecutive_failures: failures,
                        // The status page is public: a stable sentence there, the detail in the log.
                        last_error: Some(err.public_summary().to_owned()),
                    }
                }
            };
            self.metadata.record_region_health(&health).await?;
            recorded.push(health);
        }
        Ok(recorded)
    }
}
