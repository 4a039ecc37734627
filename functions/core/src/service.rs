//! The API's use cases, generic over the ports. Each HTTP function calls the ones it serves.

use std::time::Duration;

use twinshare_api::{
    CopyRole, CopyState, CreateUploadRequest, CreateUploadResponse, FileList, FileView, PartUrl, PartUrls,
    PartUrlsRequest, PresignedRequest, StatusView, StoredPart, StoredParts, UploadPlan,
};

use crate::{
    disposition, health,
    ports::{Clock, GetSpec, MetadataStore, ObjectStore, PartSpec, Presigned, PutSpec, UploadedPart, Written},
    record::{FileRecord, MultipartUpload, Placement, RecordState, StoredCopy},
    validate::{self, ListQuery},
    ApiError, FileId,
};

/// Tunables of the use cases, read from the function's configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ServiceSettings {
    pub max_upload_bytes: u64,
    /// Lifetime of a presigned upload URL.
    pub upload_url_ttl: Duration,
    /// Lifetime of a presigned download URL.
    pub download_url_ttl: Duration,
    /// Longest a download waits for a region to confirm it holds the copy before trying the
    /// other region.
    pub copy_check_timeout: Duration,
    /// How old a probe result may be and still be trusted (a few probe intervals).
    pub health_max_age: Duration,
}

impl Default for ServiceSettings {
    fn default() -> Self {
        ServiceSettings {
            // Well above S3's 5 GiB limit of one PUT: larger files go in parts.
            max_upload_bytes: 50 * 1024 * 1024 * 1024,
            upload_url_ttl: Duration::from_secs(15 * 60),
            download_url_ttl: Duration::from_secs(5 * 60),
            copy_check_timeout: Duration::from_millis(400),
            health_max_age: Duration::from_secs(180),
        }
    }
}

pub struct Service<S, M, C> {
    pub primary: S,
    /// Where the second copy of each file goes (written by replication, not here).
    pub replica: S,
    pub metadata: M,
    pub clock: C,
    pub settings: ServiceSettings,
}

impl<S: ObjectStore, M: MetadataStore, C: Clock> Service<S, M, C> {
    pub fn new(primary: S, replica: S, metadata: M, clock: C, settings: ServiceSettings) -> Self {
        Service {
            primary,
            replica,
            metadata,
            clock,
            settings,
        }
    }

    /// Validates the announcement, signs the upload (or starts the multipart upload), then
    /// records it as `uploading`. Storage comes first so that a failure leaves no record behind;
    /// a multipart upload whose record could not be written is aborted.
    pub async fn create_upload(&self, request: CreateUploadRequest) -> Result<CreateUploadResponse, ApiError> {
        let upload = validate::new_upload(request, self.settings.max_upload_bytes)?;
        self.primary_accepts_uploads().await?;
        let now = self.clock.now_ms();
        let primary = Placement {
            region: self.primary.region(),
            bucket: self.primary.bucket(),
        };
        let replica = Placement {
            region: self.replica.region(),
            bucket: self.replica.bucket(),
        };
        let id = FileId::random();
        let key = id.object_key();
        let ttl = self.settings.upload_url_ttl;
        let (plan, multipart) = match (upload.parts, &upload.sha256) {
            (Some(plan), _) => {
                let upload_id = self.primary.start_multipart(&key, &upload.content_type).await?;
                (UploadPlan::Multipart(plan), Some(MultipartUpload { upload_id, plan }))
            }
            (None, Some(sha256)) => {
                let spec = PutSpec {
                    size: upload.size,
                    content_type: upload.content_type.clone(),
                    sha256: sha256.clone(),
                };
                let presigned = self.primary.presign_put(&key, &spec, ttl).await?;
                (UploadPlan::Single(self.for_browser(presigned, now, ttl)), None)
            }
            (None, None) => return Err(ApiError::Internal("a single-PUT upload without its SHA-256".into())),
        };
        let record = FileRecord::new_upload(id, upload, multipart, primary, replica, now);
        if let Err(err) = self.metadata.create(&record).await {
            if let Some(multipart) = &record.multipart {
                let _ = self.primary.abort_multipart(&key, &multipart.upload_id).await;
            }
            return Err(err.into());
        }
        tracing::info!(file_id = %record.id, size = record.size, parts = record.multipart.as_ref().map(|m| m.plan.part_count), "upload announced");
        Ok(CreateUploadResponse {
            file: record.view(),
            upload: plan,
        })
    }

    /// The record of an upload still in progress, sent in parts.
    async fn multipart_upload(&self, id: &str) -> Result<(FileRecord, MultipartUpload), ApiError> {
        let record = self.find(id).await?;
        if record.state == RecordState::Available {
            return Err(ApiError::AlreadyCompleted(record.id.to_string()));
        }
        let multipart = record
            .multipart
            .clone()
            .ok_or_else(|| ApiError::NotMultipart(record.id.to_string()))?;
        Ok((record, multipart))
    }

    /// Signs a PUT for each part asked for, bound to its exact length and SHA-256.
    pub async fn part_urls(&self, id: &str, request: PartUrlsRequest) -> Result<PartUrls, ApiError> {
        let (record, multipart) = self.multipart_upload(id).await?;
        let checksums = validate::part_checksums(&request.parts, &multipart.plan)?;
        let now = self.clock.now_ms();
        let ttl = self.settings.upload_url_ttl;
        let mut parts = Vec::with_capacity(checksums.len());
        for (number, sha256) in checksums {
            let (start, end) = multipart.plan.range(number, record.size);
            let spec = PartSpec {
                number,
                size: end - start,
                sha256,
            };
            let presigned = self
                .primary
                .presign_part(&record.object_key, &multipart.upload_id, &spec, ttl)
                .await?;
            parts.push(PartUrl {
                number,
                request: self.for_browser(presigned, now, ttl),
            });
        }
        Ok(PartUrls { parts })
    }

    /// The parts storage holds already, so that an interrupted upload sends only the rest.
    pub async fn stored_parts(&self, id: &str) -> Result<StoredParts, ApiError> {
        let (record, multipart) = self.multipart_upload(id).await?;
        let parts = self
            .primary
            .list_parts(&record.object_key, &multipart.upload_id)
            .await?
            .ok_or_else(|| ApiError::UploadGone(record.id.to_string()))?;
        Ok(StoredParts {
            plan: multipart.plan,
            parts: parts
                .iter()
                .map(|p| StoredPart {
                    number: p.number,
                    size: p.size,
                })
                .collect(),
        })
    }

    /// Cancels an upload that has not completed: its parts or object, and its record.
    pub async fn abort_upload(&self, id: &str) -> Result<(), ApiError> {
        let record = self.find(id).await?;
        if record.state == RecordState::Available {
            return Err(ApiError::AlreadyCompleted(record.id.to_string()));
        }
        match &record.multipart {
            Some(multipart) => {
                self.primary
                    .abort_multipart(&record.object_key, &multipart.upload_id)
                    .await?
            }
            None => self.primary.delete(&record.object_key).await?,
        }
        match self.metadata.delete_upload(record.id).await? {
            Written::Done(_) => {
                tracing::info!(file_id = %record.id, "upload cancelled");
                Ok(())
            }
            // Completed between the read and the delete.
            Written::ConditionFailed => Err(ApiError::AlreadyCompleted(record.id.to_string())),
        }
    }

    /// Every part of the plan, stored with its exact length, in order; or what is wrong.
    fn all_parts(
        record: &FileRecord,
        multipart: &MultipartUpload,
        stored: Vec<UploadedPart>,
    ) -> Result<Vec<UploadedPart>, ApiError> {
        let plan = &multipart.plan;
        let mut missing = Vec::new();
        let mut parts = Vec::with_capacity(plan.part_count as usize);
        for number in 1..=plan.part_count {
            match stored.iter().find(|p| p.number == number) {
                Some(part) => {
                    let (start, end) = plan.range(number, record.size);
                    if part.size != end - start {
                        return Err(ApiError::UploadIncomplete(format!(
                            "part {number} has {} bytes instead of {}; send it again",
                            part.size,
                            end - start
                        )));
                    }
                    parts.push(part.clone());
                }
                None => missing.push(number),
            }
        }
        if !missing.is_empty() {
            let shown: Vec<String> = missing.iter().take(10).map(u32::to_string).collect();
            let more = if missing.len() > 10 { ", …" } else { "" };
            return Err(ApiError::UploadIncomplete(format!(
                "{} of {} parts are missing (parts {}{more}); send them, then complete again",
                missing.len(),
                plan.part_count,
                shown.join(", ")
            )));
        }
        Ok(parts)
    }

    /// Confirms the bytes are in the primary bucket as declared, then makes the file available.
    /// A multipart upload is first assembled from its parts, each checked by S3 against the
    /// SHA-256 its URL was signed with. Calling it again on an available file answers the same.
    pub async fn complete_upload(&self, id: &str) -> Result<FileView, ApiError> {
        let record = self.find(id).await?;
        let id = record.id;
        if record.state == RecordState::Available {
            return Ok(record.view());
        }
        if let Some(multipart) = &record.multipart {
            // No upload any more: an earlier completion assembled it (checked below) or it was
            // cancelled (then no object exists).
            if let Some(stored) = self
                .primary
                .list_parts(&record.object_key, &multipart.upload_id)
                .await?
            {
                let parts = Self::all_parts(&record, multipart, stored)?;
                let assembled = self
                    .primary
                    .complete_multipart(&record.object_key, &multipart.upload_id, &parts)
                    .await;
                // An attempt whose answer was lost (a timeout, then a retry) may have assembled
                // it already: then the object is there, and is checked below.
                if let Err(err) = assembled {
                    if self.primary.head(&record.object_key).await?.is_none() {
                        return Err(err.into());
                    }
                    tracing::warn!(file_id = %id, error = %err, "completion answered an error, but the object is assembled");
                }
            }
        }
        let info = self
            .primary
            .head(&record.object_key)
            .await?
            .ok_or_else(|| match record.multipart {
                Some(_) => ApiError::UploadGone(id.to_string()),
                None => ApiError::UploadMissing(id.to_string()),
            })?;
        if info.size != record.size {
            return Err(ApiError::SizeMismatch {
                declared: record.size,
                actual: info.size,
            });
        }
        if let (Some(declared), Some(stored)) = (&record.sha256, &info.sha256) {
            if declared != stored {
                return Err(ApiError::ChecksumMismatch);
            }
        }
        match self.metadata.mark_available(&record, self.clock.now_ms()).await? {
            Written::Done(record) => {
                tracing::info!(file_id = %id, "upload completed");
                Ok(record.view())
            }
            // The record vanished between the read and the write (it expired).
            Written::ConditionFailed => Err(ApiError::FileNotFound(id.to_string())),
        }
    }

    pub async fn list_files(&self, query: &ListQuery) -> Result<FileList, ApiError> {
        let (records, next) = self.metadata.list_public(query).await?;
        Ok(FileList {
            files: records.iter().map(FileRecord::view).collect(),
            next_cursor: next.map(|c| c.encode()),
        })
    }

    /// Metadata by id. Unlisted files are found too: knowing the id is the permission.
    pub async fn get_file(&self, id: &str) -> Result<FileView, ApiError> {
        Ok(self.find(id).await?.view())
    }

    /// Uploads go to the primary region only: when it is down, say so at once rather than
    /// hand out a URL that cannot work.
    async fn primary_accepts_uploads(&self) -> Result<(), ApiError> {
        let paused = |why: String| {
            ApiError::UploadsPaused(format!(
                "the storage region {} is not answering ({why}); downloads still work",
                self.primary.region()
            ))
        };
        if self.down_regions().await.contains(&CopyRole::Primary) {
            return Err(paused("marked down by the health probe".into()));
        }
        let canary = FileId::random().object_key();
        match self.primary.check(&canary, self.settings.copy_check_timeout).await {
            Ok(_) => Ok(()),
            Err(err) => Err(paused(err.to_string())),
        }
    }

    /// Regions the probe recently marked down. Health is advice: if it cannot be read, every
    /// region is tried.
    async fn down_regions(&self) -> Vec<CopyRole> {
        match self.metadata.region_health().await {
            Ok(health) => health::down_regions(&health, self.clock.now_ms(), self.settings.health_max_age),
            Err(err) => {
                tracing::warn!(error = %err, "region health unreadable; trying every region");
                Vec::new()
            }
        }
    }

    /// Each region's health and the last sweep's replication summary.
    pub async fn status(&self) -> Result<StatusView, ApiError> {
        let health = self.metadata.region_health().await?;
        let summary = self.metadata.replication_summary().await?;
        let placements = [
            (CopyRole::Primary, self.primary.region()),
            (CopyRole::Replica, self.replica.region()),
        ];
        Ok(health::status_view(
            placements,
            &health,
            summary,
            self.clock.now_ms(),
            self.settings.health_max_age,
        ))
    }

    /// A short-lived signed GET of a verified copy, saved under the original name.
    ///
    /// Regions the probe marked down are skipped without a wait. The others are tried primary
    /// first; each must answer a HEAD within `copy_check_timeout`, so a region that is down or
    /// hangs before the probe notices costs at most that before the other copy is used.
    pub async fn download_url(&self, id: &str) -> Result<String, ApiError> {
        let record = self.find(id).await?;
        if record.state != RecordState::Available {
            return Err(ApiError::NotYetAvailable(record.id.to_string()));
        }
        let verified: Vec<&StoredCopy> = record
            .copies
            .iter()
            .filter(|c| c.state == CopyState::Verified)
            .collect();
        let down = self.down_regions().await;
        let mut not_answering = Vec::new();
        for copy in &verified {
            if down.contains(&copy.role) {
                not_answering.push(format!("{} (down)", copy.region));
                continue;
            }
            let store = match copy.role {
                CopyRole::Primary => &self.primary,
                CopyRole::Replica => &self.replica,
            };
            match store.check(&record.object_key, self.settings.copy_check_timeout).await {
                Ok(Some(_)) => {
                    let spec = GetSpec {
                        content_disposition: disposition::attachment(&record.name),
                        content_type: record.content_type.clone(),
                    };
                    let ttl = self.settings.download_url_ttl;
                    return Ok(store.presign_get(&record.object_key, &spec, ttl).await?.url);
                }
                Ok(None) => {
                    tracing::warn!(file_id = %record.id, region = %copy.region, "verified copy is missing");
                    not_answering.push(format!("{} (copy missing)", copy.region));
                }
                Err(err) => {
                    tracing::warn!(file_id = %record.id, region = %copy.region, error = %err, "region not answering");
                    not_answering.push(copy.region.clone());
                }
            }
        }
        let message = match verified.as_slice() {
            [] => "no verified copy of this file exists right now".to_owned(),
            [only] => format!(
                "the only verified copy of this file is in {}, which is not answering, and its second copy is not ready yet",
                only.region
            ),
            _ => format!("no region holding this file is answering: {}", not_answering.join(", ")),
        };
        Err(ApiError::NoReachableCopy(message))
    }

    async fn find(&self, id: &str) -> Result<FileRecord, ApiError> {
        let id = FileId::parse(id)?;
        self.metadata
            .get(id)
            .await?
            .ok_or_else(|| ApiError::FileNotFound(id.to_string()))
    }

    fn for_browser(&self, presigned: Presigned, now_ms: i64, ttl: Duration) -> PresignedRequest {
        PresignedRequest {
            method: presigned.method,
            url: presigned.url,
            // The browser computes content-length from the body and may not set it itself.
            headers: presigned
                .headers
                .into_iter()
                .filter(|(name, _)| !name.eq_ignore_ascii_case("content-length"))
                .collect(),
            expires_at_ms: now_ms + i64::try_from(ttl.as_millis()).unwrap_or(i64::MAX),
        }
    }
}

#[cfg(test)]
mod tests {
    use twinshare_api::{FileStatus, Visibility};

    use super::*;
    use crate::fakes::{self, FakeService, FixedClock};

    const SHA_OF_ABC: &str = "ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=";

    fn service() -> FakeService {
        Service {
            clock: FixedClock(1_000),
            ..fakes::service()
        }
    }

    /// What the public table shows.
    async fn public_files(svc: &FakeService) -> Vec<twinshare_api::FileView> {
        svc.list_files(&ListQuery {
            limit: 10,
            ..Default::default()
        })
        .await
        .unwrap()
        .files
    }

    fn announce(name: &str, visibility: Visibility) -> CreateUploadRequest {
        CreateUploadRequest {
            name: name.into(),
            size: 3,
            content_type: "text/plain".into(),
            sha256: Some(SHA_OF_ABC.into()),
            uploader: None,
            visibility,
        }
    }

    #[tokio::test]
    async fn create_signs_the_exact_upload_and_records_it_as_uploading() {
        let svc = service();
        let created = svc.create_upload(announce("a.txt", Visibility::Listed)).await.unwrap();
        let UploadPlan::Single(put) = &created.upload else {
            panic!("{:?}", created.upload)
        };
        assert_eq!(put.method, "PUT");
        assert!(put.url.contains(&format!("files/{}", created.file.id)));
        assert_eq!(
            put.headers.get("x-amz-checksum-sha256").map(String::as_str),
            Some(SHA_OF_ABC)
        );
        assert_eq!(put.headers.get("content-type").map(String::as_str), Some("text/plain"));
        assert!(
            !put.headers.contains_key("content-length"),
            "the browser sets content-length"
        );
        assert_eq!(put.expires_at_ms, 1_000 + 15 * 60 * 1000);
        assert_eq!(created.file.status, FileStatus::Uploading);
        let stored = svc
            .metadata
            .get(FileId::parse(&created.file.id).unwrap())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.state, RecordState::Uploading);
    }

    #[tokio::test]
    async fn invalid_announcements_leave_no_record() {
        let svc = service();
        let mut bad = announce("a.txt", Visibility::Listed);
        bad.size = 0;
        assert!(matches!(
            svc.create_upload(bad).await,
            Err(ApiError::Invalid { field: "size", .. })
        ));
        assert_eq!(svc.metadata.len(), 0);
    }

    #[tokio::test]
    async fn a_failed_signature_leaves_no_record() {
        let svc = service();
        svc.primary.fail_next("signing broke");
        assert!(svc.create_upload(announce("a.txt", Visibility::Listed)).await.is_err());
        assert_eq!(svc.metadata.len(), 0);
    }

    #[tokio::test]
    async fn complete_checks_the_object_and_is_idempotent() {
        let svc = service();
        let created = svc.create_upload(announce("a.txt", Visibility::Listed)).await.unwrap();
        let id = created.file.id.clone();

        assert!(matches!(
            svc.complete_upload(&id).await,
            Err(ApiError::UploadMissing(_))
        ));
        svc.primary.put(&FileId::parse(&id).unwrap().object_key(), b"abcd");
        assert!(matches!(
            svc.complete_upload(&id).await,
            Err(ApiError::SizeMismatch { declared: 3, actual: 4 })
        ));
        assert!(matches!(svc.download_url(&id).await, Err(ApiError::NotYetAvailable(_))));
        assert!(public_files(&svc).await.is_empty());

        svc.primary.put(&FileId::parse(&id).unwrap().object_key(), b"abc");
        let done = svc.complete_upload(&id).await.unwrap();
        assert_eq!(done.status, FileStatus::Available);
        assert_eq!(done.copies[0].state, CopyState::Verified);
        assert_eq!(svc.complete_upload(&id).await.unwrap(), done);
    }

    #[tokio::test]
    async fn a_stored_checksum_that_differs_is_rejected() {
        let svc = service();
        let created = svc.create_upload(announce("a.txt", Visibility::Listed)).await.unwrap();
        let key = FileId::parse(&created.file.id).unwrap().object_key();
        svc.primary
            .put_with_checksum(&key, b"xyz", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
        assert_eq!(
            svc.complete_upload(&created.file.id).await,
            Err(ApiError::ChecksumMismatch)
        );
    }

    #[tokio::test]
    async fn completing_an_unknown_or_malformed_id() {
        let svc = service();
        assert!(matches!(
            svc.complete_upload(&FileId::random().to_string()).await,
            Err(ApiError::FileNotFound(_))
        ));
        assert!(matches!(
            svc.complete_upload("nope").await,
            Err(ApiError::Invalid { field: "id", .. })
        ));
    }

    /// A listed file whose two copies are verified.
    async fn redundant(svc: &FakeService) -> FileId {
        let created = svc.create_upload(announce("a.txt", Visibility::Listed)).await.unwrap();
        let id = FileId::parse(&created.file.id).unwrap();
        svc.primary.put(&id.object_key(), b"abc");
        svc.replica.put(&id.object_key(), b"abc");
        svc.complete_upload(&created.file.id).await.unwrap();
        let guard = crate::ports::Guard::NotVerified;
        svc.metadata
            .set_copy_state(id, CopyRole::Replica, CopyState::Verified, 2_000, guard)
            .await
            .unwrap();
        id
    }

    /// Which bucket a download of `id` is signed for.
    async fn served_from(svc: &FakeService, id: FileId) -> String {
        let url = svc.download_url(&id.to_string()).await.unwrap();
        url.trim_start_matches("memory://")
            .split('/')
            .next()
            .unwrap()
            .to_owned()
    }

    #[tokio::test]
    async fn downloads_fail_over_to_whichever_copy_answers() {
        let svc = service();
        let id = redundant(&svc).await;
        assert_eq!(served_from(&svc, id).await, "primary");
        svc.primary.set_down(true);
        assert_eq!(served_from(&svc, id).await, "replica");
        svc.primary.set_down(false);
        svc.replica.set_down(true);
        assert_eq!(served_from(&svc, id).await, "primary");
        svc.primary.set_down(true);
        match svc.download_url(&id.to_string()).await {
            Err(ApiError::NoReachableCopy(message)) => {
                assert!(message.contains("eu-west-1") && message.contains("us-west-2"))
            }
            other => panic!("{other:?}"),
        }
        svc.primary.set_down(false);
        svc.replica.set_down(false);
        assert_eq!(served_from(&svc, id).await, "primary", "back to the primary");
    }

    #[tokio::test]
    async fn a_region_marked_down_is_not_tried_and_uploads_pause_while_the_primary_is_down() {
        let svc = service();
        let id = redundant(&svc).await;
        let down = crate::health::RegionHealth {
            role: CopyRole::Primary,
            region: "eu-west-1".into(),
            status: twinshare_api::RegionStatus::Down,
            checked_at_ms: 1_000,
            latency_ms: 2_000,
            consecutive_failures: 2,
            last_error: Some("timeout".into()),
        };
        svc.metadata.record_region_health(&down).await.unwrap();
        // The primary answers, but the probe said it is down: it is not even asked.
        assert_eq!(served_from(&svc, id).await, "replica");
        match svc.create_upload(announce("b.txt", Visibility::Listed)).await {
            Err(ApiError::UploadsPaused(message)) => assert!(message.contains("downloads still work"), "{message}"),
            other => panic!("{other:?}"),
        }
        let status = svc.status().await.unwrap();
        assert_eq!(status.regions[0].status, twinshare_api::RegionStatus::Down);
        assert_eq!(status.regions[1].status, twinshare_api::RegionStatus::Unknown);
    }

    #[tokio::test]
    async fn uploads_fail_fast_when_the_primary_does_not_answer() {
        let svc = service();
        svc.primary.set_down(true);
        assert!(matches!(
            svc.create_upload(announce("a.txt", Visibility::Listed)).await,
            Err(ApiError::UploadsPaused(_))
        ));
        assert_eq!(svc.metadata.len(), 0);
    }

    #[tokio::test]
    async fn an_outage_of_the_only_verified_copy_says_so() {
        let svc = service();
        let created = svc.create_upload(announce("a.txt", Visibility::Listed)).await.unwrap();
        svc.primary
            .put(&FileId::parse(&created.file.id).unwrap().object_key(), b"abc");
        svc.complete_upload(&created.file.id).await.unwrap();
        svc.primary.set_down(true);
        match svc.download_url(&created.file.id).await {
            Err(ApiError::NoReachableCopy(message)) => {
                assert!(message.contains("second copy is not ready"), "{message}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn download_is_signed_with_the_original_name() {
        let svc = service();
        let created = svc
            .create_upload(announce("my file ü.txt", Visibility::Unlisted))
            .await
            .unwrap();
        svc.primary
            .put(&FileId::parse(&created.file.id).unwrap().object_key(), b"abc");
        svc.complete_upload(&created.file.id).await.unwrap();
        let url = svc.download_url(&created.file.id).await.unwrap();
        assert!(url.contains("my%20file%20%C3%BC.txt"), "{url}");
        // Unlisted: reachable by id, absent from the table.
        assert_eq!(
            svc.get_file(&created.file.id).await.unwrap().visibility,
            Visibility::Unlisted
        );
        assert!(public_files(&svc).await.is_empty());
    }

    const MIB: u64 = 1024 * 1024;
    /// Four 8 MiB parts and a last one of 3 bytes.
    const LARGE: u64 = 32 * MIB + 3;

    fn announce_large(name: &str) -> CreateUploadRequest {
        CreateUploadRequest {
            size: LARGE,
            sha256: None,
            ..announce(name, Visibility::Listed)
        }
    }

    fn part_request(numbers: impl IntoIterator<Item = u32>) -> PartUrlsRequest {
        PartUrlsRequest {
            parts: numbers
                .into_iter()
                .map(|number| twinshare_api::PartChecksum {
                    number,
                    sha256: SHA_OF_ABC.into(),
                })
                .collect(),
        }
    }

    /// The bytes of the large test file, and the id of its upload in the fake bucket.
    fn large_bytes() -> Vec<u8> {
        (0..LARGE).map(|i| (i % 251) as u8).collect()
    }

    fn multipart_id(svc: &FakeService, file_id: &str) -> String {
        let record = svc.metadata.records_snapshot();
        let record = record.iter().find(|r| r.id.to_string() == file_id).unwrap();
        record.multipart.as_ref().unwrap().upload_id.clone()
    }

    async fn put_parts(svc: &FakeService, file_id: &str, numbers: impl IntoIterator<Item = u32>) {
        let bytes = large_bytes();
        let upload_id = multipart_id(svc, file_id);
        let plan = twinshare_api::MultipartPlan {
            part_size: 8 * MIB,
            part_count: 5,
        };
        for number in numbers {
            let (start, end) = plan.range(number, LARGE);
            svc.primary
                .put_part(&upload_id, number, &bytes[start as usize..end as usize]);
        }
    }

    #[tokio::test]
    async fn a_large_file_is_sent_in_parts_each_bound_to_its_length_and_sha256() {
        let svc = service();
        let created = svc.create_upload(announce_large("big.bin")).await.unwrap();
        let UploadPlan::Multipart(plan) = created.upload else {
            panic!("{:?}", created.upload)
        };
        assert_eq!((plan.part_size, plan.part_count), (8 * MIB, 5));
        assert_eq!(created.file.sha256, None);
        let urls = svc.part_urls(&created.file.id, part_request([5, 1])).await.unwrap();
        let numbers: Vec<u32> = urls.parts.iter().map(|p| p.number).collect();
        assert_eq!(numbers, [5, 1]);
        for part in &urls.parts {
            assert!(part.request.url.contains(&format!("partNumber={}", part.number)));
            assert_eq!(
                part.request.headers.get("x-amz-checksum-sha256").map(String::as_str),
                Some(SHA_OF_ABC)
            );
            assert_eq!(part.request.expires_at_ms, 1_000 + 15 * 60 * 1000);
        }
        let err = svc.part_urls(&created.file.id, part_request([6])).await.unwrap_err();
        assert!(matches!(err, ApiError::Invalid { field: "parts", .. }), "{err:?}");
    }

    #[tokio::test]
    async fn completing_assembles_every_part_in_order_and_refuses_while_parts_are_missing() {
        let svc = service();
        let created = svc.create_upload(announce_large("big.bin")).await.unwrap();
        let id = created.file.id.clone();
        put_parts(&svc, &id, [1, 3, 5]).await;
        let stored: Vec<u32> = svc
            .stored_parts(&id)
            .await
            .unwrap()
            .parts
            .iter()
            .map(|p| p.number)
            .collect();
        assert_eq!(stored, [1, 3, 5]);
        match svc.complete_upload(&id).await {
            Err(ApiError::UploadIncomplete(message)) => assert!(message.contains("parts 2, 4"), "{message}"),
            other => panic!("{other:?}"),
        }
        // Resume: only the missing parts are sent.
        put_parts(&svc, &id, [2, 4]).await;
        let done = svc.complete_upload(&id).await.unwrap();
        assert_eq!(done.status, FileStatus::Available);
        let key = FileId::parse(&id).unwrap().object_key();
        assert!(
            svc.primary.get(&key).unwrap() == large_bytes(),
            "the parts were not joined in order"
        );
        assert_eq!(svc.primary.open_uploads(), 0);
        // Completing again (say, after a lost answer) answers the same.
        assert_eq!(svc.complete_upload(&id).await.unwrap().status, FileStatus::Available);
        assert!(matches!(
            svc.part_urls(&id, part_request([1])).await,
            Err(ApiError::AlreadyCompleted(_))
        ));
    }

    #[tokio::test]
    async fn a_part_of_the_wrong_length_is_refused_at_completion() {
        let svc = service();
        let created = svc.create_upload(announce_large("big.bin")).await.unwrap();
        put_parts(&svc, &created.file.id, 1..=4).await;
        let upload_id = multipart_id(&svc, &created.file.id);
        svc.primary.put_part(&upload_id, 5, b"too long");
        match svc.complete_upload(&created.file.id).await {
            Err(ApiError::UploadIncomplete(message)) => {
                assert!(message.contains("part 5 has 8 bytes instead of 3"), "{message}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn aborting_leaves_no_parts_and_no_record() {
        let svc = service();
        let created = svc.create_upload(announce_large("big.bin")).await.unwrap();
        put_parts(&svc, &created.file.id, [1, 2]).await;
        svc.abort_upload(&created.file.id).await.unwrap();
        assert_eq!(svc.primary.open_uploads(), 0);
        assert!(svc.metadata.is_empty());
        assert!(matches!(
            svc.complete_upload(&created.file.id).await,
            Err(ApiError::FileNotFound(_))
        ));
        // A single-PUT upload: its object goes too.
        let single = svc.create_upload(announce("a.txt", Visibility::Listed)).await.unwrap();
        let key = FileId::parse(&single.file.id).unwrap().object_key();
        svc.primary.put(&key, b"abc");
        assert!(matches!(
            svc.stored_parts(&single.file.id).await,
            Err(ApiError::NotMultipart(_))
        ));
        svc.abort_upload(&single.file.id).await.unwrap();
        assert_eq!(svc.primary.get(&key), None);
    }

    #[tokio::test]
    async fn a_completed_upload_cannot_be_cancelled() {
        let svc = service();
        let created = svc.create_upload(announce("a.txt", Visibility::Listed)).await.unwrap();
        svc.primary
            .put(&FileId::parse(&created.file.id).unwrap().object_key(), b"abc");
        svc.complete_upload(&created.file.id).await.unwrap();
        assert!(matches!(
            svc.abort_upload(&created.file.id).await,
            Err(ApiError::AlreadyCompleted(_))
        ));
        assert_eq!(svc.metadata.len(), 1);
    }
}
