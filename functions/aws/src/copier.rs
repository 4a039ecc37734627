//! [`Copier`] between the primary and replica buckets, never holding an object in memory.
//!
//! - [`CopyMode::ServerSide`]: both buckets are on the same S3 service (AWS, cross-region):
//!   S3 copies, asked by the destination region. CopyObject for objects up to 5 GiB; larger
//!   ones are copied as a multipart upload of UploadPartCopy ranges, several at a time.
//! - [`CopyMode::Stream`]: different endpoints (the local emulators, or another S3-compatible
//!   provider): GET streamed into a PUT, or into a multipart upload of parts (at least
//!   [`PART_SIZE`]) each checked by S3 against its SHA-256, while the whole object's SHA-256 is
//!   computed on the way.

use aws_sdk_s3::{primitives::ByteStream, types::ChecksumAlgorithm};
use base64::{engine::general_purpose::STANDARD, Engine};
use sha2::{Digest, Sha256};
use tokio::task::JoinSet;
use twinshare_api::CopyRole;
use twinshare_core::{
    ports::{Copied, Copier, ObjectStore, PortError, UploadedPart},
    ObjectKey,
};

use crate::{errors::port_error, S3ObjectStore};

/// Smallest part of a streamed copy; parts grow for very large objects to stay within S3's
/// 10,000 parts. One part is the copy's memory, whatever the object's size.
pub const PART_SIZE: usize = 8 * 1024 * 1024;

/// S3's limit for one CopyObject.
const SINGLE_COPY_LIMIT: u64 = 5 * 1024 * 1024 * 1024;
/// Range of each UploadPartCopy, and how many run at once.
const PART_COPY_SIZE: u64 = 512 * 1024 * 1024;
const PART_COPIES_IN_FLIGHT: usize = 8;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CopyMode {
    ServerSide,
    Stream,
}

#[derive(Debug, Clone)]
pub struct S3Copier {
    primary: S3ObjectStore,
    replica: S3ObjectStore,
    mode: CopyMode,
    /// Objects larger than this are copied in parts (server side).
    single_copy_limit: u64,
    part_copy_size: u64,
}

impl S3Copier {
    pub fn new(primary: S3ObjectStore, replica: S3ObjectStore, mode: CopyMode) -> Self {
        S3Copier {
            primary,
            replica,
            mode,
            single_copy_limit: SINGLE_COPY_LIMIT,
            part_copy_size: PART_COPY_SIZE,
        }
    }

    /// Copies objects over `limit` bytes server side in parts of `part_size`: lets a test
    /// exercise UploadPartCopy without gigabytes.
    pub fn with_part_copy(mut self, limit: u64, part_size: u64) -> Self {
        self.single_copy_limit = limit;
        self.part_copy_size = part_size;
        self
    }
}

fn sha256_base64(bytes: &[u8]) -> String {
    STANDARD.encode(Sha256::digest(bytes))
}

async fn server_side(
    copier: &S3Copier,
    from: &S3ObjectStore,
    to: &S3ObjectStore,
    key: &ObjectKey,
) -> Result<Option<Copied>, PortError> {
    let Some(source) = from.head(key).await? else {
        return Ok(None);
    };
    if source.size > copier.single_copy_limit {
        let content_type = source.content_type.as_deref().unwrap_or("application/octet-stream");
        return part_copy(copier.part_copy_size, from, to, key, source.size, content_type).await;
    }
    let answer = to
        .client()
        .copy_object()
        .copy_source(format!("{}/{}", from.bucket(), key))
        .bucket(to.bucket())
        .key(key.as_str())
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
        .customize()
        .config_override(crate::clients::patient())
        .send()
        .await;
    // The SDK turns an error in the body of a 200 answer to CopyObject into an error here.
    let copied = match answer {
        Ok(copied) => copied,
        Err(err) if err.as_service_error().and_then(|e| e.meta().code()) == Some("NoSuchKey") => return Ok(None),
        Err(err) => return Err(port_error("CopyObject", err)),
    };
    let sha256 = copied
        .copy_object_result()
        .and_then(|r| r.checksum_sha256())
        .map(str::to_owned);
    let size = to.head(key).await?.map(|info| info.size).unwrap_or(0);
    Ok(Some(Copied { size, sha256 }))
}

/// A server-side copy of an object too large for CopyObject: UploadPartCopy of each range,
/// [`PART_COPIES_IN_FLIGHT`] at a time. S3 computes each part's SHA-256 as it copies.
async fn part_copy(
    part_size: u64,
    from: &S3ObjectStore,
    to: &S3ObjectStore,
    key: &ObjectKey,
    size: u64,
    content_type: &str,
) -> Result<Option<Copied>, PortError> {
    let mut upload = MultipartCopy::start(to, key, content_type).await?;
    let source = format!("{}/{}", from.bucket(), key);
    let ranges: Vec<(i32, u64, u64)> = (0..size.div_ceil(part_size))
        .map(|i| (i as i32 + 1, i * part_size, ((i + 1) * part_size).min(size) - 1))
        .collect();
    let mut copies = JoinSet::new();
    let mut pending = ranges.into_iter();
    let mut outcome = Ok(());
    loop {
        while copies.len() < PART_COPIES_IN_FLIGHT {
            let Some((number, first, last)) = pending.next() else {
                break;
            };
            let request = to
                .client()
                .upload_part_copy()
                .bucket(to.bucket())
                .key(key.as_str())
                .upload_id(&upload.upload_id)
                .part_number(number)
                .copy_source(&source)
                .copy_source_range(format!("bytes={first}-{last}"));
            copies.spawn(async move {
                let copied = request
                    .customize()
                    .config_override(crate::clients::patient())
                    .send()
                    .await
                    .map_err(|e| port_error("UploadPartCopy", e))?;
                let result = copied.copy_part_result();
                Ok::<_, PortError>(UploadedPart {
                    number: number as u32,
                    size: last - first + 1,
                    etag: result.and_then(|r| r.e_tag()).unwrap_or_default().to_owned(),
                    sha256: result.and_then(|r| r.checksum_sha256()).map(str::to_owned),
                })
            });
        }
        let Some(done) = copies.join_next().await else { break };
        match done
            .map_err(|e| PortError::Other(format!("part copy task: {e}")))
            .and_then(|r| r)
        {
            Ok(part) => upload.parts.push(part),
            Err(err) => {
                outcome = Err(err);
                copies.abort_all();
                break;
            }
        }
    }
    if let Err(err) = outcome {
        upload.abort().await;
        return Err(err);
    }
    upload.parts.sort_by_key(|p| p.number);
    upload.complete().await?;
    let size = to.head(key).await?.map(|info| info.size).unwrap_or(0);
    Ok(Some(Copied { size, sha256: None }))
}

async fn stream(from: &S3ObjectStore, to: &S3ObjectStore, key: &ObjectKey) -> Result<Option<Copied>, PortError> {
    let source = match from
        .client()
        .get_object()
        .bucket(from.bucket())
        .key(key.as_str())
        .send()
        .await
    {
        Ok(source) => source,
        Err(err) if err.as_service_error().is_some_and(|e| e.is_no_such_key()) => return Ok(None),
        Err(err) => return Err(port_error("GetObject", err)),
    };
    let content_type = source.content_type().unwrap_or("application/octet-stream").to_owned();
    let declared = source.content_length().and_then(|n| u64::try_from(n).ok()).unwrap_or(0);
    let part_size = twinshare_api::MultipartPlan::for_size(declared)
        .map_or(PART_SIZE, |plan| (plan.part_size as usize).max(PART_SIZE));
    let mut body = source.body;
    let mut whole = Sha256::new();
    let mut size = 0u64;
    // One part's buffer, cut at exactly `part_size` so it never grows past it.
    let mut part = Vec::with_capacity(part_size);
    let mut upload: Option<MultipartCopy> = None;
    while let Some(bytes) = body
        .try_next()
        .await
        .map_err(|e| PortError::Unavailable(format!("reading the source: {e}")))?
    {
        whole.update(&bytes);
        size += bytes.len() as u64;
        let mut rest: &[u8] = &bytes;
        while !rest.is_empty() {
            let (now, later) = rest.split_at((part_size - part.len()).min(rest.len()));
            part.extend_from_slice(now);
            rest = later;
            if part.len() == part_size {
                if upload.is_none() {
                    upload = Some(MultipartCopy::start(to, key, &content_type).await?);
                }
                let multipart = upload.as_mut().expect("started above");
                multipart.send_part_or_abort(std::mem::take(&mut part)).await?;
                part.reserve_exact(part_size);
            }
        }
    }
    if let Some(multipart) = upload.as_mut().filter(|_| !part.is_empty()) {
        multipart.send_part_or_abort(std::mem::take(&mut part)).await?;
    }
    let sha256 = STANDARD.encode(whole.finalize());
    match upload {
        Some(multipart) => multipart.complete().await?,
        None => {
            to.client()
                .put_object()
                .bucket(to.bucket())
                .key(key.as_str())
                .content_length(part.len() as i64)
                .content_type(content_type)
                .checksum_sha256(&sha256)
                .body(ByteStream::from(part))
                .send()
                .await
                .map_err(|e| port_error("PutObject", e))?;
        }
    }
    Ok(Some(Copied {
        size,
        sha256: Some(sha256),
    }))
}

/// A multipart upload under way in the destination bucket.
struct MultipartCopy<'a> {
    to: &'a S3ObjectStore,
    key: &'a ObjectKey,
    upload_id: String,
    parts: Vec<UploadedPart>,
}

impl<'a> MultipartCopy<'a> {
    async fn start(to: &'a S3ObjectStore, key: &'a ObjectKey, content_type: &str) -> Result<Self, PortError> {
        Ok(MultipartCopy {
            to,
            key,
            upload_id: to.start_multipart(key, content_type).await?,
            parts: Vec::new(),
        })
    }

    async fn send_part(&mut self, bytes: Vec<u8>) -> Result<(), PortError> {
        let number = self.parts.len() + 1;
        let checksum = sha256_base64(&bytes);
        let size = bytes.len() as u64;
        let sent = self
            .to
            .client()
            .upload_part()
            .bucket(self.to.bucket())
            .key(self.key.as_str())
            .upload_id(&self.upload_id)
            .part_number(i32::try_from(number).map_err(|_| PortError::Other("too many parts".into()))?)
            .content_length(size as i64)
            .checksum_sha256(&checksum)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| port_error("UploadPart", e))?;
        self.parts.push(UploadedPart {
            number: number as u32,
            size,
            etag: sent.e_tag().unwrap_or_default().to_owned(),
            sha256: Some(checksum),
        });
        Ok(())
    }

    async fn send_part_or_abort(&mut self, bytes: Vec<u8>) -> Result<(), PortError> {
        let sent = self.send_part(bytes).await;
        if sent.is_err() {
            self.abort().await;
        }
        sent
    }

    async fn complete(self) -> Result<(), PortError> {
        let completed = self.to.complete_multipart(self.key, &self.upload_id, &self.parts).await;
        if completed.is_err() {
            self.abort().await;
        }
        completed
    }

    /// Best effort; the bucket's lifecycle rule removes what an abort could not.
    async fn abort(&self) {
        let _ = self.to.abort_multipart(self.key, &self.upload_id).await;
    }
}

impl Copier for S3Copier {
    async fn copy(&self, from: CopyRole, key: &ObjectKey) -> Result<Option<Copied>, PortError> {
        let (source, target) = match from {
            CopyRole::Primary => (&self.primary, &self.replica),
            CopyRole::Replica => (&self.replica, &self.primary),
        };
        match self.mode {
            CopyMode::ServerSide => server_side(self, source, target, key).await,
            CopyMode::Stream => stream(source, target, key).await,
        }
    }
}
