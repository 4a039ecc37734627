//! Numbers and states as people read them.

use twinshare_api::{CopyState, FileStatus, FileView};

pub use twinshare_api::display::size;

/// `done` of `total` as a percentage in 0..=100, never "-0" (a negative zero prints its sign).
pub fn percent(done: f64, total: f64) -> f64 {
    if total > 0.0 {
        (done / total * 100.0).clamp(0.0, 100.0) + 0.0
    } else {
        0.0
    }
}

pub fn duration(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..=59 => format!("{s} s"),
        60..=3599 => format!("{} min {} s", s / 60, s % 60),
        _ => format!("{} h {} min", s / 3600, (s % 3600) / 60),
    }
}

/// When a file stops being shared, in words: "in 3 days", "in 5 h", "never".
pub fn expiry(expires_at_ms: Option<i64>, now_ms: f64) -> String {
    let Some(at) = expires_at_ms else {
        return "never (until deleted)".into();
    };
    let seconds = (at as f64 - now_ms) / 1000.0;
    match seconds {
        s if s <= 0.0 => "expired".into(),
        s if s < 3600.0 => format!("in {} min", (s / 60.0).ceil() as u64),
        s if s < 2.0 * 86_400.0 => format!("in {} h", (s / 3600.0).round() as u64),
        s => format!("in {} days", (s / 86_400.0).round() as u64),
    }
}

/// The download limit in words: "2 of 3 downloads left", or "unlimited".
pub fn downloads_left(file: &FileView) -> String {
    match (file.downloads_left, file.max_downloads) {
        (Some(left), Some(max)) => format!("{left} of {max} download{} left", if max == 1 { "" } else { "s" }),
        _ => "unlimited".into(),
    }
}

/// What a refused file says to whoever holds its link: why it cannot be had, nothing more.
pub fn gone_heading(code: &str) -> Option<&'static str> {
    match code {
        "file_deleted" => Some("This file was deleted"),
        "file_expired" => Some("This file has expired"),
        "file_removed" => Some("This file was removed by the site's operator"),
        "upload_gone" => Some("This upload was cancelled or never finished"),
        _ => None,
    }
}

pub fn age(created_at_ms: i64, now_ms: f64) -> String {
    let seconds = ((now_ms - created_at_ms as f64) / 1000.0).max(0.0) as u64;
    match seconds {
        0..=59 => "just now".into(),
        60..=3599 => format!("{} min ago", seconds / 60),
        3600..=86_399 => format!("{} h ago", seconds / 3600),
        _ => format!("{} days ago", seconds / 86_400),
    }
}

/// The state of the copy made from the home region's: the primary's for a file shared while the
/// primary was down (its home is the second region), else the second region's.
fn second_copy_state(file: &FileView) -> Option<CopyState> {
    file.copies
        .iter()
        .find(|c| c.region != file.home_region)
        .map(|c| c.state)
}

/// The copy state in a person's words: uploading, 1 copy, copying, 2 copies, copy failed.
pub fn copies(file: &FileView) -> &'static str {
    match (file.status, second_copy_state(file)) {
        (FileStatus::Uploading, _) => "uploading",
        (FileStatus::Redundant, _) => "2 copies",
        (FileStatus::Available, Some(CopyState::Copying)) => "copying",
        (FileStatus::Available, Some(CopyState::Failed)) => "second copy failed",
        (FileStatus::Available, Some(CopyState::Missing)) => "second copy missing",
        (FileStatus::Available, _) => "1 copy",
    }
}

/// Where the file is kept, in a person's words (the regions' names are shown on demand).
pub fn stored_in(file: &FileView) -> &'static str {
    match (file.status, second_copy_state(file)) {
        (FileStatus::Uploading, _) => "Still uploading",
        (FileStatus::Redundant, _) => "Stored in 2 regions",
        (FileStatus::Available, Some(CopyState::Copying)) => "Stored in 1 region; copying to a second",
        (FileStatus::Available, Some(CopyState::Failed | CopyState::Missing)) => {
            "Stored in 1 region; the second copy failed and is being repaired"
        }
        (FileStatus::Available, _) => "Stored in 1 region",
    }
}

/// A SHA-256 sent as base64 (as S3 takes it) in hex, as `sha256sum` prints it.
pub fn sha256_hex(base64_digest: &str) -> Option<String> {
    use base64::Engine;
    let bytes = base64::engine::general_purpose::STANDARD.decode(base64_digest).ok()?;
    Some(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// A copy failed or vanished: shown as a warning.
pub fn copies_at_risk(file: &FileView) -> bool {
    file.status == FileStatus::Available
        && matches!(second_copy_state(file), Some(CopyState::Failed | CopyState::Missing))
}

/// Whether a file's copy state may still change by itself (worth refreshing).
pub fn settling(file: &FileView) -> bool {
    file.status != FileStatus::Redundant
}

pub fn uploader(file: &FileView) -> String {
    file.uploader.clone().unwrap_or_else(|| "anonymous".into())
}

/// The link that opens a file's page.
pub fn share_link(id: &str) -> String {
    format!("{}/f/{id}", origin())
}

/// The site's origin, as the browser sees it.
pub fn origin() -> String {
    web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default()
}
