//! The metadata record of a file, and the state of each of its copies.

use twinshare_api::{CopyRole, CopyState, CopyView, FileStatus, FileView, MultipartPlan, Visibility};

use crate::{validate::NewUpload, ApiError, FileId, ObjectKey};

/// Where a record is in its life. A record is written `Uploading` before any byte is sent and
/// becomes `Available` only once the primary object has been checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordState {
    Uploading,
    Available,
}

impl RecordState {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordState::Uploading => "uploading",
            RecordState::Available => "available",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "uploading" => Some(RecordState::Uploading),
            "available" => Some(RecordState::Available),
            _ => None,
        }
    }
}

/// Why a file was removed. Every removal goes the same way: the record is marked (with a
/// tombstone item beside it), every read answers 410 at once, then both copies' bytes are
/// deleted, by the request where it can and by the sweep otherwise.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RemovalReason {
    /// The uploader cancelled an unfinished upload.
    Cancelled,
    /// The owner deleted the file.
    Deleted,
    /// The file's expiry passed.
    Expired,
    /// The upload was never completed: the sweep removed it once no URL it was given could
    /// still write ([`FileRecord::is_abandoned`]). Applies only to a record still uploading.
    Abandoned,
    /// The site's operator took the file down (moderation).
    TakenDown,
}

impl RemovalReason {
    pub const ALL: [RemovalReason; 5] = [
        RemovalReason::Cancelled,
        RemovalReason::Deleted,
        RemovalReason::Expired,
        RemovalReason::Abandoned,
        RemovalReason::TakenDown,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RemovalReason::Cancelled => "cancelled",
            RemovalReason::Deleted => "deleted",
            RemovalReason::Expired => "expired",
            RemovalReason::Abandoned => "abandoned",
            RemovalReason::TakenDown => "taken_down",
        }
    }

    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.as_str() == text)
    }
}

/// That, when and why a file was removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Removal {
    pub reason: RemovalReason,
    pub at_ms: i64,
    /// When the sweep found both buckets empty after the window in which a late write could
    /// still land; from then on the record may expire.
    pub bytes_gone_at_ms: Option<i64>,
}

/// How long after a removal the sweep keeps checking that no bytes came back: a presigned PUT
/// stays valid for its TTL (15 minutes by default) and a replication message can be redelivered
/// for a while after it. An hour covers both with room to spare.
pub const REMOVAL_WATCH_MS: i64 = 60 * 60 * 1000;

/// How long the record and tombstone of a removed file are kept once its bytes are gone, so
/// that links answer 410 ("deleted", "expired") rather than 404.
pub const TOMBSTONE_KEEP_MS: i64 = 14 * 24 * 60 * 60 * 1000;

/// Where a copy is kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement<'a> {
    pub region: &'a str,
    pub bucket: &'a str,
}

/// One stored copy of a file's bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredCopy {
    pub role: CopyRole,
    pub region: String,
    pub bucket: String,
    pub state: CopyState,
    pub updated_at_ms: i64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct FileRecord {
    pub id: FileId,
    pub object_key: ObjectKey,
    pub name: String,
    pub size: u64,
    pub content_type: String,
    /// SHA-256 of the whole file, for files sent in one PUT.
    pub sha256: Option<String>,
    /// The whole-file identity of a file sent in parts, known once its parts were assembled
    /// (see [`crate::service::multipart::content_id`]): what blocking its content blocks.
    pub content_id: Option<String>,
    /// For files sent in parts: the S3 multipart upload and how the file is cut.
    pub multipart: Option<MultipartUpload>,
    pub uploader: Option<String>,
    pub visibility: Visibility,
    pub state: RecordState,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// The primary copy first; the replica is added by replication.
    pub copies: Vec<StoredCopy>,
    /// The copy whose bucket received the bytes: the region that was taking uploads when the
    /// file was announced (the primary's, or the second region's while the primary was down).
    /// Its region writes the record (one writer per item) and copies the bytes to the other.
    pub home: CopyRole,
    /// SHA-256 (hex) of the owner's manage token; `None` for files shared before tokens existed,
    /// which nobody can manage.
    pub manage_hash: Option<String>,
    /// When the file stops being shared; `None`: never.
    pub expiry_ms: Option<i64>,
    /// Successful downloads allowed; `None`: unlimited.
    pub max_downloads: Option<u32>,
    /// Successful downloads so far (counted only for limited files).
    pub downloads: u32,
    /// Argon2id hash (PHC string) of the file's password; never shown.
    pub password_hash: Option<String>,
    pub removal: Option<Removal>,
    /// The `updated_at_ms` the search index was last written for; behind it (or `None`), the
    /// sweep rewrites the file's index entries.
    pub indexed_ms: Option<i64>,
    /// Counted in the storage usage (see [`crate::quota`]): from its announcement until it is
    /// removed. False for files shared before the quota, until the sweep counts them.
    pub charged: bool,
}

/// A multipart upload in the primary bucket. The id is S3's; it never leaves the server.
#[derive(Debug, Clone, PartialEq)]
pub struct MultipartUpload {
    pub upload_id: String,
    pub plan: MultipartPlan,
}

/// How long a multipart upload may be resumed (new part URLs signed) after it was announced. A
/// single PUT has only its one URL, so it is abandoned once that URL has expired.
pub const MULTIPART_RESUMABLE_MS: i64 = 24 * 60 * 60 * 1000;

impl FileRecord {
    /// What identifies the file's content whoever sends it again: the SHA-256 of a file sent in
    /// one PUT, the composite one of a file sent in parts.
    pub fn content_identity(&self) -> Option<&str> {
        self.sha256.as_deref().or(self.content_id.as_deref())
    }

    /// A record for an announced upload, homed in the primary region (see [`FileRecord::home`]):
    /// the home copy awaits the browser's PUT, the other awaits replication.
    pub fn new_upload(
        id: FileId,
        upload: NewUpload,
        multipart: Option<MultipartUpload>,
        placements: [Placement<'_>; 2],
        manage_hash: String,
        now_ms: i64,
    ) -> Self {
        let [primary, replica] = placements;
        let copy = |role, placement: Placement<'_>| StoredCopy {
            role,
            region: placement.region.to_owned(),
            bucket: placement.bucket.to_owned(),
            state: CopyState::Pending,
            updated_at_ms: now_ms,
        };
        FileRecord {
            id,
            object_key: id.object_key(),
            name: upload.name,
            size: upload.size,
            content_type: upload.content_type,
            sha256: upload.sha256,
            content_id: None,
            multipart,
            uploader: upload.uploader,
            visibility: upload.visibility,
            state: RecordState::Uploading,
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
            copies: vec![copy(CopyRole::Primary, primary), copy(CopyRole::Replica, replica)],
            home: CopyRole::Primary,
            manage_hash: Some(manage_hash),
            expiry_ms: upload.expires_in_ms.map(|ttl| now_ms.saturating_add(ttl)),
            max_downloads: upload.max_downloads,
            downloads: 0,
            password_hash: upload.password_hash,
            removal: None,
            indexed_ms: None,
            charged: true,
        }
    }

    /// Why the file cannot be shown or downloaded any more, if it cannot: removed, or past its
    /// expiry (at once, whatever the sweep and the table's TTL have done yet).
    pub fn gone(&self, now_ms: i64) -> Option<ApiError> {
        let id = self.id.to_string();
        match self.removal.map(|r| r.reason) {
            Some(RemovalReason::Deleted) => Some(ApiError::FileDeleted(id)),
            Some(RemovalReason::Expired) => Some(ApiError::FileExpired(id)),
            Some(RemovalReason::Cancelled | RemovalReason::Abandoned) => Some(ApiError::UploadGone(id)),
            Some(RemovalReason::TakenDown) => Some(ApiError::FileRemoved(id)),
            None if self.is_expired(now_ms) => Some(ApiError::FileExpired(id)),
            None => None,
        }
    }

    pub fn is_expired(&self, now_ms: i64) -> bool {
        self.expiry_ms.is_some_and(|expiry| expiry <= now_ms)
    }

    /// Downloads left, for a limited file.
    pub fn downloads_left(&self) -> Option<u32> {
        self.max_downloads.map(|max| max.saturating_sub(self.downloads))
    }

    pub fn copy(&self, role: CopyRole) -> Option<&StoredCopy> {
        self.copies.iter().find(|c| c.role == role)
    }

    pub fn copy_state(&self, role: CopyRole) -> Option<CopyState> {
        self.copy(role).map(|c| c.state)
    }

    pub fn status(&self) -> FileStatus {
        let verified = self.copies.iter().filter(|c| c.state == CopyState::Verified).count();
        match (self.state, verified) {
            (RecordState::Uploading, _) | (_, 0) => FileStatus::Uploading,
            (_, 1) => FileStatus::Available,
            _ => FileStatus::Redundant,
        }
    }

    /// Listed files appear in the public table once they can be downloaded.
    /// Expiry is checked when the table is read, as it passes with time, not with a write.
    /// Whether the search index was written for this version of the record (see
    /// [`crate::search`]).
    pub fn is_index_current(&self) -> bool {
        self.indexed_ms == Some(self.updated_at_ms)
    }

    /// Whether the search index may be behind this record: an upload in progress is in no
    /// index, and needs no entry.
    pub fn needs_index(&self) -> bool {
        self.state != RecordState::Uploading && !self.is_index_current()
    }

    pub fn is_public(&self) -> bool {
        self.visibility == Visibility::Listed && self.state == RecordState::Available && self.removal.is_none()
    }

    /// Past the point where no URL this upload was given can still write (single PUT: its
    /// URL's TTL; multipart: the resumable window, then the last part URL's TTL), and still not
    /// completed: the sweep removes it, bytes in both buckets included.
    pub fn is_abandoned(&self, now_ms: i64, url_ttl_ms: i64) -> bool {
        let resumable = if self.multipart.is_some() {
            MULTIPART_RESUMABLE_MS
        } else {
            0
        };
        self.state == RecordState::Uploading
            && self.removal.is_none()
            && now_ms >= self.created_at_ms + resumable + url_ttl_ms
    }

    /// When the table may delete the record (epoch seconds, its TTL): a removed file some days
    /// after its bytes were found gone from both buckets, never before. An unfinished upload is
    /// removed by the sweep through the removal path (its bytes with it); its TTL is only a
    /// backstop for a table whose sweep never runs, and the orphan audit deletes bytes left by
    /// it. A file's own expiry is not a TTL: every read enforces it at once, and the record
    /// must outlive its bytes.
    pub fn ttl_secs(&self) -> Option<i64> {
        match (self.removal, self.state) {
            (Some(removal), _) => removal.bytes_gone_at_ms.map(|gone| (gone + TOMBSTONE_KEEP_MS) / 1000),
            (None, RecordState::Uploading) => {
                Some((self.created_at_ms + MULTIPART_RESUMABLE_MS + TOMBSTONE_KEEP_MS) / 1000)
            }
            (None, RecordState::Available) => None,
        }
    }

    pub fn view(&self) -> FileView {
        FileView {
            id: self.id.to_string(),
            name: self.name.clone(),
            size: self.size,
            content_type: self.content_type.clone(),
            sha256: self.sha256.clone(),
            uploader: self.uploader.clone(),
            visibility: self.visibility,
            status: self.status(),
            created_at_ms: self.created_at_ms,
            copies: self
                .copies
                .iter()
                .map(|c| CopyView {
                    role: c.role,
                    region: c.region.clone(),
                    state: c.state,
                    updated_at_ms: c.updated_at_ms,
                })
                .collect(),
            download_path: format!("/api/files/{}/download", self.id),
            expires_at_ms: self.expiry_ms,
            max_downloads: self.max_downloads,
            downloads_left: self.downloads_left(),
            protected: self.password_hash.is_some(),
            home_region: self.copy(self.home).map(|c| c.region.clone()).unwrap_or_default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> FileRecord {
        let upload = NewUpload {
            name: "a.txt".into(),
            size: 3,
            content_type: "text/plain".into(),
            sha256: Some("x".into()),
            parts: None,
            uploader: None,
            visibility: Visibility::Listed,
            expires_in_ms: Some(60_000),
            max_downloads: None,
            password_hash: None,
        };
        let placements = [
            Placement {
                region: "eu-west-1",
                bucket: "primary",
            },
            Placement {
                region: "us-west-2",
                bucket: "replica",
            },
        ];
        FileRecord::new_upload(FileId::random(), upload, None, placements, "hash".into(), 1_000)
    }

    #[test]
    fn a_new_upload_is_uploading_with_two_pending_copies_and_an_expiry() {
        let r = record();
        assert_eq!(r.status(), FileStatus::Uploading);
        assert_eq!(r.copy_state(CopyRole::Primary), Some(CopyState::Pending));
        assert_eq!(r.copy_state(CopyRole::Replica), Some(CopyState::Pending));
        assert!(!r.is_public());
        assert_eq!(r.ttl_secs(), Some(1 + 15 * 24 * 3600));
    }

    #[test]
    fn status_counts_verified_copies() {
        let mut r = record();
        r.state = RecordState::Available;
        r.copies[0].state = CopyState::Verified;
        assert_eq!(r.status(), FileStatus::Available);
        assert!(r.is_public());
        assert_eq!(r.ttl_secs(), None);
        r.copies[1].state = CopyState::Verified;
        assert_eq!(r.status(), FileStatus::Redundant);
        r.visibility = Visibility::Unlisted;
        assert!(!r.is_public());
    }

    #[test]
    fn a_file_is_gone_once_removed_or_past_its_expiry() {
        let mut r = record();
        r.state = RecordState::Available;
        assert_eq!(r.expiry_ms, Some(61_000));
        assert_eq!(r.gone(60_999), None);
        assert!(matches!(r.gone(61_000), Some(ApiError::FileExpired(_))));
        r.removal = Some(Removal {
            reason: RemovalReason::Deleted,
            at_ms: 2_000,
            bytes_gone_at_ms: None,
        });
        assert!(matches!(r.gone(0), Some(ApiError::FileDeleted(_))));
        assert!(!r.is_public());
        for reason in RemovalReason::ALL {
            assert_eq!(RemovalReason::parse(reason.as_str()), Some(reason));
        }
    }
}
