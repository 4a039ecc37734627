//! `twinshare upload`: a file of at most [`limits::MULTIPART_THRESHOLD`] is hashed and sent in
//! one presigned PUT; a larger one in parts, `parallel` at a time, each read, hashed and sent
//! from a buffer of its own (memory stays at `parallel` parts). A failed part is sent again
//! with backoff. The upload is remembered (see [`crate::store`]) until it completes, so running
//! the same command again after a crash, a kill or an outage sends only the parts storage does
//! not hold yet.

use std::{
    collections::BTreeSet,
    io::SeekFrom,
    path::{Path, PathBuf},
    time::UNIX_EPOCH,
};

use bytes_stream::progress_body;
use futures::{stream, StreamExt, TryStreamExt};
use indicatif::ProgressBar;
use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncSeekExt};
use twinshare_api::{
    limits, CreateUploadRequest, FileStatus, FileView, MultipartPlan, PartChecksum, PartUrlsRequest, PresignedRequest,
    UploadPlan,
};

use crate::{
    api::Api,
    error::{local, CliError},
    store::{upload_key, OwnedFile, Store, Unfinished},
    transfer::{progress_bar, sha256_base64, with_retries, RateLimit},
};

/// What to ask of the upload besides the file.
pub struct UploadOptions {
    pub request: CreateUploadRequest,
    pub parallel: usize,
    pub rate: RateLimit,
    pub quiet: bool,
    /// Forget an unfinished upload of the file and send it again from the first byte.
    pub restart: bool,
}

/// What the command reports (`--json` prints it as is).
#[derive(Debug, Serialize)]
pub struct Uploaded {
    pub file: FileView,
    pub share_link: String,
    pub manage_link: String,
    /// Parts sent by this run (0 for a file sent in one request).
    pub parts_sent: u32,
    /// Parts storage held already from an earlier, interrupted run.
    pub parts_already_stored: u32,
}

pub async fn upload(api: &Api, store: &Store, path: &Path, options: UploadOptions) -> Result<Uploaded, CliError> {
    let path = std::fs::canonicalize(path).map_err(local(format!("cannot read {}", path.display())))?;
    let meta = std::fs::metadata(&path).map_err(local(format!("cannot read {}", path.display())))?;
    if !meta.is_file() {
        return Err(CliError::Usage(format!("{} is not a file", path.display())));
    }
    if meta.len() == 0 {
        return Err(CliError::Usage(format!(
            "{} is empty; share a file with content",
            path.display()
        )));
    }
    let mut request = options.request.clone();
    request.size = meta.len();
    if request.name.is_empty() {
        request.name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
    }
    let (file, parts_sent, parts_already_stored) = if request.size > limits::MULTIPART_THRESHOLD {
        let modified = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        let key = upload_key(&api.base, &path, request.size, modified);
        in_parts(api, store, &key, &path, &request, &options).await?
    } else {
        (single(api, store, &path, request, &options).await?, 0, 0)
    };
    let token = store.owned(&file.id).map(|o| o.token).unwrap_or_default();
    Ok(Uploaded {
        share_link: api.share_link(&file.id),
        manage_link: api.manage_link(&file.id, &token),
        file,
        parts_sent,
        parts_already_stored,
    })
}

async fn single(
    api: &Api,
    store: &Store,
    path: &Path,
    mut request: CreateUploadRequest,
    options: &UploadOptions,
) -> Result<FileView, CliError> {
    let bytes = tokio::fs::read(path)
        .await
        .map_err(local(format!("cannot read {}", path.display())))?;
    if bytes.len() as u64 != request.size {
        return Err(changed(path));
    }
    request.sha256 = Some(sha256_base64(&bytes));
    let announced = with_retries("announcing the upload", || api.create_upload(&request)).await?;
    remember(api, store, &announced.file, &announced.manage_token)?;
    let UploadPlan::Single(put) = &announced.upload else {
        return Err(CliError::Unavailable(
            "the site planned this small file in parts; update the CLI".into(),
        ));
    };
    let bar = progress_bar(request.size, &request.name, options.quiet);
    let bytes = bytes::Bytes::from(bytes);
    with_retries("sending the file", || {
        bar.set_position(0);
        send(api, put, bytes.clone(), &bar, &options.rate)
    })
    .await?;
    bar.finish_and_clear();
    with_retries("completing the upload", || {
        api.complete_upload(&announced.file.id, &announced.manage_token)
    })
    .await
}

/// An unfinished upload whose home region does not answer says how to go on without it.
fn stranded(err: CliError) -> CliError {
    match err {
        CliError::Refused { status, code, message } if code == "home_region_unavailable" => CliError::Refused {
            status,
            message: format!(
                "{message}; or run the same command with --restart to send the file again, from its first byte, to the region that answers"
            ),
            code,
        },
        other => other,
    }
}

/// Sends the missing parts, then completes; returns the file and (parts sent, parts found).
async fn in_parts(
    api: &Api,
    store: &Store,
    key: &str,
    path: &Path,
    request: &CreateUploadRequest,
    options: &UploadOptions,
) -> Result<(FileView, u32, u32), CliError> {
    let mut resumed = None;
    if let Some(unfinished) = store.unfinished(key).filter(|_| options.restart) {
        // Cancelled where it was, if that region answers; otherwise it expires there.
        let _ = api.abort_upload(&unfinished.id, &unfinished.token).await;
        store.forget_owned(&unfinished.id);
        store.forget_unfinished(key);
    }
    if let Some(unfinished) = store.unfinished(key) {
        let stored = with_retries("finding the stored parts", || {
            api.stored_parts(&unfinished.id, &unfinished.token)
        })
        .await
        .map_err(stranded)?;
        match stored {
            Some(stored) => {
                let held: BTreeSet<u32> = stored
                    .parts
                    .iter()
                    .filter(|p| {
                        let (start, end) = stored.plan.range(p.number, request.size);
                        p.size == end - start
                    })
                    .map(|p| p.number)
                    .collect();
                resumed = Some((unfinished, held));
            }
            None => {
                // Completed before the last run ended, or cancelled or expired on the server.
                store.forget_unfinished(key);
                if let Ok(done) = api.file(&unfinished.id).await {
                    if done.status != FileStatus::Uploading {
                        return Ok((done, 0, unfinished.plan.part_count));
                    }
                }
            }
        }
    }
    let (upload, mut held) = match resumed {
        Some(found) => found,
        None => {
            let announced = with_retries("announcing the upload", || api.create_upload(request)).await?;
            remember(api, store, &announced.file, &announced.manage_token)?;
            let UploadPlan::Multipart(plan) = announced.upload else {
                return Err(CliError::Unavailable(
                    "the site planned this large file as one request; update the CLI".into(),
                ));
            };
            let upload = Unfinished {
                api: api.base.clone(),
                id: announced.file.id.clone(),
                token: announced.manage_token.clone(),
                path: path.to_owned(),
                size: request.size,
                plan,
            };
            store.remember_unfinished(key, &upload)?;
            (upload, BTreeSet::new())
        }
    };
    let found = held.len() as u32;
    let bar = progress_bar(request.size, &request.name, options.quiet);
    let mut sent = 0;
    // Twice at most: a completion that finds parts missing sends those again.
    for _ in 0..2 {
        let missing: Vec<u32> = (1..=upload.plan.part_count).filter(|n| !held.contains(n)).collect();
        bar.set_position(held.iter().map(|n| part_len(&upload.plan, *n, upload.size)).sum());
        sent += missing.len() as u32;
        stream::iter(missing)
            .map(|number| send_part(api, &upload, path, number, &bar, &options.rate))
            .buffer_unordered(options.parallel.max(1))
            .try_collect::<Vec<()>>()
            .await?;
        match api.complete_upload(&upload.id, &upload.token).await {
            Ok(done) => {
                bar.finish_and_clear();
                store.forget_unfinished(key);
                return Ok((done, sent, found));
            }
            Err(err) if err.is_transient() => return Err(err),
            Err(refused) => match api.stored_parts(&upload.id, &upload.token).await? {
                Some(now) => held = now.parts.iter().map(|p| p.number).collect(),
                None => {
                    store.forget_unfinished(key);
                    return Err(refused);
                }
            },
        }
    }
    Err(CliError::Unavailable(
        "storage did not keep every part; run the same command again to resume".into(),
    ))
}

fn part_len(plan: &MultipartPlan, number: u32, size: u64) -> u64 {
    let (start, end) = plan.range(number, size);
    end - start
}

/// Reads part `number` from the file, signs it with its SHA-256 and sends it.
async fn send_part(
    api: &Api,
    upload: &Unfinished,
    path: &Path,
    number: u32,
    bar: &ProgressBar,
    rate: &RateLimit,
) -> Result<(), CliError> {
    let (start, end) = upload.plan.range(number, upload.size);
    let mut file = tokio::fs::File::open(path)
        .await
        .map_err(local(format!("cannot read {}", path.display())))?;
    file.seek(SeekFrom::Start(start))
        .await
        .map_err(local(format!("cannot read {}", path.display())))?;
    let mut buffer = vec![0; (end - start) as usize];
    file.read_exact(&mut buffer).await.map_err(|_| changed(path))?;
    let sha256 = sha256_base64(&buffer);
    let bytes = bytes::Bytes::from(buffer);
    let request = PartUrlsRequest {
        parts: vec![PartChecksum { number, sha256 }],
    };
    with_retries(&format!("sending part {number}"), || async {
        let signed = api.part_urls(&upload.id, &upload.token, &request).await?;
        let part = signed
            .parts
            .into_iter()
            .find(|p| p.number == number)
            .ok_or_else(|| CliError::Unavailable(format!("the site did not sign part {number}")))?;
        let sent_before = bar.position();
        send(api, &part.request, bytes.clone(), bar, rate)
            .await
            .inspect_err(|_| {
                bar.set_position(sent_before);
            })
    })
    .await
}

/// One presigned PUT of `bytes`, counted on `bar` as it goes out.
async fn send(
    api: &Api,
    put: &PresignedRequest,
    bytes: bytes::Bytes,
    bar: &ProgressBar,
    rate: &RateLimit,
) -> Result<(), CliError> {
    let method = reqwest::Method::from_bytes(put.method.as_bytes())
        .map_err(|_| CliError::Unavailable(format!("the site signed an unknown method {}", put.method)))?;
    // The length is set here, once, whether or not it is among the signed headers: the body
    // is a stream (for the progress bar), which would otherwise go out chunked.
    let mut request = api
        .http()
        .request(method, &put.url)
        .header("content-length", bytes.len());
    for (name, value) in put
        .headers
        .iter()
        .filter(|(name, _)| !name.eq_ignore_ascii_case("content-length"))
    {
        request = request.header(name, value);
    }
    let response = request
        .body(progress_body(bytes, bar.clone(), rate.clone()))
        .send()
        .await
        .map_err(|e| CliError::Unavailable(format!("storage could not be reached ({e})")))?;
    let status = response.status();
    if status.is_success() {
        return Ok(());
    }
    let text = response.text().await.unwrap_or_default();
    let message = format!(
        "storage answered {status}: {}",
        text.chars().take(300).collect::<String>()
    );
    if status.is_server_error() || status.as_u16() == 403 {
        // 403: the signature expired while the part waited; it is signed again.
        Err(CliError::Unavailable(message))
    } else {
        Err(CliError::Refused {
            status: status.as_u16(),
            code: "storage_refused".into(),
            message,
        })
    }
}

fn remember(api: &Api, store: &Store, file: &FileView, token: &str) -> Result<(), CliError> {
    store.remember_owned(&OwnedFile {
        api: api.base.clone(),
        id: file.id.clone(),
        name: file.name.clone(),
        token: token.to_owned(),
    })
}

fn changed(path: &Path) -> CliError {
    CliError::Local(format!(
        "{} changed while it was being sent; run the command again",
        path.display()
    ))
}

/// The body of a PUT, in chunks that move the bar and keep to the rate limit as they are sent.
mod bytes_stream {
    use futures::stream;
    use indicatif::ProgressBar;

    use crate::transfer::RateLimit;

    const CHUNK: usize = 64 * 1024;

    pub fn progress_body(bytes: bytes::Bytes, bar: ProgressBar, rate: RateLimit) -> reqwest::Body {
        let chunks = stream::unfold((bytes, bar, rate), |(mut rest, bar, rate)| async move {
            if rest.is_empty() {
                return None;
            }
            let chunk = rest.split_to(CHUNK.min(rest.len()));
            rate.take(chunk.len()).await;
            bar.inc(chunk.len() as u64);
            Some((Ok::<_, std::io::Error>(chunk), (rest, bar, rate)))
        });
        reqwest::Body::wrap_stream(chunks)
    }
}

/// The files to upload: each path as given (`-`: standard input), refused early when it cannot
/// be read.
pub fn check_paths(paths: &[PathBuf]) -> Result<(), CliError> {
    for path in paths.iter().filter(|p| !crate::spool::is_stdin(p)) {
        std::fs::metadata(path).map_err(local(format!("cannot read {}", path.display())))?;
    }
    Ok(())
}
