//! The password of a protected file, checked on download: Argon2id against the stored hash,
//! after the client's backoff (see [`crate::password`]).

use super::Service;
use crate::{
    password,
    ports::{Clock, MetadataStore, ObjectStore},
    record::FileRecord,
    ApiError,
};

impl<S: ObjectStore, M: MetadataStore, C: Clock> Service<S, M, C> {
    /// Lets the download of `record` go ahead if it has no password or `given` is it. `client`
    /// is who asks (the caller's address): wrong passwords slow down that client on that file
    /// only, so a stranger guessing cannot lock the owner, or anyone else, out.
    pub(super) async fn unlock(&self, record: &FileRecord, given: Option<&str>, client: &str) -> Result<(), ApiError> {
        let Some(phc) = &record.password_hash else {
            return Ok(());
        };
        let given = given.ok_or_else(|| ApiError::PasswordRequired(record.id.to_string()))?;
        let guesser = password::guesser(client, &record.id.to_string());
        let now = self.clock.now_ms();
        let attempts = self.metadata.password_attempts(record.id, &guesser).await?;
        if let Some(attempts) = attempts {
            let allowed_at = attempts.last_failure_ms + password::wait_after(attempts.failures);
            if now < allowed_at {
                let retry_after_secs = u64::try_from((allowed_at - now + 999) / 1000).unwrap_or(1);
                return Err(ApiError::TooManyAttempts { retry_after_secs });
            }
        }
        if password::matches(phc, given) {
            if attempts.is_some_and(|a| a.failures > 0) {
                self.metadata.clear_wrong_passwords(record.id, &guesser).await?;
            }
            return Ok(());
        }
        let attempts = self.metadata.record_wrong_password(record.id, &guesser, now).await?;
        tracing::info!(file_id = %record.id, failures = attempts.failures, "wrong password");
        Err(ApiError::PasswordWrong)
    }
}

#[cfg(test)]
mod tests {
    use twinshare_api::{CreateUploadRequest, EditFileRequest, Visibility};

    use crate::{
        fakes::FixedClock,
        password::FREE_ATTEMPTS,
        service::test_support::{announce, redundant_owned, service},
        ApiError, Service,
    };

    fn protected(password: &str) -> CreateUploadRequest {
        CreateUploadRequest {
            password: Some(password.into()),
            ..announce("secret.txt", Visibility::Listed)
        }
    }

    #[tokio::test]
    async fn a_protected_file_downloads_only_with_its_password() {
        let svc = service();
        let (id, token) = redundant_owned(&svc, protected("open sesame")).await;
        let id = id.to_string();
        let view = svc.get_file(&id).await.unwrap();
        assert!(view.protected);
        let json = serde_json::to_string(&view).unwrap();
        assert!(!json.contains("argon2") && !json.contains("sesame"), "{json}");
        assert!(matches!(
            svc.download_url(&id, None, "192.0.2.1").await,
            Err(ApiError::PasswordRequired(_))
        ));
        assert_eq!(
            svc.download_url(&id, Some("open says me"), "192.0.2.1").await,
            Err(ApiError::PasswordWrong)
        );
        assert!(svc.download_url(&id, Some("open sesame"), "192.0.2.1").await.is_ok());
        // The owner changes it, then removes it.
        let change = EditFileRequest {
            password: Some(Some("new words".into())),
            ..Default::default()
        };
        svc.edit_file(&id, Some(&token), change).await.unwrap();
        assert!(svc.download_url(&id, Some("open sesame"), "192.0.2.1").await.is_err());
        assert!(svc.download_url(&id, Some("new words"), "192.0.2.1").await.is_ok());
        let remove = EditFileRequest {
            password: Some(None),
            ..Default::default()
        };
        assert!(!svc.edit_file(&id, Some(&token), remove).await.unwrap().protected);
        assert!(svc.download_url(&id, None, "192.0.2.1").await.is_ok());
    }

    #[tokio::test]
    async fn guessing_is_slowed_for_the_guesser_only() {
        let svc = service();
        let (id, _) = redundant_owned(&svc, protected("open sesame")).await;
        let id = id.to_string();
        for _ in 0..FREE_ATTEMPTS {
            assert_eq!(
                svc.download_url(&id, Some("guess"), "203.0.113.9").await,
                Err(ApiError::PasswordWrong)
            );
        }
        // Then the guesser must wait, whatever it sends, even the right password.
        assert_eq!(
            svc.download_url(&id, Some("open sesame"), "203.0.113.9").await,
            Err(ApiError::TooManyAttempts { retry_after_secs: 1 })
        );
        // The owner, elsewhere, is not locked out.
        assert!(svc.download_url(&id, Some("open sesame"), "198.51.100.7").await.is_ok());
        // The guesser, after waiting, may try again; a right password clears the count.
        let later = Service {
            clock: FixedClock(1_000 + 1_000),
            ..svc
        };
        assert!(later
            .download_url(&id, Some("open sesame"), "203.0.113.9")
            .await
            .is_ok());
        for _ in 0..FREE_ATTEMPTS {
            assert_eq!(
                later.download_url(&id, Some("guess"), "203.0.113.9").await,
                Err(ApiError::PasswordWrong),
                "the count started over"
            );
        }
    }
}
