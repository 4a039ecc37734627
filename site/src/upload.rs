//! One file's upload from the browser. Small files: hash in chunks, announce, one PUT straight to
//! S3 with progress, complete. Larger files go in parallel parts ([`crate::multipart`]). Memory
//! stays at one chunk per part in flight, whatever the file's size.

use leptos::prelude::*;
use twinshare_api::{limits, CreateUploadRequest, FileView, UploadPlan, Visibility};
use web_sys::File;

use crate::{
    api, multipart,
    transfer::{now_ms, put_with_progress, sha256_base64, Phase},
};

/// What the person chose on the share page, for every file they drop.
#[derive(Debug, Clone, PartialEq)]
pub struct Choices {
    pub uploader: String,
    pub visibility: Visibility,
    /// How long the files are shared.
    pub expires_in_secs: u64,
    /// Downloads allowed; `None`: unlimited.
    pub max_downloads: Option<u32>,
    /// Downloads then need it.
    pub password: Option<String>,
}

/// Why an upload stopped.
#[derive(Debug, Clone, PartialEq)]
pub enum UploadError {
    /// What went wrong, for a person: trying again, or another file, may help.
    Failed(String),
    /// An upload in parts whose home region no longer answers. Its stored parts cannot be used
    /// until that region is back, but the file can start again, from its first byte, in the
    /// other region (a new upload goes wherever uploads are taken).
    Stranded(String),
}

impl From<String> for UploadError {
    fn from(message: String) -> Self {
        UploadError::Failed(message)
    }
}

impl From<&str> for UploadError {
    fn from(message: &str) -> Self {
        UploadError::Failed(message.to_owned())
    }
}

/// The whole upload of one file, reporting each step through `phase`. Large files go in parts,
/// which `paused` pauses and resumes.
pub async fn run(
    file: File,
    choices: Choices,
    phase: RwSignal<Phase>,
    paused: RwSignal<bool>,
) -> Result<(), UploadError> {
    if file.size() == 0.0 {
        return Err(UploadError::Failed(
            "this file is empty; choose a file with content".into(),
        ));
    }
    let mut request = CreateUploadRequest {
        name: file.name(),
        size: file.size() as u64,
        content_type: file.type_(),
        sha256: None,
        uploader: Some(choices.uploader).filter(|u| !u.trim().is_empty()),
        visibility: choices.visibility,
        expires_in_secs: Some(choices.expires_in_secs),
        never_expires: false,
        max_downloads: choices.max_downloads,
        password: choices.password,
    };
    let file_view = if request.size > limits::MULTIPART_THRESHOLD {
        multipart::run(&file, &request, phase, paused).await?
    } else {
        request.sha256 = Some(sha256_base64(&file, move |done| phase.set(Phase::Hashing(done))).await?);
        single(&file, &request, phase).await?
    };
    follow_replication(file_view, phase).await;
    Ok(())
}

async fn single(file: &File, request: &CreateUploadRequest, phase: RwSignal<Phase>) -> Result<FileView, String> {
    let announced = api::create_upload(request).await?;
    crate::owned::remember(&announced.file.id, &announced.manage_token, &announced.file.name);
    let UploadPlan::Single(put) = &announced.upload else {
        return Err("the server planned this small file in parts; reload the page and try again".into());
    };
    let started = now_ms();
    let total = file.size();
    let uploading = move |loaded: f64, bytes_per_sec: f64| Phase::Uploading {
        loaded,
        total,
        bytes_per_sec,
        parts: None,
        paused: false,
    };
    phase.set(uploading(0.0, 0.0));
    put_with_progress(
        put,
        file,
        move |loaded, _| {
            let elapsed = (now_ms() - started) / 1000.0;
            phase.set(uploading(loaded, if elapsed > 0.0 { loaded / elapsed } else { 0.0 }));
        },
        |_| {},
    )
    .await
    .map_err(|e| e.to_string())?;
    phase.set(Phase::Completing);
    api::complete_upload(&announced.file.id, &announced.manage_token).await
}

/// Shows the file as shared, then follows replication until it has its second copy.
async fn follow_replication(mut file_view: FileView, phase: RwSignal<Phase>) {
    phase.set(Phase::Done(Box::new(file_view.clone())));
    // Every 2 s for a minute, then every 5 s: copying gigabytes takes minutes. Gives up after
    // half an hour (the file page keeps showing its state).
    for round in 0..400 {
        if !crate::format::settling(&file_view) {
            break;
        }
        crate::live::sleep_ms(if round < 30 { 2_000 } else { 5_000 }).await;
        if let Ok(fresh) = api::get_file(&file_view.id).await {
            file_view = fresh;
            phase.set(Phase::Done(Box::new(file_view.clone())));
        }
    }
}
