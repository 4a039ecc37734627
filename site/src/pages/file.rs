//! One file's own page: what it is, where its copies are, its link and QR code, download.

use leptos::prelude::*;
use leptos_router::hooks::use_params_map;

use crate::{
    api, format, live,
    widgets::{CopyLink, QrCode},
};

#[component]
pub fn FilePage() -> impl IntoView {
    let params = use_params_map();
    let file = live::live(
        move || {
            let id = params.read().get("id").unwrap_or_default();
            async move { api::get_file(&id).await }
        },
        format::settling,
        2_000,
    );
    move || match file.get() {
        None => view! { <p class="muted">"Loading…"</p> }.into_any(),
        Some(Err(message)) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
        Some(Ok(file)) => {
            let link = format::share_link(&file.id);
            let copies = file
                .copies
                .iter()
                .map(|c| format!("{} in {}: {}", c.role.as_str(), c.region, c.state.as_str()))
                .collect::<Vec<_>>()
                .join(", ");
            view! {
                <article class="file-page">
                    <h1 class="file-name">{file.name.clone()}</h1>
                    <dl>
                        <dt>"Size"</dt><dd>{format::size(file.size)}</dd>
                        <dt>"Shared by"</dt><dd>{format::uploader(&file)}</dd>
                        <dt>"Shared"</dt><dd>{format::age(file.created_at_ms, js_sys::Date::now())}</dd>
                        <dt>"Copies"</dt><dd><span class="badge" class:bad=format::copies_at_risk(&file)>{format::copies(&file)}</span>" "{copies}</dd>
                        <dt>"Type"</dt><dd>{file.content_type.clone()}</dd>
                        <dt>"SHA-256"</dt><dd class="hash">{file.sha256.clone().unwrap_or_else(|| "checked part by part".into())}</dd>
                    </dl>
                    <p class="actions">
                        <a class="button download" href=file.download_path.clone() download=file.name.clone()>"Download"</a>
                        <CopyLink link=link.clone() />
                    </p>
                    <QrCode link />
                </article>
            }.into_any()
        }
    }
}
