//! Sending bytes from the browser, shared by single and multipart uploads: where an upload
//! stands ([`Phase`]), hashing a file or a slice a chunk at a time, and one PUT with progress.

use base64::{engine::general_purpose::STANDARD, Engine};
use sha2::{Digest, Sha256};
use twinshare_api::{FileView, PresignedRequest};
use wasm_bindgen::{closure::Closure, JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Blob, ProgressEvent, XmlHttpRequest};

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
        /// For uploads in parts: (parts stored, parts in all).
        parts: Option<(u32, u32)>,
        paused: bool,
    },
    Completing,
    Done(Box<FileView>),
    Failed(String),
    /// An upload in parts whose home region stopped answering: what it says, and the page
    /// offers to start the file again in the other region.
    Stranded(String),
}

pub(crate) fn js_error(value: JsValue) -> String {
    value
        .as_string()
        .or_else(|| js_sys::JSON::stringify(&value).ok().and_then(|s| s.as_string()))
        .unwrap_or_else(|| "unknown browser error".into())
}

pub(crate) fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// SHA-256 (base64) of a file or a slice of one, read a chunk at a time.
///
/// The bytes come through a BYOB ("bring your own buffer") reader into one buffer reused for
/// every read, so hashing a 2 GiB file allocates no more than hashing a small one; a browser
/// without byte streams reads chunk by chunk instead, each chunk a new buffer that the garbage
/// collector frees later.
pub async fn sha256_base64(file: &Blob, on_progress: impl Fn(f64)) -> Result<String, String> {
    let mut hasher = Sha256::new();
    match web_sys::ReadableStreamByobReader::new(&file.stream()) {
        Ok(reader) => {
            let outcome = hash_from_reader(&reader, file.size(), &mut hasher, &on_progress).await;
            reader.release_lock();
            outcome?;
        }
        Err(_) => hash_by_chunks(file, &mut hasher, &on_progress).await?,
    }
    Ok(STANDARD.encode(hasher.finalize()))
}

async fn hash_from_reader(
    reader: &web_sys::ReadableStreamByobReader,
    size: f64,
    hasher: &mut Sha256,
    on_progress: &impl Fn(f64),
) -> Result<(), String> {
    let read_error = |e| format!("the file could not be read: {}", js_error(e));
    // Each read transfers the buffer to the stream and hands it back filled: keep using it.
    let mut buffer = js_sys::ArrayBuffer::new(HASH_CHUNK as u32);
    let mut chunk = Vec::new();
    let mut done_bytes = 0.0;
    loop {
        let view = js_sys::Uint8Array::new(&buffer);
        let result = JsFuture::from(reader.read_with_array_buffer_view(&view))
            .await
            .map_err(read_error)?;
        let done = js_sys::Reflect::get(&result, &"done".into()).map_err(read_error)?;
        let value = js_sys::Reflect::get(&result, &"value".into()).map_err(read_error)?;
        let Some(filled) = value.dyn_ref::<js_sys::Uint8Array>() else {
            break;
        };
        chunk.resize(filled.length() as usize, 0);
        filled.copy_to(&mut chunk);
        hasher.update(&chunk);
        done_bytes += f64::from(filled.length());
        if size > 0.0 {
            on_progress(done_bytes / size);
        }
        if done.as_bool() == Some(true) {
            break;
        }
        buffer = filled.buffer();
    }
    Ok(())
}

async fn hash_by_chunks(file: &Blob, hasher: &mut Sha256, on_progress: &impl Fn(f64)) -> Result<(), String> {
    let size = file.size();
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
    Ok(())
}

/// S3 answers errors in XML; pull out its message for the person.
fn storage_message(body: &str) -> Option<&str> {
    let start = body.find("<Message>")? + "<Message>".len();
    let end = body[start..].find("</Message>")? + start;
    Some(&body[start..end])
}

/// Why a PUT did not store its bytes.
#[derive(Debug, Clone, PartialEq)]
pub enum PutError {
    /// Cancelled here (a pause): not a failure.
    Cancelled,
    /// Storage answered with this status (S3's message included).
    Refused(u16, String),
    /// No answer: the connection failed.
    Network(String),
}

impl std::fmt::Display for PutError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PutError::Cancelled => write!(f, "the upload was cancelled"),
            PutError::Refused(status, detail) => write!(f, "storage refused the upload ({status}): {detail}"),
            PutError::Network(why) => write!(f, "{why}"),
        }
    }
}

/// Sends the file (or a slice of it) with the presigned request, reporting (bytes sent, total)
/// as it goes. `started` receives the request, so that it can be cancelled.
pub async fn put_with_progress(
    request: &PresignedRequest,
    file: &Blob,
    on_progress: impl Fn(f64, f64) + 'static,
    started: impl FnOnce(&XmlHttpRequest),
) -> Result<(), PutError> {
    let network = |e: JsValue| PutError::Network(js_error(e));
    let xhr = XmlHttpRequest::new().map_err(network)?;
    xhr.open_with_async(&request.method, &request.url, true)
        .map_err(network)?;
    for (name, value) in &request.headers {
        xhr.set_request_header(name, value).map_err(network)?;
    }
    let progress = Closure::<dyn FnMut(ProgressEvent)>::new(move |event: ProgressEvent| {
        on_progress(event.loaded(), event.total())
    });
    let upload = xhr.upload().map_err(network)?;
    upload.set_onprogress(Some(progress.as_ref().unchecked_ref()));

    let finished = js_sys::Promise::new(&mut |resolve, reject| {
        let on_load = Closure::once_into_js(move || resolve.call0(&JsValue::NULL));
        let failed = reject.clone();
        let on_error =
            Closure::once_into_js(move || failed.call1(&JsValue::NULL, &"the connection to storage failed".into()));
        let on_abort = Closure::once_into_js(move || reject.call1(&JsValue::NULL, &JsValue::TRUE));
        xhr.set_onload(Some(on_load.unchecked_ref()));
        xhr.set_onerror(Some(on_error.unchecked_ref()));
        xhr.set_onabort(Some(on_abort.unchecked_ref()));
    });
    xhr.send_with_opt_blob(Some(file)).map_err(network)?;
    started(&xhr);
    let outcome = JsFuture::from(finished).await;
    upload.set_onprogress(None);
    drop(progress);
    if let Err(why) = outcome {
        return Err(if why == JsValue::TRUE {
            PutError::Cancelled
        } else {
            PutError::Network(js_error(why))
        });
    }

    let status = xhr.status().unwrap_or(0);
    if (200..300).contains(&status) {
        return Ok(());
    }
    let body = xhr.response_text().ok().flatten().unwrap_or_default();
    let detail = storage_message(&body)
        .map(str::to_owned)
        .unwrap_or_else(|| xhr.status_text().unwrap_or_default());
    Err(PutError::Refused(status, detail))
}
