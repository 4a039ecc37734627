//! Naming files on the command line (links, ids, durations) and showing them to a person.

use twinshare_api::{display::size, limits, FileList, FileView};

use crate::{api::Api, download::Downloaded, error::CliError, store::Store, upload::Uploaded};

/// A file as given on the command line: an id, a share link `https://site/f/ID`, or a manage
/// link `https://site/manage/ID#TOKEN` (which also carries the owner's token).
#[derive(Debug, Clone, PartialEq)]
pub struct FileRef {
    pub id: String,
    /// The link's site, used when `--api` is not given.
    pub origin: Option<String>,
    pub token: Option<String>,
}

impl FileRef {
    pub fn parse(text: &str) -> Result<FileRef, CliError> {
        let text = text.trim();
        let bad = || {
            CliError::Usage(format!(
                "{text:?} is not a file: give its share link (https://…/f/ID), its manage link or its id"
            ))
        };
        let (origin, path) = match text.split_once("://") {
            Some((scheme, rest)) => {
                let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
                (Some(format!("{scheme}://{host}")), path)
            }
            None => (None, text),
        };
        let (path, token) = match path.split_once('#') {
            Some((path, token)) if !token.is_empty() => (path, Some(token.to_owned())),
            Some((path, _)) => (path, None),
            None => (path, None),
        };
        let segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let id = match segments.as_slice() {
            [id] if origin.is_none() => *id,
            [.., "f" | "manage", id] => *id,
            [.., "files", id] | [.., "files", id, "download"] => *id,
            _ => return Err(bad()),
        };
        let id = id.split('?').next().unwrap_or_default();
        if id.is_empty() || !id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
            return Err(bad());
        }
        Ok(FileRef {
            id: id.to_owned(),
            origin,
            token,
        })
    }
}

/// The owner's token: `--token`, the manage link's, or the one this machine kept on upload.
pub fn token(store: &Store, link: &FileRef, given: Option<&str>) -> Result<String, CliError> {
    given
        .map(str::to_owned)
        .or_else(|| link.token.clone())
        .or_else(|| store.owned(&link.id).map(|owned| owned.token))
        .ok_or_else(|| {
            CliError::Usage(format!(
                "this machine did not share {}: give its manage link, or --token with the part after # of it",
                link.id
            ))
        })
}

/// How long a file is shared.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Expiry {
    In(u64),
    Never,
}

impl Expiry {
    /// As the API's `expires_in_secs` and `never_expires`.
    pub fn request(expiry: Option<Expiry>) -> (Option<u64>, bool) {
        match expiry {
            Some(Expiry::In(secs)) => (Some(secs), false),
            Some(Expiry::Never) => (None, true),
            None => (None, false),
        }
    }
}

/// `90s`, `30m`, `12h`, `7d`, `2w` or `never`.
pub fn parse_expiry(text: &str) -> Result<Expiry, String> {
    if text.eq_ignore_ascii_case("never") {
        return Ok(Expiry::Never);
    }
    let split = text.find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let number: u64 = number
        .parse()
        .map_err(|_| format!("{text:?}: give a number and a unit, like 30m, 12h, 7d, or never"))?;
    let unit = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" | "" => 86_400,
        "w" => 7 * 86_400,
        _ => return Err(format!("{text:?}: the unit is s, m, h, d or w (like 7d)")),
    };
    match number.checked_mul(unit) {
        Some(0) | None => Err(format!("{text:?}: give a duration above zero")),
        Some(secs) => Ok(Expiry::In(secs)),
    }
}

/// A new download limit for `edit`: a number, or `None` to remove the limit.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DownloadLimit(pub Option<u32>);

/// A number of downloads, or `none`.
pub fn parse_limit(text: &str) -> Result<DownloadLimit, String> {
    if text.eq_ignore_ascii_case("none") {
        return Ok(DownloadLimit(None));
    }
    text.parse()
        .map(|n| DownloadLimit(Some(n)))
        .map_err(|_| format!("{text:?}: give a number of downloads, or none"))
}

/// Pages of the public table until `limit` files (or the last page).
pub async fn list(
    api: &Api,
    search: &Option<String>,
    uploader: &Option<String>,
    sort: &str,
    order: &Option<String>,
    limit: u32,
) -> Result<FileList, CliError> {
    let mut files = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let page_size = (limit as usize - files.len()).min(limits::MAX_PAGE_SIZE as usize);
        let mut query = vec![("sort", sort.to_owned()), ("limit", page_size.to_string())];
        for (name, value) in [("q", search), ("uploader", uploader), ("order", order)] {
            if let Some(value) = value {
                query.push((name, value.clone()));
            }
        }
        if let Some(cursor) = &cursor {
            query.push(("cursor", cursor.clone()));
        }
        let page = api.list(&query).await?;
        files.extend(page.files);
        cursor = page.next_cursor;
        if cursor.is_none() || files.len() >= limit as usize || limit == 0 {
            return Ok(FileList {
                files,
                next_cursor: cursor,
            });
        }
    }
}

pub fn table(list: &FileList) -> String {
    if list.files.is_empty() {
        return "no files".into();
    }
    let mut lines = vec![format!(
        "{:<32}  {:>10}  {:<9}  {:<16}  NAME",
        "ID", "SIZE", "STATUS", "UPLOADER"
    )];
    for f in &list.files {
        lines.push(format!(
            "{:<32}  {:>10}  {:<9}  {:<16}  {}",
            f.id,
            size(f.size),
            f.status.as_str(),
            f.uploader.as_deref().unwrap_or("anonymous"),
            f.name
        ));
    }
    if list.next_cursor.is_some() {
        lines.push("… more: raise --limit".into());
    }
    lines.join("\n")
}

pub fn describe(file: &FileView, api: &Api) -> String {
    let mut lines = vec![
        format!("{} ({})", file.name, size(file.size)),
        format!("  link:      {}", api.share_link(&file.id)),
        format!(
            "  status:    {} (home region {})",
            file.status.as_str(),
            file.home_region
        ),
    ];
    for copy in &file.copies {
        lines.push(format!(
            "  copy:      {} in {}: {}",
            copy.role.as_str(),
            copy.region,
            copy.state.as_str()
        ));
    }
    lines.push(format!(
        "  shared by: {}",
        file.uploader.as_deref().unwrap_or("anonymous")
    ));
    lines.push(format!(
        "  listed:    {}",
        file.visibility == twinshare_api::Visibility::Listed
    ));
    if let Some(left) = file.downloads_left {
        lines.push(format!(
            "  downloads: {left} left of {}",
            file.max_downloads.unwrap_or(left)
        ));
    }
    if file.protected {
        lines.push("  password:  needed to download".into());
    }
    if let Some(sha256) = &file.sha256 {
        lines.push(format!("  sha256:    {sha256}"));
    }
    lines.join("\n")
}

pub fn describe_upload(done: &Uploaded) -> String {
    let resumed = if done.parts_already_stored > 0 {
        format!(
            " (resumed: {} parts were stored, {} sent now)",
            done.parts_already_stored, done.parts_sent
        )
    } else {
        String::new()
    };
    format!(
        "shared {} ({}), {}{resumed}\n  link:   {}\n  manage: {}",
        done.file.name,
        size(done.file.size),
        done.file.status.as_str(),
        done.share_link,
        done.manage_link
    )
}

pub fn describe_download(done: &Downloaded) -> String {
    let resumed = if done.resumed_from > 0 {
        format!(", resumed from {}", size(done.resumed_from))
    } else {
        String::new()
    };
    format!(
        "saved {} ({}{resumed}), checked by {}",
        done.path.display(),
        size(done.bytes),
        done.verified_by
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_and_ids_name_a_file() {
        let id = "9a23e772a9e7a475a7dcbf34d162f89a";
        let share = FileRef::parse(&format!("https://share.example.com/f/{id}")).unwrap();
        assert_eq!(
            (share.id.as_str(), share.origin.as_deref()),
            (id, Some("https://share.example.com"))
        );
        let manage = FileRef::parse(&format!("http://127.0.0.1:8080/manage/{id}#tok")).unwrap();
        assert_eq!((manage.id.as_str(), manage.token.as_deref()), (id, Some("tok")));
        assert_eq!(FileRef::parse(id).unwrap().origin, None);
        let api_path = FileRef::parse(&format!("https://x.org/api/files/{id}/download")).unwrap();
        assert_eq!(api_path.id, id);
        for bad in ["", "https://x.org/", "https://x.org/files", "a/b", "../etc"] {
            assert!(FileRef::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn durations_have_units_and_never_is_a_choice() {
        assert_eq!(parse_expiry("30m"), Ok(Expiry::In(1_800)));
        assert_eq!(parse_expiry("7d"), Ok(Expiry::In(604_800)));
        assert_eq!(parse_expiry("2"), Ok(Expiry::In(172_800)));
        assert_eq!(parse_expiry("Never"), Ok(Expiry::Never));
        for bad in ["", "0h", "h", "3y", "-1d", "99999999999999999999w"] {
            assert!(parse_expiry(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_limit("none"), Ok(DownloadLimit(None)));
        assert_eq!(parse_limit("3"), Ok(DownloadLimit(Some(3))));
        assert!(parse_limit("-3").is_err());
    }
}
