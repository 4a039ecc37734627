//! The operator's moderation: what was uploaded lately, one file in detail with what each
//! bucket holds of it, and taking a file down from both regions through the one removal path.
//! No HTTP route reaches these: the operator's command (`functions/operator`) runs them with
//! the operator's own AWS credentials, so there is no admin endpoint to attack.

use twinshare_api::CopyRole;

use super::Service;
use crate::{
    ports::{Clock, MetadataStore, ObjectStore, PortError},
    record::{FileRecord, RemovalReason},
    removal, ApiError, FileId, ObjectKey,
};

/// What a bucket holds of a file: its size, nothing, or no answer.
#[derive(Debug, Clone, PartialEq)]
pub enum Held {
    Bytes(u64),
    Nothing,
    Unreachable(String),
}

/// A file as the operator sees it: its record, and what each region's bucket holds of it.
#[derive(Debug, Clone, PartialEq)]
pub struct Inspection {
    pub record: FileRecord,
    pub held: Vec<(CopyRole, String, Held)>,
}

impl<S: ObjectStore, M: MetadataStore, C: Clock> Service<S, M, C> {
    /// The `limit` newest records of every state, removed ones too. Reads the whole table (the
    /// operator's occasional look, not a page view).
    pub async fn recent_uploads(&self, limit: usize) -> Result<Vec<FileRecord>, ApiError> {
        let mut newest: Vec<FileRecord> = Vec::new();
        let mut after = None;
        loop {
            let (page, next) = self.metadata.scan(after, 1_000).await?;
            newest.extend(page);
            newest.sort_by_key(|r| std::cmp::Reverse((r.created_at_ms, r.id)));
            newest.truncate(limit);
            match next {
                Some(next) => after = Some(next),
                None => return Ok(newest),
            }
        }
    }

    /// The record of any file (removed too) and what each bucket holds of it.
    pub async fn inspect(&self, id: &str) -> Result<Inspection, ApiError> {
        let record = self.find_any(id).await?;
        let held = self.held(&record.object_key).await;
        Ok(Inspection { record, held })
    }

    /// Takes the file down: marked removed (every link answers 410 `file_removed` at once),
    /// then its bytes deleted from both regions, now where they answer and by the sweep
    /// otherwise. Taking down a removed file changes nothing (the first removal's reason
    /// stands). Returns the file as it is afterwards.
    pub async fn take_down(&self, id: &str) -> Result<Inspection, ApiError> {
        let id = FileId::parse(id)?;
        let stores = [&self.primary, &self.replica];
        let record = removal::remove(
            stores,
            &self.metadata,
            id,
            RemovalReason::TakenDown,
            self.clock.now_ms(),
        )
        .await?
        .ok_or_else(|| ApiError::FileNotFound(id.to_string()))?;
        tracing::info!(target: "audit", actor = "operator", action = "take_down", file_id = %id, "file taken down by the operator");
        let held = self.held(&record.object_key).await;
        Ok(Inspection { record, held })
    }

    /// Blocks the file's content from being shared again: a new upload with the same whole-file
    /// SHA-256 is refused when announced (403 `content_blocked`), one sent in parts with the same
    /// composite SHA-256 when completed. A file sent in parts whose completion did not learn its
    /// parts' SHA-256s has no identity: `ContentNotBlockable`.
    pub async fn block_content(&self, id: &str) -> Result<String, ApiError> {
        let record = self.find_any(id).await?;
        let sha256 = record
            .content_identity()
            .map(str::to_owned)
            .ok_or(ApiError::ContentNotBlockable(record.id.to_string()))?;
        self.metadata.block(&sha256, self.clock.now_ms()).await?;
        tracing::info!(target: "audit", actor = "operator", action = "block_content", file_id = %record.id, sha256, "content blocked by the operator");
        Ok(sha256)
    }

    /// Blocks every new upload from `address` (403 `uploader_blocked`); what is shared stays.
    /// Only a hash of the address is stored.
    pub async fn block_client(&self, address: &str) -> Result<(), ApiError> {
        self.metadata
            .block(&crate::rate::blocked_client(address), self.clock.now_ms())
            .await?;
        tracing::info!(target: "audit", actor = "operator", action = "block_address", client = %crate::rate::client_key(address), "uploads from an address blocked by the operator");
        Ok(())
    }

    async fn held(&self, key: &ObjectKey) -> Vec<(CopyRole, String, Held)> {
        let mut held = Vec::new();
        for (role, store) in [(CopyRole::Primary, &self.primary), (CopyRole::Replica, &self.replica)] {
            let state = match store.head(key).await {
                Ok(Some(info)) => Held::Bytes(info.size),
                Ok(None) => Held::Nothing,
                Err(PortError::Unavailable(why) | PortError::Other(why)) => Held::Unreachable(why),
            };
            held.push((role, store.region().to_owned(), state));
        }
        held
    }
}

#[cfg(test)]
mod tests {
    use twinshare_api::Visibility;

    use super::*;
    use crate::service::test_support::{
        announce, announce_in_parts, redundant, redundant_owned, service, IN_PARTS_SIZE,
    };

    #[tokio::test]
    async fn a_file_taken_down_leaves_both_regions_and_its_links_say_so() {
        let svc = service();
        let id = redundant(&svc).await.to_string();
        let done = svc.take_down(&id).await.unwrap();
        assert_eq!(done.record.removal.map(|r| r.reason), Some(RemovalReason::TakenDown));
        let held: Vec<&Held> = done.held.iter().map(|(_, _, h)| h).collect();
        assert_eq!(held, vec![&Held::Nothing, &Held::Nothing]);
        assert_eq!(svc.get_file(&id).await, Err(ApiError::FileRemoved(id.clone())));
        assert_eq!(
            svc.download_url(&id, None, "client").await,
            Err(ApiError::FileRemoved(id.clone()))
        );
        // Again: nothing changes.
        assert_eq!(svc.take_down(&id).await.unwrap().record.removal, done.record.removal);
    }

    #[tokio::test]
    async fn a_take_down_with_the_replica_region_down_is_left_to_the_sweep() {
        let svc = service();
        let id = redundant(&svc).await;
        svc.replica.set_down(true);
        let done = svc.take_down(&id.to_string()).await.unwrap();
        assert_eq!(done.held[0].2, Held::Nothing);
        assert!(matches!(done.held[1].2, Held::Unreachable(_)));
        svc.replica.set_down(false);
        crate::fakes::replication(&svc, 10).sweep(1_000).await.unwrap();
        assert!(!svc.replica.holds(&id.object_key()));
    }

    #[tokio::test]
    async fn blocked_content_cannot_be_uploaded_again_but_other_content_can() {
        let svc = service();
        let id = redundant(&svc).await.to_string();
        svc.take_down(&id).await.unwrap();
        let sha256 = svc.block_content(&id).await.unwrap();
        let again = svc
            .create_upload(
                announce("same bytes, new name.txt", Visibility::Unlisted),
                &Default::default(),
            )
            .await;
        assert_eq!(again.unwrap_err(), ApiError::ContentBlocked);
        assert_eq!(sha256, crate::service::test_support::SHA_OF_ABC);
        let other = twinshare_api::CreateUploadRequest {
            sha256: Some("LCa0a2j/xo/5m0U8HTBBNBNCLXBkg7+g+YpeiGJm564=".into()),
            ..announce("other.txt", Visibility::Listed)
        };
        assert!(svc.create_upload(other, &Default::default()).await.is_ok());
    }

    /// Announces a file sent in parts, all of it `fill` bytes, sends every part and completes it.
    async fn shared_in_parts(svc: &crate::fakes::FakeService, fill: u8) -> (String, Result<(), ApiError>) {
        let created = svc
            .create_upload(announce_in_parts("big.bin"), &Default::default())
            .await
            .unwrap();
        let id = FileId::parse(&created.file.id).unwrap();
        let multipart = svc.metadata.get(id).await.unwrap().unwrap().multipart.unwrap();
        let bytes = vec![fill; IN_PARTS_SIZE as usize];
        for number in 1..=multipart.plan.part_count {
            let (start, end) = multipart.plan.range(number, IN_PARTS_SIZE);
            svc.primary
                .put_part(&multipart.upload_id, number, &bytes[start as usize..end as usize]);
        }
        let completed = svc.complete_upload(&created.file.id, Some(&created.manage_token)).await;
        (created.file.id, completed.map(|_| ()))
    }

    #[tokio::test]
    async fn a_file_sent_in_parts_is_blocked_by_its_composite_sha256_when_sent_again() {
        let svc = service();
        let (first, completed) = shared_in_parts(&svc, 1).await;
        completed.unwrap();
        svc.take_down(&first).await.unwrap();
        let identity = svc.block_content(&first).await.unwrap();
        assert!(identity.ends_with("-5"), "S3's composite form, 5 parts: {identity}");

        // The same bytes under any name: refused once its parts are all in, and removed.
        let (again, completed) = shared_in_parts(&svc, 1).await;
        assert_eq!(completed, Err(ApiError::ContentBlocked));
        assert_eq!(svc.get_file(&again).await, Err(ApiError::FileRemoved(again.clone())));
        assert_eq!(svc.primary.open_uploads(), 0, "its parts are freed");
        // Other bytes of the same size are not.
        let (_, completed) = shared_in_parts(&svc, 2).await;
        assert_eq!(completed, Ok(()));
    }

    #[tokio::test]
    async fn recent_uploads_are_newest_first_whatever_their_state() {
        let svc = service();
        let (deleted, token) = redundant_owned(&svc, announce("deleted.txt", Visibility::Unlisted)).await;
        svc.delete_file(&deleted.to_string(), Some(&token)).await.unwrap();
        let later = crate::Service {
            clock: crate::fakes::FixedClock(9_000),
            primary: svc.primary.clone(),
            replica: svc.replica.clone(),
            metadata: svc.metadata.clone(),
            ..service()
        };
        let newer = redundant(&later).await;
        let recent = svc.recent_uploads(10).await.unwrap();
        let ids: Vec<FileId> = recent.iter().map(|r| r.id).collect();
        assert_eq!(ids, vec![newer, deleted]);
        assert_eq!(svc.recent_uploads(1).await.unwrap().len(), 1);
        assert!(matches!(svc.inspect("not-an-id").await, Err(ApiError::Invalid { .. })));
    }
}
