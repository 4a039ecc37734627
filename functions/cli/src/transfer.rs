//! What uploads and downloads share: the progress bar, an optional rate limit, retries with
//! backoff, and the checks of bytes against what the API and S3 say they are.

use std::{
    future::Future,
    sync::{Arc, Mutex},
    time::Duration,
};

use base64::{engine::general_purpose::STANDARD, Engine};
use indicatif::{ProgressBar, ProgressStyle};
use md5::Md5;
use sha2::{Digest, Sha256};
use tokio::time::Instant;

use crate::error::CliError;

/// Attempts of one step (a part's PUT, an API call) before the command stops; run again, it
/// resumes.
pub const MAX_ATTEMPTS: u32 = 5;

/// A bar of bytes with speed and time left, drawn on stderr when it is a terminal (hidden
/// otherwise, and with `--json`, so that scripts read clean output).
pub fn progress_bar(total: u64, label: &str, hidden: bool) -> ProgressBar {
    if hidden {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(total);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {binary_bytes_per_sec}, {eta} left")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    bar.set_message(label.to_owned());
    bar
}

/// At most `bytes_per_sec` over the whole transfer, shared by parts sent in parallel.
#[derive(Clone)]
pub struct RateLimit {
    inner: Option<Arc<Mutex<(Instant, u64)>>>,
    bytes_per_sec: u64,
}

impl RateLimit {
    pub fn new(bytes_per_sec: Option<u64>) -> RateLimit {
        RateLimit {
            inner: bytes_per_sec.map(|_| Arc::new(Mutex::new((Instant::now(), 0)))),
            bytes_per_sec: bytes_per_sec.unwrap_or(0).max(1),
        }
    }

    /// Counts `bytes` as sent and waits until the limit allows them.
    pub async fn take(&self, bytes: usize) {
        let Some(inner) = &self.inner else { return };
        let wait = {
            let mut state = inner.lock().expect("not poisoned");
            state.1 += bytes as u64;
            let due = Duration::from_secs_f64(state.1 as f64 / self.bytes_per_sec as f64);
            due.saturating_sub(state.0.elapsed())
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// Runs `step` until it succeeds, fails for good, or has failed [`MAX_ATTEMPTS`] times, waiting
/// 1 s, 2 s, 4 s … between attempts. `what` names the step in the final error.
pub async fn with_retries<T, F, Fut>(what: &str, mut step: F) -> Result<T, CliError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CliError>>,
{
    let mut attempt = 1;
    loop {
        match step().await {
            Err(err) if err.is_transient() && attempt < MAX_ATTEMPTS => {
                tokio::time::sleep(Duration::from_secs(1 << (attempt - 1))).await;
                attempt += 1;
            }
            Err(CliError::Unavailable(message)) if attempt >= MAX_ATTEMPTS => {
                return Err(CliError::Unavailable(format!(
                    "{what} failed {attempt} times: {message}"
                )));
            }
            other => return other,
        }
    }
}

pub fn sha256_base64(bytes: &[u8]) -> String {
    STANDARD.encode(Sha256::digest(bytes))
}

/// How a download is checked: the whole file's SHA-256 the API gave, or for a file sent in
/// parts (whose part hashes are not kept), the ETag S3 gave it: the MD5 of its parts' MD5s.
#[derive(Debug, Clone, PartialEq)]
pub enum Expected {
    Sha256(String),
    MultipartEtag { etag: String, part_size: u64 },
}

/// Hashes a file's bytes as they are read, for one [`Expected`] check.
pub enum Checker {
    Sha256(Sha256),
    Parts {
        part_size: u64,
        in_part: u64,
        part: Md5,
        part_digests: Vec<u8>,
        count: u32,
    },
}

impl Checker {
    pub fn new(expected: &Expected) -> Checker {
        match expected {
            Expected::Sha256(_) => Checker::Sha256(Sha256::new()),
            Expected::MultipartEtag { part_size, .. } => Checker::Parts {
                part_size: *part_size,
                in_part: 0,
                part: Md5::new(),
                part_digests: Vec::new(),
                count: 0,
            },
        }
    }

    pub fn update(&mut self, mut bytes: &[u8]) {
        match self {
            Checker::Sha256(hash) => hash.update(bytes),
            Checker::Parts {
                part_size,
                in_part,
                part,
                part_digests,
                count,
            } => {
                while !bytes.is_empty() {
                    let take = ((*part_size - *in_part) as usize).min(bytes.len());
                    part.update(&bytes[..take]);
                    *in_part += take as u64;
                    bytes = &bytes[take..];
                    if *in_part == *part_size {
                        part_digests.extend_from_slice(&std::mem::take(part).finalize());
                        *in_part = 0;
                        *count += 1;
                    }
                }
            }
        }
    }

    /// Whether what was read is the expected file; `Err` says how it differs.
    pub fn check(self, expected: &Expected) -> Result<&'static str, String> {
        match (self, expected) {
            (Checker::Sha256(hash), Expected::Sha256(want)) => {
                let got = STANDARD.encode(hash.finalize());
                if &got == want {
                    Ok("SHA-256")
                } else {
                    Err(format!("its SHA-256 is {got}, the file's is {want}"))
                }
            }
            (
                Checker::Parts {
                    in_part,
                    part,
                    mut part_digests,
                    mut count,
                    ..
                },
                Expected::MultipartEtag { etag, .. },
            ) => {
                if in_part > 0 {
                    part_digests.extend_from_slice(&part.finalize());
                    count += 1;
                }
                let digest: String = Md5::digest(&part_digests).iter().map(|b| format!("{b:02x}")).collect();
                let got = format!("{digest}-{count}");
                if &got == etag {
                    Ok("S3 ETag (MD5 of each part)")
                } else {
                    Err(format!("its parts' MD5s make {got}, S3's ETag is {etag}"))
                }
            }
            _ => unreachable!("a checker is made for its expectation"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_multipart_etag_is_the_md5_of_its_parts_md5s_whatever_the_reads() {
        let bytes: Vec<u8> = (0..25u32).map(|i| (i * 7) as u8).collect();
        let mut digests = Vec::new();
        for part in bytes.chunks(10) {
            digests.extend_from_slice(&Md5::digest(part));
        }
        let digest: String = Md5::digest(&digests).iter().map(|b| format!("{b:02x}")).collect();
        let expected = Expected::MultipartEtag {
            etag: format!("{digest}-3"),
            part_size: 10,
        };
        for read_size in [1, 3, 10, 25] {
            let mut checker = Checker::new(&expected);
            for read in bytes.chunks(read_size) {
                checker.update(read);
            }
            assert!(checker.check(&expected).is_ok(), "reads of {read_size}");
        }
        let mut checker = Checker::new(&expected);
        checker.update(&bytes[1..]);
        assert!(checker.check(&expected).unwrap_err().contains("S3's ETag"));
    }

    #[test]
    fn a_sha256_check_fails_on_other_bytes() {
        let expected = Expected::Sha256(sha256_base64(b"hello"));
        let mut checker = Checker::new(&expected);
        checker.update(b"hel");
        checker.update(b"lo");
        assert_eq!(checker.check(&expected), Ok("SHA-256"));
        let mut checker = Checker::new(&expected);
        checker.update(b"hello!");
        assert!(checker.check(&expected).is_err());
    }

    #[tokio::test(start_paused = true)]
    async fn a_rate_limit_spreads_bytes_over_time() {
        let limit = RateLimit::new(Some(1_000));
        let start = tokio::time::Instant::now();
        for _ in 0..4 {
            limit.take(500).await;
        }
        // 2,000 bytes at 1,000 B/s: about two seconds (the clock is tokio's paused one).
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(1_900) && took < Duration::from_millis(2_100),
            "{took:?}"
        );
    }
}
