//! One file's upload from the browser: hash it in chunks, announce it, PUT it straight to S3
//! with progress, complete it. Memory stays at one chunk, whatever the file's size.

use base64::{engine::general_purpose::STANDARD, Engine};
use leptos::prelude::*;
use sha2::{Digest, Sha256};
use twinshare_api::{CreateUploadRequest, FileView, PresignedRequest, UploadPlan, Visibility};
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{File, ProgressEvent, XmlHttpRequest};

use crate::api;

/// Bytes read and hashed at a time.
const HASH_CHUNK: f64 = 8.0 * 1024.0 * 1024.0;

/// Where one upload stands, for its row on the page.
#[derive(Debug, Clone, PartialEq)]
pub enum Phase {
    /// Computing the SHA-256; fraction done.
    Hashing(f64),
    Uploading {
        loaded: f64,
        total: f64,
        bytes_per_sec: f64,
    },
    Completing,
    Done(Box<FileView>),
    Failed(String),
}

fn js_error(value: JsValue) -> String {
    value
        .as_string()
        .or_else(|| js_sys::JSON::stringify(&value).ok().and_then(|s| s.as_string()))
        .unwrap_or_else(|| "unknown browser error".into())
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

pub async fn sha256_base64(file: &File, on_progress: impl Fn(f64)) -> Result<String, String> {
    let size = file.size();
    let mut hasher = Sha256::new();
    let mut chunk = Vec::new();
    let mut offset = 0.0;
    while offset < size {
        let end = (offset + HASH_CHUNK).min(size);
        let blob = file.slice_with_f64_and_f64(offset, end).map_err(js_error)?;
        let buffer = JsFuture::from(blob.array_buffer())
            .await
            .map_err(|e| format!("the file could not be read: {}", js_error(e)))?;
        let bytes = js_sys::Uint8Array::new(&buffer);
        chunk.resize(bytes.length() as usize, 0);
        bytes.copy_to(&mut chunk);
        hasher.update(&chunk);
        offset = end;
        on_progress(offset / size);
    }
    Ok(STANDARD.encode(hasher.finalize()))
}

/// S3 answers errors in XML; pull out its message for the person.
fn storage_message(body: &str) -> Option<&str> {
    let start = body.find("<Message>")? + "<Message>".len();
    let end = body[start..].find("</Message>")? + start;
    Some(&body[start..end])
}

/// Sends the file with the presigned request, reporting (bytes sent, total) as it goes.
pub async fn put_with_progress(
    request: &PresignedRequest,
    file: &File,
    on_progress: impl Fn(f64, f64) + 'static,
) -> Result<(), String> {
    let xhr = XmlHttpRequest::new().map_err(js_error)?;
    xhr.open_with_async(&request.method, &request.url, true)
        .map_err(js_error)?;
    for (name, value) in &request.headers {
        xhr.set_request_header(name, value).map_err(js_error)?;
    }
    let progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |event: ProgressEvent| {
        on_progress(event.loaded(), event.total())
    });
    let upload = xhr.upload().map_err(js_error)?;
    upload.set_onprogress(Some(progress.as_ref().unchecked_ref()));

    let finished = js_sys::Promise::new(&mut |resolve, reject| {
        let on_load = Closure::once_into_js(move || resolve.call0(&JsValue::NULL));
        let failed = reject.clone();
        let on_error =
            Closure::once_into_js(move || failed.call1(&JsValue::NULL, &"the connection to storage failed".into()));
        let on_abort = Closure::once_into_js(move || reject.call1(&JsValue::NULL, &"the upload was cancelled".into()));
        xhr.set_onload(Some(on_load.unchecked_ref()));
        xhr.set_onerror(Some(on_error.unchecked_ref()));
        xhr.set_onabort(Some(on_abort.unchecked_ref()));
    });
    xhr.send_with_opt_blob(Some(file)).map_err(js_error)?;
    let outcome = JsFuture::from(finished).await;
    upload.set_onprogress(None);
    drop(progress);
    outcome.map_err(js_error)?;

    let status = xhr.status().unwrap_or(0);
    if (200..300).contains(&status) {
        return Ok(());
    }
    let body = xhr.response_text().ok().flatten().unwrap_or_default();
    let detail = storage_message(&body)
        .map(str::to_owned)
        .unwrap_or_else(|| xhr.status_text().unwrap_or_default());
    Err(format!("storage refused the upload ({status}): {detail}"))
}

/// The whole upload of one file, reporting each step through `phase`.
pub async fn run(file: File, uploader: String, visibility: Visibility, phase: RwSignal<Phase>) -> Result<(), String> {
    if file.size() == 0.0 {
        return Err("this file is empty; choose a file with content".into());
    }
    let sha256 = sha256_base64(&file, move |done| phase.set(Phase::Hashing(done))).await?;
    let announced = api::create_upload(&CreateUploadRequest {
        name: file.name(),
        size: file.size() as u64,
        content_type: file.type_(),
        sha256,
        uploader: Some(uploader).filter(|u| !u.trim().is_empty()),
        visibility,
    })
    .await?;
    let UploadPlan::Single(put) = &announced.upload;
    let started = now_ms();
    phase.set(Phase::Uploading {
        loaded: 0.0,
        total: file.size(),
        bytes_per_sec: 0.0,
    });
    put_with_progress(put, &file, move |loaded, total| {
        let elapsed = (now_ms() - started) / 1000.0;
        let bytes_per_sec = if elapsed > 0.0 { loaded / elapsed } else { 0.0 };
        phase.set(Phase::Uploading {
            loaded,
            total,
            bytes_per_sec,
        });
    })
    .await?;
    phase.set(Phase::Completing);
    let mut file_view = api::complete_upload(&announced.file.id).await?;
    phase.set(Phase::Done(Box::new(file_view.clone())));
    // Follow replication until the file has its second copy (it is shareable already).
    for _ in 0..60 {
        if !crate::format::settling(&file_view) {
            break;
        }
        crate::live::sleep_ms(2_000).await;
        if let Ok(fresh) = api::get_file(&file_view.id).await {
            file_view = fresh;
            phase.set(Phase::Done(Box::new(file_view.clone())));
        }
    }
    Ok(())
}
