//! Pieces that several pages show: copying a link, a link's QR code, the outage banner.

use leptos::{prelude::*, task::spawn_local};
use qrcode::{render::svg, EcLevel, QrCode as Code};
use twinshare_api::{CopyRole, RegionStatus, RegionView, StatusView};

use crate::{api, live};

/// A button that copies a link and says so.
#[component]
pub fn CopyLink(link: String) -> impl IntoView {
    let copied = RwSignal::new(false);
    let copy = move |_| {
        let link = link.clone();
        if let Some(window) = web_sys::window() {
            let promise = window.navigator().clipboard().write_text(&link);
            spawn_local(async move {
                if wasm_bindgen_futures::JsFuture::from(promise).await.is_ok() {
                    copied.set(true);
                }
            });
        }
    };
    view! {
        <button type="button" class="secondary copy-link" on:click=copy>
            {move || if copied.get() { "Copied" } else { "Copy link" }}
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

/// Shown on every page while the probe reports a region down.
#[component]
pub fn OutageBanner() -> impl IntoView {
    let status = live::live(api::get_status, |_: &StatusView| true, 5_000);
    move || {
        let Some(Ok(status)) = status.get() else { return None };
        let down: Vec<&RegionView> = status
            .regions
            .iter()
            .filter(|r| r.status == RegionStatus::Down)
            .collect();
        if down.is_empty() {
            return None;
        }
        let uploads = if down.iter().any(|r| r.role == CopyRole::Primary) {
            " Uploads are paused until it is back."
        } else {
            ""
        };
        let regions = down.iter().map(|r| r.region.as_str()).collect::<Vec<_>>().join(" and ");
        let text = format!("Storage in {regions} is down. Downloads use the copy in the other region.{uploads}");
        Some(view! { <p class="banner" role="alert">{text}</p> })
    }
}
