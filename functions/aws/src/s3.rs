//! [`ObjectStore`] on S3: presigned PUT/GET, multipart uploads and HEAD.

use std::{collections::BTreeMap, time::Duration};

use aws_sdk_s3::{
    error::ProvideErrorMetadata,
    presigning::PresigningConfig,
    types::{ChecksumAlgorithm, ChecksumMode, CompletedMultipartUpload, CompletedPart, Delete, ObjectIdentifier},
};
use twinshare_core::{
    ports::{GetSpec, ListedObject, ObjectInfo, ObjectStore, PartSpec, PortError, Presigned, PutSpec, UploadedPart},
    ObjectKey,
};

use crate::errors::port_error;

#[derive(Debug, Clone)]
pub struct S3ObjectStore {
    client: aws_sdk_s3::Client,
    region: String,
    bucket: String,
}

impl S3ObjectStore {
    pub fn new(client: aws_sdk_s3::Client, region: impl Into<String>, bucket: impl Into<String>) -> Self {
        S3ObjectStore {
            client,
            region: region.into(),
            bucket: bucket.into(),
        }
    }

    pub fn client(&self) -> &aws_sdk_s3::Client {
        &self.client
    }

    /// `work`, or `Unavailable` if the region has not answered within `within`: a region that
    /// hangs must cost a bounded wait, not the SDK's timeouts.
    async fn bounded<T>(
        &self,
        within: Duration,
        work: impl std::future::Future<Output = Result<T, PortError>>,
    ) -> Result<T, PortError> {
        match tokio::time::timeout(within, work).await {
            Ok(outcome) => outcome,
            Err(_) => Err(PortError::Unavailable(format!(
                "{} did not answer within {within:?}",
                self.region
            ))),
        }
    }
}

fn is_no_such_upload(err: &impl ProvideErrorMetadata) -> bool {
    err.code() == Some("NoSuchUpload")
}

fn to_i64(n: u64) -> Result<i64, PortError> {
    i64::try_from(n).map_err(|_| PortError::Other(format!("{n} is out of range")))
}

fn presigning(ttl: Duration) -> Result<PresigningConfig, PortError> {
    PresigningConfig::expires_in(ttl).map_err(|e| PortError::Other(format!("presigning: {e}")))
}

fn presigned(request: aws_sdk_s3::presigning::PresignedRequest) -> Presigned {
    Presigned {
        method: request.method().to_owned(),
        url: request.uri().to_owned(),
        headers: request
            .headers()
            .map(|(name, value)| (name.to_ascii_lowercase(), value.to_owned()))
            .collect::<BTreeMap<_, _>>(),
    }
}

impl ObjectStore for S3ObjectStore {
    fn region(&self) -> &str {
        &self.region
    }

    fn bucket(&self) -> &str {
        &self.bucket
    }

    /// Signs `content-length`, `content-type` and `x-amz-checksum-sha256`: S3 refuses a body of
    /// another length or digest, so the URL can only ever store the announced file.
    async fn presign_put(&self, key: &ObjectKey, spec: &PutSpec, ttl: Duration) -> Result<Presigned, PortError> {
        let size = to_i64(spec.size)?;
        let request = self
            .client
            .put_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_length(size)
            .content_type(&spec.content_type)
            .checksum_sha256(&spec.sha256)
            .presigned(presigning(ttl)?)
            .await
            .map_err(|e| port_error("presign PutObject", e))?;
        Ok(presigned(request))
    }

    async fn start_multipart(&self, key: &ObjectKey, content_type: &str) -> Result<String, PortError> {
        let started = self
            .client
            .create_multipart_upload()
            .bucket(&self.bucket)
            .key(key.as_str())
            .content_type(content_type)
            .checksum_algorithm(ChecksumAlgorithm::Sha256)
            .send()
            .await
            .map_err(|e| port_error("CreateMultipartUpload", e))?;
        started
            .upload_id()
            .map(str::to_owned)
            .ok_or_else(|| PortError::Other("CreateMultipartUpload answered without an upload id".into()))
    }

    /// Signs the part's `content-length` and `x-amz-checksum-sha256`, as for a whole PUT.
    async fn presign_part(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        spec: &PartSpec,
        ttl: Duration,
    ) -> Result<Presigned, PortError> {
        let number = i32::try_from(spec.number).map_err(|_| PortError::Other("part number out of range".into()))?;
        let request = self
            .client
            .upload_part()
            .bucket(&self.bucket)
            .key(key.as_str())
            .upload_id(upload_id)
            .part_number(number)
            .content_length(to_i64(spec.size)?)
            .checksum_sha256(&spec.sha256)
            .presigned(presigning(ttl)?)
            .await
            .map_err(|e| port_error("presign UploadPart", e))?;
        Ok(presigned(request))
    }

    async fn list_parts(&self, key: &ObjectKey, upload_id: &str) -> Result<Option<Vec<UploadedPart>>, PortError> {
        let mut parts = Vec::new();
        let mut marker: Option<String> = None;
        loop {
            let page = self
                .client
                .list_parts()
                .bucket(&self.bucket)
                .key(key.as_str())
                .upload_id(upload_id)
                .set_part_number_marker(marker.take())
                .send()
                .await;
            let page = match page {
                Ok(page) => page,
                Err(err) if err.as_service_error().is_some_and(is_no_such_upload) => return Ok(None),
                Err(err) => return Err(port_error("ListParts", err)),
            };
            for part in page.parts() {
                let (Some(number), Some(etag)) = (part.part_number(), part.e_tag()) else {
                    continue;
                };
                parts.push(UploadedPart {
                    number: u32::try_from(number).unwrap_or(0),
                    size: part.size().and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
                    etag: etag.to_owned(),
                    sha256: part.checksum_sha256().map(str::to_owned),
                });
            }
            match page.next_part_number_marker() {
                Some(next) if page.is_truncated() == Some(true) => marker = Some(next.to_owned()),
                _ => return Ok(Some(parts)),
            }
        }
    }

    async fn complete_multipart(
        &self,
        key: &ObjectKey,
        upload_id: &str,
        parts: &[UploadedPart],
    ) -> Result<(), PortError> {
        let parts = parts
            .iter()
            .map(|part| {
                CompletedPart::builder()
                    .part_number(i32::try_from(part.number).unwrap_or(i32::MAX))
                    .e_tag(&part.etag)
                    .set_checksum_sha256(part.sha256.clone())
                    .build()
            })
            .collect();
        self.client
            .complete_multipart_upload()
            .bucket(&self.bucket)
            .key(key.as_str())
            .upload_id(upload_id)
            .multipart_upload(CompletedMultipartUpload::builder().set_parts(Some(parts)).build())
            .customize()
            .config_override(crate::clients::patient())
            .send()
            .await
            .map_err(|e| port_error("CompleteMultipartUpload", e))?;
        Ok(())
    }

    async fn abort_multipart(&self, key: &ObjectKey, upload_id: &str) -> Result<(), PortError> {
        let answer = self
            .client
            .abort_multipart_upload()
            .bucket(&self.bucket)
            .key(key.as_str())
            .upload_id(upload_id)
            .send()
            .await;
        match answer {
            Ok(_) => Ok(()),
            Err(err) if err.as_service_error().is_some_and(is_no_such_upload) => Ok(()),
            Err(err) => Err(port_error("AbortMultipartUpload", err)),
        }
    }

    async fn delete(&self, key: &ObjectKey) -> Result<(), PortError> {
        self.client
            .delete_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .send()
            .await
            .map_err(|e| port_error("DeleteObject", e))?;
        Ok(())
    }

    /// DeleteObjects, quiet: S3 answers only the keys it could not delete.
    async fn delete_many(&self, keys: &[ObjectKey]) -> Result<Vec<ObjectKey>, PortError> {
        if keys.is_empty() {
            return Ok(Vec::new());
        }
        let objects = keys
            .iter()
            .map(|key| ObjectIdentifier::builder().key(key.as_str()).build())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| PortError::Other(format!("object key: {e}")))?;
        let delete = Delete::builder()
            .set_objects(Some(objects))
            .quiet(true)
            .build()
            .map_err(|e| PortError::Other(format!("delete request: {e}")))?;
        let answer = self
            .client
            .delete_objects()
            .bucket(&self.bucket)
            .delete(delete)
            .send()
            .await
            .map_err(|e| port_error("DeleteObjects", e))?;
        let failed = answer
            .errors()
            .iter()
            .filter_map(|error| error.key())
            .filter_map(|raw| keys.iter().find(|key| key.as_str() == raw).cloned())
            .collect();
        Ok(failed)
    }

    async fn presign_get(&self, key: &ObjectKey, spec: &GetSpec, ttl: Duration) -> Result<Presigned, PortError> {
        let request = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .response_content_disposition(&spec.content_disposition)
            .response_content_type(&spec.content_type)
            .presigned(presigning(ttl)?)
            .await
            .map_err(|e| port_error("presign GetObject", e))?;
        Ok(presigned(request))
    }

    async fn check(&self, key: &ObjectKey, within: Duration) -> Result<Option<ObjectInfo>, PortError> {
        self.bounded(within, self.head(key)).await
    }

    async fn canary(&self, within: Duration) -> Result<(), PortError> {
        // Outside `files/`: the replication notifications do not fire for it.
        let key = format!("health/canary-{}", self.region);
        let body = format!("twinshare probe of {}", self.region);
        let round_trip = async {
            self.client
                .put_object()
                .bucket(&self.bucket)
                .key(&key)
                .body(body.clone().into_bytes().into())
                .send()
                .await
                .map_err(|e| port_error("PutObject canary", e))?;
            let read = self
                .client
                .get_object()
                .bucket(&self.bucket)
                .key(&key)
                .send()
                .await
                .map_err(|e| port_error("GetObject canary", e))?;
            let bytes = read
                .body
                .collect()
                .await
                .map_err(|e| PortError::Unavailable(format!("canary body: {e}")))?;
            if bytes.into_bytes().as_ref() != body.as_bytes() {
                return Err(PortError::Other(
                    "the canary read back differs from what was written".into(),
                ));
            }
            Ok(())
        };
        self.bounded(within, round_trip).await
    }

    async fn list(&self, after: Option<String>) -> Result<(Vec<ListedObject>, Option<String>), PortError> {
        let answer = self
            .client
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix("files/")
            .max_keys(1_000)
            .set_continuation_token(after)
            .send()
            .await
            .map_err(|e| port_error("ListObjectsV2", e))?;
        let page = answer
            .contents()
            .iter()
            .filter_map(|object| {
                let raw_key = object.key()?.to_owned();
                Some(ListedObject {
                    key: ObjectKey::parse(&raw_key),
                    size: object.size().and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
                    // No date would make it look new: it is kept until a listing dates it.
                    modified_ms: object
                        .last_modified()
                        .and_then(|t| t.to_millis().ok())
                        .unwrap_or(i64::MAX),
                    raw_key,
                })
            })
            .collect();
        let next = answer
            .is_truncated()
            .unwrap_or(false)
            .then(|| answer.next_continuation_token().map(str::to_owned))
            .flatten();
        Ok((page, next))
    }

    async fn head(&self, key: &ObjectKey) -> Result<Option<ObjectInfo>, PortError> {
        let answer = self
            .client
            .head_object()
            .bucket(&self.bucket)
            .key(key.as_str())
            .checksum_mode(ChecksumMode::Enabled)
            .send()
            .await;
        match answer {
            Ok(head) => Ok(Some(ObjectInfo {
                size: head.content_length().and_then(|n| u64::try_from(n).ok()).unwrap_or(0),
                // A multipart object's checksum is a checksum of checksums ("…-N"): not comparable.
                sha256: head.checksum_sha256().filter(|c| !c.contains('-')).map(str::to_owned),
                content_type: head.content_type().map(str::to_owned),
            })),
            Err(err) if err.as_service_error().is_some_and(|e| e.is_not_found()) => Ok(None),
            Err(err) => Err(port_error("HeadObject", err)),
        }
    }
}

#[cfg(test)]
mod tests {
    //! Presigned requests checked offline, as the smithy-rs presigning tests do: the emulator
    //! does not enforce signatures on length or checksum, so the binding is asserted here.

    use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};

    use super::*;

    fn store() -> S3ObjectStore {
        let config = aws_sdk_s3::Config::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::new("eu-west-1"))
            .credentials_provider(Credentials::new("AKIDEXAMPLE", "secret", None, None, "test"))
            .request_checksum_calculation(aws_sdk_s3::config::RequestChecksumCalculation::WhenRequired)
            .build();
        S3ObjectStore::new(aws_sdk_s3::Client::from_conf(config), "eu-west-1", "twinshare-primary")
    }

    fn query(url: &str, name: &str) -> Option<String> {
        let (_, query) = url.split_once('?')?;
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix(&format!("{name}=")).map(str::to_owned))
    }

    const SHA: &str = "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=";

    #[tokio::test]
    async fn presigned_put_binds_key_length_type_and_checksum() {
        let key = twinshare_core::FileId::parse("0123456789abcdef0123456789abcdef")
            .unwrap()
            .object_key();
        let spec = PutSpec {
            size: 3,
            content_type: "text/plain".into(),
            sha256: SHA.into(),
        };
        let put = store()
            .presign_put(&key, &spec, Duration::from_secs(900))
            .await
            .unwrap();

        assert_eq!(put.method, "PUT");
        assert!(
            put.url.starts_with(
                "https://twinshare-primary.s3.eu-west-1.amazonaws.com/files/0123456789abcdef0123456789abcdef?"
            ),
            "{}",
            put.url
        );
        assert_eq!(query(&put.url, "X-Amz-Expires").as_deref(), Some("900"));
        let signed = query(&put.url, "X-Amz-SignedHeaders").unwrap();
        let signed: Vec<&str> = signed.split("%3B").collect();
        for header in ["content-length", "content-type", "host", "x-amz-checksum-sha256"] {
            assert!(signed.contains(&header), "{header} not signed: {signed:?}");
        }
        assert_eq!(put.headers.get("content-length").map(String::as_str), Some("3"));
        assert_eq!(put.headers.get("content-type").map(String::as_str), Some("text/plain"));
        assert_eq!(put.headers.get("x-amz-checksum-sha256").map(String::as_str), Some(SHA));
        // No automatic checksum of another algorithm that the browser could not match.
        assert!(
            !put.headers
                .keys()
                .any(|h| h.starts_with("x-amz-checksum-") && h != "x-amz-checksum-sha256"),
            "{:?}",
            put.headers
        );
    }

    #[tokio::test]
    async fn presigned_part_binds_upload_part_length_and_checksum() {
        let key = twinshare_core::FileId::parse("0123456789abcdef0123456789abcdef")
            .unwrap()
            .object_key();
        let spec = PartSpec {
            number: 7,
            size: 8 * 1024 * 1024,
            sha256: SHA.into(),
        };
        let put = store()
            .presign_part(&key, "the-upload", &spec, Duration::from_secs(900))
            .await
            .unwrap();
        assert_eq!(put.method, "PUT");
        assert_eq!(query(&put.url, "partNumber").as_deref(), Some("7"));
        assert_eq!(query(&put.url, "uploadId").as_deref(), Some("the-upload"));
        assert_eq!(query(&put.url, "X-Amz-Expires").as_deref(), Some("900"));
        let signed = query(&put.url, "X-Amz-SignedHeaders").unwrap();
        let signed: Vec<&str> = signed.split("%3B").collect();
        for header in ["content-length", "host", "x-amz-checksum-sha256"] {
            assert!(signed.contains(&header), "{header} not signed: {signed:?}");
        }
        assert_eq!(put.headers.get("content-length").map(String::as_str), Some("8388608"));
        assert_eq!(put.headers.get("x-amz-checksum-sha256").map(String::as_str), Some(SHA));
    }

    #[tokio::test]
    async fn presigned_get_sets_the_download_name_and_expires() {
        let key = twinshare_core::FileId::parse("0123456789abcdef0123456789abcdef")
            .unwrap()
            .object_key();
        let spec = GetSpec {
            content_disposition: twinshare_core::disposition::attachment("a b.txt"),
            content_type: "text/plain".into(),
        };
        let get = store()
            .presign_get(&key, &spec, Duration::from_secs(300))
            .await
            .unwrap();
        assert_eq!(get.method, "GET");
        assert_eq!(query(&get.url, "X-Amz-Expires").as_deref(), Some("300"));
        let disposition = query(&get.url, "response-content-disposition").unwrap();
        assert!(disposition.starts_with("attachment"), "{disposition}");
        assert!(disposition.contains("a%2520b.txt"), "{disposition}");
    }
}
