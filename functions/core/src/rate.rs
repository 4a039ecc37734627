//! Per-client limits on announcing uploads: how many per hour and how many bytes per day, so
//! that one client cannot fill the operator's bill alone (the storage quota caps everyone
//! together). Counted in fixed windows (the clock's hour and UTC day): each announcement adds
//! to its client's count of the current hour and day in one conditional transaction, so the
//! limits hold exactly however many announce at once. A client may still send up to twice a
//! limit across a window's boundary; that is the price of one item per window.
//!
//! Clients are known by their address (the viewer's, behind CloudFront: see
//! `twinshare_lambda::respond::client_address`), stored only as a hash.

use sha2::{Digest, Sha256};

pub const HOUR_MS: i64 = 60 * 60 * 1000;
pub const DAY_MS: i64 = 24 * HOUR_MS;

/// The operator's limits (template parameters); `None`: no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct RateLimits {
    pub uploads_per_hour: Option<u32>,
    pub bytes_per_day: Option<u64>,
}

impl RateLimits {
    pub fn is_unlimited(&self) -> bool {
        self.uploads_per_hour.is_none() && self.bytes_per_day.is_none()
    }
}

/// Which limit refused an announcement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    UploadsPerHour,
    BytesPerDay,
}

impl Limit {
    /// Seconds until the window that refused ends (the `Retry-After`).
    pub fn retry_after_secs(self, now_ms: i64) -> u64 {
        let window = match self {
            Limit::UploadsPerHour => HOUR_MS,
            Limit::BytesPerDay => DAY_MS,
        };
        let left = window - now_ms.rem_euclid(window);
        (left as u64).div_ceil(1000).max(1)
    }
}

/// The windows `now_ms` falls in, as keys: the hour's and the day's number since the epoch.
pub fn windows(now_ms: i64) -> (String, String) {
    (
        format!("h{}", now_ms.div_euclid(HOUR_MS)),
        format!("d{}", now_ms.div_euclid(DAY_MS)),
    )
}

/// When the items of the windows may go (the table's TTL), in seconds: after the day's end.
pub fn windows_expire_at_secs(now_ms: i64) -> i64 {
    (now_ms.div_euclid(DAY_MS) + 2) * DAY_MS / 1000
}

/// A client as stored: a hash of its address, so that no address is kept. The same address
/// (with or without the `viewer ` prefix of an address CloudFront vouched for) is the same
/// client, so the operator can block an address by typing it.
pub fn client_key(address: &str) -> String {
    let address = address.strip_prefix("viewer ").unwrap_or(address).trim();
    Sha256::digest(format!("client\n{address}").as_bytes())
        .iter()
        .take(16)
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What the block list holds for a blocked client (beside blocked content's SHA-256s).
pub fn blocked_client(address: &str) -> String {
    format!("client:{}", client_key(address))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_is_the_rest_of_the_window_that_refused() {
        let now = 5 * DAY_MS + 3 * HOUR_MS + 59 * 60 * 1000 + 30_500;
        assert_eq!(Limit::UploadsPerHour.retry_after_secs(now), 30);
        assert_eq!(Limit::BytesPerDay.retry_after_secs(now), 20 * 3600 + 30);
        assert_eq!(Limit::UploadsPerHour.retry_after_secs(6 * HOUR_MS), 3600);
    }

    #[test]
    fn a_client_is_its_address_however_it_is_written_and_never_the_address_itself() {
        assert_eq!(client_key("viewer 198.51.100.7"), client_key("198.51.100.7"));
        assert_ne!(client_key("198.51.100.7"), client_key("198.51.100.8"));
        assert!(!client_key("198.51.100.7").contains("198"));
        assert_eq!(windows(HOUR_MS * 25 + 1), ("h25".into(), "d1".into()));
    }
}
