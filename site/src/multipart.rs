//! Files over [`twinshare_api::limits::MULTIPART_THRESHOLD`]: sent in parts straight to S3, [`IN_FLIGHT`] at a
//! time. Parts are hashed one after another, a chunk at a time (memory stays at one chunk), and
//! their URLs signed in batches; the bytes are sent from the file itself, never copied. A failed
//! part is retried with backoff; pausing cancels the parts in flight and sends them again later.
//!
//! The upload's id is kept in localStorage under the file's name, size and modification time,
//! so after a reload (or a crash) choosing the same file resumes it: the API says which parts
//! are stored, and only the others are sent.

use std::{
    cell::RefCell,
    collections::{BTreeMap, BTreeSet, VecDeque},
    rc::Rc,
};

use leptos::{prelude::*, task::spawn_local};
use serde::{Deserialize, Serialize};
use twinshare_api::{
    CreateUploadRequest, FileStatus, FileView, MultipartPlan, PartChecksum, PartUrlsRequest, UploadPlan,
};
use web_sys::{File, XmlHttpRequest};

use crate::{
    api::{self, Refusal},
    live::sleep_ms,
    transfer::{js_error, now_ms, put_with_progress, sha256_base64, Phase, PutError},
    upload::UploadError,
};

/// Parts sent at once.
pub const IN_FLIGHT: usize = 6;
/// Attempts of one part before the upload stops (it can be resumed later).
const MAX_ATTEMPTS: u32 = 6;
const STORAGE_PREFIX: &str = "twinshare.upload.";
/// The server forgets unfinished uploads after a day; so does the browser.
const FORGET_AFTER_MS: f64 = 24.0 * 3600.0 * 1000.0;

/// An upload in parts that has not completed, as remembered by this browser.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Unfinished {
    pub id: String,
    pub name: String,
    pub size: u64,
    pub last_modified: f64,
    pub started_at_ms: f64,
    pub parts_stored: u32,
    pub part_count: u32,
    /// The upload's manage token: resuming, completing and cancelling need it.
    #[serde(default)]
    pub token: String,
}

impl Unfinished {
    fn key(&self) -> String {
        storage_key(&self.name, self.size, self.last_modified)
    }

    /// Whether `file` is the file this upload was sending.
    pub fn is_file(&self, file: &File) -> bool {
        self.key() == storage_key(&file.name(), file.size() as u64, file.last_modified())
    }
}

fn storage_key(name: &str, size: u64, last_modified: f64) -> String {
    format!("{STORAGE_PREFIX}{size}.{last_modified}.{name}")
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// Every unfinished upload this browser knows, oldest first; forgets those too old to resume.
pub fn unfinished() -> Vec<Unfinished> {
    let Some(storage) = storage() else { return Vec::new() };
    let keys: Vec<String> = (0..storage.length().unwrap_or(0))
        .filter_map(|i| storage.key(i).ok().flatten())
        .filter(|k| k.starts_with(STORAGE_PREFIX))
        .collect();
    let mut found: Vec<Unfinished> = keys
        .iter()
        .filter_map(|key| {
            let entry = storage
                .get_item(key)
                .ok()
                .flatten()
                .and_then(|text| serde_json::from_str::<Unfinished>(&text).ok());
            match entry {
                Some(entry) if now_ms() - entry.started_at_ms < FORGET_AFTER_MS => Some(entry),
                _ => {
                    let _ = storage.remove_item(key);
                    None
                }
            }
        })
        .collect();
    found.sort_by(|a, b| a.started_at_ms.total_cmp(&b.started_at_ms));
    found
}

fn remember(entry: &Unfinished) {
    if let (Some(storage), Ok(text)) = (storage(), serde_json::to_string(entry)) {
        let _ = storage.set_item(&entry.key(), &text);
    }
}

fn forget(entry: &Unfinished) {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(&entry.key());
    }
}

/// Cancels an unfinished upload on the server and forgets it here.
pub async fn discard(entry: &Unfinished) -> Result<(), String> {
    api::abort_upload(&entry.id, &entry.token).await?;
    crate::owned::forget(&entry.id);
    forget(entry);
    Ok(())
}

/// Where each part stands. Shared by the scheduler and the requests in flight.
struct Parts {
    plan: MultipartPlan,
    size: u64,
    /// Waiting to be sent, in order.
    pending: VecDeque<u32>,
    /// SHA-256 of parts hashed already, so that a retry does not read them again.
    checksums: BTreeMap<u32, String>,
    attempts: BTreeMap<u32, u32>,
    /// Parts waiting out a backoff: not sent before this time (ms).
    not_before: BTreeMap<u32, f64>,
    /// Requests in flight and the bytes each has sent.
    in_flight: BTreeMap<u32, (Option<XmlHttpRequest>, f64)>,
    stored: BTreeSet<u32>,
    failure: Option<String>,
}

impl Parts {
    fn len(&self, number: u32) -> f64 {
        let (start, end) = self.plan.range(number, self.size);
        (end - start) as f64
    }

    fn stored_bytes(&self) -> f64 {
        self.stored.iter().map(|n| self.len(*n)).sum()
    }

    fn loaded(&self) -> f64 {
        self.stored_bytes() + self.in_flight.values().map(|(_, sent)| sent).sum::<f64>()
    }

    /// Cancels every request in flight; their parts go back to the front of the queue.
    fn cancel_in_flight(&mut self) {
        let cancelled: Vec<u32> = self.in_flight.keys().copied().collect();
        for (xhr, _) in std::mem::take(&mut self.in_flight).into_values() {
            if let Some(xhr) = xhr {
                let _ = xhr.abort();
            }
        }
        for number in cancelled.into_iter().rev() {
            self.pending.push_front(number);
        }
    }

    /// The next parts that may be sent now, at most `n`, taken off the queue.
    fn take_ready(&mut self, n: usize) -> Vec<u32> {
        let now = now_ms();
        let mut ready = Vec::new();
        let mut waiting = VecDeque::new();
        while let Some(number) = self.pending.pop_front() {
            if ready.len() < n && self.not_before.get(&number).is_none_or(|t| *t <= now) {
                ready.push(number);
            } else {
                waiting.push_back(number);
            }
        }
        self.pending = waiting;
        ready
    }
}

/// Uploads `file` in parts, resuming a remembered upload of the same file if there is one.
pub async fn run(
    file: &File,
    request: &CreateUploadRequest,
    phase: RwSignal<Phase>,
    paused: RwSignal<bool>,
) -> Result<FileView, UploadError> {
    let key = storage_key(&file.name(), request.size, file.last_modified());
    let remembered = unfinished().into_iter().find(|u| u.key() == key);
    let mut resumed = None;
    if let Some(entry) = remembered {
        match api::stored_parts(&entry.id, &entry.token)
            .await
            .map_err(stranded_or_failed)?
        {
            Some(stored) => resumed = Some((entry, stored)),
            None => {
                // Completed before the page went away, or cancelled or expired on the server.
                forget(&entry);
                if let Ok(done) = api::get_file(&entry.id).await {
                    if done.status != FileStatus::Uploading {
                        return Ok(done);
                    }
                }
            }
        }
    }
    let (mut entry, plan, stored) = match resumed {
        Some((entry, stored)) => {
            let plan = stored.plan;
            let numbers = stored
                .parts
                .iter()
                .filter(|p| {
                    let (start, end) = plan.range(p.number, request.size);
                    p.size == end - start
                })
                .map(|p| p.number)
                .collect();
            (entry, plan, numbers)
        }
        None => {
            let announced = api::create_upload(request).await?;
            let UploadPlan::Multipart(plan) = announced.upload else {
                return Err("the server planned this large file as one request; reload the page and try again".into());
            };
            let entry = Unfinished {
                id: announced.file.id.clone(),
                name: file.name(),
                size: request.size,
                last_modified: file.last_modified(),
                started_at_ms: now_ms(),
                parts_stored: 0,
                part_count: plan.part_count,
                token: announced.manage_token.clone(),
            };
            crate::owned::remember(&entry.id, &entry.token, &entry.name);
            remember(&entry);
            (entry, plan, BTreeSet::new())
        }
    };

    // Twice at most: a completion that finds parts missing sends those again.
    let mut stored = stored;
    for _ in 0..2 {
        if let Err(message) = send_parts(file, &mut entry, plan, &stored, phase, paused).await {
            return Err(why_stopped(&entry, message).await);
        }
        phase.set(Phase::Completing);
        match api::complete_upload(&entry.id, &entry.token).await {
            Ok(done) => {
                forget(&entry);
                return Ok(done);
            }
            Err(message) => match api::stored_parts(&entry.id, &entry.token)
                .await
                .map_err(stranded_or_failed)?
            {
                Some(now) => stored = now.parts.iter().map(|p| p.number).collect(),
                None => {
                    forget(&entry);
                    return Err(message.into());
                }
            },
        }
    }
    Err("storage did not keep every part; choose the file again to resume"
        .to_owned()
        .into())
}

/// A refusal of the upload's own calls: stranded when the server answered 5xx (its home region
/// does not answer, and the other region says so), failed otherwise (this browser's network, or
/// the server's own reason).
fn stranded_or_failed(refused: Refusal) -> UploadError {
    if refused.status >= 500 {
        UploadError::Stranded(format!(
            "{}. The parts sent so far wait there; the file can start again in the other region",
            refused.message.trim_end_matches(['.', ' '])
        ))
    } else {
        UploadError::Failed(refused.message)
    }
}

/// Why sending the parts stopped: asks once whether the upload's home region still answers.
async fn why_stopped(entry: &Unfinished, message: String) -> UploadError {
    match api::stored_parts(&entry.id, &entry.token).await {
        Err(refused) if refused.status >= 500 => stranded_or_failed(refused),
        _ => UploadError::Failed(message),
    }
}

/// Gives up this browser's upload of `file`, stranded in a region that does not answer: it is
/// cancelled there if that region answers after all (otherwise the server forgets it when it
/// expires), and forgotten here, so that choosing the file starts a new upload.
pub async fn abandon(file: &File) {
    let key = storage_key(&file.name(), file.size() as u64, file.last_modified());
    for entry in unfinished().into_iter().filter(|u| u.key() == key) {
        let _ = api::abort_upload(&entry.id, &entry.token).await;
        crate::owned::forget(&entry.id);
        forget(&entry);
    }
}

/// Sends every part not in `stored`, until all are stored or one fails for good.
async fn send_parts(
    file: &File,
    entry: &mut Unfinished,
    plan: MultipartPlan,
    stored: &BTreeSet<u32>,
    phase: RwSignal<Phase>,
    paused: RwSignal<bool>,
) -> Result<(), String> {
    let parts = Rc::new(RefCell::new(Parts {
        plan,
        size: entry.size,
        pending: (1..=plan.part_count).filter(|n| !stored.contains(n)).collect(),
        checksums: BTreeMap::new(),
        attempts: BTreeMap::new(),
        not_before: BTreeMap::new(),
        in_flight: BTreeMap::new(),
        stored: stored.clone(),
        failure: None,
    }));
    let total = entry.size as f64;
    let (started, loaded_at_start) = (now_ms(), parts.borrow().stored_bytes());
    let report = {
        let parts = parts.clone();
        move |is_paused: bool| {
            let parts = parts.borrow();
            let loaded = parts.loaded();
            let elapsed = (now_ms() - started) / 1000.0;
            let sent = loaded - loaded_at_start;
            phase.set(Phase::Uploading {
                loaded,
                total,
                bytes_per_sec: if elapsed > 0.0 && sent > 0.0 {
                    sent / elapsed
                } else {
                    0.0
                },
                parts: Some((parts.stored.len() as u32, plan.part_count)),
                paused: is_paused,
            });
        }
    };

    loop {
        report(paused.get_untracked());
        {
            let mut state = parts.borrow_mut();
            if let Some(failure) = state.failure.take() {
                state.cancel_in_flight();
                return Err(failure);
            }
            if state.stored.len() as u32 != entry.parts_stored {
                entry.parts_stored = state.stored.len() as u32;
                remember(entry);
            }
            if paused.get_untracked() {
                state.cancel_in_flight();
            }
            if state.pending.is_empty() && state.in_flight.is_empty() {
                return Ok(());
            }
        }
        let free = IN_FLIGHT.saturating_sub(parts.borrow().in_flight.len());
        let batch = if paused.get_untracked() || free == 0 {
            Vec::new()
        } else {
            parts.borrow_mut().take_ready(free)
        };
        if batch.is_empty() {
            sleep_ms(100).await;
            continue;
        }
        // Hash what is not hashed yet (the slice is read a chunk at a time), then sign the batch.
        let mut checksums = Vec::with_capacity(batch.len());
        for &number in &batch {
            let known = parts.borrow().checksums.get(&number).cloned();
            let sha256 = match known {
                Some(sha256) => sha256,
                None => {
                    let (start, end) = plan.range(number, entry.size);
                    let slice = file
                        .slice_with_f64_and_f64(start as f64, end as f64)
                        .map_err(js_error)?;
                    let sha256 = sha256_base64(&slice, |_| {}).await?;
                    parts.borrow_mut().checksums.insert(number, sha256.clone());
                    sha256
                }
            };
            checksums.push(PartChecksum { number, sha256 });
        }
        let signed = match api::part_urls(&entry.id, &entry.token, &PartUrlsRequest { parts: checksums }).await {
            Ok(signed) => signed,
            Err(message) => {
                // The API is unreachable: wait and try these parts again.
                let attempts = {
                    let mut state = parts.borrow_mut();
                    for &number in batch.iter().rev() {
                        state.pending.push_front(number);
                    }
                    let attempts = state.attempts.entry(batch[0]).or_insert(0);
                    *attempts += 1;
                    *attempts
                };
                if attempts >= MAX_ATTEMPTS {
                    return Err(format!("{message}; choose the file again to resume"));
                }
                sleep_ms(backoff_ms(attempts)).await;
                continue;
            }
        };
        for part in signed.parts {
            let number = part.number;
            let (start, end) = plan.range(number, entry.size);
            let slice = file
                .slice_with_f64_and_f64(start as f64, end as f64)
                .map_err(js_error)?;
            parts.borrow_mut().in_flight.insert(number, (None, 0.0));
            let shared = parts.clone();
            spawn_local(async move {
                if !shared.borrow().in_flight.contains_key(&number) {
                    return; // cancelled by a pause before it started
                }
                let progress = {
                    let shared = shared.clone();
                    move |sent: f64, _| {
                        if let Some(entry) = shared.borrow_mut().in_flight.get_mut(&number) {
                            entry.1 = sent;
                        }
                    }
                };
                let register = {
                    let shared = shared.clone();
                    move |xhr: &XmlHttpRequest| {
                        if let Some(entry) = shared.borrow_mut().in_flight.get_mut(&number) {
                            entry.0 = Some(xhr.clone());
                        }
                    }
                };
                let outcome = put_with_progress(&part.request, &slice, progress, register).await;
                let mut state = shared.borrow_mut();
                match outcome {
                    // A pause cancelled it and put it back in the queue already.
                    Err(PutError::Cancelled) => {}
                    Ok(()) => {
                        state.in_flight.remove(&number);
                        state.stored.insert(number);
                    }
                    Err(err) => {
                        state.in_flight.remove(&number);
                        if matches!(err, PutError::Refused(400, _)) {
                            // The bytes did not match their SHA-256 (the file changed?): hash again.
                            state.checksums.remove(&number);
                        }
                        let attempts = state.attempts.entry(number).or_insert(0);
                        *attempts += 1;
                        let attempts = *attempts;
                        if attempts >= MAX_ATTEMPTS {
                            state.failure = Some(format!(
                                "part {number} failed {attempts} times ({err}); choose the file again to resume"
                            ));
                        } else {
                            state.not_before.insert(number, now_ms() + backoff_ms(attempts) as f64);
                            state.pending.push_back(number);
                        }
                    }
                }
            });
        }
    }
}

/// 1 s, 2 s, 4 s … up to 30 s.
fn backoff_ms(attempts: u32) -> i32 {
    (1_000 * 2i32.pow(attempts.saturating_sub(1).min(5))).min(30_000)
}
