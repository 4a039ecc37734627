//! In-memory ports for fast tests of the use cases and handlers. They follow the same contracts
//! as the AWS adapters, which the integration tests check against moto.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use twinshare_api::{CopyRole, CopyState};

use crate::{
    cursor::{ListCursor, MAX_INDEX_PAGES},
    health::{RegionHealth, ReplicationSummary},
    ports::{
        Clock, Copied, Copier, GetSpec, Guard, MetadataStore, ObjectInfo, ObjectStore, PartSpec, PortError, Presigned,
        PutSpec, UploadedPart, Written,
    },
    record::{FileRecord, RecordState},
    validate::ListQuery,
    FileId, ObjectKey,
};

/// A clock that always says the same time.
#[derive(Debug, Clone, Copy)]
pub struct FixedClock(pub i64);

impl Clock for FixedClock {
    fn now_ms(&self) -> i64 {
        self.0
    }
}

/// An object's bytes and the SHA-256 stored with it, if any.
type StoredObject = (Vec<u8>, Option<String>);

/// Multipart uploads in progress: upload id → (key, parts by number).
type Uploads = HashMap<String, (String, BTreeMap<u32, Vec<u8>>)>;

/// A bucket in memory. `put` plays the browser's PUT to the signed URL. Clones share the
/// bucket, so a test's service and replication can hold the same one.
#[derive(Debug, Clone)]
pub struct MemoryStore {
    region: String,
    bucket: String,
    objects: Arc<Mutex<HashMap<String, StoredObject>>>,
    uploads: Arc<Mutex<Uploads>>,
    fail_next: Arc<Mutex<Option<String>>>,
    down: Arc<AtomicBool>,
    /// How long `check` takes to answer: a region that is slow or hangs.
    check_delay: Arc<Mutex<Duration>>,
    checks: Arc<AtomicUsize>,
}

impl MemoryStore {
    pub fn new(region: &str, bucket: &str) -> Self {
        MemoryStore {
            region: region.into(),
            bucket: bucket.into(),
            objects: Arc::default(),
            uploads: Arc::default(),
            fail_next: Arc::default(),
            down: Arc::default(),
            check_delay: Arc::default(),
            checks: Arc::default(),
        }
    }

    pub fn put(&self, key: &ObjectKey, bytes: &[u8]) {
        self.objects
            .lock()
            .unwrap()
            .insert(key.to_string(), (bytes.to_vec(), None));
    }

    pub fn put_with_checksum(&self, key: &ObjectKey, bytes: &[u8], sha256: &str) {
        self.objects
            .lock()
            .unwrap()
            .insert(key.to_string(), (bytes.to_vec(), Some(sha256.into())));
    }

    pub fn get(&self, key: &ObjectKey) -> Option<Vec<u8>> {
        self.objects
            .lock()
            .unwrap()
            .get(key.as_str())
            .map(|(bytes, _)| bytes.clone())
    }

    /// Plays the browser's PUT of one part to its signed URL.
    pub fn put_part(&self, upload_id: &str, number: u32, bytes: &[u8]) {
        let mut uploads = self.uploads.lock().unwrap();
        let (_, parts) = uploads.get_mut(upload_id).expect("no such multipart upload");
        parts.insert(number, bytes.to_vec());
    }

    /// Plays a browser sending `bytes` to a URL this store signed (as S3 does, a body that is
    /// not the signed length or SHA-256 is refused). Whether the bytes were stored.
    pub fn send(&self, presigned: &Presigned, bytes: &[u8]) -> bool {
        use base64::Engine;
        use sha2::Digest;
        let prefix = format!("memory://{}/", self.bucket);
        let Some(rest) = presigned.url.strip_prefix(&prefix) else {
            return false;
        };
        let (key, query) = rest.split_once('?').unwrap_or((rest, ""));
        let param = |name: &str| {
            query
                .split('&')
                .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
        };
        let header = |name: &str| presigned.headers.get(name).map(String::as_str);
        let sha256 = base64::engine::general_purpose::STANDARD.encode(sha2::Sha256::digest(bytes));
        let length = bytes.len().to_string();
        if presigned.method != "PUT"
            || header("x-amz-checksum-sha256").is_some_and(|signed| signed != sha256)
            || header("content-length").is_some_and(|signed| signed != length)
            || self.down.load(Ordering::SeqCst)
        {
            return false;
        }
        let Some(key) = ObjectKey::parse(key) else {
            return false;
        };
        match (param("uploadId"), param("partNumber").and_then(|n| n.parse().ok())) {
            (Some(upload_id), Some(number)) => {
                let mut uploads = self.uploads.lock().unwrap();
                let Some((_, parts)) = uploads.get_mut(upload_id) else {
                    return false;
                };
                parts.insert(number, bytes.to_vec());
            }
            _ if header("x-amz-checksum-sha256").is_some() => self.put_with_checksum(&key, bytes, &sha256),
            _ => self.put(&key, bytes),
        }
        true
    }

    /// Multipart uploads not completed or aborted.
    pub fn open_uploads(&self) -> usize {
        self.uploads.lock().unwrap().len()
    }

    /// Deletes an object behind the service's back.
    pub fn remove(&self, key: &ObjectKey) {
        self.objects.lock().unwrap().remove(key.as_str());
    }

    /// Makes the next call fail as if the region were unreachable.
    pub fn fail_next(&self, why: &str) {
        *self.fail_next.lock().unwrap() = Some(why.into());
    }

    /// Takes the whole region down (or brings it back) until told otherwise.
    pub fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    /// Makes `check` take this long (a hanging region: longer than any `within`).
    pub fn set_check_delay(&self, delay: Duration) {
        *self.check_delay.lock().unwrap() = delay;
    }

    /// How many times `check` was called.
    pub fn checks(&self) -> usize {
        self.checks.load(Ordering::SeqCst)
    }

    fn check_failure(&self) -> Result<(), PortError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(PortError::Unavailable(format!("{} is down", self.region)));
        }
        match self.fail_next.lock().unwrap().take() {
            Some(why) => Err(PortError::Unavailable(why)),
            None => Ok(()),
        }
    }
}

impl ObjectStore for MemoryStore {
    async fn check(&self, key: &ObjectKey, within: Duration) -> Result<Option<ObjectInfo>, PortError> {
        self.checks.fetch_add(1, Ordering::SeqCst);
        let delay = *self.check_delay.lock().unwrap();
        if delay >= within {
            tokio::time::sleep(within).await;
            return Err(PortError::Unavailable(format!(
                "{} did not answer within {within:?}",
                self.region
            )));
        }
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        self.head(key).await
    }

    async fn canary(&self, _within: Duration) -> Result<(), PortError> {
        self.check_failure()
    }

    fn region(&self) -> &str {
        &self.region
    }

    fn bucket(&self) -> &str {
        &self.bucket
    }

    async fn presign_put(&self, key: &ObjectKey, spec: &PutSpec, ttl: Duration) -> Result<Presigned, PortError> {
        self.check_failure()?;
        let headers = BTreeMap::from([
            ("content-length".to_owned(), spec.size.to_string()),
            ("content-type".to_owned(), spec.content_type.clone()),
            ("x-amz-checksum-sha256".to_owned(), spec.sha256.clone()),
        ]);
        Ok(Presigned {
            method: "PUT".into(),
            url: format!("memory://{}/{key}?expires={}", self.bucket, ttl.as_secs()),
            headers,
        })
    }

    async fn presign_get(&self, key: &ObjectKey, spec: &GetSpec, ttl: Duration) -> Result<Presigned, PortError> {
        self.check_failure()?;
        let url = format!(
            "memory://{}/{key}?expires={}&response-content-disposition={}",
            self.bucket,
            ttl.as_secs(),
            spec.content_disposition
        );
        Ok(Presigned {
            method: "GET".into(),
            url,
            headers: BTreeMap::new(),
        })
    }

    async fn start_multipart(&self, key: &ObjectKey, _content_type: &str) -> Result<String, PortError> {
        self.check_failure()?;
        let mut uploads = self.uploads.lock().unwrap();
        let upload_id = format!("upload-{}", FileId::random());
        uploads.insert(upload_id.clone(), (key.to_string(), BTreeMap::new()));
        Ok(upload_id)
    }

    async fn presign_part(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        spec: &PartSpec,
        ttl: Duration,
    ) -> Result<Presigned, PortError> {
        self.check_failure()?;
        let headers = BTreeMap::from([
            ("content-length".to_owned(), spec.size.to_string()),
            ("x-amz-checksum-sha256".to_owned(), spec.sha256.clone()),
        ]);
        Ok(Presigned {
            method: "PUT".into(),
            url: format!(
                "memory://{}/{key}?uploadId={upload_id}&partNumber={}&expires={}",
                self.bucket,
                spec.number,
                ttl.as_secs()
            ),
            headers,
        })
    }

    async fn list_parts(&self, _key: &ObjectKey, upload_id: &str) -> Result<Option<Vec<UploadedPart>>, PortError> {
        self.check_failure()?;
        let uploads = self.uploads.lock().unwrap();
        Ok(uploads.get(upload_id).map(|(_, parts)| {
            parts
                .iter()
                .map(|(number, bytes)| UploadedPart {
                    number: *number,
                    size: bytes.len() as u64,
                    etag: format!("etag-{number}"),
                    sha256: None,
                })
                .collect()
        }))
    }

    async fn complete_multipart(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        parts: &[UploadedPart],
    ) -> Result<(), PortError> {
        self.check_failure()?;
        let (_, stored) = self
            .uploads
            .lock()
            .unwrap()
            .remove(upload_id)
            .ok_or_else(|| PortError::Other("NoSuchUpload".into()))?;
        let mut bytes = Vec::new();
        for part in parts {
            let part_bytes = stored
                .get(&part.number)
                .ok_or_else(|| PortError::Other(format!("InvalidPart {}", part.number)))?;
            bytes.extend_from_slice(part_bytes);
        }
        self.put(key, &bytes);
        Ok(())
    }

    async fn abort_multipart(&self, _key: &ObjectKey, upload_id: &str) -> Result<(), PortError> {
        self.check_failure()?;
        self.uploads.lock().unwrap().remove(upload_id);
        Ok(())
    }

    async fn delete(&self, key: &ObjectKey) -> Result<(), PortError> {
        self.check_failure()?;
        self.remove(key);
        Ok(())
    }

    async fn head(&self, key: &ObjectKey) -> Result<Option<ObjectInfo>, PortError> {
        self.check_failure()?;
        let objects = self.objects.lock().unwrap();
        Ok(objects.get(key.as_str()).map(|(bytes, sha256)| ObjectInfo {
            size: bytes.len() as u64,
            sha256: sha256.clone(),
            content_type: None,
        }))
    }
}

/// Copies between two in-memory buckets.
#[derive(Debug)]
pub struct MemoryCopier {
    pub primary: MemoryStore,
    pub replica: MemoryStore,
}

impl Copier for MemoryCopier {
    async fn copy(&self, from: CopyRole, key: &ObjectKey) -> Result<Option<Copied>, PortError> {
        let (source, target) = match from {
            CopyRole::Primary => (&self.primary, &self.replica),
            CopyRole::Replica => (&self.replica, &self.primary),
        };
        source.check_failure()?;
        target.check_failure()?;
        let Some(bytes) = source.get(key) else { return Ok(None) };
        target.put(key, &bytes);
        Ok(Some(Copied {
            size: bytes.len() as u64,
            sha256: None,
        }))
    }
}

/// A metadata table in memory. Clones share the table.
#[derive(Debug, Default, Clone)]
pub struct MemoryMetadata {
    records: Arc<Mutex<BTreeMap<FileId, FileRecord>>>,
    health: Arc<Mutex<Vec<RegionHealth>>>,
    summary: Arc<Mutex<Option<ReplicationSummary>>>,
}

impl MemoryMetadata {
    pub fn len(&self) -> usize {
        self.records.lock().unwrap().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn records_snapshot(&self) -> Vec<FileRecord> {
        self.records.lock().unwrap().values().cloned().collect()
    }
}

impl MetadataStore for MemoryMetadata {
    async fn create(&self, record: &FileRecord) -> Result<(), PortError> {
        let mut records = self.records.lock().unwrap();
        if records.contains_key(&record.id) {
            return Err(PortError::Other(format!("record {} exists", record.id)));
        }
        records.insert(record.id, record.clone());
        Ok(())
    }

    async fn get(&self, id: FileId) -> Result<Option<FileRecord>, PortError> {
        Ok(self.records.lock().unwrap().get(&id).cloned())
    }

    async fn delete_upload(&self, id: FileId) -> Result<Written, PortError> {
        let mut records = self.records.lock().unwrap();
        match records.get(&id) {
            Some(record) if record.state == RecordState::Uploading => Ok(records
                .remove(&id)
                .map_or(Written::ConditionFailed, |r| Written::Done(Box::new(r)))),
            _ => Ok(Written::ConditionFailed),
        }
    }

    async fn mark_available(&self, record: &FileRecord, now_ms: i64) -> Result<Written, PortError> {
        let mut records = self.records.lock().unwrap();
        let Some(record) = records.get_mut(&record.id) else {
            return Ok(Written::ConditionFailed);
        };
        if record.state == RecordState::Uploading {
            record.state = RecordState::Available;
            record.updated_at_ms = now_ms;
            if let Some(primary) = record.copies.iter_mut().find(|c| c.role == CopyRole::Primary) {
                primary.state = CopyState::Verified;
                primary.updated_at_ms = now_ms;
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
        let Some(record) = records.get_mut(&id) else {
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

    async fn scan(&self, after: Option<FileId>, limit: u32) -> Result<(Vec<FileRecord>, Option<FileId>), PortError> {
        let records = self.records.lock().unwrap();
        let page: Vec<FileRecord> = records
            .values()
            .filter(|r| after.is_none_or(|a| r.id > a))
            .take(limit as usize)
            .cloned()
            .collect();
        let next = page
            .last()
            .map(|r| r.id)
            .filter(|last| records.keys().any(|k| k > last));
        Ok((page, next))
    }

    async fn region_health(&self) -> Result<Vec<RegionHealth>, PortError> {
        Ok(self.health.lock().unwrap().clone())
    }

    async fn record_region_health(&self, health: &RegionHealth) -> Result<(), PortError> {
        let mut all = self.health.lock().unwrap();
        all.retain(|h| h.role != health.role);
        all.push(health.clone());
        Ok(())
    }

    async fn replication_summary(&self) -> Result<Option<ReplicationSummary>, PortError> {
        Ok(*self.summary.lock().unwrap())
    }

    async fn record_replication_summary(&self, summary: &ReplicationSummary) -> Result<(), PortError> {
        *self.summary.lock().unwrap() = Some(*summary);
        Ok(())
    }

    async fn list_public(&self, query: &ListQuery) -> Result<(Vec<FileRecord>, Option<ListCursor>), PortError> {
        let records = self.records.lock().unwrap();
        let position = |r: &FileRecord| {
            ListCursor {
                created_at_ms: r.created_at_ms,
                id: r.id,
            }
            .sort_key()
        };
        let cursor_of = |r: &FileRecord| ListCursor {
            created_at_ms: r.created_at_ms,
            id: r.id,
        };
        // The index: public files, newest first, after the cursor.
        let mut index: Vec<&FileRecord> = records
            .values()
            .filter(|r| r.is_public())
            .filter(|r| query.after.is_none_or(|after| position(r) < after.sort_key()))
            .collect();
        index.sort_by_key(|r| std::cmp::Reverse(position(r)));
        let matches = |r: &FileRecord| {
            query.search.as_ref().is_none_or(|q| r.name.to_lowercase().contains(q))
                && query
                    .uploader
                    .as_ref()
                    .is_none_or(|u| r.uploader.as_ref().is_some_and(|x| x.to_lowercase() == *u))
        };
        // Read as DynamoDB does (twinshare-aws): index pages of limit + 1, filtered, at most
        // MAX_INDEX_PAGES of them; then the cursor continues after the last entry read.
        let limit = query.limit as usize;
        let mut found: Vec<FileRecord> = Vec::new();
        let mut index_pages = index.chunks(limit + 1);
        for _ in 0..MAX_INDEX_PAGES {
            let Some(index_page) = index_pages.next() else {
                return Ok((found, None));
            };
            found.extend(index_page.iter().filter(|r| matches(r)).map(|r| (*r).clone()));
            if found.len() > limit {
                found.truncate(limit);
                let next = found.last().map(cursor_of);
                return Ok((found, next));
            }
            if index_page.len() <= limit {
                return Ok((found, None));
            }
        }
        let read = (limit + 1) * MAX_INDEX_PAGES;
        let next = index.get(read - 1).filter(|_| index.len() > read).map(|r| cursor_of(r));
        Ok((found, next))
    }
}

/// The use cases on in-memory ports, for handler tests.
pub type FakeService = crate::Service<MemoryStore, MemoryMetadata, FixedClock>;

pub fn service() -> FakeService {
    crate::Service::new(
        MemoryStore::new("eu-west-1", "primary"),
        MemoryStore::new("us-west-2", "replica"),
        MemoryMetadata::default(),
        FixedClock(5),
        crate::ServiceSettings::default(),
    )
}

/// Replication on the same in-memory buckets and table as `service`, for tests of both.
pub type FakeReplication = crate::replication::Replication<MemoryStore, MemoryMetadata, MemoryCopier, FixedClock>;

pub fn replication(service: &FakeService, now_ms: i64) -> FakeReplication {
    crate::replication::Replication {
        primary: service.primary.clone(),
        replica: service.replica.clone(),
        metadata: service.metadata.clone(),
        copier: MemoryCopier {
            primary: service.primary.clone(),
            replica: service.replica.clone(),
        },
        clock: FixedClock(now_ms),
        grace: Duration::from_secs(60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_memory_store_keeps_the_port_contract() {
        let store = MemoryStore::new("eu-west-1", "primary");
        crate::contract::object_store(&store, |presigned, bytes| {
            let stored = store.send(&presigned, &bytes);
            async move { stored }
        })
        .await;
    }

    #[tokio::test]
    async fn the_memory_metadata_keeps_the_port_contract() {
        crate::contract::metadata_store(&MemoryMetadata::default()).await;
    }
}
