//! One file's own page: what it is, where its copies are, its link and QR code, download.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use twinshare_api::Visibility;

use crate::{
    api, format, live,
    widgets::{self, CopyButton, CopyLink, DownloadButton, PageHeading, QrCode, RefusedFile},
};

#[component]
pub fn FilePage() -> impl IntoView {
    let params = use_params_map();
    let file = live::live(
        move || {
            let id = params.read().get("id").unwrap_or_default();
            async move { api::find_file(&id).await }
        },
        format::settling,
        2_000,
    );
    // After a download of a limited file, its count is read again: the next may be the last.
    let downloaded = move || {
        let id = params.read_untracked().get("id").unwrap_or_default();
        leptos::task::spawn_local(async move {
            crate::live::sleep_ms(1_500).await;
            file.set(Some(api::find_file(&id).await));
        });
    };
    move || match file.get() {
        None => view! { <p class="muted">"Loading…"</p> }.into_any(),
        Some(Err(refused)) => view! {
            <RefusedFile refused>
                <a href="/files">"See the shared files"</a>" or "<a href="/">"share one"</a>"."
            </RefusedFile>
        }
        .into_any(),
        Some(Ok(file)) => {
            let link = format::share_link(&file.id);
            let regions = file
                .copies
                .iter()
                .map(|c| format!("{}: {}", c.region, c.state.as_str()))
                .collect::<Vec<_>>()
                .join(" · ");
            let listing = match file.visibility {
                Visibility::Listed => "Listed: anyone can find it in the table",
                Visibility::Unlisted => "Unlisted: only people with the link can open it",
            };
            let hash = match file.sha256.as_deref().and_then(format::sha256_hex) {
                Some(hex) => view! {
                    <code class="hash">{hex.clone()}</code>" "<CopyButton text=hex label="Copy SHA-256" />
                }
                .into_any(),
                None => view! { <span class="muted">"checked part by part on upload"</span> }.into_any(),
            };
            view! {
                <article class="file-page">
                    <PageHeading text=file.name.clone() class="file-name" />
                    <dl>
                        <dt>"Size"</dt><dd>{format::size(file.size)}</dd>
                        <dt>"Shared by"</dt><dd>{format::uploader(&file)}</dd>
                        <dt>"Shared"</dt><dd>{format::age(file.created_at_ms, js_sys::Date::now())}</dd>
                        <dt>"Visibility"</dt><dd>{listing}</dd>
                        <dt>"Safety"</dt>
                        <dd>
                            <details class="regions">
                                <summary><span class="badge" class:bad=format::copies_at_risk(&file)>{format::stored_in(&file)}</span></summary>
                                {regions}
                            </details>
                        </dd>
                        <dt>"Expires"</dt><dd>{format::expiry(file.expires_at_ms, js_sys::Date::now())}</dd>
                        <dt>"Downloads"</dt><dd>{format::downloads_left(&file)}</dd>
                        <dt>"Type"</dt><dd>{file.content_type.clone()}</dd>
                        <dt>"SHA-256"</dt><dd>{hash}</dd>
                    </dl>
                    <p class="actions">
                        {if file.downloads_left == Some(0) {
                            view! { <span class="error" role="status">"This file has reached its download limit."</span> }.into_any()
                        } else if file.protected {
                            view! { <PasswordDownload id=file.id.clone() /> }.into_any()
                        } else {
                            view! { <DownloadButton file=file.clone() on_started=downloaded /> }.into_any()
                        }}
                        <CopyLink link=link.clone() />
                    </p>
                    <QrCode link />
                </article>
            }.into_any()
        }
    }
}

/// A protected file's download: the password goes in a header; the answer is the address,
/// which the page then follows (S3 answers it as an attachment, so the page stays).
#[component]
fn PasswordDownload(id: String) -> impl IntoView {
    let password = RwSignal::new(String::new());
    let error = RwSignal::new(None::<String>);
    let busy = RwSignal::new(false);
    let id = StoredValue::new(id);
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        busy.set(true);
        error.set(None);
        leptos::task::spawn_local(async move {
            match api::download_link(&id.get_value(), Some(&password.get_untracked())).await {
                Ok(url) => widgets::follow(&url),
                Err(refused) => error.set(Some(refused.message)),
            }
            busy.set(false);
        });
    };
    view! {
        <form class="password-download" on:submit=submit>
            <label>
                "This file is protected: its password"
                <input type="password" name="file-password" required autocomplete="off"
                    prop:value=password on:input=move |ev| password.set(event_target_value(&ev)) />
            </label>
            <button type="submit" class="download" disabled=busy>"Download"</button>
            {move || error.get().map(|m| view! { <span class="error" role="alert">{m}</span> })}
        </form>
    }
}
