//! What the use cases need from the outside world. `twinshare-aws` implements these with the AWS
//! SDK; `fakes` implements them in memory for tests.

use std::{collections::BTreeMap, future::Future, time::Duration};

use twinshare_api::{CopyRole, CopyState};

use crate::{
    cursor::ListCursor,
    health::{RegionHealth, ReplicationSummary, SweepPass},
    quota::{Creation, Settle, StorageUsage},
    rate::{Limit, RateLimits},
    record::{FileRecord, Removal},
    validate::{Edit, ListQuery},
    FileId, ObjectKey,
};

/// A failure of an adapter, reduced to what the caller can act on.
#[derive(Debug, Clone, thiserror::Error, PartialEq)]
pub enum PortError {
    /// The service could not be reached or refused for now: retrying later may work.
    #[error("unavailable: {0}")]
    Unavailable(String),
    #[error("{0}")]
    Other(String),
}

impl PortError {
    /// What may be shown to anyone: no SDK or emulator text, which can name endpoints,
    /// buckets or tables.
    pub fn public_summary(&self) -> &'static str {
        match self {
            PortError::Unavailable(_) => "not answering (refused or timed out)",
            PortError::Other(_) => "answered with an error",
        }
    }
}

/// A request signed for the browser to send.
#[derive(Debug, Clone, PartialEq)]
pub struct Presigned {
    pub method: String,
    pub url: String,
    /// Headers that were signed and must be sent as they are.
    pub headers: BTreeMap<String, String>,
}

/// What the presigned PUT binds the upload to.
#[derive(Debug, Clone, PartialEq)]
pub struct PutSpec {
    pub size: u64,
    pub content_type: String,
    pub sha256: String,
}

/// What the presigned PUT of one part binds it to.
#[derive(Debug, Clone, PartialEq)]
pub struct PartSpec {
    pub number: u32,
    pub size: u64,
    pub sha256: String,
}

/// A part that storage holds for a multipart upload.
#[derive(Debug, Clone, PartialEq)]
pub struct UploadedPart {
    pub number: u32,
    pub size: u64,
    pub etag: String,
    /// The part's SHA-256 as S3 recorded it (S3 requires it back on completion).
    pub sha256: Option<String>,
}

/// How the presigned GET answers.
#[derive(Debug, Clone, PartialEq)]
pub struct GetSpec {
    pub content_disposition: String,
    pub content_type: String,
}

/// What storage says about an object.
#[derive(Debug, Clone, PartialEq)]
pub struct ObjectInfo {
    pub size: u64,
    /// The SHA-256 S3 stored with the object (base64), when it was uploaded with one.
    pub sha256: Option<String>,
    pub content_type: Option<String>,
}

/// One object of a bucket's listing.
#[derive(Debug, Clone, PartialEq)]
pub struct ListedObject {
    /// `None` for a key under `files/` that this service did not write.
    pub key: Option<ObjectKey>,
    pub raw_key: String,
    pub size: u64,
    pub modified_ms: i64,
}

/// Objects one [`ObjectStore::delete_many`] call deletes at most (S3's DeleteObjects limit).
pub const DELETE_BATCH: usize = 1_000;

/// One bucket in one region.
pub trait ObjectStore: Send + Sync {
    fn region(&self) -> &str;
    fn bucket(&self) -> &str;
    fn presign_put(
        &self,
        key: &ObjectKey,
        spec: &PutSpec,
        ttl: Duration,
    ) -> impl Future<Output = Result<Presigned, PortError>> + Send;
    fn presign_get(
        &self,
        key: &ObjectKey,
        spec: &GetSpec,
        ttl: Duration,
    ) -> impl Future<Output = Result<Presigned, PortError>> + Send;
    /// Starts a multipart upload whose parts carry SHA-256 checksums; returns S3's upload id.
    fn start_multipart(
        &self,
        key: &ObjectKey,
        content_type: &str,
    ) -> impl Future<Output = Result<String, PortError>> + Send;
    fn presign_part(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        spec: &PartSpec,
        ttl: Duration,
    ) -> impl Future<Output = Result<Presigned, PortError>> + Send;
    /// The parts stored so far, by number; `None` when the upload no longer exists (completed,
    /// aborted or expired).
    fn list_parts(
        &self,
        key: &ObjectKey,
        upload_id: &str,
    ) -> impl Future<Output = Result<Option<Vec<UploadedPart>>, PortError>> + Send;
    fn complete_multipart(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        parts: &[UploadedPart],
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Cancels the upload and frees its parts; an upload that no longer exists is not an error.
    fn abort_multipart(&self, key: &ObjectKey, upload_id: &str) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Deletes the object; one that does not exist is not an error.
    fn delete(&self, key: &ObjectKey) -> impl Future<Output = Result<(), PortError>> + Send;
    /// Deletes up to [`DELETE_BATCH`] objects in one call (ones that do not exist are not
    /// errors); returns the keys it could not delete.
    fn delete_many(&self, keys: &[ObjectKey]) -> impl Future<Output = Result<Vec<ObjectKey>, PortError>> + Send;
    /// A page (up to 1,000) of the objects under `files/`, in key order, after the position
    /// `after` (opaque); and where the next page starts.
    fn list(
        &self,
        after: Option<String>,
    ) -> impl Future<Output = Result<(Vec<ListedObject>, Option<String>), PortError>> + Send;
    /// `None` when the object does not exist.
    fn head(&self, key: &ObjectKey) -> impl Future<Output = Result<Option<ObjectInfo>, PortError>> + Send;
    /// `head`, but an answer that takes longer than `within` counts as `Unavailable`: a region
    /// that hangs must cost a download a bounded wait, not the SDK's timeouts.
    fn check(
        &self,
        key: &ObjectKey,
        within: Duration,
    ) -> impl Future<Output = Result<Option<ObjectInfo>, PortError>> + Send;
    /// Writes and reads back a small canary object (outside `files/`), all within `within`.
    fn canary(&self, within: Duration) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// What a copy wrote, as measured while copying.
#[derive(Debug, Clone, PartialEq)]
pub struct Copied {
    pub size: u64,
    /// SHA-256 (base64) of the bytes copied, when the copy could compute or obtain it.
    pub sha256: Option<String>,
}

/// Copies an object between the two copies' buckets without holding it in memory.
pub trait Copier: Send + Sync {
    /// Copies `key` from the `from` copy's bucket to the other one's. `None` when the source
    /// object does not exist.
    fn copy(&self, from: CopyRole, key: &ObjectKey) -> impl Future<Output = Result<Option<Copied>, PortError>> + Send;
}

/// When a copy-state write may go ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Guard {
    /// Unless the copy is already verified: a late or repeated delivery must not regress it.
    NotVerified,
    /// Only if the copy was not written since it was read (its `updated_at_ms`).
    Unchanged(i64),
}

/// Outcome of a conditional write.
#[derive(Debug, Clone, PartialEq)]
pub enum Written {
    Done(Box<FileRecord>),
    /// The record was not in the state the write required (e.g. it does not exist).
    ConditionFailed,
}

/// A client's wrong passwords in a row on one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PasswordAttempts {
    pub failures: u32,
    pub last_failure_ms: i64,
}

/// File metadata.
pub trait MetadataStore: Send + Sync {
    /// Writes a new record and charges its size to the storage usage, in one transaction:
    /// `OverQuota` (and nothing written) if the usage would pass `quota`. Fails if a record with
    /// the same id exists.
    fn create(
        &self,
        record: &FileRecord,
        quota: Option<u64>,
    ) -> impl Future<Output = Result<Creation, PortError>> + Send;
    /// Counts one announcement of `size` bytes by `client` (see [`crate::rate`]) in the current
    /// hour and day, only if neither limit would be passed: the limit that refused, if one did.
    fn count_upload(
        &self,
        client: &str,
        size: u64,
        now_ms: i64,
        limits: RateLimits,
    ) -> impl Future<Output = Result<Option<Limit>, PortError>> + Send;
    /// What the usage counter holds (zeros before the first upload).
    fn storage_usage(&self) -> impl Future<Output = Result<StorageUsage, PortError>> + Send;
    /// Charges or releases `record` as [`crate::quota::settle`] says, in one transaction with
    /// the counter, only if its removal and charge are still as read; `ConditionFailed` if not.
    fn settle_charge(
        &self,
        record: &FileRecord,
        settle: Settle,
    ) -> impl Future<Output = Result<Written, PortError>> + Send;
    /// Sets the usage counter to `usage`, only if it changed `seen.changes` times (nothing was
    /// charged or released since it was read). False when it had changed.
    fn reconcile_usage(
        &self,
        seen: StorageUsage,
        usage: StorageUsage,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;
    fn get(&self, id: FileId) -> impl Future<Output = Result<Option<FileRecord>, PortError>> + Send;
    /// The records of those ids that exist (any state), in any order; for the orphan audit.
    fn get_many(&self, ids: &[FileId]) -> impl Future<Output = Result<Vec<FileRecord>, PortError>> + Send;
    /// Removes a file from every read, in one transaction: a tombstone item of its own (written
    /// once; the same from any region), the record marked removed and taken off the public
    /// listing, and its charge released from the storage usage. Removing a removed file changes nothing and returns it as it is;
    /// `ConditionFailed` when no record exists, or when the reason is
    /// [`RemovalReason::Abandoned`](crate::record::RemovalReason::Abandoned) and the upload was
    /// completed meanwhile (an abandoned upload that completes is not abandoned).
    fn remove(&self, id: FileId, removal: Removal) -> impl Future<Output = Result<Written, PortError>> + Send;
    /// Notes that a removed file's bytes are gone from both buckets for good; from then on its
    /// record and tombstone may expire (the table's TTL) after they have answered 410 a while.
    fn settle_removal(&self, id: FileId, now_ms: i64) -> impl Future<Output = Result<Written, PortError>> + Send;
    /// Applies an owner's edit to `record`, if it is not removed and still in the state it was
    /// read in (which decides whether a listed file is in the public listing); `ConditionFailed`
    /// otherwise.
    fn edit(
        &self,
        record: &FileRecord,
        edit: &Edit,
        now_ms: i64,
    ) -> impl Future<Output = Result<Written, PortError>> + Send;
    /// Counts one download of a limited file, only if it has downloads left and is not removed:
    /// the limit holds exactly however many download at once. `ConditionFailed` when not.
    fn count_download(&self, id: FileId) -> impl Future<Output = Result<Written, PortError>> + Send;
    /// Marks an `uploading` record available with a verified primary copy, in one conditional
    /// write, keeping the `content_id` its completion computed; an already available record is
    /// returned as it is. Listed files join the public listing in the same write. A removed
    /// record is not changed (`ConditionFailed`).
    fn mark_available(
        &self,
        record: &FileRecord,
        now_ms: i64,
    ) -> impl Future<Output = Result<Written, PortError>> + Send;
    /// Sets one copy's state, if `guard` allows and the file is not removed; `ConditionFailed`
    /// when it did not.
    fn set_copy_state(
        &self,
        id: FileId,
        role: CopyRole,
        state: CopyState,
        now_ms: i64,
        guard: Guard,
    ) -> impl Future<Output = Result<Written, PortError>> + Send;
    /// A page of every record (any state, removed ones too), for the sweep; and where the next
    /// page starts (an opaque position: the table holds other items beside the records).
    fn scan(
        &self,
        after: Option<String>,
        limit: u32,
    ) -> impl Future<Output = Result<(Vec<FileRecord>, Option<String>), PortError>> + Send;
    /// Whether the operator blocked this: a content identity
    /// ([`FileRecord::content_identity`]) or a client ([`crate::rate::blocked_client`]).
    fn is_blocked(&self, what: &str) -> impl Future<Output = Result<bool, PortError>> + Send;
    /// Blocks a content identity or a client from uploading again (blocking twice is the same).
    fn block(&self, what: &str, now_ms: i64) -> impl Future<Output = Result<(), PortError>> + Send;
    /// The wrong passwords `guesser` (see [`crate::password::guesser`]) tried on the file lately.
    fn password_attempts(
        &self,
        id: FileId,
        guesser: &str,
    ) -> impl Future<Output = Result<Option<PasswordAttempts>, PortError>> + Send;
    /// Counts one more wrong password, atomically, and returns the count; kept a day.
    fn record_wrong_password(
        &self,
        id: FileId,
        guesser: &str,
        now_ms: i64,
    ) -> impl Future<Output = Result<PasswordAttempts, PortError>> + Send;
    /// Forgets the wrong passwords of `guesser` on the file, after a right one.
    fn clear_wrong_passwords(&self, id: FileId, guesser: &str) -> impl Future<Output = Result<(), PortError>> + Send;
    /// The last health that `observer`'s probe recorded for each of `regions` (whose roles
    /// they are given with); a region never probed from there is left out.
    fn region_health(
        &self,
        observer: &str,
        regions: [(CopyRole, &str); 2],
    ) -> impl Future<Output = Result<Vec<RegionHealth>, PortError>> + Send;
    fn record_region_health(&self, health: &RegionHealth) -> impl Future<Output = Result<(), PortError>> + Send;
    /// The last complete pass of the sweep over the whole table.
    fn replication_summary(&self) -> impl Future<Output = Result<Option<ReplicationSummary>, PortError>> + Send;
    fn record_replication_summary(
        &self,
        summary: &ReplicationSummary,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
    /// The pass in progress of the sweep of `region` (each region's sweep keeps its own):
    /// where its next run continues, and what it counted so far.
    fn sweep_pass(&self, region: CopyRole) -> impl Future<Output = Result<Option<SweepPass>, PortError>> + Send;
    /// Saves `region`'s pass, only if no other run saved it since it was read (`pass.saves` is
    /// one more than what was read; 1 for the first save). False when another run did.
    fn save_sweep_pass(
        &self,
        region: CopyRole,
        pass: &SweepPass,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;
    /// A page of the public files not expired at `now_ms` that match the query, in its order,
    /// after `query.after`; and where the next page starts. Every match is found, however many
    /// files there are (see [`crate::search`]).
    fn list_public(
        &self,
        query: &ListQuery,
        now_ms: i64,
    ) -> impl Future<Output = Result<(Vec<FileRecord>, Option<ListCursor>), PortError>> + Send;
    /// Rewrites the file's search-index entries (every write that changes a record does this
    /// itself; the sweep calls it for a record whose index fell behind) and notes the index
    /// current. If the record changed since `record` was read, the index is written for what it
    /// is now. Returns the record as indexed; `ConditionFailed` when there is none.
    fn reindex(&self, record: &FileRecord) -> impl Future<Output = Result<Written, PortError>> + Send;
}

pub trait Clock: Send + Sync {
    fn now_ms(&self) -> i64;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        let since_epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
    }
}
