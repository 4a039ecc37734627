//! The terms a file is shared on, chosen at upload and changed by its owner: expiry and the
//! download limit, checked against what the operator allows.

use twinshare_api::EditFileRequest;

use super::file_name;
use crate::ApiError;

/// Shortest expiry: anything shorter is more likely a mistake than a wish.
pub const MIN_EXPIRY_SECS: u64 = 60;
/// Largest download limit (a limit that high is no limit, but it still costs a counted write).
pub const MAX_DOWNLOAD_LIMIT: u32 = 1_000_000;

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// How long files are shared, as the operator configured it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpiryPolicy {
    /// Applied when an upload does not choose; `None`: never expires.
    pub default_ms: Option<i64>,
    /// The longest a file may be shared; `None`: no maximum, and "never" may be chosen.
    pub max_ms: Option<i64>,
}

impl Default for ExpiryPolicy {
    fn default() -> Self {
        ExpiryPolicy {
            default_ms: Some(7 * DAY_MS),
            max_ms: Some(30 * DAY_MS),
        }
    }
}

impl ExpiryPolicy {
    /// From the operator's parameters in days; 0 means "never" (as the default) or "no maximum".
    /// A default beyond the maximum (or "never" under one) is cut to the maximum.
    pub fn from_days(default_days: u32, max_days: u32) -> Self {
        let days = |d: u32| (d > 0).then(|| i64::from(d) * DAY_MS);
        let max_ms = days(max_days);
        let default_ms = match (days(default_days), max_ms) {
            (Some(default), Some(max)) => Some(default.min(max)),
            (None, Some(max)) => Some(max),
            (default, None) => default,
        };
        ExpiryPolicy { default_ms, max_ms }
    }

    /// How long from now the file is shared (`None`: never), from a request's two fields.
    pub fn choose(&self, expires_in_secs: Option<u64>, never_expires: bool) -> Result<Option<i64>, ApiError> {
        let field = "expires_in_secs";
        match (expires_in_secs, never_expires) {
            (Some(_), true) => Err(ApiError::invalid(
                field,
                "give either an expiry or never_expires, not both",
            )),
            (None, true) => match self.max_ms {
                None => Ok(None),
                Some(max) => Err(ApiError::invalid(
                    "never_expires",
                    format!(
                        "this service shares files for at most {}; choose an expiry",
                        describe(max)
                    ),
                )),
            },
            (None, false) => Ok(self.default_ms),
            (Some(secs), false) => {
                let ms = i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX);
                if secs < MIN_EXPIRY_SECS {
                    return Err(ApiError::invalid(
                        field,
                        format!("an expiry is at least {MIN_EXPIRY_SECS} seconds"),
                    ));
                }
                match self.max_ms {
                    Some(max) if ms > max => Err(ApiError::invalid(
                        field,
                        format!(
                            "this service shares files for at most {} ({} seconds)",
                            describe(max),
                            max / 1000
                        ),
                    )),
                    _ => Ok(Some(ms)),
                }
            }
        }
    }
}

/// "30 days", "1 day", "12 hours".
fn describe(ms: i64) -> String {
    let plural = |n: i64, unit: &str| format!("{n} {unit}{}", if n == 1 { "" } else { "s" });
    if ms % DAY_MS == 0 {
        plural(ms / DAY_MS, "day")
    } else {
        plural(ms / (60 * 60 * 1000), "hour")
    }
}

pub fn max_downloads(limit: Option<u32>) -> Result<Option<u32>, ApiError> {
    match limit {
        Some(0) => Err(ApiError::invalid(
            "max_downloads",
            "a download limit is at least 1; leave it out for unlimited downloads",
        )),
        Some(n) if n > MAX_DOWNLOAD_LIMIT => Err(ApiError::invalid(
            "max_downloads",
            format!("a download limit is at most {MAX_DOWNLOAD_LIMIT}; leave it out for unlimited downloads"),
        )),
        other => Ok(other),
    }
}

/// An owner's edit that passed validation; `None` leaves a field as it is.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Edit {
    pub name: Option<String>,
    pub visibility: Option<twinshare_api::Visibility>,
    /// A new expiry, absolute: `Some(None)` never expires.
    pub expiry_ms: Option<Option<i64>>,
    /// `Some(None)` removes the limit.
    pub max_downloads: Option<Option<u32>>,
    /// The new password's Argon2id hash; `Some(None)` removes the password.
    pub password_hash: Option<Option<String>>,
}

impl Edit {
    pub fn is_empty(&self) -> bool {
        *self == Edit::default()
    }
}

pub fn edit(request: EditFileRequest, policy: &ExpiryPolicy, now_ms: i64) -> Result<Edit, ApiError> {
    let expiry_ms = if request.expires_in_secs.is_some() || request.never_expires {
        Some(
            policy
                .choose(request.expires_in_secs, request.never_expires)?
                .map(|ms| now_ms.saturating_add(ms)),
        )
    } else {
        None
    };
    let edit = Edit {
        name: request.name.as_deref().map(file_name).transpose()?,
        visibility: request.visibility,
        expiry_ms,
        max_downloads: request.max_downloads.map(max_downloads).transpose()?,
        password_hash: None,
    };
    let password = request.password;
    if edit.is_empty() && password.is_none() {
        return Err(ApiError::invalid(
            "body",
            "nothing to change: give at least one of name, visibility, expires_in_secs, never_expires, max_downloads, password",
        ));
    }
    let password_hash = match password {
        Some(Some(new)) => Some(Some(crate::password::hash(crate::password::validate(&new)?)?)),
        Some(None) => Some(None),
        None => None,
    };
    Ok(Edit { password_hash, ..edit })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn field(err: ApiError) -> &'static str {
        match err {
            ApiError::Invalid { field, .. } => field,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn expiry_is_the_default_or_a_choice_within_the_maximum() {
        let policy = ExpiryPolicy::from_days(7, 30);
        assert_eq!(policy.choose(None, false), Ok(Some(7 * DAY_MS)));
        assert_eq!(policy.choose(Some(3600), false), Ok(Some(3_600_000)));
        assert_eq!(policy.choose(Some(30 * 86_400), false), Ok(Some(30 * DAY_MS)));
        let err = policy.choose(Some(30 * 86_400 + 1), false).unwrap_err();
        assert!(err.to_string().contains("at most 30 days"), "{err}");
        assert_eq!(field(policy.choose(Some(59), false).unwrap_err()), "expires_in_secs");
        assert_eq!(field(policy.choose(None, true).unwrap_err()), "never_expires");
        assert_eq!(field(policy.choose(Some(3600), true).unwrap_err()), "expires_in_secs");
        assert_eq!(
            field(policy.choose(Some(u64::MAX), false).unwrap_err()),
            "expires_in_secs"
        );
    }

    #[test]
    fn never_is_allowed_only_without_a_maximum() {
        let unlimited = ExpiryPolicy::from_days(0, 0);
        assert_eq!(
            unlimited,
            ExpiryPolicy {
                default_ms: None,
                max_ms: None
            }
        );
        assert_eq!(unlimited.choose(None, true), Ok(None));
        assert_eq!(unlimited.choose(None, false), Ok(None));
        // A default of "never" under a maximum becomes the maximum; so does a longer default.
        assert_eq!(ExpiryPolicy::from_days(0, 3).default_ms, Some(3 * DAY_MS));
        assert_eq!(ExpiryPolicy::from_days(9, 3).default_ms, Some(3 * DAY_MS));
    }

    #[test]
    fn download_limits_are_at_least_one() {
        assert_eq!(max_downloads(None), Ok(None));
        assert_eq!(max_downloads(Some(3)), Ok(Some(3)));
        assert_eq!(field(max_downloads(Some(0)).unwrap_err()), "max_downloads");
        assert!(max_downloads(Some(MAX_DOWNLOAD_LIMIT + 1)).is_err());
    }

    #[test]
    fn an_edit_is_validated_like_an_upload_and_must_change_something() {
        let policy = ExpiryPolicy::default();
        assert_eq!(field(edit(EditFileRequest::default(), &policy, 0).unwrap_err()), "body");
        let bad_name = EditFileRequest {
            name: Some("   ".into()),
            ..Default::default()
        };
        assert_eq!(field(edit(bad_name, &policy, 0).unwrap_err()), "name");
        let change = EditFileRequest {
            expires_in_secs: Some(3600),
            max_downloads: Some(None),
            ..Default::default()
        };
        let valid = edit(change, &policy, 1_000).unwrap();
        assert_eq!(valid.expiry_ms, Some(Some(3_601_000)));
        assert_eq!(valid.max_downloads, Some(None));
        assert_eq!(valid.name, None);
    }
}
