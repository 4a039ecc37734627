//! Optional passwords on files: stored as Argon2id hashes (PHC strings, with their salt and
//! parameters), never logged or returned; and the backoff that makes guessing them impractical
//! without letting a stranger lock the owner out.

use argon2::{
    password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};
use sha2::{Digest, Sha256};

use crate::ApiError;

/// Shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 4;
/// Longest, in bytes: Argon2 takes any length, but a request body has its limit anyway.
pub const MAX_PASSWORD_BYTES: usize = 256;

/// Wrong passwords a client may try on one file before it has to wait.
pub const FREE_ATTEMPTS: u32 = 5;
/// The longest wait between two attempts.
pub const MAX_WAIT_MS: i64 = 15 * 60 * 1000;

/// A password that passed validation, to be hashed.
pub fn validate(password: &str) -> Result<&str, ApiError> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(ApiError::invalid(
            "password",
            format!("a password has at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err(ApiError::invalid(
            "password",
            format!("a password has at most {MAX_PASSWORD_BYTES} bytes"),
        ));
    }
    Ok(password)
}

/// Argon2id with the crate's default parameters (19 MiB, 2 passes, 1 lane: OWASP's minimum),
/// a fresh 16-byte salt from the OS-seeded CSPRNG.
pub fn hash(password: &str) -> Result<String, ApiError> {
    let salt =
        SaltString::encode_b64(&rand::random::<[u8; 16]>()).map_err(|e| ApiError::Internal(format!("salt: {e}")))?;
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|e| ApiError::Internal(format!("hashing a password: {e}")))
}

/// Whether `password` is the one `phc` was made from (the comparison is the crate's, in constant
/// time). A stored hash that cannot be read matches nothing.
pub fn matches(phc: &str, password: &str) -> bool {
    PasswordHash::new(phc)
        .map(|parsed| Argon2::default().verify_password(password.as_bytes(), &parsed).is_ok())
        .unwrap_or(false)
}

/// Whether `phc` is a hash this module can check (a PHC string), not a plain secret.
pub fn is_hash(phc: &str) -> bool {
    PasswordHash::new(phc).is_ok()
}

/// Who is guessing, as far as the backoff is concerned: a hash of the client's address and the
/// file, so that the address itself is not stored and each file has its own count.
pub fn guesser(client: &str, file: &str) -> String {
    Sha256::digest(format!("{client}\n{file}").as_bytes())
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// How long a client must wait after `failures` wrong passwords in a row: nothing for the first
/// [`FREE_ATTEMPTS`], then 1 s, doubling, at most [`MAX_WAIT_MS`].
pub fn wait_after(failures: u32) -> i64 {
    match failures.checked_sub(FREE_ATTEMPTS) {
        None => 0,
        Some(extra) => 1000_i64.saturating_mul(1_i64 << extra.min(20)).min(MAX_WAIT_MS),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_matches_its_password_only_and_never_contains_it() {
        let phc = hash("correct horse").unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(!phc.contains("correct horse"));
        assert!(matches(&phc, "correct horse"));
        assert!(!matches(&phc, "correct horse "));
        assert!(!matches("not a hash", "correct horse"));
        assert_ne!(hash("correct horse").unwrap(), phc, "a fresh salt each time");
    }

    #[test]
    fn passwords_are_validated() {
        assert!(validate("abc").is_err());
        assert!(validate("abcd").is_ok());
        assert!(validate("ü".repeat(4).as_str()).is_ok(), "characters, not bytes");
        assert!(validate(&"a".repeat(MAX_PASSWORD_BYTES + 1)).is_err());
    }

    #[test]
    fn the_wait_grows_after_the_free_attempts_and_is_capped() {
        assert_eq!(wait_after(0), 0);
        assert_eq!(wait_after(FREE_ATTEMPTS - 1), 0);
        assert_eq!(wait_after(FREE_ATTEMPTS), 1_000);
        assert_eq!(wait_after(FREE_ATTEMPTS + 3), 8_000);
        assert_eq!(wait_after(FREE_ATTEMPTS + 30), MAX_WAIT_MS);
        assert_ne!(guesser("192.0.2.1", "f"), guesser("192.0.2.2", "f"));
        assert_ne!(guesser("192.0.2.1", "f"), guesser("192.0.2.1", "g"));
    }
}
