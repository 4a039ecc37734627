//! The owner's actions on a shared file: edit and delete, each authorised by the manage token.

use twinshare_api::{EditFileRequest, FileView};

use super::Service;
use crate::{
    owner,
    ports::{Clock, MetadataStore, ObjectStore, Written},
    record::RemovalReason,
    removal, validate, ApiError,
};

impl<S: ObjectStore, M: MetadataStore, C: Clock> Service<S, M, C> {
    /// Changes the file's name, visibility, expiry or download limit; the table, the file page
    /// and search show the change at once. A removed or expired file cannot be edited (410).
    /// Edits are written by the file's home region only (one writer per item); deletes, being
    /// tombstones, are accepted by either.
    pub async fn edit_file(
        &self,
        id: &str,
        token: Option<&str>,
        request: EditFileRequest,
    ) -> Result<FileView, ApiError> {
        let mut record = self.find_owned(id, token).await?;
        let now = self.clock.now_ms();
        let edit = validate::edit(request, &self.settings.expiry, now)?;
        self.act_as_home_of(&record, "editing")?;
        // The write is conditional on the state read; an upload completing in between is the
        // one change that can intervene, so a few attempts always settle it.
        for _ in 0..3 {
            if let Some(gone) = record.gone(now) {
                return Err(gone);
            }
            if let Written::Done(edited) = self.metadata.edit(&record, &edit, now).await? {
                tracing::info!(target: "audit", actor = owner::actor(&edited), action = "edit", file_id = %edited.id, "file edited by its owner");
                return Ok(edited.view());
            }
            record = self.find_any(id).await?;
        }
        Err(ApiError::Unavailable(
            "the file kept changing while it was edited".into(),
        ))
    }

    /// Deletes the file: from now on every read answers 410 `file_deleted`, and its bytes are
    /// deleted from both regions (now where they answer, by the sweep otherwise). Deleting a
    /// removed file answers the same and changes nothing.
    pub async fn delete_file(&self, id: &str, token: Option<&str>) -> Result<(), ApiError> {
        let record = self.find_owned(id, token).await?;
        if record.removal.is_some() {
            return Ok(());
        }
        let stores = [&self.primary, &self.replica];
        let now = self.clock.now_ms();
        removal::remove(stores, &self.metadata, record.id, RemovalReason::Deleted, now)
            .await?
            .ok_or_else(|| ApiError::FileNotFound(record.id.to_string()))?;
        tracing::info!(target: "audit", actor = owner::actor(&record), action = "delete", file_id = %record.id, "file deleted by its owner");
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use twinshare_api::{EditFileRequest, Visibility};

    use super::*;
    use crate::{
        fakes::FakeService,
        service::test_support::{announce, available, public_files, redundant_owned, service},
        FileId,
    };

    fn rename(name: &str) -> EditFileRequest {
        EditFileRequest {
            name: Some(name.into()),
            ..Default::default()
        }
    }

    async fn listed(svc: &FakeService) -> (FileId, String) {
        redundant_owned(svc, announce("a.txt", Visibility::Listed)).await
    }

    #[tokio::test]
    async fn every_owner_action_needs_the_token_and_a_wrong_one_says_nothing() {
        let svc = service();
        let (id, token) = listed(&svc).await;
        let id = id.to_string();
        let other = svc
            .create_upload(announce("b.txt", Visibility::Listed), &Default::default())
            .await
            .unwrap();
        for attempt in [None, Some("wrong"), Some(other.manage_token.as_str())] {
            let expected = if attempt.is_none() {
                ApiError::ManageTokenMissing
            } else {
                ApiError::ManageTokenInvalid
            };
            assert_eq!(svc.edit_file(&id, attempt, rename("x")).await.unwrap_err(), expected);
            assert_eq!(svc.delete_file(&id, attempt).await.unwrap_err(), expected);
            assert_eq!(svc.abort_upload(&id, attempt).await.unwrap_err(), expected);
            assert_eq!(svc.complete_upload(&id, attempt).await.unwrap_err(), expected);
            assert_eq!(svc.stored_parts(&id, attempt).await.unwrap_err(), expected);
        }
        assert_eq!(svc.get_file(&id).await.unwrap().name, "a.txt", "nothing changed");
        assert!(svc.primary.holds(&FileId::parse(&id).unwrap().object_key()));
        svc.delete_file(&id, Some(&token)).await.unwrap();
    }

    #[tokio::test]
    async fn edits_show_at_once_in_the_table_and_the_file() {
        let svc = service();
        let (id, token) = listed(&svc).await;
        let id = id.to_string();
        let view = svc.edit_file(&id, Some(&token), rename("b.txt")).await.unwrap();
        assert_eq!(view.name, "b.txt");
        assert_eq!(public_files(&svc).await[0].name, "b.txt");
        let unlisted = EditFileRequest {
            visibility: Some(Visibility::Unlisted),
            max_downloads: Some(Some(2)),
            expires_in_secs: Some(3600),
            ..Default::default()
        };
        let view = svc.edit_file(&id, Some(&token), unlisted).await.unwrap();
        assert_eq!((view.max_downloads, view.downloads_left), (Some(2), Some(2)));
        assert_eq!(view.expires_at_ms, Some(1_000 + 3_600_000));
        assert!(public_files(&svc).await.is_empty(), "unlisted: gone from the table");
        assert_eq!(svc.get_file(&id).await.unwrap().visibility, Visibility::Unlisted);
        let relisted = EditFileRequest {
            visibility: Some(Visibility::Listed),
            max_downloads: Some(None),
            ..Default::default()
        };
        let view = svc.edit_file(&id, Some(&token), relisted).await.unwrap();
        assert_eq!(view.max_downloads, None);
        assert_eq!(public_files(&svc).await.len(), 1);
        let bad = svc.edit_file(&id, Some(&token), rename("")).await.unwrap_err();
        assert!(matches!(bad, ApiError::Invalid { field: "name", .. }), "{bad:?}");
    }

    #[tokio::test]
    async fn delete_removes_both_copies_answers_410_and_is_idempotent() {
        let svc = service();
        let (id, token) = listed(&svc).await;
        let key = id.object_key();
        let id = id.to_string();
        svc.delete_file(&id, Some(&token)).await.unwrap();
        assert!(!svc.primary.holds(&key) && !svc.replica.holds(&key));
        assert!(public_files(&svc).await.is_empty());
        assert!(matches!(svc.get_file(&id).await, Err(ApiError::FileDeleted(_))));
        assert!(matches!(
            svc.download_url(&id, None, "192.0.2.1").await,
            Err(ApiError::FileDeleted(_))
        ));
        assert!(matches!(
            svc.edit_file(&id, Some(&token), rename("c")).await,
            Err(ApiError::FileDeleted(_))
        ));
        svc.delete_file(&id, Some(&token)).await.unwrap();
        assert!(matches!(svc.get_file(&id).await, Err(ApiError::FileDeleted(_))));
    }

    #[tokio::test]
    async fn delete_with_a_region_down_is_accepted_and_left_to_the_sweep() {
        let svc = service();
        let (id, token) = listed(&svc).await;
        svc.replica.set_down(true);
        svc.delete_file(&id.to_string(), Some(&token)).await.unwrap();
        assert!(!svc.primary.holds(&id.object_key()));
        assert!(svc.replica.holds(&id.object_key()), "the replica could not be reached");
        assert!(matches!(
            svc.get_file(&id.to_string()).await,
            Err(ApiError::FileDeleted(_))
        ));
    }

    #[tokio::test]
    async fn an_expired_file_is_gone_at_once_and_cannot_be_revived() {
        let svc = service();
        let request = twinshare_api::CreateUploadRequest {
            expires_in_secs: Some(60),
            ..announce("a.txt", Visibility::Listed)
        };
        let (id, token) = available(&svc, request).await;
        let id = id.to_string();
        assert_eq!(public_files(&svc).await.len(), 1);
        let later = Service {
            clock: crate::fakes::FixedClock(1_000 + 60_000),
            ..svc
        };
        assert!(public_files(&later).await.is_empty());
        assert!(matches!(later.get_file(&id).await, Err(ApiError::FileExpired(_))));
        assert!(matches!(
            later.download_url(&id, None, "192.0.2.1").await,
            Err(ApiError::FileExpired(_))
        ));
        let extend = EditFileRequest {
            expires_in_secs: Some(3600),
            ..Default::default()
        };
        assert!(matches!(
            later.edit_file(&id, Some(&token), extend).await,
            Err(ApiError::FileExpired(_))
        ));
    }
}
