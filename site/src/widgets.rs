//! Pieces that several pages show: each page's heading and title, copying a link or a hash, a
//! link's QR code, a file's download button, the outage banner.

use std::cell::RefCell;

use leptos::{html, prelude::*, task::spawn_local};
use qrcode::{render::svg, EcLevel, QrCode as Code};
use twinshare_api::{CopyRole, FileView, RegionStatus, RegionView, StatusView};

use crate::{api, live};

/// The page's heading, which also names the browser tab ("… · twinshare"). After a navigation
/// inside the site (not on the first load) focus moves to it, so keyboard and screen reader
/// users start on the new page rather than on what they clicked, as after a full page load.
#[component]
pub fn PageHeading(#[prop(into)] text: String, #[prop(optional, into)] class: String) -> impl IntoView {
    if let Some(document) = web_sys::window().and_then(|w| w.document()) {
        document.set_title(&format!("{text} · twinshare"));
    }
    let heading = NodeRef::<html::H1>::new();
    Effect::new(move |_| {
        if let Some(heading) = heading.get() {
            if arrived_by_navigation() {
                let _ = heading.focus();
            }
        }
    });
    view! { <h1 tabindex="-1" class=class node_ref=heading>{text}</h1> }
}

thread_local! {
    /// The path whose heading was last shown; `None` before the first page.
    static LAST_PAGE: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// True once per page reached by a navigation inside the site: false on the first page, and
/// when a page redraws its heading (a live refresh) without the path changing.
fn arrived_by_navigation() -> bool {
    let path = web_sys::window()
        .and_then(|w| w.location().pathname().ok())
        .unwrap_or_default();
    LAST_PAGE.with(|last| {
        let previous = last.replace(Some(path.clone()));
        previous.is_some_and(|previous| previous != path)
    })
}

/// The page of a file that cannot be shown: why (deleted, expired, not found), as a heading and
/// the server's sentence, then where to go (`children`).
#[component]
pub fn RefusedFile(refused: api::Refusal, children: Children) -> impl IntoView {
    let heading = crate::format::gone_heading(&refused.code).unwrap_or("File not found");
    view! {
        <PageHeading text=heading />
        <p class="error" role="alert">{refused.message}</p>
        <p>{children()}</p>
    }
}

/// A button that copies a link and says so.
#[component]
pub fn CopyLink(link: String) -> impl IntoView {
    view! { <CopyButton text=link label="Copy link" /> }
}

/// A button that copies `text` to the clipboard and says so.
#[component]
pub fn CopyButton(text: String, label: &'static str) -> impl IntoView {
    let copied = RwSignal::new(false);
    let copy = move |_| {
        let text = text.clone();
        if let Some(window) = web_sys::window() {
            let promise = window.navigator().clipboard().write_text(&text);
            spawn_local(async move {
                if wasm_bindgen_futures::JsFuture::from(promise).await.is_ok() {
                    copied.set(true);
                }
            });
        }
    };
    view! {
        <button type="button" class="secondary copy-link" on:click=copy>
            {move || if copied.get() { "Copied" } else { label }}
        </button>
    }
}

/// The link as a QR code, drawn here (no network call), for a phone's camera.
#[component]
pub fn QrCode(link: String) -> impl IntoView {
    let svg = qr_svg(&link);
    let label = format!("QR code of {link}");
    view! { <figure class="qr" role="img" aria-label=label inner_html=svg></figure> }
}

/// An SVG of the link's QR code, or nothing if the link is too long to encode.
pub fn qr_svg(link: &str) -> String {
    match Code::with_error_correction_level(link.as_bytes(), EcLevel::M) {
        Ok(code) => code
            .render::<svg::Color<'_>>()
            .min_dimensions(160, 160)
            .dark_color(svg::Color("#000000"))
            .light_color(svg::Color("#ffffff"))
            .quiet_zone(true)
            .build(),
        Err(_) => String::new(),
    }
}

/// A file's download button. It stays a plain link (copyable, and it works before the page's code
/// has loaded), but a click asks for the address as JSON first: a refusal (a limit reached, a file
/// taken down) is said beside the button instead of replacing the page, and an answer that may
/// pass (a region failing over, a 5xx) is asked again, twice at most, a second apart. Only for
/// files without a download limit: a limited download whose answer was lost may have been
/// counted, and asking again would spend a second one.
#[component]
pub fn DownloadButton(file: FileView, #[prop(optional, into)] on_started: Option<Callback<()>>) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let tries = if file.max_downloads.is_some() { 1 } else { 3 };
    let id = StoredValue::new(file.id.clone());
    let click = move |ev: leptos::ev::MouseEvent| {
        ev.prevent_default();
        error.set(None);
        if let Some(started) = on_started {
            started.run(());
        }
        spawn_local(async move {
            let mut answer = api::download_link(&id.get_value(), None).await;
            for _ in 1..tries {
                match &answer {
                    Err(refused) if refused.is_transient() => {
                        live::sleep_ms(1_000).await;
                        answer = api::download_link(&id.get_value(), None).await;
                    }
                    _ => break,
                }
            }
            match answer {
                Ok(url) => follow(&url),
                Err(refused) => error.set(Some(refused.message)),
            }
        });
    };
    view! {
        <a class="button download" href=file.download_path.clone() download=file.name.clone() on:click=click>"Download"</a>
        {move || error.get().map(|message| view! { <span class="error" role="alert">{message}</span> })}
    }
}

/// Opens a download address: S3 answers it as an attachment, so the page stays.
pub fn follow(url: &str) {
    if let Some(window) = web_sys::window() {
        let _ = window.location().assign(url);
    }
}

/// Shown on every page while the probe reports a region down, or while the API answering is the
/// second region's (the front failed over: the primary region is not answering at all).
#[component]
pub fn OutageBanner() -> impl IntoView {
    let status = live::live(api::get_status, |_: &StatusView| true, 5_000);
    move || {
        let Some(Ok(status)) = status.get() else { return None };
        outage_text(&status).map(|text| view! { <p class="banner" role="alert">{text}</p> })
    }
}

/// What the banner says, if anything is wrong. Uploads go to the other region when the
/// primary's storage or API is away, if that region's API is deployed and answering (its
/// probe's reports arrive: `api` up).
pub fn outage_text(status: &StatusView) -> Option<String> {
    let primary = status.regions.iter().find(|r| r.role == CopyRole::Primary)?;
    let other_takes_uploads = |than: &str| {
        status
            .regions
            .iter()
            .any(|r| r.region != than && r.api == RegionStatus::Up && r.status != RegionStatus::Down)
    };
    if !status.served_by.is_empty() && status.served_by != primary.region {
        return Some(format!(
            "{p} is not answering: this page comes from {s}. Finding, downloading and sharing files \
             works: new files are kept in {s} and copied to {p} when it is back. Edits to files \
             shared from {p} wait until then.",
            p = primary.region,
            s = status.served_by,
        ));
    }
    let down: Vec<&RegionView> = status
        .regions
        .iter()
        .filter(|r| r.status == RegionStatus::Down)
        .collect();
    if down.is_empty() {
        return None;
    }
    let uploads = match down.iter().find(|r| r.role == CopyRole::Primary) {
        Some(primary) if other_takes_uploads(&primary.region) => {
            " New files are kept in the other region until it is back."
        }
        Some(_) => " Uploads are paused until it is back.",
        None => "",
    };
    let regions = down.iter().map(|r| r.region.as_str()).collect::<Vec<_>>().join(" and ");
    Some(format!(
        "Storage in {regions} is down. Downloads use the copy in the other region.{uploads}"
    ))
}
