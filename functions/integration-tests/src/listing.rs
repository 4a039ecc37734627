//! Listed files made without uploads, for the search tests and benchmark: records as the upload
//! API writes them, available and listed, placed in the harness's buckets.

use twinshare_api::Visibility;
use twinshare_core::{
    record::{FileRecord, Placement, RecordState},
    validate::NewUpload,
    FileId,
};

use crate::{BUCKET, REGION, REPLICA_BUCKET, REPLICA_REGION};

/// A record of an upload announced at `created_at_ms` (state `uploading`); mark it available to
/// share it, or set its state to write it as an already shared file.
pub fn listed_upload(name: &str, size: u64, uploader: Option<&str>, created_at_ms: i64) -> FileRecord {
    let upload = NewUpload {
        name: name.to_owned(),
        size,
        content_type: "application/pdf".into(),
        sha256: Some("ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=".into()),
        parts: None,
        uploader: uploader.map(str::to_owned),
        visibility: Visibility::Listed,
        expires_in_ms: None,
        max_downloads: None,
        password_hash: None,
    };
    let placements = [
        Placement {
            region: REGION,
            bucket: BUCKET,
        },
        Placement {
            region: REPLICA_REGION,
            bucket: REPLICA_BUCKET,
        },
    ];
    FileRecord::new_upload(
        FileId::random(),
        upload,
        None,
        placements,
        "ab".repeat(32),
        created_at_ms,
    )
}

/// As [`listed_upload`], already available (as a record seeded straight into the table is).
pub fn listed_file(name: &str, size: u64, created_at_ms: i64) -> FileRecord {
    let mut record = listed_upload(name, size, None, created_at_ms);
    record.state = RecordState::Available;
    record
}

/// The value after `--name` on the command line, or `default` (the benchmarks' options).
pub fn arg(name: &str, default: &str) -> String {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1).cloned())
        .unwrap_or_else(|| default.to_owned())
}
