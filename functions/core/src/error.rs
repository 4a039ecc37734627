//! The one error type of the use cases. Its HTTP status and code are chosen in
//! `twinshare-lambda` (one place); here it only says what went wrong, in words a person can act on.

use crate::ports::PortError;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum ApiError {
    /// The request itself is wrong: which field, and what to do about it.
    #[error("{field}: {message}")]
    Invalid { field: &'static str, message: String },

    #[error("the request body is not valid JSON for this call: {0}")]
    MalformedBody(String),

    #[error("the request body is larger than {limit} bytes")]
    BodyTooLarge { limit: usize },

    #[error("no file has the id {0}; check the link")]
    FileNotFound(String),

    #[error("this call needs the file's manage token: send it as `Authorization: Bearer <token>`, the token you got when you created the upload (it is in the manage link, after the #)")]
    ManageTokenMissing,

    /// Says nothing about the file: not whether it exists, nor anything in its record.
    #[error("this manage token does not grant that; check that the manage link is complete")]
    ManageTokenInvalid,

    #[error("file {0} is protected by a password: send it in the X-Share-Password header")]
    PasswordRequired(String),

    #[error("that is not the file's password")]
    PasswordWrong,

    #[error("too many wrong passwords: try again in {retry_after_secs} s")]
    TooManyAttempts { retry_after_secs: u64 },

    #[error("file {0} was deleted by its owner")]
    FileDeleted(String),

    #[error("file {0} was removed by the site's operator")]
    FileRemoved(String),

    #[error("this site takes no uploads: it only serves the files it holds")]
    UploadsClosed,

    #[error("this site takes uploads from people with its upload code: enter the code the site's operator gave you")]
    UploadCodeMissing,

    #[error("that upload code is not this site's: check it with the site's operator")]
    UploadCodeInvalid,

    #[error("uploads from your address are blocked on this site")]
    UploaderBlocked,

    #[error(
        "you have reached this site's limit of {limit}; try again in {}",
        wait(retry_after_secs)
    )]
    RateLimited { limit: String, retry_after_secs: u64 },

    #[error("this site's storage is full: the file needs {} and {} are free; delete files you shared, or ask the site's operator for room", bytes(*needed), bytes(*free))]
    QuotaExceeded { needed: u64, free: u64 },

    #[error("this file's content was taken down from this site and cannot be shared here again")]
    ContentBlocked,

    #[error("file {0} was sent in parts and has no whole-file SHA-256: its content cannot be blocked")]
    ContentNotBlockable(String),

    #[error("file {0} has expired and is no longer shared")]
    FileExpired(String),

    #[error("file {0} has reached its download limit")]
    DownloadLimitReached(String),

    #[error("file {0} has a download limit, and the region that counts its downloads (its home region) is not answering; try again in a few minutes")]
    LimitUnavailable(String),

    #[error("no such API route: {method} {path}")]
    RouteNotFound { method: String, path: String },

    #[error("file {0} is still being uploaded; try again when the upload has completed")]
    NotYetAvailable(String),

    #[error("the bytes of file {0} have not arrived: PUT the file to the upload URL first, then complete the upload")]
    UploadMissing(String),

    #[error("the stored object has {actual} bytes but the upload declared {declared}; upload the file again with the same content")]
    SizeMismatch { declared: u64, actual: u64 },

    #[error("the stored object's SHA-256 differs from the declared one; upload the file again")]
    ChecksumMismatch,

    #[error("the upload of file {0} has completed already")]
    AlreadyCompleted(String),

    #[error("file {0} is sent in one request, not in parts")]
    NotMultipart(String),

    #[error("the upload is not finished: {0}")]
    UploadIncomplete(String),

    #[error("the upload of file {0} was cancelled or has expired; start the upload again")]
    UploadGone(String),

    #[error("uploads are paused: {0}; try again in a few minutes")]
    UploadsPaused(String),

    /// Only a file's home region writes its record; this request reached the other one (its
    /// home region was not answering when the client chose).
    #[error("{what} of file {id} happens in its home region {home}, which this request did not reach; try again when {home} answers")]
    HomeRegionAway { id: String, home: String, what: String },

    #[error("this file cannot be downloaded right now: {0}; try again in a few minutes")]
    NoReachableCopy(String),

    #[error("storage is unavailable right now, try again in a minute ({0})")]
    Unavailable(String),

    #[error("internal error: {0}")]
    Internal(String),
}

/// A size as a person reads it: bytes, then KiB, MiB, GiB with one decimal.
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["KiB", "MiB", "GiB", "TiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut value = n as f64 / 1024.0;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    format!("{value:.1} {}", UNITS[unit])
}

/// A wait as a person reads it: seconds, minutes or hours.
fn wait(secs: &u64) -> String {
    match *secs {
        0..=90 => format!("{secs} s"),
        91..=5_400 => format!("{} min", secs.div_ceil(60)),
        _ => format!("{} h", secs.div_ceil(3_600)),
    }
}

impl ApiError {
    pub fn invalid(field: &'static str, message: impl Into<String>) -> Self {
        ApiError::Invalid {
            field,
            message: message.into(),
        }
    }
}

impl From<PortError> for ApiError {
    fn from(err: PortError) -> Self {
        match err {
            PortError::Unavailable(why) => ApiError::Unavailable(why),
            PortError::Other(why) => ApiError::Internal(why),
        }
    }
}
