//! The site's upload code, when its operator chose `UploadMode=code`: asked once and kept in
//! sessionStorage (this tab, until it closes), sent with each new upload as `x-upload-code`.
//! A code the server refuses is forgotten, so the page asks again.

const STORAGE_KEY: &str = "twinshare.upload-code";
/// The header the upload function reads.
pub const HEADER: &str = "x-upload-code";

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.session_storage().ok().flatten()
}

pub fn get() -> Option<String> {
    storage()
        .and_then(|s| s.get_item(STORAGE_KEY).ok().flatten())
        .filter(|code| !code.is_empty())
}

pub fn remember(code: &str) {
    if let Some(storage) = storage() {
        let _ = storage.set_item(STORAGE_KEY, code.trim());
    }
}

pub fn forget() {
    if let Some(storage) = storage() {
        let _ = storage.remove_item(STORAGE_KEY);
    }
}

/// Whether a refusal is about the code: then it is forgotten.
pub fn refused(code: &str) -> bool {
    matches!(code, "upload_code_required" | "upload_code_invalid")
}

use leptos::prelude::*;
use twinshare_api::{UploadMode, UploadsView};

use crate::format;

/// Whether this tab may start uploads, as far as the site knows: not on a closed site, and on a
/// site with an upload code only once one was given. Unknown (status unread): yes, and the
/// server decides.
pub fn may_upload(uploads: Option<&UploadsView>, code_known: bool) -> bool {
    match uploads.map(|u| u.mode) {
        Some(UploadMode::Closed) => false,
        Some(UploadMode::Code) => code_known,
        _ => true,
    }
}

/// What the share page says about who may upload and how much room is left, and the upload
/// code's prompt.
#[component]
pub fn UploadGate(uploads: RwSignal<Option<UploadsView>>, code_known: RwSignal<bool>) -> impl IntoView {
    let typed = RwSignal::new(String::new());
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let code = typed.get_untracked();
        if !code.trim().is_empty() {
            remember(&code);
            typed.set(String::new());
            code_known.set(true);
        }
    };
    let room = move || {
        let view = uploads.get()?;
        let quota = view.quota_bytes?;
        let used = view.used_bytes.map_or("?".to_owned(), format::size);
        Some(view! { <p class="muted room">{format!("Storage: {used} of {} used.", format::size(quota))}</p> })
    };
    view! {
        {move || match uploads.get().map(|u| u.mode) {
            Some(UploadMode::Closed) => view! {
                <p class="notice" role="status">"This site takes no new uploads. Links to files shared here keep working."</p>
            }.into_any(),
            Some(UploadMode::Code) if !code_known.get() => view! {
                <form class="upload-code" on:submit=submit>
                    <p>"This site takes uploads from people with its upload code. Ask the site's operator for it."</p>
                    <label>
                        "Upload code"
                        <input type="password" name="upload_code" autocomplete="off" required
                            prop:value=typed on:input=move |ev| typed.set(event_target_value(&ev)) />
                    </label>
                    <button type="submit">"Use this code"</button>
                </form>
            }.into_any(),
            Some(UploadMode::Code) => view! {
                <p class="muted">
                    "Uploading with this site's upload code. "
                    <button type="button" class="link" on:click=move |_| { forget(); code_known.set(false); }>
                        "Forget the code"
                    </button>
                </p>
            }.into_any(),
            _ => ().into_any(),
        }}
        {room}
    }
}
