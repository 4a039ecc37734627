//! The public table, a file's details, and downloads from whichever copy answers.

use twinshare_api::{CopyRole, CopyState, FileList, FileView};

use super::Service;
use crate::{
    disposition,
    ports::{Clock, GetSpec, MetadataStore, ObjectInfo, ObjectStore, PortError, Written},
    record::{FileRecord, RecordState, StoredCopy},
    validate::ListQuery,
    ApiError,
};

impl<S: ObjectStore, M: MetadataStore, C: Clock> Service<S, M, C> {
    pub async fn list_files(&self, query: &ListQuery) -> Result<FileList, ApiError> {
        let (records, next) = self.metadata.list_public(query, self.clock.now_ms()).await?;
        Ok(FileList {
            files: records.iter().map(FileRecord::view).collect(),
            next_cursor: next.map(|c| c.encode()),
        })
    }

    /// Metadata by id. Unlisted files are found too: knowing the id is the permission.
    pub async fn get_file(&self, id: &str) -> Result<FileView, ApiError> {
        Ok(self.find(id).await?.view())
    }

    /// A short-lived signed GET of a verified copy, saved under the original name.
    ///
    /// Regions the probe marked down are skipped without a wait. The primary's copy is asked
    /// first; if it has not confirmed within `hedge_after` (a region that hangs before the probe
    /// notices), the replica is asked too and whichever verified copy answers first is used, the
    /// primary when both do. Each check gives up after `copy_check_timeout`.
    ///
    /// A file with a download limit counts the download (a conditional write, so the limit holds
    /// however many download at once) only once a copy has answered, and its URL lives briefly.
    ///
    /// A protected file needs its `password` first; `client` (the caller's address) is who the
    /// backoff on wrong passwords slows down.
    pub async fn download_url(&self, id: &str, password: Option<&str>, client: &str) -> Result<String, ApiError> {
        let record = self.find(id).await?;
        if record.state != RecordState::Available {
            return Err(ApiError::NotYetAvailable(record.id.to_string()));
        }
        self.unlock(&record, password, client).await?;
        if record.downloads_left() == Some(0) {
            return Err(ApiError::DownloadLimitReached(record.id.to_string()));
        }
        let verified: Vec<&StoredCopy> = record
            .copies
            .iter()
            .filter(|c| c.state == CopyState::Verified)
            .collect();
        let down = self.down_regions().await;
        let mut not_answering = Vec::new();
        let mut candidates = Vec::new();
        for copy in &verified {
            if down.contains(&copy.role) {
                not_answering.push(format!("{} (down)", copy.region));
            } else {
                candidates.push(*copy);
            }
        }
        // Primary first: it is preferred whenever it answers in time.
        candidates.sort_by_key(|c| c.role != CopyRole::Primary);
        let confirmed = self.first_confirmed(&record, &candidates, &mut not_answering).await;
        if let Some(store) = confirmed {
            let ttl = match record.max_downloads {
                Some(_) => {
                    self.count_download(&record).await?;
                    self.settings.limited_download_url_ttl
                }
                None => self.settings.download_url_ttl,
            };
            let spec = GetSpec {
                content_disposition: disposition::attachment(&record.name),
                content_type: record.content_type.clone(),
            };
            return Ok(store.presign_get(&record.object_key, &spec, ttl).await?.url);
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

    /// Takes one of the file's downloads left. Exactness over availability: if the count cannot
    /// be written, the download is refused (503 `limit_unavailable`) rather than uncounted.
    ///
    /// Only the file's home region counts (one writer per item: two regions counting the same
    /// record would lose counts to last-writer-wins), so elsewhere a limited download answers
    /// 503 until its home region is back.
    async fn count_download(&self, record: &FileRecord) -> Result<(), ApiError> {
        let id = record.id;
        if !self.is_home_of(record) {
            tracing::info!(file_id = %id, home = ?record.home, "limited download outside its home region");
            return Err(ApiError::LimitUnavailable(id.to_string()));
        }
        match self.metadata.count_download(id).await {
            Ok(Written::Done(_)) => Ok(()),
            Ok(Written::ConditionFailed) => Err(match self.metadata.get(id).await {
                Ok(Some(now)) => now
                    .gone(self.clock.now_ms())
                    .unwrap_or(ApiError::DownloadLimitReached(id.to_string())),
                _ => ApiError::DownloadLimitReached(id.to_string()),
            }),
            Err(err) => {
                tracing::warn!(file_id = %id, error = %err, "download count not written");
                Err(ApiError::LimitUnavailable(id.to_string()))
            }
        }
    }

    /// Asks `candidates` (in order of preference, at most two) whether they hold the object,
    /// hedged: the second is asked only when the first has not confirmed within `hedge_after`, or
    /// has said no. The store of the first copy confirmed; why each other one was not used is
    /// added to `not_answering`.
    async fn first_confirmed(
        &self,
        record: &FileRecord,
        candidates: &[&StoredCopy],
        not_answering: &mut Vec<String>,
    ) -> Option<&S> {
        let within = self.settings.copy_check_timeout;
        let key = &record.object_key;
        let mut noted = |copy: &StoredCopy, answer: Result<Option<ObjectInfo>, PortError>| match answer {
            Ok(Some(_)) => true,
            Ok(None) => {
                tracing::warn!(file_id = %record.id, region = %copy.region, "verified copy is missing");
                not_answering.push(format!("{} (copy missing)", copy.region));
                false
            }
            Err(err) => {
                tracing::warn!(file_id = %record.id, region = %copy.region, error = %err, "region not answering");
                not_answering.push(copy.region.clone());
                false
            }
        };
        let (first, second) = match candidates {
            [] => return None,
            [only] => {
                let answer = self.store_of(only.role).check(key, within).await;
                return noted(only, answer).then(|| self.store_of(only.role));
            }
            [first, second, ..] => (*first, *second),
        };
        let first_check = self.store_of(first.role).check(key, within);
        tokio::pin!(first_check);
        tokio::select! {
            answer = &mut first_check => {
                // Answered before the hedge: used if it holds the copy, else the second is asked.
                if noted(first, answer) {
                    return Some(self.store_of(first.role));
                }
                let answer = self.store_of(second.role).check(key, within).await;
                return noted(second, answer).then(|| self.store_of(second.role));
            }
            () = tokio::time::sleep(self.settings.hedge_after) => {}
        }
        tracing::info!(file_id = %record.id, region = %first.region, "no answer yet; asking the other region too");
        let second_check = self.store_of(second.role).check(key, within);
        tokio::pin!(second_check);
        let (mut first_done, mut second_done) = (false, false);
        while !(first_done && second_done) {
            tokio::select! {
                // Biased: when both have answered, the preferred (first) copy wins.
                biased;
                answer = &mut first_check, if !first_done => {
                    first_done = true;
                    if noted(first, answer) {
                        return Some(self.store_of(first.role));
                    }
                }
                answer = &mut second_check, if !second_done => {
                    second_done = true;
                    if noted(second, answer) {
                        return Some(self.store_of(second.role));
                    }
                }
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use twinshare_api::Visibility;

    use super::*;
    use crate::{
        fakes::FakeService,
        service::test_support::{announce, public_files, redundant, redundant_owned, service},
        FileId,
    };

    /// Which bucket a download of `id` is signed for.
    async fn served_from(svc: &FakeService, id: FileId) -> String {
        let url = svc.download_url(&id.to_string(), None, "192.0.2.1").await.unwrap();
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
        match svc.download_url(&id.to_string(), None, "192.0.2.1").await {
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
        // What the second region's probe saw is its own view: it does not steer this region.
        let seen_elsewhere = crate::health::RegionHealth {
            observer: "us-west-2".into(),
            role: CopyRole::Replica,
            region: "us-west-2".into(),
            status: twinshare_api::RegionStatus::Down,
            checked_at_ms: 1_000,
            latency_ms: 2_000,
            consecutive_failures: 2,
            last_error: Some("timeout".into()),
        };
        svc.metadata.record_region_health(&seen_elsewhere).await.unwrap();
        let down = crate::health::RegionHealth {
            observer: "eu-west-1".into(),
            role: CopyRole::Primary,
            region: "eu-west-1".into(),
            ..seen_elsewhere.clone()
        };
        svc.metadata.record_region_health(&down).await.unwrap();
        // The primary answers, but the probe said it is down: it is not even asked.
        assert_eq!(served_from(&svc, id).await, "replica");
        match svc
            .create_upload(announce("b.txt", Visibility::Listed), &Default::default())
            .await
        {
            Err(ApiError::UploadsPaused(message)) => assert!(message.contains("downloads still work"), "{message}"),
            other => panic!("{other:?}"),
        }
        let status = svc.status().await.unwrap();
        assert_eq!(status.regions[0].status, twinshare_api::RegionStatus::Down);
        assert_eq!(status.regions[1].status, twinshare_api::RegionStatus::Unknown);
        assert_eq!(status.served_by, svc.primary.region(), "the primary's API unless told");
    }

    #[tokio::test]
    async fn an_outage_of_the_only_verified_copy_says_so() {
        let svc = service();
        let created = svc
            .create_upload(announce("a.txt", Visibility::Listed), &Default::default())
            .await
            .unwrap();
        svc.primary
            .put(&FileId::parse(&created.file.id).unwrap().object_key(), b"abc");
        svc.complete_upload(&created.file.id, Some(&created.manage_token))
            .await
            .unwrap();
        svc.primary.set_down(true);
        match svc.download_url(&created.file.id, None, "192.0.2.1").await {
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
            .create_upload(announce("my file ü.txt", Visibility::Unlisted), &Default::default())
            .await
            .unwrap();
        svc.primary
            .put(&FileId::parse(&created.file.id).unwrap().object_key(), b"abc");
        svc.complete_upload(&created.file.id, Some(&created.manage_token))
            .await
            .unwrap();
        let url = svc.download_url(&created.file.id, None, "192.0.2.1").await.unwrap();
        assert!(url.contains("my%20file%20%C3%BC.txt"), "{url}");
        // Unlisted: reachable by id, absent from the table.
        assert_eq!(
            svc.get_file(&created.file.id).await.unwrap().visibility,
            Visibility::Unlisted
        );
        assert!(public_files(&svc).await.is_empty());
    }

    /// A redundant file downloaded with each region answering its check after a delay: which
    /// bucket the download was signed for, how long it took (virtual time), and the service.
    async fn hedged_download(primary_delay: Duration, replica_delay: Duration) -> (String, Duration, FakeService) {
        let svc = service();
        let id = redundant(&svc).await;
        svc.primary.set_check_delay(primary_delay);
        svc.replica.set_check_delay(replica_delay);
        let started = tokio::time::Instant::now();
        let bucket = served_from(&svc, id).await;
        (bucket, started.elapsed(), svc)
    }

    #[tokio::test(start_paused = true)]
    async fn a_hanging_primary_costs_the_hedge_delay_not_the_check_timeout() {
        let (bucket, waited, svc) = hedged_download(Duration::from_secs(30), Duration::ZERO).await;
        assert_eq!(bucket, "replica");
        // Virtual time: the replica was asked after 50 ms and answered at once; the primary's
        // 400 ms check timeout was not waited for.
        assert_eq!(waited, svc.settings.hedge_after);
        assert_eq!(svc.replica.checks(), 1);
    }

    #[tokio::test(start_paused = true)]
    async fn a_primary_that_answers_in_time_is_used_and_the_replica_is_not_asked() {
        let (bucket, waited, svc) = hedged_download(Duration::from_millis(20), Duration::ZERO).await;
        assert_eq!(bucket, "primary");
        assert_eq!(waited, Duration::from_millis(20));
        assert_eq!(svc.replica.checks(), 0, "no hedge in the normal case");
    }

    #[tokio::test(start_paused = true)]
    async fn after_the_hedge_the_primary_still_wins_when_it_answers_first() {
        let (bucket, waited, svc) = hedged_download(Duration::from_millis(80), Duration::from_millis(100)).await;
        assert_eq!(bucket, "primary");
        assert_eq!(waited, Duration::from_millis(80));
        assert_eq!(svc.replica.checks(), 1, "the replica was asked after the hedge delay");
    }

    #[tokio::test(start_paused = true)]
    async fn a_primary_that_says_no_before_the_hedge_sends_the_download_to_the_replica_at_once() {
        let svc = service();
        let id = redundant(&svc).await;
        svc.primary.remove(&id.object_key());
        let started = tokio::time::Instant::now();
        assert_eq!(served_from(&svc, id).await, "replica");
        assert_eq!(started.elapsed(), Duration::ZERO);
    }

    #[tokio::test(start_paused = true)]
    async fn both_regions_hanging_is_a_503_after_one_check_timeout() {
        let svc = service();
        let id = redundant(&svc).await;
        svc.primary.set_check_delay(Duration::from_secs(30));
        svc.replica.set_check_delay(Duration::from_secs(30));
        let started = tokio::time::Instant::now();
        let err = svc.download_url(&id.to_string(), None, "192.0.2.1").await.unwrap_err();
        assert!(matches!(err, ApiError::NoReachableCopy(_)), "{err:?}");
        // The replica's check started 50 ms after the primary's and ran its full 400 ms.
        assert_eq!(
            started.elapsed(),
            svc.settings.hedge_after + svc.settings.copy_check_timeout
        );
    }

    #[tokio::test]
    async fn a_download_limit_of_k_allows_exactly_k_of_n_concurrent_downloads() {
        let svc = service();
        let request = twinshare_api::CreateUploadRequest {
            max_downloads: Some(3),
            ..announce("a.txt", Visibility::Unlisted)
        };
        let (id, _) = redundant_owned(&svc, request).await;
        let id = id.to_string();
        let attempts = (0..50).map(|_| svc.download_url(&id, None, "192.0.2.1"));
        let answers = futures::future::join_all(attempts).await;
        let granted = answers.iter().filter(|a| a.is_ok()).count();
        assert_eq!(granted, 3);
        assert!(answers
            .iter()
            .filter_map(|a| a.as_ref().err())
            .all(|e| matches!(e, ApiError::DownloadLimitReached(_))));
        let view = svc.get_file(&id).await.unwrap();
        assert_eq!((view.max_downloads, view.downloads_left), (Some(3), Some(0)));
        // The URL of a limited file lives a minute, not the usual five.
        let other = twinshare_api::CreateUploadRequest {
            max_downloads: Some(1),
            ..announce("b.txt", Visibility::Unlisted)
        };
        let (id, _) = redundant_owned(&svc, other).await;
        let url = svc.download_url(&id.to_string(), None, "192.0.2.1").await.unwrap();
        assert!(url.contains("expires=60&"), "{url}");
    }

    #[tokio::test]
    async fn a_limited_download_is_refused_when_its_count_cannot_be_written() {
        let svc = service();
        let request = twinshare_api::CreateUploadRequest {
            max_downloads: Some(3),
            ..announce("a.txt", Visibility::Unlisted)
        };
        let (id, _) = redundant_owned(&svc, request).await;
        svc.metadata.fail_next_write("the home region is down");
        assert!(matches!(
            svc.download_url(&id.to_string(), None, "192.0.2.1").await,
            Err(ApiError::LimitUnavailable(_))
        ));
        assert_eq!(svc.get_file(&id.to_string()).await.unwrap().downloads_left, Some(3));
    }

    #[tokio::test]
    async fn in_the_second_region_a_limited_file_is_refused_and_an_unlimited_one_downloads() {
        let mut svc = service();
        let limited = twinshare_api::CreateUploadRequest {
            max_downloads: Some(3),
            ..announce("a.txt", Visibility::Unlisted)
        };
        let (limited, _) = redundant_owned(&svc, limited).await;
        let unlimited = redundant(&svc).await;
        svc.settings.serving_region = Some(svc.replica.region().to_owned());
        assert!(matches!(
            svc.download_url(&limited.to_string(), None, "192.0.2.1").await,
            Err(ApiError::LimitUnavailable(_))
        ));
        assert_eq!(
            svc.get_file(&limited.to_string()).await.unwrap().downloads_left,
            Some(3),
            "nothing counted"
        );
        assert!(svc
            .download_url(&unlimited.to_string(), None, "192.0.2.1")
            .await
            .is_ok());
    }
}
