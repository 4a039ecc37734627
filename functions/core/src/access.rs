//! Who may upload: the operator's choice of [`UploadMode`], and the check every new upload
//! passes. Only announcing an upload is gated: the calls that follow carry the upload's own
//! manage token, and downloads of shared links never need the code.

use twinshare_api::UploadMode;

use crate::{password, ApiError};

/// The upload mode with what it needs: the Argon2id hash (PHC string) of the upload code, never
/// the code itself. The operator makes the hash with `operator upload-code-hash` and keeps it in
/// SSM Parameter Store; the template hands it to the functions (README, "Who may upload").
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UploadAccess {
    Open,
    Code { hash: String },
    Closed,
}

impl UploadAccess {
    /// From the configuration's `UPLOAD_MODE` and `UPLOAD_CODE_HASH`: a `code` mode without a
    /// readable hash is refused at start rather than locking every uploader out at run time.
    pub fn from_settings(mode: &str, code_hash: Option<&str>) -> Result<Self, String> {
        match (mode, code_hash) {
            ("open", _) => Ok(UploadAccess::Open),
            ("closed", _) => Ok(UploadAccess::Closed),
            ("code", Some(hash)) if password::is_hash(hash) => Ok(UploadAccess::Code { hash: hash.to_owned() }),
            ("code", Some(_)) => {
                Err("UPLOAD_CODE_HASH is not an Argon2 hash: make one with `operator upload-code-hash`".into())
            }
            ("code", None) => {
                Err("UPLOAD_MODE=code needs UPLOAD_CODE_HASH (make it with `operator upload-code-hash`)".into())
            }
            (other, _) => Err(format!(
                "UPLOAD_MODE={other:?} is none of \"open\", \"code\", \"closed\""
            )),
        }
    }

    pub fn mode(&self) -> UploadMode {
        match self {
            UploadAccess::Open => UploadMode::Open,
            UploadAccess::Code { .. } => UploadMode::Code,
            UploadAccess::Closed => UploadMode::Closed,
        }
    }

    /// Whether a new upload with this `code` (the `x-upload-code` header) may be announced.
    pub fn admit(&self, code: Option<&str>) -> Result<(), ApiError> {
        match (self, code) {
            (UploadAccess::Open, _) => Ok(()),
            (UploadAccess::Closed, _) => Err(ApiError::UploadsClosed),
            (UploadAccess::Code { .. }, None) => Err(ApiError::UploadCodeMissing),
            (UploadAccess::Code { hash }, Some(code)) if password::matches(hash, code) => Ok(()),
            (UploadAccess::Code { .. }, Some(_)) => Err(ApiError::UploadCodeInvalid),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_mode_admits_whom_it_says() {
        let code = UploadAccess::from_settings("code", Some(&password::hash("team-42").unwrap())).unwrap();
        assert_eq!(code.mode(), UploadMode::Code);
        assert_eq!(code.admit(Some("team-42")), Ok(()));
        assert_eq!(code.admit(Some("team-43")), Err(ApiError::UploadCodeInvalid));
        assert_eq!(code.admit(Some("")), Err(ApiError::UploadCodeInvalid));
        assert_eq!(code.admit(None), Err(ApiError::UploadCodeMissing));
        let open = UploadAccess::from_settings("open", None).unwrap();
        assert_eq!(open.admit(None), Ok(()));
        let closed = UploadAccess::from_settings("closed", None).unwrap();
        assert_eq!(closed.admit(Some("team-42")), Err(ApiError::UploadsClosed));
    }

    #[test]
    fn a_code_mode_without_a_usable_hash_does_not_start() {
        assert!(UploadAccess::from_settings("code", None).is_err());
        assert!(
            UploadAccess::from_settings("code", Some("team-42")).is_err(),
            "the code itself, not a hash"
        );
        assert!(UploadAccess::from_settings("invite", None).is_err());
    }
}
