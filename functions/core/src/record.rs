//! The metadata record of a file, and the state of each of its copies.

use twinshare_api::{CopyRole, CopyState, CopyView, FileStatus, FileView, MultipartPlan, Visibility};

use crate::{validate::NewUpload, FileId, ObjectKey};

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
    /// For files sent in parts: the S3 multipart upload and how the file is cut.
    pub multipart: Option<MultipartUpload>,
    pub uploader: Option<String>,
    pub visibility: Visibility,
    pub state: RecordState,
    pub created_at_ms: i64,
    pub updated_at_ms: i64,
    /// The primary copy first; the replica is added by replication.
    pub copies: Vec<StoredCopy>,
}

/// A multipart upload in the primary bucket. The id is S3's; it never leaves the server.
#[derive(Debug, Clone, PartialEq)]
pub struct MultipartUpload {
    pub upload_id: String,
    pub plan: MultipartPlan,
}

/// How long an announced upload may stay unfinished before its record expires (the bucket's
/// lifecycle rule cleans up the bytes of abandoned uploads on the same horizon).
pub const ABANDONED_UPLOAD_TTL_MS: i64 = 24 * 60 * 60 * 1000;

impl FileRecord {
    /// A record for an announced upload: the primary copy awaits the browser's PUT, the replica
    /// copy awaits replication.
    pub fn new_upload(
        id: FileId,
        upload: NewUpload,
        multipart: Option<MultipartUpload>,
        primary: Placement<'_>,
        replica: Placement<'_>,
        now_ms: i64,
    ) -> Self {
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
            multipart,
            uploader: upload.uploader,
            visibility: upload.visibility,
            state: RecordState::Uploading,
            created_at_ms: now_ms,
            updated_at_ms: now_ms,
            copies: vec![copy(CopyRole::Primary, primary), copy(CopyRole::Replica, replica)],
        }
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
    pub fn is_public(&self) -> bool {
        self.visibility == Visibility::Listed && self.state == RecordState::Available
    }

    /// When the record of an upload that never completed may be deleted (epoch seconds, for a TTL).
    pub fn abandoned_expiry_secs(&self) -> Option<i64> {
        (self.state == RecordState::Uploading).then(|| (self.created_at_ms + ABANDONED_UPLOAD_TTL_MS) / 1000)
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
        };
        let primary = Placement {
            region: "eu-west-1",
            bucket: "primary",
        };
        let replica = Placement {
            region: "us-west-2",
            bucket: "replica",
        };
        FileRecord::new_upload(FileId::random(), upload, None, primary, replica, 1_000)
    }

    #[test]
    fn a_new_upload_is_uploading_with_two_pending_copies_and_an_expiry() {
        let r = record();
        assert_eq!(r.status(), FileStatus::Uploading);
        assert_eq!(r.copy_state(CopyRole::Primary), Some(CopyState::Pending));
        assert_eq!(r.copy_state(CopyRole::Replica), Some(CopyState::Pending));
        assert!(!r.is_public());
        assert_eq!(r.abandoned_expiry_secs(), Some(1 + 24 * 3600));
    }

    #[test]
    fn status_counts_verified_copies() {
        let mut r = record();
        r.state = RecordState::Available;
        r.copies[0].state = CopyState::Verified;
        assert_eq!(r.status(), FileStatus::Available);
        assert!(r.is_public());
        assert_eq!(r.abandoned_expiry_secs(), None);
        r.copies[1].state = CopyState::Verified;
        assert_eq!(r.status(), FileStatus::Redundant);
        r.visibility = Visibility::Unlisted;
        assert!(!r.is_public());
    }
}
