//! A bucket in memory, and the copier between two of them.

use std::{
    collections::{BTreeMap, HashMap},
    sync::{
        atomic::{AtomicBool, AtomicUsize, Ordering},
        Arc, Mutex,
    },
    time::Duration,
};

use twinshare_api::CopyRole;

use crate::{
    ports::{
        Copied, Copier, GetSpec, ListedObject, ObjectInfo, ObjectStore, PartSpec, PortError, Presigned, PutSpec,
        UploadedPart,
    },
    FileId, ObjectKey,
};

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
    /// When objects were written, for the listing; an object never given a time is listed as
    /// written at 0 (long ago).
    modified: Arc<Mutex<HashMap<String, i64>>>,
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
            modified: Arc::default(),
        }
    }

    /// Dates the object as written at `ms`, as the listing will show it.
    pub fn set_modified(&self, key: &ObjectKey, ms: i64) {
        self.modified.lock().unwrap().insert(key.to_string(), ms);
    }

    /// Puts an object under `files/` that no key of this service names (someone else's).
    pub fn put_foreign(&self, raw_key: &str, bytes: &[u8]) {
        self.objects
            .lock()
            .unwrap()
            .insert(raw_key.into(), (bytes.to_vec(), None));
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

    pub fn holds(&self, key: &ObjectKey) -> bool {
        self.objects.lock().unwrap().contains_key(key.as_str())
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
        let sha256 = super::sha256_base64(bytes);
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
                    // As S3 lists the checksum each part was sent with (and checked against).
                    sha256: Some(crate::fakes::sha256_base64(bytes)),
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

    async fn delete_many(&self, keys: &[ObjectKey]) -> Result<Vec<ObjectKey>, PortError> {
        assert!(
            keys.len() <= crate::ports::DELETE_BATCH,
            "S3 refuses more than 1,000 keys a call"
        );
        self.check_failure()?;
        for key in keys {
            self.remove(key);
        }
        Ok(Vec::new())
    }

    async fn list(&self, after: Option<String>) -> Result<(Vec<ListedObject>, Option<String>), PortError> {
        const PAGE: usize = 1_000;
        self.check_failure()?;
        let objects = self.objects.lock().unwrap();
        let modified = self.modified.lock().unwrap();
        let mut keys: Vec<&String> = objects
            .keys()
            .filter(|k| k.starts_with("files/") && after.as_ref().is_none_or(|a| *k > a))
            .collect();
        keys.sort();
        let next = (keys.len() > PAGE).then(|| keys[PAGE - 1].clone());
        let page = keys
            .into_iter()
            .take(PAGE)
            .map(|raw| ListedObject {
                key: ObjectKey::parse(raw),
                raw_key: raw.clone(),
                size: objects[raw].0.len() as u64,
                modified_ms: modified.get(raw).copied().unwrap_or(0),
            })
            .collect();
        Ok((page, next))
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
