//! [`Copier`] between the primary and replica buckets, never holding an object in memory.
//!
//! - [`CopyMode::ServerSide`]: both buckets are on the same S3 service (AWS, cross-region):
//!   CopyObject, asked of the destination region, with a SHA-256 of the result. One request
//!   copies up to 5 GiB, the largest single upload this service accepts today; larger objects
//!   (multipart uploads) will need UploadPartCopy.
//! - [`CopyMode::Stream`]: different endpoints (the local emulators, or another S3-compatible
//!   provider): GET streamed into a PUT, or into a multipart upload of [`PART_SIZE`] parts each
//!   checked by S3 against its SHA-256, while the whole object's SHA-256 is computed on the way.

use aws_sdk_s3::{
    primitives::ByteStream,
    types::{ChecksumAlgorithm, CompletedMultipartUpload, CompletedPart},
};
use base64::{engine::general_purpose::STANDARD, Engine};
use sha2::{Digest, Sha256};
use twinshare_api::CopyRole;
use twinshare_core::{
    ports::{Copied, Copier, ObjectStore, PortError},
    ObjectKey,
};

use crate::{errors::port_error, S3ObjectStore};

/// Bytes buffered per part of a streamed copy: the copy's memory, whatever the object's size.
pub const PART_SIZE: usize = 8 * 1024 * 1024;

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
}

impl S3Copier {
    pub fn new(primary: S3ObjectStore, replica: S3ObjectStore, mode: CopyMode) -> Self {
        S3Copier { primary, replica, mode }
    }
}

fn sha256_base64(bytes: &[u8]) -> String {
    STANDARD.encode(Sha256::digest(bytes))
}

async fn server_side(from: &S3ObjectStore, to: &S3ObjectStore, key: &ObjectKey) -> Result<Option<Copied>, PortError> {
    let answer = to
        .client()
        .copy_object()
        .copy_source(format!("{}/{}", from.bucket(), key))
        .bucket(to.bucket())
        .key(key.as_str())
        .checksum_algorithm(ChecksumAlgorithm::Sha256)
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
    let content_type = source.content_type().map(str::to_owned);
    let mut body = source.body;
    let mut whole = Sha256::new();
    let mut size = 0u64;
    // One part's buffer, cut at exactly PART_SIZE so it never grows past it.
    let mut part = Vec::with_capacity(PART_SIZE);
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
            let (now, later) = rest.split_at((PART_SIZE - part.len()).min(rest.len()));
            part.extend_from_slice(now);
            rest = later;
            if part.len() == PART_SIZE {
                if upload.is_none() {
                    upload = Some(MultipartCopy::start(to, key, content_type.as_deref()).await?);
                }
                let multipart = upload.as_mut().expect("started above");
                multipart.send_part_or_abort(std::mem::take(&mut part)).await?;
                part.reserve_exact(PART_SIZE);
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
            let mut put = to
                .client()
                .put_object()
                .bucket(to.bucket())
                .key(key.as_str())
                .content_length(part.len() as i64)
                .checksum_sha256(&sha256)
                .body(ByteStream::from(part));
            if let Some(content_type) = &content_type {
                put = put.content_type(content_type);
            }
            put.send().await.map_err(|e| port_error("PutObject", e))?;
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
    parts: Vec<CompletedPart>,
}

impl<'a> MultipartCopy<'a> {
    async fn start(to: &'a S3ObjectStore, key: &'a ObjectKey, content_type: Option<&str>) -> Result<Self, PortError> {
        let started = to
            .client()
            .create_multipart_upload()
            .bucket(to.bucket())
            .key(key.as_str())
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .set_content_type(content_type.map(str::to_owned))
            .send()
            .await
            .map_err(|e| port_error("CreateMultipartUpload", e))?;
        let upload_id = started
            .upload_id()
            .ok_or_else(|| PortError::Other("no upload id".into()))?
            .to_owned();
        Ok(MultipartCopy {
            to,
            key,
            upload_id,
            parts: Vec::new(),
        })
    }

    async fn send_part(&mut self, bytes: Vec<u8>) -> Result<(), PortError> {
        let number = i32::try_from(self.parts.len() + 1).map_err(|_| PortError::Other("too many parts".into()))?;
        let checksum = sha256_base64(&bytes);
        let sent = self
            .to
            .client()
            .upload_part()
            .bucket(self.to.bucket())
            .key(self.key.as_str())
            .upload_id(&self.upload_id)
            .part_number(number)
            .content_length(bytes.len() as i64)
            .checksum_sha256(&checksum)
            .body(ByteStream::from(bytes))
            .send()
            .await
            .map_err(|e| port_error("UploadPart", e))?;
        self.parts.push(
            CompletedPart::builder()
                .part_number(number)
                .set_e_tag(sent.e_tag().map(str::to_owned))
                .checksum_sha256(checksum)
                .build(),
        );
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
        let done = CompletedMultipartUpload::builder()
            .set_parts(Some(self.parts.clone()))
            .build();
        let answer = self
            .to
            .client()
            .complete_multipart_upload()
            .bucket(self.to.bucket())
            .key(self.key.as_str())
            .upload_id(&self.upload_id)
            .multipart_upload(done)
            .send()
            .await;
        if let Err(err) = answer {
            self.abort().await;
            return Err(port_error("CompleteMultipartUpload", err));
        }
        Ok(())
    }

    /// Best effort; the bucket's lifecycle rule removes what an abort could not.
    async fn abort(&self) {
        let _ = self
            .to
            .client()
            .abort_multipart_upload()
            .bucket(self.to.bucket())
            .key(self.key.as_str())
            .upload_id(&self.upload_id)
            .send()
            .await;
    }
}

impl Copier for S3Copier {
    async fn copy(&self, from: CopyRole, key: &ObjectKey) -> Result<Option<Copied>, PortError> {
        let (source, target) = match from {
            CopyRole::Primary => (&self.primary, &self.replica),
            CopyRole::Replica => (&self.replica, &self.primary),
        };
        match self.mode {
            CopyMode::ServerSide => server_side(source, target, key).await,
            CopyMode::Stream => stream(source, target, key).await,
        }
    }
}
