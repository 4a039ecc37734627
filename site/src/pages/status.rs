//! Each region's health and how far replication has come.

use leptos::prelude::*;
use twinshare_api::{RegionStatus, StatusView};

use crate::{api, format, live, widgets::PageHeading};

#[component]
pub fn StatusPage() -> impl IntoView {
    let status = live::live(api::get_status, |_: &StatusView| true, 3_000);
    let body = move || match status.get() {
        None => view! { <p class="muted">"Loading…"</p> }.into_any(),
        Some(Err(message)) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
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
                            <td data-label="Status">
                                <span class="badge" class:bad=r.status == RegionStatus::Down class:unknown=r.status == RegionStatus::Unknown>
                                    {r.status.as_str()}
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
                    <thead><tr><th>"Copy"</th><th>"Region"</th><th>"Status"</th><th>"Checked"</th><th>"Latency"</th><th>"Failures in a row"</th><th>"Last error"</th></tr></thead>
                    <tbody>{regions}</tbody>
                </table>
                <p class="backlog">{backlog}</p>
            }
            .into_any()
        }
    };
    view! {
        <PageHeading text="Status" />
        {body}
    }
}
