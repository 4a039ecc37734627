//! The one way a file leaves storage, whatever the reason (cancelled, deleted, expired): the
//! record is marked removed first (every read answers 410 from then on, and no copy-state write
//! succeeds), then the bytes are deleted from both buckets. Whatever cannot be deleted now (a
//! region down) is deleted by the sweep, which keeps checking a removed file's keys until both
//! buckets have stayed empty past [`REMOVAL_WATCH_MS`](crate::record::REMOVAL_WATCH_MS).

use crate::{
    ports::{MetadataStore, ObjectStore, PortError, Written},
    record::{FileRecord, RecordState, Removal, RemovalReason},
    FileId,
};

/// Marks the file removed (idempotent) and deletes its bytes where it can. `None` when no record
/// has this id. The record returned is as the removal left it: removed, possibly earlier and for
/// another reason.
pub async fn remove<S: ObjectStore, M: MetadataStore>(
    stores: [&S; 2],
    metadata: &M,
    id: FileId,
    reason: RemovalReason,
    now_ms: i64,
) -> Result<Option<FileRecord>, PortError> {
    let removal = Removal {
        reason,
        at_ms: now_ms,
        bytes_gone_at_ms: None,
    };
    let record = match metadata.remove(id, removal).await? {
        Written::Done(record) => *record,
        Written::ConditionFailed => return Ok(None),
    };
    if purge(stores, &record).await {
        tracing::info!(file_id = %id, reason = reason.as_str(), "removed from both regions");
    } else {
        tracing::warn!(file_id = %id, reason = reason.as_str(), "removed; the sweep deletes what is left");
    }
    Ok(Some(record))
}

/// Deletes the file's bytes from both buckets (and frees the parts of an unfinished multipart
/// upload). True when every delete succeeded; a failure is logged and left to the sweep.
pub async fn purge<S: ObjectStore>(stores: [&S; 2], record: &FileRecord) -> bool {
    let key = &record.object_key;
    let mut done = true;
    if let (Some(multipart), RecordState::Uploading) = (&record.multipart, record.state) {
        if let Err(err) = stores[0].abort_multipart(key, &multipart.upload_id).await {
            tracing::warn!(file_id = %record.id, error = %err, "could not abort the multipart upload");
            done = false;
        }
    }
    for store in stores {
        if let Err(err) = store.delete(key).await {
            tracing::warn!(file_id = %record.id, region = store.region(), error = %err, "could not delete the bytes");
            done = false;
        }
    }
    done
}
