//! Region health: what the probe records, and how downloads and uploads use it. Plain data and
//! rules: the probe that measures it is in [`crate::probe`].

use std::time::Duration;

use crate::quota::StorageUsage;
use twinshare_api::{CopyRole, RegionStatus, RegionView, StatusView, SweepPassView, UploadsView};

/// Failures in a row before a region is marked down: one lost probe is not an outage.
pub const FAILURES_BEFORE_DOWN: u32 = 2;

/// One region's health as the probe of one region (the observer) saw it. Rows are keyed by
/// (observer, region) and written only by the observer's probe, so that when both regions'
/// tables replicate into each other, neither region's view overwrites the other's.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionHealth {
    /// The region whose probe saw this.
    pub observer: String,
    pub role: CopyRole,
    /// The region seen.
    pub region: String,
    pub status: RegionStatus,
    pub checked_at_ms: i64,
    pub latency_ms: u64,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
}

impl RegionHealth {
    /// Marked down by a probe that is recent enough to trust.
    pub fn is_down(&self, now_ms: i64, max_age: Duration) -> bool {
        self.status == RegionStatus::Down && now_ms - self.checked_at_ms <= max_age.as_millis() as i64
    }
}

/// What the last complete pass of the sweep found (`finished_at_ms` is set).
pub type ReplicationSummary = SweepPassView;

/// The sweep's pass in progress, kept between scheduled runs: a pass reads the whole table,
/// in as many runs as its size needs, so that every record is checked whatever the table's
/// size.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SweepPass {
    /// How many times it was saved: the guard of the conditional save, so that two runs that
    /// overlap cannot both move it.
    pub saves: u64,
    /// Where the next run continues the scan (opaque, [`crate::ports::MetadataStore::scan`]);
    /// `None` before the first run.
    pub cursor: Option<String>,
    pub tally: SweepPassView,
    /// The storage usage counter when the pass started (`None`: unread), and the charged
    /// records the pass has read so far: see [`crate::quota::reconciled`].
    pub usage_at_start: Option<StorageUsage>,
    pub charged: StorageUsage,
}

/// The regions marked down, among `health`.
pub fn down_regions(health: &[RegionHealth], now_ms: i64, max_age: Duration) -> Vec<CopyRole> {
    health
        .iter()
        .filter(|h| h.is_down(now_ms, max_age))
        .map(|h| h.role)
        .collect()
}

/// Whether a region's API and metadata answer, as seen from `served_by`: the region answering
/// does (it read its table to answer); another region's own probe writes its health rows to its
/// table, which replicates here, so its latest report (`reported_at_ms`, from
/// [`latest_report`]) says whether its functions and its table were working lately.
pub fn api_status(
    region: &str,
    served_by: &str,
    reported_at_ms: Option<i64>,
    now_ms: i64,
    max_age: Duration,
) -> RegionStatus {
    if region == served_by {
        return RegionStatus::Up;
    }
    match reported_at_ms {
        Some(at) if now_ms - at <= max_age.as_millis() as i64 => RegionStatus::Up,
        Some(_) => RegionStatus::Down,
        None => RegionStatus::Unknown,
    }
}

/// The time of an observer's latest probe report, among its rows.
pub fn latest_report(rows: &[RegionHealth]) -> Option<i64> {
    rows.iter().map(|h| h.checked_at_ms).max()
}

/// What the status page shows: the answering region's view of each region's storage (unknown
/// when never or not recently probed), each region's API and metadata ([`api_status`]; the
/// other region's latest report in `other_reported`), and the last sweep's replication summary.
#[allow(clippy::too_many_arguments)]
pub fn status_view(
    placements: [(CopyRole, &str); 2],
    health: &[RegionHealth],
    other_reported: Option<(&str, i64)>,
    summary: Option<&ReplicationSummary>,
    now_ms: i64,
    max_age: Duration,
    uploads: UploadsView,
    served_by: String,
) -> StatusView {
    let reported = |region: &str| other_reported.filter(|(r, _)| *r == region).map(|(_, at)| at);
    let regions = placements
        .iter()
        .map(|(role, region)| {
            (
                role,
                region,
                api_status(region, &served_by, reported(region), now_ms, max_age),
            )
        })
        .map(|(role, region, api)| match health.iter().find(|h| h.role == *role) {
            Some(h) => RegionView {
                role: *role,
                region: h.region.clone(),
                status: if now_ms - h.checked_at_ms <= max_age.as_millis() as i64 {
                    h.status
                } else {
                    RegionStatus::Unknown
                },
                checked_at_ms: Some(h.checked_at_ms),
                latency_ms: Some(h.latency_ms),
                consecutive_failures: h.consecutive_failures,
                last_error: h.last_error.clone(),
                api,
                api_seen_at_ms: reported(region),
            },
            None => RegionView {
                role: *role,
                region: (*region).to_owned(),
                status: RegionStatus::Unknown,
                checked_at_ms: None,
                latency_ms: None,
                consecutive_failures: 0,
                last_error: None,
                api,
                api_seen_at_ms: reported(region),
            },
        })
        .collect();
    StatusView {
        regions,
        not_redundant: summary.map(|s| s.not_redundant),
        oldest_pending_since_ms: summary.and_then(|s| s.oldest_pending_since_ms),
        swept_at_ms: summary.and_then(|s| s.finished_at_ms),
        last_pass: summary.cloned(),
        uploads,
        served_by,
    }
}
