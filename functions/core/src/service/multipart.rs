//! Large files, sent in parts: signing parts, listing what is stored, and checking the parts
//! before completion assembles them.

use twinshare_api::{PartUrl, PartUrls, PartUrlsRequest, StoredPart, StoredParts};

use super::Service;
use crate::{
    ports::{Clock, MetadataStore, ObjectStore, PartSpec, UploadedPart},
    record::{FileRecord, MultipartUpload, RecordState, MULTIPART_RESUMABLE_MS},
    validate, ApiError,
};

/// The whole-file identity of a file sent in parts: S3's composite SHA-256, the SHA-256 of the
/// parts' SHA-256s (as S3 checked and listed them) followed by `-` and the number of parts. The
/// server cuts a file by its size alone, so the same bytes always give the same parts and the
/// same identity, whoever sends them. `None` if a part's SHA-256 is not known.
pub fn content_id(parts: &[UploadedPart]) -> Option<String> {
    use base64::{engine::general_purpose::STANDARD, Engine};
    use sha2::{Digest, Sha256};
    let mut digests = Sha256::new();
    for part in parts {
        let digest = STANDARD.decode(part.sha256.as_deref()?).ok()?;
        digests.update(&digest);
    }
    Some(format!("{}-{}", STANDARD.encode(digests.finalize()), parts.len()))
}

impl<S: ObjectStore, M: MetadataStore, C: Clock> Service<S, M, C> {
    /// The record of an upload still in progress, sent in parts, for its owner.
    async fn multipart_upload(&self, id: &str, token: Option<&str>) -> Result<(FileRecord, MultipartUpload), ApiError> {
        let record = self.find_owned(id, token).await?;
        let now = self.clock.now_ms();
        if let Some(gone) = record.gone(now) {
            return Err(gone);
        }
        if record.state == RecordState::Available {
            return Err(ApiError::AlreadyCompleted(record.id.to_string()));
        }
        // Past the resumable window no new URL is signed, so that the sweep can tell when no
        // URL of this upload can write any more (`FileRecord::is_abandoned`).
        if now >= record.created_at_ms + MULTIPART_RESUMABLE_MS {
            return Err(ApiError::UploadGone(record.id.to_string()));
        }
        let multipart = record
            .multipart
            .clone()
            .ok_or_else(|| ApiError::NotMultipart(record.id.to_string()))?;
        // The parts are in the home region's bucket: an upload stays where it started.
        self.act_as_home_of(&record, "resuming the upload")?;
        Ok((record, multipart))
    }

    /// Signs a PUT for each part asked for, bound to its exact length and SHA-256.
    pub async fn part_urls(
        &self,
        id: &str,
        token: Option<&str>,
        request: PartUrlsRequest,
    ) -> Result<PartUrls, ApiError> {
        let (record, multipart) = self.multipart_upload(id, token).await?;
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
                .store_of(record.home)
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
    pub async fn stored_parts(&self, id: &str, token: Option<&str>) -> Result<StoredParts, ApiError> {
        let (record, multipart) = self.multipart_upload(id, token).await?;
        let parts = self
            .store_of(record.home)
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

    /// Every part of the plan, stored with its exact length, in order; or what is wrong.
    pub(super) fn all_parts(
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
}

#[cfg(test)]
mod tests {
    use twinshare_api::{FileStatus, Visibility};

    use super::*;
    use crate::{
        fakes::FakeService,
        service::test_support::{announce, announce_in_parts, service, IN_PARTS_SIZE, SHA_OF_ABC},
        FileId,
    };
    use twinshare_api::UploadPlan;

    const MIB: u64 = 1024 * 1024;
    /// Four 8 MiB parts and a last one of 3 bytes.
    const LARGE: u64 = IN_PARTS_SIZE;

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
        let created = svc
            .create_upload(announce_in_parts("big.bin"), &Default::default())
            .await
            .unwrap();
        let UploadPlan::Multipart(plan) = created.upload else {
            panic!("{:?}", created.upload)
        };
        assert_eq!((plan.part_size, plan.part_count), (8 * MIB, 5));
        assert_eq!(created.file.sha256, None);
        let urls = svc
            .part_urls(&created.file.id, Some(&created.manage_token), part_request([5, 1]))
            .await
            .unwrap();
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
        let err = svc
            .part_urls(&created.file.id, Some(&created.manage_token), part_request([6]))
            .await
            .unwrap_err();
        assert!(matches!(err, ApiError::Invalid { field: "parts", .. }), "{err:?}");
    }

    #[tokio::test]
    async fn completing_assembles_every_part_in_order_and_refuses_while_parts_are_missing() {
        let svc = service();
        let created = svc
            .create_upload(announce_in_parts("big.bin"), &Default::default())
            .await
            .unwrap();
        let id = created.file.id.clone();
        let token = Some(created.manage_token.as_str());
        put_parts(&svc, &id, [1, 3, 5]).await;
        let stored: Vec<u32> = svc
            .stored_parts(&id, token)
            .await
            .unwrap()
            .parts
            .iter()
            .map(|p| p.number)
            .collect();
        assert_eq!(stored, [1, 3, 5]);
        match svc.complete_upload(&id, token).await {
            Err(ApiError::UploadIncomplete(message)) => assert!(message.contains("parts 2, 4"), "{message}"),
            other => panic!("{other:?}"),
        }
        // Resume: only the missing parts are sent.
        put_parts(&svc, &id, [2, 4]).await;
        let done = svc.complete_upload(&id, token).await.unwrap();
        assert_eq!(done.status, FileStatus::Available);
        let key = FileId::parse(&id).unwrap().object_key();
        assert!(
            svc.primary.get(&key).unwrap() == large_bytes(),
            "the parts were not joined in order"
        );
        assert_eq!(svc.primary.open_uploads(), 0);
        // Completing again (say, after a lost answer) answers the same.
        assert_eq!(
            svc.complete_upload(&id, token).await.unwrap().status,
            FileStatus::Available
        );
        assert!(matches!(
            svc.part_urls(&id, token, part_request([1])).await,
            Err(ApiError::AlreadyCompleted(_))
        ));
    }

    #[tokio::test]
    async fn a_part_of_the_wrong_length_is_refused_at_completion() {
        let svc = service();
        let created = svc
            .create_upload(announce_in_parts("big.bin"), &Default::default())
            .await
            .unwrap();
        put_parts(&svc, &created.file.id, 1..=4).await;
        let upload_id = multipart_id(&svc, &created.file.id);
        svc.primary.put_part(&upload_id, 5, b"too long");
        match svc.complete_upload(&created.file.id, Some(&created.manage_token)).await {
            Err(ApiError::UploadIncomplete(message)) => {
                assert!(message.contains("part 5 has 8 bytes instead of 3"), "{message}")
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn aborting_leaves_no_parts_and_a_cancelled_record() {
        let svc = service();
        let created = svc
            .create_upload(announce_in_parts("big.bin"), &Default::default())
            .await
            .unwrap();
        put_parts(&svc, &created.file.id, [1, 2]).await;
        svc.abort_upload(&created.file.id, Some(&created.manage_token))
            .await
            .unwrap();
        assert_eq!(svc.primary.open_uploads(), 0);
        let record = &svc.metadata.records_snapshot()[0];
        assert_eq!(
            record.removal.map(|r| r.reason),
            Some(crate::record::RemovalReason::Cancelled)
        );
        assert!(matches!(
            svc.complete_upload(&created.file.id, Some(&created.manage_token)).await,
            Err(ApiError::UploadGone(_))
        ));
        // Cancelling again answers the same.
        svc.abort_upload(&created.file.id, Some(&created.manage_token))
            .await
            .unwrap();
        // A single-PUT upload: its object goes too.
        let single = svc
            .create_upload(announce("a.txt", Visibility::Listed), &Default::default())
            .await
            .unwrap();
        let key = FileId::parse(&single.file.id).unwrap().object_key();
        svc.primary.put(&key, b"abc");
        assert!(matches!(
            svc.stored_parts(&single.file.id, Some(&single.manage_token)).await,
            Err(ApiError::NotMultipart(_))
        ));
        svc.abort_upload(&single.file.id, Some(&single.manage_token))
            .await
            .unwrap();
        assert_eq!(svc.primary.get(&key), None);
    }

    #[tokio::test]
    async fn a_completed_upload_cannot_be_cancelled() {
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
        assert!(matches!(
            svc.abort_upload(&created.file.id, Some(&created.manage_token)).await,
            Err(ApiError::AlreadyCompleted(_))
        ));
        assert_eq!(svc.metadata.len(), 1);
    }
}
