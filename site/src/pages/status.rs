//! Each region's health and how far replication has come.

use leptos::prelude::*;
use twinshare_api::{RegionStatus, StatusView, SweepPassView, UploadMode, UploadsView};

use crate::{api, format, live, widgets::PageHeading};

/// Who may upload, and the storage used against the quota.
fn usage(uploads: &UploadsView) -> String {
    let who = match uploads.mode {
        UploadMode::Open => "Anyone may upload",
        UploadMode::Code => "Uploads need the site's upload code",
        UploadMode::Closed => "Uploads are closed",
    };
    let used = uploads.used_bytes.map_or("unknown".to_owned(), format::size);
    match uploads.quota_bytes {
        Some(quota) => format!(
            "{who}. Storage used: {used} of {} (each file counted once).",
            format::size(quota)
        ),
        None => format!("{who}. Storage used: {used} (no quota)."),
    }
}

#[component]
pub fn StatusPage() -> impl IntoView {
    let status = live::live(api::get_status, |_: &StatusView| true, 3_000);
    let body = move || match status.get() {
        None => view! { <p class="muted">"Loading…"</p> }.into_any(),
        Some(Err(refused)) => view! { <p class="error" role="alert">{refused.message}</p> }.into_any(),
        Some(Ok(status)) => {
            let now = js_sys::Date::now();
            let regions = status
                .regions
                .into_iter()
                .map(|r| {
                    let checked = r.checked_at_ms.map_or("never".to_owned(), |t| format::age(t, now));
                    let latency = r.latency_ms.map_or("–".to_owned(), |ms| format!("{ms} ms"));
                    view! {
                        <tr class="region">
                            <td data-label="Copy">{r.role.as_str()}</td>
                            <td data-label="Region">{r.region}</td>
                            <td data-label="Storage">
                                <span class="badge" class:bad=r.status == RegionStatus::Down class:unknown=r.status == RegionStatus::Unknown>
                                    {r.status.as_str()}
                                </span>
                            </td>
                            <td data-label="API and metadata">
                                <span class="badge api" class:bad=r.api == RegionStatus::Down class:unknown=r.api == RegionStatus::Unknown>
                                    {r.api.as_str()}
                                </span>
                            </td>
                            <td data-label="Checked">{checked}</td>
                            <td data-label="Latency">{latency}</td>
                            <td data-label="Failures in a row">{r.consecutive_failures}</td>
                            <td data-label="Last error">{r.last_error.unwrap_or_default()}</td>
                        </tr>
                    }
                })
                .collect_view();
            let backlog = match (status.not_redundant, status.swept_at_ms) {
                (Some(0), Some(at)) => format!("Every file has two copies (checked {}).", format::age(at, now)),
                (Some(n), Some(at)) => format!(
                    "{n} file(s) wait for their second copy; the oldest was shared {} (checked {}).",
                    status
                        .oldest_pending_since_ms
                        .map_or("?".to_owned(), |t| format::age(t, now)),
                    format::age(at, now)
                ),
                _ => "Replication has not been checked yet.".to_owned(),
            };
            view! {
                <table class="files regions">
                    <thead><tr><th>"Copy"</th><th>"Region"</th><th>"Storage"</th><th>"API and metadata"</th><th>"Checked"</th><th>"Latency"</th><th>"Failures in a row"</th><th>"Last error"</th></tr></thead>
                    <tbody>{regions}</tbody>
                </table>
                <p class="served-by">"This page was answered from " {status.served_by.clone()} "."</p>
                <p class="backlog">{backlog}</p>
                <p class="usage">{usage(&status.uploads)}</p>
                {status.last_pass.map(|pass| view! { <Storage pass now /> })}
            }
            .into_any()
        }
    };
    view! {
        <PageHeading text="Status" />
        {body}
    }
}

/// What each bucket holds beside what the records account for, and what the last full pass of
/// the sweep covered: the operator sees at a glance whether storage and records agree.
#[component]
fn Storage(pass: SweepPassView, now: f64) -> impl IntoView {
    let accounted = pass.storage.accounted_bytes;
    let uploading = pass.storage.uploading_bytes;
    let rows = pass
        .storage
        .buckets
        .iter()
        .map(|bucket| {
            // Uploads in progress may hold bytes too: agreement is within them.
            let agrees = bucket.bytes >= accounted && bucket.bytes <= accounted + uploading;
            view! {
                <tr class="bucket">
                    <td data-label="Copy">{bucket.role.as_str()}</td>
                    <td data-label="Region">{bucket.region.clone()}</td>
                    <td data-label="Objects">{bucket.objects}</td>
                    <td data-label="Stored">{format::size(bucket.bytes)}</td>
                    <td data-label="Accounted for">{format::size(accounted)}</td>
                    <td data-label="Agree">
                        <span class="badge" class:bad=!agrees>{if agrees { "yes" } else { "no" }}</span>
                    </td>
                </tr>
            }
        })
        .collect_view();
    let finished = pass.finished_at_ms.map_or("?".to_owned(), |t| format::age(t, now));
    let coverage = format!(
        "The last full check read all {} records ({} files) in {} run(s), finished {finished}.",
        pass.records, pass.files, pass.runs
    );
    let cleaned = format!(
        "It removed {} abandoned upload(s) and {} orphaned object(s) ({}); {} file(s) had no bytes left.",
        pass.abandoned,
        pass.orphans_deleted,
        format::size(pass.orphan_bytes_deleted),
        pass.lost
    );
    view! {
        <h2>"Storage"</h2>
        <table class="files buckets">
            <thead><tr><th>"Copy"</th><th>"Region"</th><th>"Objects"</th><th>"Stored"</th><th>"Accounted for"</th><th>"Agree"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
        <p class="muted">{format!("Uploads in progress: {}.", format::size(uploading))}</p>
        <p class="coverage">{coverage}</p>
        <p class="muted">{cleaned}</p>
    }
}
