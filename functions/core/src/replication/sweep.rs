//! The sweep: on a schedule, every record of the table is checked, in a *pass* that continues
//! from a stored cursor across runs, so that coverage does not depend on the table's size.
//! Each run first lists both buckets ([`Inventory`]): a file whose two copies are listed and
//! verified costs no S3 call, so the work grows with what needs repair, not with the table.
//! Then it removes what must go (expired files, abandoned uploads) through the one removal
//! path, repairs copies, and finally audits the listing for objects no live record accounts
//! for ([`super::audit`]).
//!
//! A sweep runs in each region. Both read every record, but each writes only the records homed
//! in its region (DESIGN.md §9: one writer region per item): it repairs, expires and removes
//! those, and only counts the others. So a file uploaded in the second region while the primary
//! was down is repaired by the second region's sweep once the primary answers, and no record is
//! written from two regions at once. What belongs to the whole service — the storage usage
//! counter, the pass summary on the status page, the orphan audit of both buckets — is the
//! primary region's sweep's alone.

use std::collections::HashSet;

use twinshare_api::{CopyRole, CopyState, SweepPassView};

use super::{audit::Inventory, Replicated, Replication};
use crate::{
    health::SweepPass,
    ports::{Clock, Copier, Guard, MetadataStore, ObjectStore, PortError, Written},
    quota::{self, Settle, StorageUsage},
    record::{FileRecord, RecordState, RemovalReason, REMOVAL_WATCH_MS},
    removal, ObjectKey,
};

/// Records asked for per scan page (DynamoDB also stops a page at 1 MB).
const SCAN_PAGE: usize = 1_000;

/// A run reads no new page after this long, so that the last page's repairs and the audit end
/// within the function's 15-minute timeout; the next run continues the pass.
const RUN_BUDGET_MS: i64 = 10 * 60 * 1000;

/// What one run of the sweep did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// File records read by this run.
    pub records: u64,
    /// Available files whose copies were checked.
    pub checked: u64,
    pub replicas_copied: u64,
    pub primaries_restored: u64,
    /// Copies attempted that failed (retried on the next sweep).
    pub failed: u64,
    /// Files with no copy left anywhere.
    pub lost: u64,
    /// Files skipped because a region did not answer.
    pub unreachable: u64,
    /// Available files still without a verified second copy after this run.
    pub not_redundant: u64,
    /// Creation time of the oldest of those.
    pub oldest_pending_since_ms: Option<i64>,
    /// Files whose expiry had passed, removed by this run.
    pub expired: u64,
    /// Unfinished uploads removed because no URL they were given can still write.
    pub abandoned: u64,
    /// Removed files whose buckets are still watched (a late write may land) or could not be
    /// emptied yet (a region down).
    pub removals_watched: u64,
    /// Removed files found empty in both buckets past the watch: their records may now expire.
    pub removals_settled: u64,
    /// Objects deleted by the audit because no live record accounts for them, and their bytes.
    pub orphans_deleted: u64,
    pub orphan_bytes_deleted: u64,
    /// Sizes of the available files read (what each bucket should hold for them).
    pub accounted_bytes: u64,
    /// Sizes of the uploads in progress read.
    pub uploading_bytes: u64,
    /// Records whose search-index entries were behind them (a write's follow-up failed, or the
    /// record predates the index), rewritten by this run.
    pub reindexed: u64,
    /// Records charged to the storage usage or released from it because their charge
    /// disagreed with their state (files from before the quota, or a hand edit).
    pub charges_settled: u64,
    /// The pass ended quiet and found the usage counter off the records: it was set right.
    pub usage_repaired: bool,
    /// This run read the last records of the table: the pass is complete.
    pub pass_finished: bool,
}

impl<S: ObjectStore, M: MetadataStore, X: Copier, C: Clock> Replication<S, M, X, C> {
    /// One scheduled run: continues the pass where the last run stopped, reads at most
    /// `max_records` records, and when it reaches the end of the table records the pass as the
    /// replication summary and starts the next one.
    pub async fn sweep(&self, max_records: usize) -> Result<SweepReport, PortError> {
        let now = self.clock.now_ms();
        let keeps_the_whole = self.region == CopyRole::Primary;
        let mut pass = self.metadata.sweep_pass(self.region).await?.unwrap_or_default();
        if pass.tally.runs == 0 {
            pass.tally.started_at_ms = now;
            if keeps_the_whole {
                pass.usage_at_start = self.usage().await;
            }
        }
        let mut inventory = Inventory::list([&self.primary, &self.replica]).await;
        let mut report = SweepReport::default();
        let mut live = HashSet::new();
        let mut after = pass.cursor.clone();
        let next = loop {
            let limit = SCAN_PAGE.min(max_records.saturating_sub(report.records as usize));
            let (page, next) = self.metadata.scan(after, limit.max(1) as u32).await?;
            report.records += page.len() as u64;
            for record in &page {
                if record.charged {
                    pass.charged.bytes += record.size;
                    pass.charged.files += 1;
                }
                self.sweep_record(record, &mut inventory, &mut report, &mut live).await;
            }
            let in_budget = self.clock.now_ms() - now < RUN_BUDGET_MS;
            match next {
                Some(next) if (report.records as usize) < max_records && in_budget => after = Some(next),
                next => break next,
            }
        };
        if keeps_the_whole {
            self.audit(&mut inventory, &live, &mut report).await;
        }
        report.pass_finished = next.is_none();
        if report.pass_finished && keeps_the_whole {
            report.usage_repaired = self.reconcile_usage(&pass).await;
            pass.usage_at_start = None;
            pass.charged = StorageUsage::default();
        }
        pass.saves += 1;
        pass.cursor = next;
        add(&mut pass.tally, &report);
        let summary = report.pass_finished.then(|| {
            let mut done = std::mem::take(&mut pass.tally);
            done.finished_at_ms = Some(self.clock.now_ms());
            done.storage.buckets = inventory.usage();
            done
        });
        if !self.metadata.save_sweep_pass(self.region, &pass).await? {
            // Another run overlapped this one and moved the pass: its count stands, this run's
            // repairs and removals are done all the same.
            tracing::warn!("another sweep saved the pass meanwhile; this run's counts are not kept");
            return Ok(report);
        }
        if let Some(summary) = summary {
            if keeps_the_whole {
                self.metadata.record_replication_summary(&summary).await?;
            }
            tracing::info!(?summary, region = ?self.region, "sweep pass finished");
        }
        tracing::info!(?report, "sweep run done");
        Ok(report)
    }

    async fn sweep_record(
        &self,
        record: &FileRecord,
        inventory: &mut Inventory,
        report: &mut SweepReport,
        live: &mut HashSet<ObjectKey>,
    ) {
        let now = self.clock.now_ms();
        if record.home != self.region {
            return self.count_another_regions(record, inventory, report, live);
        }
        if record.needs_index() {
            match self.metadata.reindex(record).await {
                Ok(Written::Done(_)) => report.reindexed += 1,
                Ok(Written::ConditionFailed) => {}
                Err(err) => tracing::warn!(file_id = %record.id, error = %err, "could not rewrite a search entry"),
            }
        }
        match quota::settle(record) {
            // Its removal comes next, and would release it again.
            Some(Settle::Charge) if record.is_expired(now) => {}
            Some(settle) => match self.metadata.settle_charge(record, settle).await {
                Ok(Written::Done(_)) => report.charges_settled += 1,
                Ok(Written::ConditionFailed) => {}
                Err(err) => tracing::warn!(file_id = %record.id, error = %err, "could not settle a storage charge"),
            },
            None => {}
        }
        if record.removal.is_some() || record.is_expired(now) {
            return self.sweep_removed(record, report).await;
        }
        let window = (self.upload_url_ttl + self.grace).as_millis() as i64;
        if record.is_abandoned(now, window) {
            let stores = [&self.primary, &self.replica];
            match removal::remove(stores, &self.metadata, record.id, RemovalReason::Abandoned, now).await {
                Ok(Some(_)) => report.abandoned += 1,
                // Completed meanwhile: checked by the next pass.
                Ok(None) => {
                    live.insert(record.object_key.clone());
                }
                Err(err) => tracing::warn!(file_id = %record.id, error = %err, "could not remove an abandoned upload"),
            }
            return;
        }
        if !count_live(record, inventory, report, live) {
            return;
        }
        if self.repair(record, report).await {
            inventory.note_repaired(&record.object_key, record.size, now);
        } else {
            not_redundant(record, report);
        }
    }

    /// A record homed in the other region: its sweep writes it. This one only counts it, and
    /// keeps its bytes from the audit until its home region has removed it.
    fn count_another_regions(
        &self,
        record: &FileRecord,
        inventory: &Inventory,
        report: &mut SweepReport,
        live: &mut HashSet<ObjectKey>,
    ) {
        if record.removal.is_some() {
            return;
        }
        if record.is_expired(self.clock.now_ms()) {
            // Its home region's sweep removes it, bytes and all.
            live.insert(record.object_key.clone());
            return;
        }
        if count_live(record, inventory, report, live) {
            not_redundant(record, report);
        }
    }

    /// The usage counter, or `None` (logged) if it cannot be read: then no repair this pass.
    async fn usage(&self) -> Option<StorageUsage> {
        self.metadata
            .storage_usage()
            .await
            .inspect_err(|err| tracing::warn!(error = %err, "storage usage unreadable"))
            .ok()
    }

    /// At the end of a pass: sets the usage counter to what the pass counted, if it is off and
    /// nothing was charged or released since the pass began (else the count is not a snapshot).
    async fn reconcile_usage(&self, pass: &SweepPass) -> bool {
        let (Some(at_start), Some(now)) = (pass.usage_at_start, self.usage().await) else {
            return false;
        };
        let Some(right) = quota::reconciled(at_start, now, pass.charged) else {
            return false;
        };
        match self.metadata.reconcile_usage(now, right).await {
            Ok(true) => {
                tracing::warn!(was = ?now, now = ?right, "storage usage was off the records; set right");
                true
            }
            Ok(false) => false,
            Err(err) => {
                tracing::warn!(error = %err, "could not repair the storage usage");
                false
            }
        }
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

/// Counts a record that is neither removed nor due for removal, and keeps its object from the
/// audit. True when it is available without two listed and verified copies (to repair).
fn count_live(
    record: &FileRecord,
    inventory: &Inventory,
    report: &mut SweepReport,
    live: &mut HashSet<ObjectKey>,
) -> bool {
    live.insert(record.object_key.clone());
    if record.state == RecordState::Uploading {
        report.uploading_bytes += record.size;
        return false;
    }
    report.checked += 1;
    report.accounted_bytes += record.size;
    let listed_and_verified = [CopyRole::Primary, CopyRole::Replica]
        .into_iter()
        .all(|role| inventory.holds(role, &record.object_key) && record.copy_state(role) == Some(CopyState::Verified));
    !listed_and_verified
}

/// Counts an available file left without two verified copies by this run.
fn not_redundant(record: &FileRecord, report: &mut SweepReport) {
    report.not_redundant += 1;
    let since = report
        .oldest_pending_since_ms
        .map_or(record.created_at_ms, |t| t.min(record.created_at_ms));
    report.oldest_pending_since_ms = Some(since);
}

/// Adds one run's counts to the pass's.
fn add(tally: &mut SweepPassView, run: &SweepReport) {
    tally.runs += 1;
    tally.records += run.records;
    tally.files += run.checked;
    tally.not_redundant += run.not_redundant;
    tally.oldest_pending_since_ms = match (tally.oldest_pending_since_ms, run.oldest_pending_since_ms) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    };
    tally.lost += run.lost;
    tally.abandoned += run.abandoned;
    tally.orphans_deleted += run.orphans_deleted;
    tally.orphan_bytes_deleted += run.orphan_bytes_deleted;
    tally.storage.accounted_bytes += run.accounted_bytes;
    tally.storage.uploading_bytes += run.uploading_bytes;
}
