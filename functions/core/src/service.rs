//! The API's use cases, generic over the ports. Each HTTP function calls the ones it serves.

use std::time::Duration;

use twinshare_api::{
    CopyRole, CopyState, CreateUploadRequest, CreateUploadResponse, FileList, FileView, PresignedRequest, StatusView,
    UploadPlan,
};

use crate::{
    disposition, health,
    ports::{Clock, GetSpec, MetadataStore, ObjectStore, Presigned, PutSpec, Written},
    record::{FileRecord, Placement, RecordState, StoredCopy},
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
            // S3's limit for one PUT; multipart uploads will raise it.
            max_upload_bytes: 5 * 1024 * 1024 * 1024,
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

    /// Validates the announcement, signs the upload, then records it as `uploading`. Signing
    /// comes first so that a failure leaves no record behind.
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
        let record = FileRecord::new_upload(FileId::random(), upload, primary, replica, now);
        let spec = PutSpec {
            size: record.size,
            content_type: record.content_type.clone(),
            sha256: record.sha256.clone(),
        };
        let ttl = self.settings.upload_url_ttl;
        let presigned = self.primary.presign_put(&record.object_key, &spec, ttl).await?;
        self.metadata.create(&record).await?;
        tracing::info!(file_id = %record.id, size = record.size, "upload announced");
        Ok(CreateUploadResponse {
            file: record.view(),
            upload: UploadPlan::Single(self.for_browser(presigned, now, ttl)),
        })
    }

    /// Confirms the bytes are in the primary bucket as declared, then makes the file available.
    /// Calling it again on an available file answers the same.
    pub async fn complete_upload(&self, id: &str) -> Result<FileView, ApiError> {
        let id = FileId::parse(id)?;
        let record = self
            .metadata
            .get(id)
            .await?
            .ok_or_else(|| ApiError::FileNotFound(id.to_string()))?;
        if record.state == RecordState::Available {
            return Ok(record.view());
        }
        let info = self
            .primary
            .head(&record.object_key)
            .await?
            .ok_or_else(|| ApiError::UploadMissing(id.to_string()))?;
        if info.size != record.size {
            return Err(ApiError::SizeMismatch {
                declared: record.size,
                actual: info.size,
            });
        }
        if info.sha256.as_ref().is_some_and(|stored| *stored != record.sha256) {
            return Err(ApiError::ChecksumMismatch);
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
            sha256: SHA_OF_ABC.into(),
            uploader: None,
            visibility,
        }
    }

    #[tokio::test]
    async fn create_signs_the_exact_upload_and_records_it_as_uploading() {
        let svc = service();
        let created = svc.create_upload(announce("a.txt", Visibility::Listed)).await.unwrap();
        let UploadPlan::Single(put) = &created.upload;
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
}
