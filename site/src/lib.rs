//! twinshare's site: share (upload), the public table of files, and a file's own page.
//! Components live here; API calls in [`api`]; the upload steps in [`upload`].

pub mod api;
pub mod format;
pub mod live;
pub mod multipart;
pub mod upload;

use leptos::{prelude::*, task::spawn_local};
use leptos_router::{
    components::{Route, Router, Routes},
    hooks::use_params_map,
    path,
};
use twinshare_api::{limits, CopyRole, FileView, RegionStatus, RegionView, StatusView, Visibility};
use upload::Phase;
use wasm_bindgen::JsCast;
use web_sys::{DragEvent, FileList, HtmlInputElement};

const PAGE_SIZE: u32 = 20;

#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <header class="top">
                <a class="brand" href="/">"twinshare"</a>
                <nav>
                    <a href="/">"Share"</a>
                    <a href="/files">"Files"</a>
                    <a href="/status">"Status"</a>
                </nav>
            </header>
            <OutageBanner />
            <main>
                <Routes fallback=|| view! { <p class="error">"There is no page here. Check the link."</p> }>
                    <Route path=path!("/") view=UploadPage />
                    <Route path=path!("/files") view=FilesPage />
                    <Route path=path!("/f/:id") view=FilePage />
                    <Route path=path!("/status") view=StatusPage />
                </Routes>
            </main>
        </Router>
    }
}

/// A button that copies a link and says so.
#[component]
fn CopyLink(link: String) -> impl IntoView {
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

#[derive(Clone)]
struct UploadRow {
    key: usize,
    name: String,
    size: u64,
    phase: RwSignal<Phase>,
    paused: RwSignal<bool>,
}

#[component]
fn UploadPage() -> impl IntoView {
    let uploader = RwSignal::new(String::new());
    let listed = RwSignal::new(true);
    let rows = RwSignal::new(Vec::<UploadRow>::new());
    let next_key = StoredValue::new(0usize);
    let dragging = RwSignal::new(false);
    // Uploads in parts that a reload (or a crash) interrupted: choosing the file resumes them.
    let unfinished = RwSignal::new(multipart::unfinished());

    let start = move |files: FileList| {
        for index in 0..files.length() {
            let Some(file) = files.get(index) else { continue };
            let key = next_key.get_value();
            next_key.set_value(key + 1);
            // Choosing the file of an unfinished upload resumes it: it moves to the uploads below.
            unfinished.update(|list| list.retain(|u| !u.is_file(&file)));
            let phase = RwSignal::new(Phase::Hashing(0.0));
            let paused = RwSignal::new(false);
            rows.update(|rows| {
                rows.push(UploadRow {
                    key,
                    name: file.name(),
                    size: file.size() as u64,
                    phase,
                    paused,
                })
            });
            let visibility = if listed.get_untracked() {
                Visibility::Listed
            } else {
                Visibility::Unlisted
            };
            let who = uploader.get_untracked();
            spawn_local(async move {
                let outcome = upload::run(file, who, visibility, phase, paused).await;
                unfinished.set(multipart::unfinished());
                if let Err(message) = outcome {
                    phase.set(Phase::Failed(message));
                }
            });
        }
    };

    view! {
        <h1>"Share files"</h1>
        <form class="options" on:submit=|ev| ev.prevent_default()>
            <label>
                "Your name (optional)"
                <input type="text" name="uploader" maxlength=limits::MAX_UPLOADER_CHARS.to_string() placeholder="anonymous"
                    prop:value=uploader on:input=move |ev| uploader.set(event_target_value(&ev)) />
            </label>
            <label class="inline">
                <input type="checkbox" name="listed" prop:checked=listed
                    on:change=move |ev| listed.set(event_target_checked(&ev)) />
                "List publicly (otherwise only people with the link can find it)"
            </label>
        </form>
        <label class="dropzone" class:dragging=move || dragging.get()
            on:dragover=move |ev: DragEvent| { ev.prevent_default(); dragging.set(true); }
            on:dragleave=move |_| dragging.set(false)
            on:drop=move |ev: DragEvent| {
                ev.prevent_default();
                dragging.set(false);
                if let Some(files) = ev.data_transfer().and_then(|d| d.files()) { start(files); }
            }>
            <strong>"Drop files here"</strong>
            <span>" or choose them: "</span>
            <input type="file" multiple on:change=move |ev| {
                let input: HtmlInputElement = ev.target().unwrap().unchecked_into();
                if let Some(files) = input.files() { start(files); }
                input.set_value("");
            } />
        </label>
        <Show when=move || !unfinished.get().is_empty()>
            <section class="unfinished">
                <h2>"Unfinished uploads"</h2>
                <p>"Choose or drop the same file again to resume where it stopped."</p>
                <ul>
                    <For each=move || unfinished.get() key=|u| u.id.clone() let:entry>
                        <UnfinishedRow entry unfinished />
                    </For>
                </ul>
            </section>
        </Show>
        <ul class="uploads">
            <For each=move || rows.get() key=|row| row.key let:row>
                <UploadRowView row />
            </For>
        </ul>
    }
}

#[component]
fn UnfinishedRow(entry: multipart::Unfinished, unfinished: RwSignal<Vec<multipart::Unfinished>>) -> impl IntoView {
    let error = RwSignal::new(None::<String>);
    let summary = format!(
        "{} · {} of {} parts stored",
        format::size(entry.size),
        entry.parts_stored,
        entry.part_count
    );
    let name = entry.name.clone();
    let discard = move |_| {
        let entry = entry.clone();
        spawn_local(async move {
            match multipart::discard(&entry).await {
                Ok(()) => unfinished.set(multipart::unfinished()),
                Err(message) => error.set(Some(message)),
            }
        });
    };
    view! {
        <li class="upload unfinished-upload">
            <span class="name">{name}</span>
            <span class="size">{summary}</span>
            <button type="button" class="secondary" on:click=discard>"Discard"</button>
            {move || error.get().map(|m| view! { <span class="state error" role="alert">{m}</span> })}
        </li>
    }
}

#[component]
fn UploadRowView(row: UploadRow) -> impl IntoView {
    let (phase, paused) = (row.phase, row.paused);
    // Outside the state, which redraws many times a second: a click must land on a stable button.
    let in_parts = Memo::new(move |_| matches!(phase.get(), Phase::Uploading { parts: Some(_), .. }));
    let state = move || match phase.get() {
        Phase::Hashing(done) => view! {
            <progress max="100" value=done * 100.0></progress>
            <span class="state">{format!("Reading file… {:.0} %", done * 100.0)}</span>
        }
        .into_any(),
        Phase::Uploading {
            loaded,
            total,
            bytes_per_sec,
            parts,
            paused: is_paused,
        } => {
            let percent = if total > 0.0 { loaded / total * 100.0 } else { 0.0 };
            let left = if bytes_per_sec > 0.0 {
                format::duration((total - loaded) / bytes_per_sec)
            } else {
                "…".into()
            };
            let text = match (is_paused, parts) {
                (true, Some((stored, count))) => format!("Paused at {percent:.0} % · {stored} of {count} parts stored"),
                (false, Some((stored, count))) => format!(
                    "Uploading {percent:.0} % · {}/s · {left} left · {stored} of {count} parts",
                    format::size(bytes_per_sec as u64)
                ),
                _ => format!(
                    "Uploading {percent:.0} % · {}/s · {left} left",
                    format::size(bytes_per_sec as u64)
                ),
            };
            view! {
                <progress max="100" value=percent></progress>
                <span class="state">{text}</span>
            }
            .into_any()
        }
        Phase::Completing => view! {
            <progress max="100" value="100"></progress>
            <span class="state">"Checking the upload…"</span>
        }
        .into_any(),
        Phase::Done(file) => {
            let link = format::share_link(&file.id);
            view! {
                <span class="state done">{format!("Shared · {}", format::copies(&file))}</span>
                <span class="share">
                    <a class="share-link" href=format!("/f/{}", file.id)>{link.clone()}</a>
                    <CopyLink link />
                </span>
            }
            .into_any()
        }
        Phase::Failed(message) => view! { <span class="state error" role="alert">{message}</span> }.into_any(),
    };
    view! {
        <li class="upload">
            <span class="name">{row.name}</span>
            <span class="size">{format::size(row.size)}</span>
            {state}
            <Show when=move || in_parts.get()>
                <button type="button" class="secondary pause" on:click=move |_| paused.update(|p| *p = !*p)>
                    {move || if paused.get() { "Resume" } else { "Pause" }}
                </button>
            </Show>
        </li>
    }
}

#[component]
fn FilesPage() -> impl IntoView {
    let search = RwSignal::new(String::new());
    let cursor = RwSignal::new(None::<String>);
    // Cursors of the pages before this one, to go back.
    let previous = RwSignal::new(Vec::<Option<String>>::new());
    let page = live::live(
        move || {
            let (query, at) = (search.get(), cursor.get());
            async move { api::list_files(&query, at.as_deref(), PAGE_SIZE).await }
        },
        |list: &twinshare_api::FileList| list.files.iter().any(format::settling),
        2_000,
    );
    let now = js_sys::Date::now();

    let table = move || match page.get() {
        None => view! { <p class="muted">"Loading…"</p> }.into_any(),
        Some(Err(message)) => view! { <p class="error" role="alert">{message}</p> }.into_any(),
        Some(Ok(list)) if list.files.is_empty() => view! { <p class="muted">"No files match."</p> }.into_any(),
        Some(Ok(list)) => {
            let next = list.next_cursor.clone();
            view! {
                <table class="files">
                    <thead><tr><th>"Name"</th><th>"Size"</th><th>"Shared by"</th><th>"Age"</th><th>"Copies"</th><th></th></tr></thead>
                    <tbody>
                        {list.files.into_iter().map(|file| view! { <FileRow file now /> }).collect_view()}
                    </tbody>
                </table>
                <div class="pager">
                    <button type="button" class="secondary" disabled=move || previous.with(Vec::is_empty)
                        on:click=move |_| { if let Some(before) = previous.try_update(Vec::pop).flatten() { cursor.set(before); } }>
                        "Previous"
                    </button>
                    <button type="button" class="secondary" disabled=next.is_none()
                        on:click=move |_| {
                            if let Some(next) = next.clone() {
                                previous.update(|p| p.push(cursor.get_untracked()));
                                cursor.set(Some(next));
                            }
                        }>
                        "Next"
                    </button>
                </div>
            }.into_any()
        }
    };

    view! {
        <h1>"Shared files"</h1>
        <input type="search" class="search" placeholder="Search by file name" aria-label="Search by file name"
            prop:value=search
            on:input=move |ev| {
                search.set(event_target_value(&ev));
                cursor.set(None);
                previous.set(Vec::new());
            } />
        {table}
    }
}

#[component]
fn FileRow(file: FileView, now: f64) -> impl IntoView {
    let link = format::share_link(&file.id);
    view! {
        <tr class="file">
            <td data-label="Name"><a class="file-name" href=format!("/f/{}", file.id)>{file.name.clone()}</a></td>
            <td data-label="Size">{format::size(file.size)}</td>
            <td data-label="Shared by">{format::uploader(&file)}</td>
            <td data-label="Age">{format::age(file.created_at_ms, now)}</td>
            <td data-label="Copies"><span class="badge" class:bad=format::copies_at_risk(&file)>{format::copies(&file)}</span></td>
            <td class="actions">
                <a class="button download" href=file.download_path.clone() download=file.name.clone()>"Download"</a>
                <CopyLink link />
            </td>
        </tr>
    }
}

#[component]
fn FilePage() -> impl IntoView {
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
                .map(|c| format!("{:?} in {}: {:?}", c.role, c.region, c.state).to_lowercase())
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
                        <CopyLink link />
                    </p>
                </article>
            }.into_any()
        }
    }
}

/// Shown on every page while the probe reports a region down.
#[component]
fn OutageBanner() -> impl IntoView {
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

#[component]
fn StatusPage() -> impl IntoView {
    let status = live::live(api::get_status, |_: &StatusView| true, 3_000);
    move || match status.get() {
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
                            <td data-label="Copy">{format!("{:?}", r.role).to_lowercase()}</td>
                            <td data-label="Region">{r.region}</td>
                            <td data-label="Status">
                                <span class="badge" class:bad=r.status == RegionStatus::Down class:unknown=r.status == RegionStatus::Unknown>
                                    {format!("{:?}", r.status).to_lowercase()}
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
                <h1>"Status"</h1>
                <table class="files regions">
                    <thead><tr><th>"Copy"</th><th>"Region"</th><th>"Status"</th><th>"Checked"</th><th>"Latency"</th><th>"Failures in a row"</th><th>"Last error"</th></tr></thead>
                    <tbody>{regions}</tbody>
                </table>
                <p class="backlog">{backlog}</p>
            }
            .into_any()
        }
    }
}
