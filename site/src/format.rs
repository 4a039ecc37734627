//! Numbers and states as people read them.

use twinshare_api::{FileStatus, FileView};

pub fn size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
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

pub fn age(created_at_ms: i64, now_ms: f64) -> String {
    let seconds = ((now_ms - created_at_ms as f64) / 1000.0).max(0.0) as u64;
    match seconds {
        0..=59 => "just now".into(),
        60..=3599 => format!("{} min ago", seconds / 60),
        3600..=86_399 => format!("{} h ago", seconds / 3600),
        _ => format!("{} days ago", seconds / 86_400),
    }
}

/// The copy state, in the words of the table: uploading, 1 copy, 2 copies.
pub fn copies(file: &FileView) -> &'static str {
    match file.status {
        FileStatus::Uploading => "uploading",
        FileStatus::Available => "1 copy",
        FileStatus::Redundant => "2 copies",
    }
}

pub fn uploader(file: &FileView) -> String {
    file.uploader.clone().unwrap_or_else(|| "anonymous".into())
}

/// The link that opens a file's page.
pub fn share_link(id: &str) -> String {
    let origin = web_sys::window()
        .and_then(|w| w.location().origin().ok())
        .unwrap_or_default();
    format!("{origin}/f/{id}")
}
