//! Announcing, completing and cancelling an upload.

use twinshare_api::{CreateUploadRequest, CreateUploadResponse, FileView, UploadPlan};

use super::{Service, Uploader};
use crate::{
    owner::ManageToken,
    ports::{Clock, MetadataStore, ObjectStore, PutSpec, Written},
    quota::{self, Creation},
    record::{FileRecord, MultipartUpload, Placement, RecordState, RemovalReason},
    removal, validate, ApiError, FileId,
};

impl<S: ObjectStore, M: MetadataStore, C: Clock> Service<S, M, C> {
    /// Admits the uploader (the site's upload mode, `code` from `x-upload-code`), validates the
    /// announcement, admits it (`admission`: blocks, limits, quota), signs the upload (or starts
    /// the multipart upload), then records it as `uploading` with the hash of a new manage token,
    /// which is returned this once, and charges its size to the storage quota in the same write. Storage comes first so that a failure
    /// leaves no record behind; a multipart upload whose record could not be written is aborted.
    pub async fn create_upload(
        &self,
        request: CreateUploadRequest,
        uploader: &Uploader<'_>,
    ) -> Result<CreateUploadResponse, ApiError> {
        self.admit_uploader(uploader).await?;
        let upload = validate::new_upload(request, self.settings.max_upload_bytes, &self.settings.expiry)?;
        self.admit(&upload, uploader.address).await?;
        let home = self.home();
        let store = self.store_of(home);
        self.accepts_uploads(store).await?;
        let now = self.clock.now_ms();
        let placements = [&self.primary, &self.replica].map(|store| Placement {
            region: store.region(),
            bucket: store.bucket(),
        });
        let id = FileId::random();
        let key = id.object_key();
        let ttl = self.settings.upload_url_ttl;
        let (plan, multipart) = match (upload.parts, &upload.sha256) {
            (Some(plan), _) => {
                let upload_id = store.start_multipart(&key, &upload.content_type).await?;
                (UploadPlan::Multipart(plan), Some(MultipartUpload { upload_id, plan }))
            }
            (None, Some(sha256)) => {
                let spec = PutSpec {
                    size: upload.size,
                    content_type: upload.content_type.clone(),
                    sha256: sha256.clone(),
                };
                let presigned = store.presign_put(&key, &spec, ttl).await?;
                (UploadPlan::Single(self.for_browser(presigned, now, ttl)), None)
            }
            (None, None) => return Err(ApiError::Internal("a single-PUT upload without its SHA-256".into())),
        };
        let token = ManageToken::random();
        let mut record = FileRecord::new_upload(id, upload, multipart, placements, token.hash(), now);
        record.home = home;
        let refused = match self.metadata.create(&record, self.settings.storage_quota_bytes).await {
            Ok(Creation::Created) => None,
            Ok(Creation::OverQuota { used_bytes }) => Some(quota::over_quota(
                record.size,
                used_bytes,
                self.settings.storage_quota_bytes.unwrap_or_default(),
            )),
            Err(err) => Some(err.into()),
        };
        if let Some(refused) = refused {
            if let Some(multipart) = &record.multipart {
                let _ = store.abort_multipart(&key, &multipart.upload_id).await;
            }
            return Err(refused);
        }
        tracing::info!(file_id = %record.id, home = store.region(), size = record.size, parts = record.multipart.as_ref().map(|m| m.plan.part_count), "upload announced");
        Ok(CreateUploadResponse {
            file: record.view(),
            upload: plan,
            manage_token: token.as_str().to_owned(),
        })
    }

    /// Cancels an upload that has not completed, through the one removal path: the record is
    /// marked cancelled, then its parts or object are deleted (a PUT that lands later on a URL
    /// still valid is deleted by replication, which sees the mark). Cancelling a removed upload
    /// answers the same.
    pub async fn abort_upload(&self, id: &str, token: Option<&str>) -> Result<(), ApiError> {
        let record = self.find_owned(id, token).await?;
        if record.removal.is_some() {
            return Ok(());
        }
        if record.state == RecordState::Available {
            return Err(ApiError::AlreadyCompleted(record.id.to_string()));
        }
        let stores = [&self.primary, &self.replica];
        let now = self.clock.now_ms();
        match removal::remove(stores, &self.metadata, record.id, RemovalReason::Cancelled, now).await? {
            // Completed between the read and the removal: then it was removed as a cancelled
            // upload all the same, which is what was asked.
            Some(_) => Ok(()),
            None => Err(ApiError::FileNotFound(record.id.to_string())),
        }
    }

    /// Confirms the bytes are in the file's home bucket as declared, then makes the file
    /// available. Only the home region completes: its bucket holds the upload.
    /// A multipart upload is first assembled from its parts, each checked by S3 against the
    /// SHA-256 its URL was signed with. Calling it again on an available file answers the same.
    pub async fn complete_upload(&self, id: &str, token: Option<&str>) -> Result<FileView, ApiError> {
        let mut record = self.find_owned(id, token).await?;
        if let Some(gone) = record.gone(self.clock.now_ms()) {
            return Err(gone);
        }
        let id = record.id;
        if record.state == RecordState::Available {
            return Ok(record.view());
        }
        self.act_as_home_of(&record, "completing the upload")?;
        let store = self.store_of(record.home);
        if let Some(multipart) = &record.multipart {
            // No upload any more: an earlier completion assembled it (checked below) or it was
            // cancelled (then no object exists).
            if let Some(stored) = store.list_parts(&record.object_key, &multipart.upload_id).await? {
                let parts = Self::all_parts(&record, multipart, stored)?;
                // Content the operator blocked is refused here for a file sent in parts: only
                // now are all its parts, and so its identity, known.
                record.content_id = super::multipart::content_id(&parts);
                if let Some(content_id) = &record.content_id {
                    if self.metadata.is_blocked(content_id).await? {
                        let stores = [&self.primary, &self.replica];
                        let now = self.clock.now_ms();
                        removal::remove(stores, &self.metadata, id, RemovalReason::TakenDown, now).await?;
                        tracing::info!(target: "audit", actor = "operator", action = "refuse_blocked_content", file_id = %id, content_id, "blocked content refused at completion");
                        return Err(ApiError::ContentBlocked);
                    }
                }
                let assembled = store
                    .complete_multipart(&record.object_key, &multipart.upload_id, &parts)
                    .await;
                // An attempt whose answer was lost (a timeout, then a retry) may have assembled
                // it already: then the object is there, and is checked below.
                if let Err(err) = assembled {
                    if store.head(&record.object_key).await?.is_none() {
                        return Err(err.into());
                    }
                    tracing::warn!(file_id = %id, error = %err, "completion answered an error, but the object is assembled");
                }
            }
        }
        let info = store
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
            // Removed (or expired and gone) between the read and the write.
            Written::ConditionFailed => Err(match self.metadata.get(id).await? {
                Some(record) => record
                    .gone(self.clock.now_ms())
                    .unwrap_or(ApiError::UploadGone(id.to_string())),
                None => ApiError::FileNotFound(id.to_string()),
            }),
        }
    }

    /// Uploads go to this region's own bucket: when it does not answer, say so at once rather
    /// than hand out a URL that cannot work (a client then tries the other region's API).
    async fn accepts_uploads(&self, store: &S) -> Result<(), ApiError> {
        let paused = |why: String| {
            ApiError::UploadsPaused(format!(
                "the storage region {} is not answering ({why}); downloads still work",
                store.region()
            ))
        };
        if self.down_regions().await.contains(&self.home()) {
            return Err(paused("marked down by the health probe".into()));
        }
        let canary = FileId::random().object_key();
        match store.check(&canary, self.settings.copy_check_timeout).await {
            Ok(_) => Ok(()),
            Err(err) => {
                tracing::warn!(region = store.region(), error = %err, "own region's bucket not answering; uploads paused");
                Err(paused(err.public_summary().into()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use twinshare_api::{FileStatus, Visibility};

    use super::*;
    use twinshare_api::CopyState;

    use crate::service::test_support::{announce, public_files, service, SHA_OF_ABC};

    #[tokio::test]
    async fn create_signs_the_exact_upload_and_records_it_as_uploading() {
        let svc = service();
        let created = svc
            .create_upload(announce("a.txt", Visibility::Listed), &Default::default())
            .await
            .unwrap();
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
            svc.create_upload(bad, &Default::default()).await,
            Err(ApiError::Invalid { field: "size", .. })
        ));
        assert_eq!(svc.metadata.len(), 0);
    }

    #[tokio::test]
    async fn a_failed_signature_leaves_no_record() {
        let svc = service();
        svc.primary.fail_next("signing broke");
        assert!(svc
            .create_upload(announce("a.txt", Visibility::Listed), &Default::default())
            .await
            .is_err());
        assert_eq!(svc.metadata.len(), 0);
    }

    #[tokio::test]
    async fn complete_checks_the_object_and_is_idempotent() {
        let svc = service();
        let created = svc
            .create_upload(announce("a.txt", Visibility::Listed), &Default::default())
            .await
            .unwrap();
        let id = created.file.id.clone();
        let token = Some(created.manage_token.as_str());

        assert!(matches!(
            svc.complete_upload(&id, token).await,
            Err(ApiError::UploadMissing(_))
        ));
        svc.primary.put(&FileId::parse(&id).unwrap().object_key(), b"abcd");
        assert!(matches!(
            svc.complete_upload(&id, token).await,
            Err(ApiError::SizeMismatch { declared: 3, actual: 4 })
        ));
        assert!(matches!(
            svc.download_url(&id, None, "192.0.2.1").await,
            Err(ApiError::NotYetAvailable(_))
        ));
        assert!(public_files(&svc).await.is_empty());

        svc.primary.put(&FileId::parse(&id).unwrap().object_key(), b"abc");
        let done = svc.complete_upload(&id, token).await.unwrap();
        assert_eq!(done.status, FileStatus::Available);
        assert_eq!(done.copies[0].state, CopyState::Verified);
        assert_eq!(svc.complete_upload(&id, token).await.unwrap(), done);
    }

    #[tokio::test]
    async fn a_stored_checksum_that_differs_is_rejected() {
        let svc = service();
        let created = svc
            .create_upload(announce("a.txt", Visibility::Listed), &Default::default())
            .await
            .unwrap();
        let key = FileId::parse(&created.file.id).unwrap().object_key();
        svc.primary
            .put_with_checksum(&key, b"xyz", "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
        assert_eq!(
            svc.complete_upload(&created.file.id, Some(&created.manage_token)).await,
            Err(ApiError::ChecksumMismatch)
        );
    }

    #[tokio::test]
    async fn completing_an_unknown_or_malformed_id() {
        let svc = service();
        assert!(matches!(
            svc.complete_upload(&FileId::random().to_string(), Some("token")).await,
            Err(ApiError::FileNotFound(_))
        ));
        assert!(matches!(
            svc.complete_upload("nope", Some("token")).await,
            Err(ApiError::Invalid { field: "id", .. })
        ));
    }

    #[tokio::test]
    async fn uploads_fail_fast_when_the_primary_does_not_answer() {
        let svc = service();
        svc.primary.set_down(true);
        assert!(matches!(
            svc.create_upload(announce("a.txt", Visibility::Listed), &Default::default())
                .await,
            Err(ApiError::UploadsPaused(_))
        ));
        assert_eq!(svc.metadata.len(), 0);
    }
}
