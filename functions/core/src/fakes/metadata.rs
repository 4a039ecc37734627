//! A metadata table in memory, its public listing exact (what the DynamoDB adapter's search
//! index is meant to give).

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use twinshare_api::{CopyRole, CopyState};

use crate::{
    cursor::ListCursor,
    health::{RegionHealth, ReplicationSummary, SweepPass},
    ports::{Guard, MetadataStore, PasswordAttempts, PortError, Written},
    quota::{Creation, Settle, StorageUsage},
    rate::{self, Limit, RateLimits},
    record::{FileRecord, RecordState, Removal, RemovalReason},
    search,
    validate::{Edit, ListQuery},
    FileId,
};

/// A metadata table in memory. Clones share the table.
#[derive(Debug, Default, Clone)]
pub struct MemoryMetadata {
    records: Arc<Mutex<BTreeMap<FileId, FileRecord>>>,
    health: Arc<Mutex<Vec<RegionHealth>>>,
    summary: Arc<Mutex<Option<ReplicationSummary>>>,
    /// Each region's sweep pass: the primary's, then the second region's.
    passes: Arc<Mutex<[Option<SweepPass>; 2]>>,
    fail_next_write: Arc<Mutex<Option<String>>>,
    attempts: Arc<Mutex<BTreeMap<(FileId, String), PasswordAttempts>>>,
    blocked: Arc<Mutex<std::collections::BTreeSet<String>>>,
    /// Changed only while `records` is locked, as one transaction with the record.
    usage: Arc<Mutex<StorageUsage>>,
    /// Announcements and bytes per (client, window).
    rates: Arc<Mutex<BTreeMap<String, (u64, u64)>>>,
}

impl MemoryMetadata {
    pub fn len(&self) -> usize {
        self.records.lock().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Makes the next owner write (remove, edit, download count) fail as if the table's region
    /// did not answer.
    pub fn fail_next_write(&self, why: &str) {
        *self.fail_next_write.lock().unwrap() = Some(why.into());
    }

    fn write_failure(&self) -> Result<(), PortError> {
        match self.fail_next_write.lock().unwrap().take() {
            Some(why) => Err(PortError::Unavailable(why)),
            None => Ok(()),
        }
    }

    /// Replaces a record as it is, as a write outside the adapter would (tests of repairs).
    pub fn put_record(&self, record: FileRecord) {
        self.records.lock().unwrap().insert(record.id, record);
    }

    /// Sets the usage counter as a write outside the adapter would (tests of its repair).
    pub fn put_usage(&self, usage: StorageUsage) {
        *self.usage.lock().unwrap() = usage;
    }

    fn charge(usage: &mut StorageUsage, bytes: u64, files: i64) {
        if files > 0 {
            usage.bytes += bytes;
            usage.files += 1;
        } else {
            usage.bytes = usage.bytes.saturating_sub(bytes);
            usage.files = usage.files.saturating_sub(1);
        }
        usage.changes += 1;
    }

    pub fn records_snapshot(&self) -> Vec<FileRecord> {
        self.records.lock().unwrap().values().cloned().collect()
    }
}

impl MetadataStore for MemoryMetadata {
    async fn create(&self, record: &FileRecord, quota: Option<u64>) -> Result<Creation, PortError> {
        let mut records = self.records.lock().unwrap();
        if let Some(stored) = records.get(&record.id) {
            // As the adapter answers a retried call whose first attempt wrote the record.
            let same = (&stored.manage_hash, stored.created_at_ms) == (&record.manage_hash, record.created_at_ms);
            if same {
                return Ok(Creation::Created);
            }
            return Err(PortError::Other(format!("record {} exists", record.id)));
        }
        let mut usage = self.usage.lock().unwrap();
        if quota.is_some_and(|quota| usage.bytes + record.size > quota) {
            return Ok(Creation::OverQuota {
                used_bytes: usage.bytes,
            });
        }
        Self::charge(&mut usage, record.size, 1);
        records.insert(
            record.id,
            FileRecord {
                charged: true,
                ..record.clone()
            },
        );
        Ok(Creation::Created)
    }

    async fn count_upload(
        &self,
        client: &str,
        size: u64,
        now_ms: i64,
        limits: RateLimits,
    ) -> Result<Option<Limit>, PortError> {
        let (hour, day) = rate::windows(now_ms);
        let mut rates = self.rates.lock().unwrap();
        let (hour, day) = (format!("{client}#{hour}"), format!("{client}#{day}"));
        let uploads = rates.get(&hour).map_or(0, |c| c.0);
        let bytes = rates.get(&day).map_or(0, |c| c.1);
        if limits.uploads_per_hour.is_some_and(|max| uploads >= u64::from(max)) {
            return Ok(Some(Limit::UploadsPerHour));
        }
        if limits.bytes_per_day.is_some_and(|max| bytes + size > max) {
            return Ok(Some(Limit::BytesPerDay));
        }
        rates.entry(hour).or_default().0 += 1;
        rates.entry(day).or_default().1 += size;
        Ok(None)
    }

    async fn storage_usage(&self) -> Result<StorageUsage, PortError> {
        Ok(*self.usage.lock().unwrap())
    }

    async fn settle_charge(&self, seen: &FileRecord, settle: Settle) -> Result<Written, PortError> {
        let mut records = self.records.lock().unwrap();
        let Some(record) = records.get_mut(&seen.id) else {
            return Ok(Written::ConditionFailed);
        };
        let as_read = (record.removal.is_some(), record.charged) == (seen.removal.is_some(), seen.charged);
        if !as_read || crate::quota::settle(record) != Some(settle) {
            return Ok(Written::ConditionFailed);
        }
        let mut usage = self.usage.lock().unwrap();
        match settle {
            Settle::Charge => Self::charge(&mut usage, record.size, 1),
            Settle::Release => Self::charge(&mut usage, record.size, -1),
        }
        record.charged = settle == Settle::Charge;
        Ok(Written::Done(Box::new(record.clone())))
    }

    async fn reconcile_usage(&self, seen: StorageUsage, to: StorageUsage) -> Result<bool, PortError> {
        let _records = self.records.lock().unwrap();
        let mut usage = self.usage.lock().unwrap();
        if usage.changes != seen.changes {
            return Ok(false);
        }
        *usage = to;
        Ok(true)
    }

    async fn get(&self, id: FileId) -> Result<Option<FileRecord>, PortError> {
        Ok(self.records.lock().unwrap().get(&id).cloned())
    }

    async fn get_many(&self, ids: &[FileId]) -> Result<Vec<FileRecord>, PortError> {
        let records = self.records.lock().unwrap();
        Ok(ids.iter().filter_map(|id| records.get(id).cloned()).collect())
    }

    async fn remove(&self, id: FileId, removal: Removal) -> Result<Written, PortError> {
        self.write_failure()?;
        let mut records = self.records.lock().unwrap();
        let Some(record) = records.get_mut(&id) else {
            return Ok(Written::ConditionFailed);
        };
        if record.removal.is_none() {
            if removal.reason == RemovalReason::Abandoned && record.state != RecordState::Uploading {
                return Ok(Written::ConditionFailed);
            }
            record.removal = Some(removal);
            record.updated_at_ms = removal.at_ms;
            if record.charged {
                record.charged = false;
                Self::charge(&mut self.usage.lock().unwrap(), record.size, -1);
            }
            // As the DynamoDB adapter does after a write that succeeded: the index follows.
            record.indexed_ms = Some(record.updated_at_ms);
        }
        Ok(Written::Done(Box::new(record.clone())))
    }

    async fn settle_removal(&self, id: FileId, now_ms: i64) -> Result<Written, PortError> {
        let mut records = self.records.lock().unwrap();
        match records.get_mut(&id).and_then(|r| r.removal.as_mut()) {
            Some(removal) => {
                // DynamoDB's TTL removes the record some days later; this table keeps it.
                removal.bytes_gone_at_ms.get_or_insert(now_ms);
                Ok(Written::Done(Box::new(records[&id].clone())))
            }
            None => Ok(Written::ConditionFailed),
        }
    }

    async fn edit(&self, seen: &FileRecord, edit: &Edit, now_ms: i64) -> Result<Written, PortError> {
        self.write_failure()?;
        let mut records = self.records.lock().unwrap();
        let Some(record) = records
            .get_mut(&seen.id)
            .filter(|r| r.removal.is_none() && r.state == seen.state)
        else {
            return Ok(Written::ConditionFailed);
        };
        if let Some(name) = &edit.name {
            record.name = name.clone();
        }
        if let Some(visibility) = edit.visibility {
            record.visibility = visibility;
        }
        if let Some(expiry) = edit.expiry_ms {
            record.expiry_ms = expiry;
        }
        if let Some(limit) = edit.max_downloads {
            record.max_downloads = limit;
        }
        if let Some(hash) = &edit.password_hash {
            record.password_hash = hash.clone();
        }
        record.updated_at_ms = now_ms;
        // As the DynamoDB adapter does after a write that succeeded: the index follows.
        record.indexed_ms = Some(record.updated_at_ms);
        Ok(Written::Done(Box::new(record.clone())))
    }

    async fn count_download(&self, id: FileId) -> Result<Written, PortError> {
        self.write_failure()?;
        let mut records = self.records.lock().unwrap();
        match records.get_mut(&id) {
            Some(record) if record.removal.is_none() && record.downloads_left().is_some_and(|left| left > 0) => {
                record.downloads += 1;
                Ok(Written::Done(Box::new(record.clone())))
            }
            _ => Ok(Written::ConditionFailed),
        }
    }

    async fn mark_available(&self, seen: &FileRecord, now_ms: i64) -> Result<Written, PortError> {
        let mut records = self.records.lock().unwrap();
        let Some(record) = records.get_mut(&seen.id).filter(|r| r.removal.is_none()) else {
            return Ok(Written::ConditionFailed);
        };
        if record.state == RecordState::Uploading {
            record.content_id.clone_from(&seen.content_id);
            record.state = RecordState::Available;
            record.updated_at_ms = now_ms;
            // As the DynamoDB adapter does after a write that succeeded: the index follows.
            record.indexed_ms = Some(record.updated_at_ms);
            let home = record.home;
            if let Some(copy) = record.copies.iter_mut().find(|c| c.role == home) {
                copy.state = CopyState::Verified;
                copy.updated_at_ms = now_ms;
            }
        }
        Ok(Written::Done(Box::new(record.clone())))
    }

    async fn set_copy_state(
        &self,
        id: FileId,
        role: CopyRole,
        state: CopyState,
        now_ms: i64,
        guard: Guard,
    ) -> Result<Written, PortError> {
        let mut records = self.records.lock().unwrap();
        let Some(record) = records.get_mut(&id).filter(|r| r.removal.is_none()) else {
            return Ok(Written::ConditionFailed);
        };
        let Some(copy) = record.copies.iter_mut().find(|c| c.role == role) else {
            return Ok(Written::ConditionFailed);
        };
        let allowed = match guard {
            Guard::NotVerified => copy.state != CopyState::Verified,
            Guard::Unchanged(seen) => copy.updated_at_ms == seen,
        };
        if !allowed {
            return Ok(Written::ConditionFailed);
        }
        copy.state = state;
        copy.updated_at_ms = now_ms;
        Ok(Written::Done(Box::new(record.clone())))
    }

    async fn scan(&self, after: Option<String>, limit: u32) -> Result<(Vec<FileRecord>, Option<String>), PortError> {
        let records = self.records.lock().unwrap();
        let after = after
            .map(|a| FileId::parse(&a).map_err(|_| PortError::Other(format!("scan cursor {a}"))))
            .transpose()?;
        let page: Vec<FileRecord> = records
            .values()
            .filter(|r| after.is_none_or(|a| r.id > a))
            .take(limit as usize)
            .cloned()
            .collect();
        let next = page
            .last()
            .map(|r| r.id)
            .filter(|last| records.keys().any(|k| k > last))
            .map(|last| last.to_string());
        Ok((page, next))
    }

    async fn is_blocked(&self, sha256: &str) -> Result<bool, PortError> {
        Ok(self.blocked.lock().unwrap().contains(sha256))
    }

    async fn block(&self, sha256: &str, _now_ms: i64) -> Result<(), PortError> {
        self.blocked.lock().unwrap().insert(sha256.to_owned());
        Ok(())
    }

    async fn password_attempts(&self, id: FileId, guesser: &str) -> Result<Option<PasswordAttempts>, PortError> {
        Ok(self.attempts.lock().unwrap().get(&(id, guesser.to_owned())).copied())
    }

    async fn record_wrong_password(
        &self,
        id: FileId,
        guesser: &str,
        now_ms: i64,
    ) -> Result<PasswordAttempts, PortError> {
        let mut attempts = self.attempts.lock().unwrap();
        let entry = attempts.entry((id, guesser.to_owned())).or_insert(PasswordAttempts {
            failures: 0,
            last_failure_ms: now_ms,
        });
        entry.failures += 1;
        entry.last_failure_ms = now_ms;
        Ok(*entry)
    }

    async fn clear_wrong_passwords(&self, id: FileId, guesser: &str) -> Result<(), PortError> {
        self.attempts.lock().unwrap().remove(&(id, guesser.to_owned()));
        Ok(())
    }

    async fn region_health(
        &self,
        observer: &str,
        regions: [(CopyRole, &str); 2],
    ) -> Result<Vec<RegionHealth>, PortError> {
        let all = self.health.lock().unwrap();
        Ok(regions
            .iter()
            .filter_map(|(role, region)| {
                all.iter()
                    .find(|h| h.observer == observer && h.region == *region)
                    .map(|h| RegionHealth {
                        role: *role,
                        ..h.clone()
                    })
            })
            .collect())
    }

    async fn record_region_health(&self, health: &RegionHealth) -> Result<(), PortError> {
        let mut all = self.health.lock().unwrap();
        all.retain(|h| (&h.observer, &h.region) != (&health.observer, &health.region));
        all.push(health.clone());
        Ok(())
    }

    async fn replication_summary(&self) -> Result<Option<ReplicationSummary>, PortError> {
        Ok(self.summary.lock().unwrap().clone())
    }

    async fn record_replication_summary(&self, summary: &ReplicationSummary) -> Result<(), PortError> {
        *self.summary.lock().unwrap() = Some(summary.clone());
        Ok(())
    }

    async fn sweep_pass(&self, region: CopyRole) -> Result<Option<SweepPass>, PortError> {
        Ok(self.passes.lock().unwrap()[region as usize].clone())
    }

    async fn save_sweep_pass(&self, region: CopyRole, pass: &SweepPass) -> Result<bool, PortError> {
        let mut passes = self.passes.lock().unwrap();
        let stored = &mut passes[region as usize];
        let seen = stored.as_ref().map_or(0, |p| p.saves);
        if pass.saves != seen + 1 {
            return Ok(false);
        }
        *stored = Some(pass.clone());
        Ok(true)
    }

    /// Exact, as the DynamoDB adapter's index is meant to be: every match, in the order asked.
    async fn list_public(
        &self,
        query: &ListQuery,
        now_ms: i64,
    ) -> Result<(Vec<FileRecord>, Option<ListCursor>), PortError> {
        let records = self.records.lock().unwrap();
        let position = |r: &FileRecord| search::sort_key(r, query.sort);
        let mut found: Vec<&FileRecord> = records
            .values()
            .filter(|r| search::matches(r, query, now_ms))
            .filter(|r| {
                query.after.as_ref().is_none_or(|after| match query.descending {
                    true => position(r) < after.sort_key,
                    false => position(r) > after.sort_key,
                })
            })
            .collect();
        found.sort_by_key(|r| position(r));
        if query.descending {
            found.reverse();
        }
        let limit = query.limit as usize;
        let next =
            (found.len() > limit).then(|| ListCursor::after(found[limit - 1], query.sort, query.descending, None));
        Ok((found.into_iter().take(limit).cloned().collect(), next))
    }

    async fn reindex(&self, record: &FileRecord) -> Result<Written, PortError> {
        let mut records = self.records.lock().unwrap();
        match records.get_mut(&record.id) {
            Some(stored) => {
                stored.indexed_ms = Some(stored.updated_at_ms);
                Ok(Written::Done(Box::new(stored.clone())))
            }
            None => Ok(Written::ConditionFailed),
        }
    }
}
