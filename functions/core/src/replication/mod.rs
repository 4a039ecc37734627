//! Two copies of every file: the event-driven copy of each new object from its home bucket to
//! the other region's, verified before it counts, and the sweep that repairs whatever went
//! wrong. Each region's bucket notifies its own replicate function; a copy arriving in a bucket
//! notifies too, and is recognised as one (its bucket is not the file's home) and left alone,
//! so replication in both directions never copies an object back.
//!
//! Every state write is guarded ([`Guard`]) so that repeated, concurrent or late deliveries
//! cannot move a verified copy backwards.

use std::time::Duration;

use twinshare_api::{CopyRole, CopyState};

use crate::{
    ports::{Clock, Copied, Copier, Guard, MetadataStore, ObjectStore, PortError, Written},
    record::{FileRecord, RemovalReason},
    removal, FileId, ObjectKey,
};

mod audit;
mod sweep;

pub use sweep::SweepReport;

/// What became of one `ObjectCreated` event.
#[derive(Debug, Clone, PartialEq)]
pub enum Replicated {
    /// Copied and verified.
    Copied,
    /// The replica was already verified: a repeated delivery.
    AlreadyVerified,
    /// Not a key (or bucket) this service writes.
    NotOurs,
    /// The object is the copy replication wrote into the file's other bucket, not an upload:
    /// nothing to copy (copying it back would loop).
    IsCopy,
    /// No record has this id (never announced, or expired).
    NoRecord,
    /// The source object no longer exists.
    SourceGone,
    /// What was copied does not match the record (size or SHA-256); the copy is marked failed.
    Mismatch(String),
    /// The file was removed (deleted, expired, cancelled): whatever arrived after the removal
    /// was deleted from both buckets instead of copied.
    Removed,
}

pub struct Replication<S, M, X, C> {
    /// The region this runs in, by the copy it keeps. Each region's sweep writes only the
    /// records homed in it (one writer region per item, DESIGN.md §9).
    pub region: CopyRole,
    pub primary: S,
    pub replica: S,
    /// This region's replica of the tables.
    pub metadata: M,
    pub copier: X,
    pub clock: C,
    /// How long a copy may stay unverified before the sweep copies it again; also how long
    /// past the last moment an upload URL could write before the sweep counts an unfinished
    /// upload as abandoned, or an object without a record as an orphan.
    pub grace: Duration,
    /// How long the upload URLs the API signs stay valid.
    pub upload_url_ttl: Duration,
}

fn other(role: CopyRole) -> CopyRole {
    match role {
        CopyRole::Primary => CopyRole::Replica,
        CopyRole::Replica => CopyRole::Primary,
    }
}

impl<S: ObjectStore, M: MetadataStore, X: Copier, C: Clock> Replication<S, M, X, C> {
    fn store(&self, role: CopyRole) -> &S {
        match role {
            CopyRole::Primary => &self.primary,
            CopyRole::Replica => &self.replica,
        }
    }

    async fn set(&self, id: FileId, role: CopyRole, state: CopyState, guard: Guard) -> Result<Written, PortError> {
        self.metadata
            .set_copy_state(id, role, state, self.clock.now_ms(), guard)
            .await
    }

    /// Which copy a bucket holds, by its name.
    fn role_of(&self, bucket: &str) -> Option<CopyRole> {
        [CopyRole::Primary, CopyRole::Replica]
            .into_iter()
            .find(|role| self.store(*role).bucket() == bucket)
    }

    /// Handles one `ObjectCreated` notification for `raw_key` (URL-encoded, as in the event) in
    /// `bucket`. An error means "retry this message"; every other outcome is final.
    pub async fn on_object_created(&self, bucket: &str, raw_key: &str) -> Result<Replicated, PortError> {
        let (Some(from), Some(key)) = (self.role_of(bucket), ObjectKey::from_event(raw_key)) else {
            return Ok(Replicated::NotOurs);
        };
        let Some(record) = self.metadata.get(key.file_id()).await? else {
            return Ok(Replicated::NoRecord);
        };
        if record.removal.is_some() || record.is_expired(self.clock.now_ms()) {
            // A PUT on a still-valid URL after a delete, or a late delivery: delete, not copy.
            return self.discard(&record).await;
        }
        if from != record.home {
            return Ok(Replicated::IsCopy);
        }
        if record.copy_state(other(from)) == Some(CopyState::Verified) {
            return Ok(Replicated::AlreadyVerified);
        }
        self.copy_and_verify(&record, from).await
    }

    /// Copies the object from `from` to the other copy, checks it against the record, and
    /// records the outcome.
    async fn copy_and_verify(&self, record: &FileRecord, from: CopyRole) -> Result<Replicated, PortError> {
        let (id, to) = (record.id, other(from));
        if self.set(id, to, CopyState::Copying, Guard::NotVerified).await? == Written::ConditionFailed {
            return self.refused(id, Replicated::AlreadyVerified).await;
        }
        let copied = match self.copier.copy(from, &record.object_key).await {
            Ok(Some(copied)) => copied,
            Ok(None) => {
                self.set(id, to, CopyState::Pending, Guard::NotVerified).await?;
                return Ok(Replicated::SourceGone);
            }
            Err(err) => {
                // Best effort: the message is retried whatever this write does.
                let _ = self.set(id, to, CopyState::Failed, Guard::NotVerified).await;
                return Err(err);
            }
        };
        match self.verify(record, to, &copied).await {
            Ok(None) => {
                if self.set(id, to, CopyState::Verified, Guard::NotVerified).await? == Written::ConditionFailed {
                    // Removed while the bytes were on their way: the copy must not outlive it.
                    return self.refused(id, Replicated::AlreadyVerified).await;
                }
                tracing::info!(file_id = %id, to = ?to, size = copied.size, "copy verified");
                Ok(Replicated::Copied)
            }
            Ok(Some(mismatch)) => {
                tracing::warn!(file_id = %id, to = ?to, %mismatch, "copy does not match the record");
                self.set(id, to, CopyState::Failed, Guard::NotVerified).await?;
                Ok(Replicated::Mismatch(mismatch))
            }
            Err(err) => {
                let _ = self.set(id, to, CopyState::Failed, Guard::NotVerified).await;
                Err(err)
            }
        }
    }

    /// After a guarded write was refused: if the file was removed meanwhile, its bytes are
    /// deleted from both buckets; otherwise the write lost to a concurrent one (`otherwise`).
    async fn refused(&self, id: FileId, otherwise: Replicated) -> Result<Replicated, PortError> {
        match self.metadata.get(id).await? {
            Some(record) if record.removal.is_some() => self.discard(&record).await,
            _ => Ok(otherwise),
        }
    }

    /// Deletes a removed (or expired) file's bytes from both buckets; an error (a region down)
    /// has the message retried.
    async fn discard(&self, record: &FileRecord) -> Result<Replicated, PortError> {
        let stores = [&self.primary, &self.replica];
        if record.removal.is_none() {
            removal::remove(
                stores,
                &self.metadata,
                record.id,
                RemovalReason::Expired,
                self.clock.now_ms(),
            )
            .await?;
        }
        if removal::purge(stores, record).await {
            tracing::info!(file_id = %record.id, "bytes written after the removal deleted");
            Ok(Replicated::Removed)
        } else {
            Err(PortError::Unavailable(
                "a removed file's bytes could not be deleted".into(),
            ))
        }
    }

    /// `None` when the copy in `to` is what the record says; otherwise what differs.
    async fn verify(&self, record: &FileRecord, to: CopyRole, copied: &Copied) -> Result<Option<String>, PortError> {
        let Some(stored) = self.store(to).head(&record.object_key).await? else {
            return Ok(Some("the copy is not there after copying".into()));
        };
        if stored.size != record.size || copied.size != record.size {
            return Ok(Some(format!(
                "{} bytes stored, {} copied, {} declared",
                stored.size, copied.size, record.size
            )));
        }
        // Files sent in parts have no whole-file SHA-256 to compare: S3 checked each part
        // against its own on the way in, and each copied part again on the way out.
        match (&record.sha256, copied.sha256.as_ref().or(stored.sha256.as_ref())) {
            (Some(declared), Some(sha256)) if sha256 != declared => {
                Ok(Some("the SHA-256 differs from the declared one".into()))
            }
            _ => Ok(None),
        }
    }
}

#[cfg(test)]
mod home_tests;
#[cfg(test)]
mod sweep_tests;
#[cfg(test)]
mod tests;
