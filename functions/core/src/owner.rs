//! The owner's secret: a manage token handed out once when an upload is created. Only its
//! SHA-256 is stored. A plain hash is enough because the token is 256 random bits, not a
//! password: there is nothing to guess from the hash, so no slow hash or salt is needed.

use base64::{engine::general_purpose::URL_SAFE_NO_PAD, Engine};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::{record::FileRecord, ApiError};

/// A freshly drawn token: 32 bytes from the OS-seeded CSPRNG, URL-safe base64 (43 characters),
/// so that it fits a URL fragment as it is.
#[derive(Clone, PartialEq, Eq)]
pub struct ManageToken(String);

impl ManageToken {
    pub fn random() -> Self {
        ManageToken(URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What is stored: SHA-256, lowercase hex.
    pub fn hash(&self) -> String {
        hash_of(&self.0)
    }
}

impl std::fmt::Debug for ManageToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ManageToken(…)")
    }
}

fn hash_of(token: &str) -> String {
    Sha256::digest(token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The bearer token of an `Authorization` header value, if it has one.
pub fn bearer(header: Option<&str>) -> Option<&str> {
    let value = header?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

/// Whether `token` is the owner's of `record`. The hashes are compared in constant time, so the
/// time taken says nothing about how much of a guess was right. A missing token is 401; a wrong
/// one, or a record without an owner, is the same 403 whatever the record holds.
pub fn authorize(record: &FileRecord, token: Option<&str>) -> Result<(), ApiError> {
    let token = token.ok_or(ApiError::ManageTokenMissing)?;
    let presented = hash_of(token);
    let stored = record.manage_hash.as_deref().unwrap_or_default();
    if bool::from(presented.as_bytes().ct_eq(stored.as_bytes())) {
        Ok(())
    } else {
        Err(ApiError::ManageTokenInvalid)
    }
}

/// Who acted on a file, for the audit log: the owner, named by the first 12 hex digits of their
/// token's hash (which says nothing about the token; it tells one owner's actions from
/// another's).
pub fn actor(record: &FileRecord) -> String {
    let hash = record.manage_hash.as_deref().unwrap_or("unknown");
    format!("owner:{}", &hash[..hash.len().min(12)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_256_random_bits_and_only_their_hash_is_kept() {
        let a = ManageToken::random();
        let b = ManageToken::random();
        assert_ne!(a, b);
        assert_eq!(URL_SAFE_NO_PAD.decode(a.as_str()).unwrap().len(), 32);
        assert_eq!(a.hash().len(), 64);
        assert!(!a.hash().contains(a.as_str()));
        assert_eq!(format!("{a:?}"), "ManageToken(…)", "never printed");
    }

    #[test]
    fn bearer_headers_are_read_leniently_but_must_carry_a_token() {
        assert_eq!(bearer(Some("Bearer abc")), Some("abc"));
        assert_eq!(bearer(Some("bearer  abc ")), Some("abc"));
        assert_eq!(bearer(Some("Basic abc")), None);
        assert_eq!(bearer(Some("Bearer ")), None);
        assert_eq!(bearer(Some("abc")), None);
        assert_eq!(bearer(None), None);
    }
}
