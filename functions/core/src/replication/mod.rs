//! Two copies of every file: the event-driven copy of each new primary object to the replica
//! bucket, verified before it counts, and the sweep that repairs whatever went wrong.
//!
//! Every state write is guarded ([`Guard`]) so that repeated, concurrent or late deliveries
//! cannot move a verified copy backwards.

use std::time::Duration;

use twinshare_api::{CopyRole, CopyState};

use crate::{
    health::ReplicationSummary,
    ports::{Clock, Copied, Copier, Guard, MetadataStore, ObjectStore, PortError, Written},
    record::{FileRecord, RecordState, RemovalReason, REMOVAL_WATCH_MS},
    removal, FileId, ObjectKey,
};

/// What became of one `ObjectCreated` event.
#[derive(Debug, Clone, PartialEq)]
pub enum Replicated {
    /// Copied and verified.
    Copied,
    /// The replica was already verified: a repeated delivery.
    AlreadyVerified,
    /// Not a key this service writes.
    NotOurs,
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

/// What one sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    pub checked: u64,
    pub replicas_copied: u64,
    pub primaries_restored: u64,
    /// Copies attempted that failed (retried on the next sweep).
    pub failed: u64,
    /// Files with no copy left anywhere.
    pub lost: u64,
    /// Files skipped because a region did not answer.
    pub unreachable: u64,
    /// Available files still without a verified second copy after this sweep.
    pub not_redundant: u64,
    /// Creation time of the oldest of those.
    pub oldest_pending_since_ms: Option<i64>,
    /// Files whose expiry had passed, removed by this sweep.
    pub expired: u64,
    /// Removed files whose buckets are still watched (a late write may land) or could not be
    /// emptied yet (a region down).
    pub removals_watched: u64,
    /// Removed files found empty in both buckets past the watch: their records may now expire.
    pub removals_settled: u64,
}

pub struct Replication<S, M, X, C> {
    pub primary: S,
    pub replica: S,
    pub metadata: M,
    pub copier: X,
    pub clock: C,
    /// How long a copy may stay unverified before the sweep copies it again.
    pub grace: Duration,
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

    /// Handles one `ObjectCreated` notification for `raw_key` (URL-encoded, as in the event).
    /// An error means "retry this message"; every other outcome is final.
    pub async fn on_object_created(&self, raw_key: &str) -> Result<Replicated, PortError> {
        let Some(key) = ObjectKey::from_event(raw_key) else {
            return Ok(Replicated::NotOurs);
        };
        let Some(record) = self.metadata.get(key.file_id()).await? else {
            return Ok(Replicated::NoRecord);
        };
        if record.removal.is_some() || record.is_expired(self.clock.now_ms()) {
            // A PUT on a still-valid URL after a delete, or a late delivery: delete, not copy.
            return self.discard(&record).await;
        }
        if record.copy_state(CopyRole::Replica) == Some(CopyState::Verified) {
            return Ok(Replicated::AlreadyVerified);
        }
        self.copy_and_verify(&record, CopyRole::Primary).await
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

    /// Checks every available file's two copies and repairs what is missing or overdue.
    /// Reads at most `max_records` records per run.
    pub async fn sweep(&self, max_records: usize) -> Result<SweepReport, PortError> {
        let mut report = SweepReport::default();
        let mut after = None;
        let mut read = 0;
        loop {
            let (page, next) = self.metadata.scan(after, 100).await?;
            read += page.len();
            for record in &page {
                if record.removal.is_some() || record.is_expired(self.clock.now_ms()) {
                    self.sweep_removed(record, &mut report).await;
                    continue;
                }
                if record.state != RecordState::Available {
                    continue;
                }
                report.checked += 1;
                if !self.repair(record, &mut report).await {
                    report.not_redundant += 1;
                    let since = report
                        .oldest_pending_since_ms
                        .map_or(record.created_at_ms, |t| t.min(record.created_at_ms));
                    report.oldest_pending_since_ms = Some(since);
                }
            }
            match next {
                Some(next) if read < max_records => after = Some(next),
                _ => break,
            }
        }
        let summary = ReplicationSummary {
            not_redundant: report.not_redundant,
            oldest_pending_since_ms: report.oldest_pending_since_ms,
            swept_at_ms: self.clock.now_ms(),
        };
        self.metadata.record_replication_summary(&summary).await?;
        tracing::info!(?report, "sweep done");
        Ok(report)
    }

    /// Removes an expired file, and makes sure a removed file's bytes are gone from both buckets
    /// and stay gone past the watch, when the removal is settled.
    async fn sweep_removed(&self, record: &FileRecord, report: &mut SweepReport) {
        let now = self.clock.now_ms();
        let stores = [&self.primary, &self.replica];
        let Some(removal) = record.removal else {
            if let Err(err) = removal::remove(stores, &self.metadata, record.id, RemovalReason::Expired, now).await {
                tracing::warn!(file_id = %record.id, error = %err, "could not remove an expired file");
            }
            report.expired += 1;
            report.removals_watched += 1;
            return;
        };
        if removal.bytes_gone_at_ms.is_some() {
            return;
        }
        let emptied = removal::purge(stores, record).await;
        if emptied && now - removal.at_ms >= REMOVAL_WATCH_MS {
            if let Err(err) = self.metadata.settle_removal(record.id, now).await {
                tracing::warn!(file_id = %record.id, error = %err, "could not settle a removal");
            }
            report.removals_settled += 1;
        } else {
            report.removals_watched += 1;
        }
    }

    /// Repairs what it can; true when the file ends with two verified copies.
    async fn repair(&self, record: &FileRecord, report: &mut SweepReport) -> bool {
        let key = &record.object_key;
        let (Ok(primary), Ok(replica)) = (self.primary.head(key).await, self.replica.head(key).await) else {
            report.unreachable += 1;
            return false;
        };
        let overdue = |role| {
            record.copy(role).is_none_or(|c| {
                c.state != CopyState::Verified && self.clock.now_ms() - c.updated_at_ms >= self.grace.as_millis() as i64
            })
        };
        let verified = |role| record.copy_state(role) == Some(CopyState::Verified);
        let (from, missing) = match (primary.is_some(), replica.is_some()) {
            (true, true) if overdue(CopyRole::Replica) => (CopyRole::Primary, None),
            (true, false) if verified(CopyRole::Replica) => (CopyRole::Primary, Some(CopyRole::Replica)),
            (true, false) if overdue(CopyRole::Replica) => (CopyRole::Primary, None),
            (false, true) if verified(CopyRole::Replica) => (CopyRole::Replica, Some(CopyRole::Primary)),
            (false, _) => {
                tracing::error!(file_id = %record.id, "no verified copy of this file is left");
                report.lost += 1;
                self.mark_missing(record, CopyRole::Primary).await;
                return false;
            }
            (true, true) => return verified(CopyRole::Replica) && verified(CopyRole::Primary),
            _ => return false,
        };
        if let Some(role) = missing {
            tracing::warn!(file_id = %record.id, copy = ?role, "copy vanished; restoring it");
            if !self.mark_missing(record, role).await {
                return false; // Someone else wrote this copy's state since we read it: next sweep.
            }
        }
        match self.copy_and_verify(record, from).await {
            Ok(Replicated::Copied) if from == CopyRole::Primary => report.replicas_copied += 1,
            Ok(Replicated::Copied) => report.primaries_restored += 1,
            Ok(Replicated::AlreadyVerified) => {}
            Ok(_) | Err(_) => {
                report.failed += 1;
                return false;
            }
        }
        true
    }

    /// Records that a copy is gone, unless its state changed since the record was read.
    async fn mark_missing(&self, record: &FileRecord, role: CopyRole) -> bool {
        let Some(seen) = record.copy(role).map(|c| c.updated_at_ms) else {
            return false;
        };
        matches!(
            self.set(record.id, role, CopyState::Missing, Guard::Unchanged(seen))
                .await,
            Ok(Written::Done(_))
        )
    }
}

#[cfg(test)]
mod tests;
