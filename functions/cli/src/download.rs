//! `twinshare download`: asks the API for the file's short-lived address (the site's front
//! answers from the second region when the primary is down), writes the bytes to
//! `<target>.twinshare-partial`, checks them, then renames that over the target: a target is
//! never half written.
//!
//! An interrupted download resumes with an HTTP range from where the partial file ends, bound
//! to the object's ETag (`If-Match`), so a changed object starts again instead of mixing. The
//! address is kept beside the partial file and reused while it is valid: each new address is a
//! download of a file with a download limit, so resuming after the address expired costs one.

use std::{
    path::{Path, PathBuf},
    time::{SystemTime, UNIX_EPOCH},
};

use serde::{Deserialize, Serialize};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use twinshare_api::{FileView, MultipartPlan};

use crate::{
    api::Api,
    error::{local, CliError},
    store::write_atomically,
    transfer::{progress_bar, Checker, Expected, RateLimit},
};

pub struct DownloadOptions {
    /// A file, or a directory to save the file in under its own name; `None`: this directory.
    pub output: Option<PathBuf>,
    pub password: Option<String>,
    pub rate: RateLimit,
    pub quiet: bool,
}

#[derive(Debug, Serialize)]
pub struct Downloaded {
    pub file: FileView,
    pub path: PathBuf,
    pub bytes: u64,
    /// Bytes kept from an earlier, interrupted run.
    pub resumed_from: u64,
    /// How the bytes were checked.
    pub verified_by: &'static str,
    /// Download addresses this run asked for: each counts against a download limit.
    pub links_asked: u32,
}

/// Kept beside a partial download: what it is part of, and the address it came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Partial {
    id: String,
    size: u64,
    etag: Option<String>,
    url: Option<String>,
}

pub async fn download(api: &Api, id: &str, options: DownloadOptions) -> Result<Downloaded, CliError> {
    let file = api.file(id).await?;
    let target = target_path(options.output.as_deref(), &file.name)?;
    let partial_path = suffixed(&target, ".twinshare-partial");
    let sidecar_path = suffixed(&target, ".twinshare-partial.json");
    let mut partial = std::fs::read(&sidecar_path)
        .ok()
        .and_then(|text| serde_json::from_slice::<Partial>(&text).ok())
        .filter(|p| p.id == file.id && p.size == file.size);
    let mut have = match &partial {
        Some(_) => std::fs::metadata(&partial_path).map_or(0, |m| m.len()).min(file.size),
        None => 0,
    };
    let resumed_from = have;
    let mut links_asked = 0;
    let bar = progress_bar(file.size, &file.name, options.quiet);
    bar.set_position(have);

    let mut attempts = 0;
    while have < file.size {
        attempts += 1;
        let reusable = partial
            .as_ref()
            .and_then(|p| p.url.clone())
            .filter(|url| still_valid(url));
        let url = match reusable {
            Some(url) => url,
            None => {
                links_asked += 1;
                api.download_link(&file.id, options.password.as_deref()).await?
            }
        };
        let entry = partial.get_or_insert_with(|| Partial {
            id: file.id.clone(),
            size: file.size,
            etag: None,
            url: None,
        });
        entry.url = Some(url.clone());
        write_atomically(&sidecar_path, &serde_json::to_vec(entry).expect("serialises"))?;
        match fetch(
            api,
            &url,
            entry,
            have,
            &partial_path,
            &sidecar_path,
            &bar,
            &options.rate,
        )
        .await
        {
            Ok(total) => have = total,
            Err(Fetch::StartAgain) => {
                have = 0;
                entry.etag = None;
                bar.set_position(0);
            }
            Err(Fetch::AddressExpired) => entry.url = None,
            Err(Fetch::Failed(err)) if err.is_transient() && attempts < crate::transfer::MAX_ATTEMPTS => {
                have = std::fs::metadata(&partial_path).map_or(0, |m| m.len());
                tokio::time::sleep(std::time::Duration::from_secs(1 << (attempts - 1))).await;
            }
            Err(Fetch::Failed(err)) => return Err(err),
        }
        if attempts > crate::transfer::MAX_ATTEMPTS + 2 {
            return Err(CliError::Unavailable(
                "the download kept failing; run the same command again to resume".into(),
            ));
        }
    }
    bar.finish_and_clear();
    let etag = partial.as_ref().and_then(|p| p.etag.clone());
    let verified_by = verify(&file, etag.as_deref(), &partial_path).await?;
    std::fs::rename(&partial_path, &target).map_err(local(format!("cannot write {}", target.display())))?;
    let _ = std::fs::remove_file(&sidecar_path);
    Ok(Downloaded {
        bytes: file.size,
        file,
        path: target,
        resumed_from,
        verified_by,
        links_asked,
    })
}

enum Fetch {
    /// The object is not the one the partial file holds (another ETag), or the server sent it
    /// whole: the partial file is started again.
    StartAgain,
    /// The address is no longer valid: ask for a new one.
    AddressExpired,
    Failed(CliError),
}

/// GETs the bytes from `have` on and appends them to the partial file; returns its new length.
#[allow(clippy::too_many_arguments)]
async fn fetch(
    api: &Api,
    url: &str,
    partial: &mut Partial,
    have: u64,
    partial_path: &Path,
    sidecar_path: &Path,
    bar: &indicatif::ProgressBar,
    rate: &RateLimit,
) -> Result<u64, Fetch> {
    let mut request = api.http().get(url);
    if have > 0 {
        request = request.header("range", format!("bytes={have}-"));
        if let Some(etag) = &partial.etag {
            request = request.header("if-match", format!("\"{etag}\""));
        }
    }
    let mut response = request
        .send()
        .await
        .map_err(|e| Fetch::Failed(CliError::Unavailable(format!("storage could not be reached ({e})"))))?;
    let status = response.status().as_u16();
    match status {
        200 | 206 => {}
        412 | 416 => return Err(Fetch::StartAgain),
        403 => return Err(Fetch::AddressExpired),
        404 => {
            return Err(Fetch::Failed(CliError::Refused {
                status: 404,
                code: "file_not_found".into(),
                message: "storage no longer holds this file".into(),
            }))
        }
        _ => {
            return Err(Fetch::Failed(CliError::Unavailable(format!(
                "storage answered {status}; run the command again"
            ))))
        }
    }
    let etag = response
        .headers()
        .get("etag")
        .and_then(|v| v.to_str().ok())
        .map(|v| v.trim_matches('"').to_owned());
    if partial.etag.is_some() && etag.is_some() && partial.etag != etag {
        return Err(Fetch::StartAgain);
    }
    partial.etag = etag;
    write_atomically(sidecar_path, &serde_json::to_vec(partial).expect("serialises")).map_err(Fetch::Failed)?;
    // A 200 to a range request is the whole object: the partial file starts again.
    let from = if status == 206 { have } else { 0 };
    bar.set_position(from);
    let mut out = tokio::fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(from == 0)
        .append(from > 0)
        .open(partial_path)
        .await
        .map_err(|e| Fetch::Failed(CliError::Local(format!("cannot write {}: {e}", partial_path.display()))))?;
    let mut written = from;
    loop {
        let chunk = match response.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(e) => {
                let _ = out.flush().await;
                return Err(Fetch::Failed(CliError::Unavailable(format!(
                    "the download broke off ({e})"
                ))));
            }
        };
        rate.take(chunk.len()).await;
        out.write_all(&chunk)
            .await
            .map_err(|e| Fetch::Failed(CliError::Local(format!("cannot write {}: {e}", partial_path.display()))))?;
        written += chunk.len() as u64;
        bar.set_position(written);
    }
    out.flush()
        .await
        .map_err(|e| Fetch::Failed(CliError::Local(e.to_string())))?;
    out.sync_all()
        .await
        .map_err(|e| Fetch::Failed(CliError::Local(e.to_string())))?;
    Ok(written)
}

/// Reads the whole partial file once more and checks it against what the API or S3 says.
async fn verify(file: &FileView, etag: Option<&str>, path: &Path) -> Result<&'static str, CliError> {
    let expected = match (&file.sha256, etag) {
        (Some(sha256), _) => Expected::Sha256(sha256.clone()),
        (None, Some(etag)) if etag.contains('-') => {
            let plan = MultipartPlan::for_size(file.size).ok_or_else(|| cannot_check(file))?;
            if !etag.ends_with(&format!("-{}", plan.part_count)) {
                return Err(cannot_check(file));
            }
            Expected::MultipartEtag {
                etag: etag.to_owned(),
                part_size: plan.part_size,
            }
        }
        _ => return Err(cannot_check(file)),
    };
    let mut checker = Checker::new(&expected);
    let mut input = tokio::fs::File::open(path)
        .await
        .map_err(local(format!("cannot read {}", path.display())))?;
    let mut buffer = vec![0; 1 << 20];
    let mut length = 0;
    loop {
        let n = input
            .read(&mut buffer)
            .await
            .map_err(local(format!("cannot read {}", path.display())))?;
        if n == 0 {
            break;
        }
        length += n as u64;
        checker.update(&buffer[..n]);
    }
    if length != file.size {
        return Err(corrupt(path, format!("it has {length} bytes, the file {}", file.size)));
    }
    checker.check(&expected).map_err(|why| corrupt(path, why))
}

fn corrupt(path: &Path, why: String) -> CliError {
    let _ = std::fs::remove_file(suffixed(path, ".json"));
    CliError::Corrupt(format!(
        "the downloaded bytes are not the file: {why}. They are kept in {} for a look; delete it and run the command again",
        path.display()
    ))
}

fn cannot_check(file: &FileView) -> CliError {
    CliError::Corrupt(format!(
        "{} cannot be checked: the site gave no SHA-256 and storage no ETag of its parts",
        file.name
    ))
}

/// Where to save `name`: `output` if it is a file path, inside it if it is a directory, else in
/// this directory. A name from the API is cut to its last path component, so that it cannot
/// write outside the directory.
fn target_path(output: Option<&Path>, name: &str) -> Result<PathBuf, CliError> {
    let own_name = Path::new(name)
        .file_name()
        .map(|n| n.to_owned())
        .filter(|n| !n.is_empty() && n != ".." && n != ".")
        .unwrap_or_else(|| "download".into());
    Ok(match output {
        Some(dir) if dir.is_dir() => dir.join(own_name),
        Some(path) => path.to_owned(),
        None => PathBuf::from(own_name),
    })
}

fn suffixed(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Whether a presigned address has more than a minute left (`X-Amz-Date` + `X-Amz-Expires`).
fn still_valid(url: &str) -> bool {
    expires_at(url).is_some_and(|at| {
        let now = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
        at > now + 60
    })
}

fn expires_at(url: &str) -> Option<u64> {
    let query = url.split_once('?')?.1;
    let param = |name: &str| {
        query
            .split('&')
            .find_map(|pair| pair.strip_prefix(name)?.strip_prefix('='))
    };
    let signed = param("X-Amz-Date")?; // 20261202T160000Z
    let lifetime: u64 = param("X-Amz-Expires")?.parse().ok()?;
    let (date, time) = signed.split_once('T')?;
    let number = |s: &str| s.parse::<u64>().ok();
    let (y, m, d) = (number(&date[0..4])?, number(&date[4..6])?, number(&date[6..8])?);
    let (hh, mm, ss) = (number(&time[0..2])?, number(&time[2..4])?, number(&time[4..6])?);
    Some(days_from_civil(y, m, d) * 86_400 + hh * 3_600 + mm * 60 + ss + lifetime)
}

/// Days since 1970-01-01 of a date in the proleptic Gregorian calendar (Howard Hinnant's).
fn days_from_civil(y: u64, m: u64, d: u64) -> u64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y / 400;
    let yoe = y - era * 400;
    let doy = (153 * ((m + 9) % 12) + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_presigned_address_expires_at_its_date_plus_its_lifetime() {
        let url = "http://s3/b/k?X-Amz-Algorithm=AWS4&X-Amz-Date=20240229T120000Z&X-Amz-Expires=300&X-Amz-Signature=x";
        assert_eq!(expires_at(url), Some(1_709_208_000 + 300));
        assert_eq!(expires_at("http://s3/b/k"), None);
        assert!(!still_valid(url), "long past");
    }

    #[test]
    fn a_name_from_the_api_cannot_leave_the_directory() {
        assert_eq!(target_path(None, "../../etc/passwd").unwrap(), PathBuf::from("passwd"));
        assert_eq!(target_path(None, "..").unwrap(), PathBuf::from("download"));
        assert_eq!(
            target_path(Some(Path::new("out.bin")), "a.txt").unwrap(),
            PathBuf::from("out.bin")
        );
    }
}
