//! The answer of `GET /api/status`: each region's health, what the sweep's last pass found, and
//! who may upload how much.

use serde::{Deserialize, Serialize};

use crate::CopyRole;

/// A storage region's health, as the probe last saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum RegionStatus {
    Up,
    Down,
    /// Not probed recently: nothing is known.
    Unknown,
}

wire_names!(RegionStatus { Up => "up", Down => "down", Unknown => "unknown" });

/// One region: its storage as the answering region's probe last saw it, and its API and
/// metadata.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RegionView {
    pub role: CopyRole,
    pub region: String,
    /// Its storage (bucket).
    pub status: RegionStatus,
    pub checked_at_ms: Option<i64>,
    pub latency_ms: Option<u64>,
    pub consecutive_failures: u32,
    pub last_error: Option<String>,
    /// Its API and its replica of the tables: up for the region that answered this request
    /// (it just read its table); for the other, whether that region's own probe (its function,
    /// writing to its table, replicated here) reported recently: down when its last report is
    /// older than the health window, unknown when none ever arrived.
    #[serde(default = "unknown")]
    pub api: RegionStatus,
    /// When the region's own probe last reported (the other region's only).
    #[serde(default)]
    pub api_seen_at_ms: Option<i64>,
}

fn unknown() -> RegionStatus {
    RegionStatus::Unknown
}

/// Answer to `GET /api/status`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StatusView {
    pub regions: Vec<RegionView>,
    /// Available files whose second copy is not verified, as of the last full pass of the sweep
    /// (every record of the table).
    pub not_redundant: Option<u64>,
    /// Since when the oldest of those has waited for its second copy.
    pub oldest_pending_since_ms: Option<i64>,
    /// When the last full pass finished.
    pub swept_at_ms: Option<i64>,
    /// The last full pass: what it covered and what the buckets hold.
    #[serde(default)]
    pub last_pass: Option<SweepPassView>,
    /// Who may upload, and how much room is left.
    pub uploads: UploadsView,
    /// The region whose API answered this request: the primary's normally, the second region's
    /// while the front has failed over to it.
    #[serde(default)]
    pub served_by: String,
}

/// Who may upload to this site (the operator's choice, template parameter `UploadMode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum UploadMode {
    /// Anyone.
    Open,
    /// Whoever has the upload code the operator shares (header `x-upload-code`).
    Code,
    /// Nobody: the site only serves what it holds.
    Closed,
}

/// What an uploader needs to know before choosing a file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UploadsView {
    pub mode: UploadMode,
    /// Largest file accepted.
    pub max_file_bytes: u64,
    /// Bytes all live files (uploads in progress included) may take, counting each file once
    /// (its second copy doubles the bill); `None`: no quota.
    pub quota_bytes: Option<u64>,
    /// Bytes they take now; `None` when the count could not be read.
    pub used_bytes: Option<u64>,
}

/// One complete pass of the sweep over the whole table (one or more scheduled runs), and what
/// it found. Also what the sweep keeps while a pass is under way.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SweepPassView {
    pub started_at_ms: i64,
    pub finished_at_ms: Option<i64>,
    /// Scheduled runs the pass took.
    pub runs: u32,
    /// File records read: every one in the table, removed ones included.
    pub records: u64,
    /// Available files whose two copies were checked.
    pub files: u64,
    pub not_redundant: u64,
    pub oldest_pending_since_ms: Option<i64>,
    /// Available files with no bytes left in either bucket.
    pub lost: u64,
    /// Unfinished uploads removed because no URL they were given could still write.
    pub abandoned: u64,
    /// Objects deleted because no live record accounts for them.
    pub orphans_deleted: u64,
    pub orphan_bytes_deleted: u64,
    pub storage: StorageView,
}

/// What the buckets hold beside what the records account for. When the two agree, every byte
/// stored belongs to a file and every file's bytes are stored.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StorageView {
    /// Each bucket, as listed by the pass's last run (after it deleted orphans); a bucket that
    /// could not be listed is missing.
    pub buckets: Vec<BucketUsage>,
    /// Sizes of the available files: what each bucket should hold.
    pub accounted_bytes: u64,
    /// Sizes of uploads in progress, whose bytes may be in the buckets too.
    pub uploading_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct BucketUsage {
    pub role: CopyRole,
    pub region: String,
    pub objects: u64,
    pub bytes: u64,
}
