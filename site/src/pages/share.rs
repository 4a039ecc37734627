//! The share page: choose or drop files, watch them upload, get their links.

use leptos::{prelude::*, task::spawn_local};
use twinshare_api::{limits, Visibility};
use wasm_bindgen::JsCast;
use web_sys::{DragEvent, FileList, HtmlInputElement};

use crate::{
    api, format, multipart, owned,
    transfer::Phase,
    upload::{self, Choices, UploadError},
    upload_code::{self, UploadGate},
    widgets::{CopyButton, CopyLink, PageHeading, QrCode},
};

/// The expiry choices offered, in seconds; the operator's maximum may refuse the longest ones
/// (the upload then says what the maximum is).
pub const EXPIRY_CHOICES: [(u64, &str); 5] = [
    (3_600, "1 hour"),
    (86_400, "1 day"),
    (7 * 86_400, "7 days"),
    (30 * 86_400, "30 days"),
    (90 * 86_400, "90 days"),
];
const DEFAULT_EXPIRY_SECS: u64 = 7 * 86_400;

#[derive(Clone)]
struct UploadRow {
    key: usize,
    name: String,
    size: u64,
    phase: RwSignal<Phase>,
    paused: RwSignal<bool>,
    /// The page's polite live region, where the row says how far it has come.
    announcement: RwSignal<String>,
    /// While the upload is stranded: what starts it again in the other region.
    restart: StoredValue<Option<js_sys::Function>, LocalStorage>,
}

/// Waits until the row's "Start again" button is pressed.
async fn restart_pressed(restart: StoredValue<Option<js_sys::Function>, LocalStorage>) {
    let pressed = js_sys::Promise::new(&mut |resolve, _| restart.set_value(Some(resolve)));
    let _ = wasm_bindgen_futures::JsFuture::from(pressed).await;
}

#[component]
pub fn UploadPage() -> impl IntoView {
    let uploader = RwSignal::new(String::new());
    let listed = RwSignal::new(true);
    let expires_in_secs = RwSignal::new(DEFAULT_EXPIRY_SECS);
    // Empty: unlimited.
    let download_limit = RwSignal::new(String::new());
    // Empty: none.
    let password = RwSignal::new(String::new());
    let rows = RwSignal::new(Vec::<UploadRow>::new());
    let next_key = StoredValue::new(0usize);
    let dragging = RwSignal::new(false);
    // Uploads in parts that a reload (or a crash) interrupted: choosing the file resumes them.
    let unfinished = RwSignal::new(multipart::unfinished());
    // What a screen reader says, politely, about the uploads: a start, each quarter, the end.
    let announcement = RwSignal::new(String::new());
    // Who may upload and how much room is left (the status), and whether this tab has the code.
    let uploads = RwSignal::new(None);
    let code_known = RwSignal::new(upload_code::get().is_some());
    let read_uploads = move || {
        spawn_local(async move {
            if let Ok(status) = api::get_status().await {
                uploads.set(Some(status.uploads));
            }
        })
    };
    read_uploads();

    let start = move |files: FileList| {
        for index in 0..files.length() {
            let Some(file) = files.get(index) else { continue };
            let key = next_key.get_value();
            next_key.set_value(key + 1);
            // Choosing the file of an unfinished upload resumes it: it moves to the uploads below.
            unfinished.update(|list| list.retain(|u| !u.is_file(&file)));
            let phase = RwSignal::new(Phase::Hashing(0.0));
            let paused = RwSignal::new(false);
            let restart = StoredValue::new_local(None);
            rows.update(|rows| {
                rows.push(UploadRow {
                    key,
                    name: file.name(),
                    size: file.size() as u64,
                    phase,
                    paused,
                    announcement,
                    restart,
                })
            });
            let choices = Choices {
                uploader: uploader.get_untracked(),
                visibility: if listed.get_untracked() {
                    Visibility::Listed
                } else {
                    Visibility::Unlisted
                },
                expires_in_secs: expires_in_secs.get_untracked(),
                max_downloads: download_limit.get_untracked().trim().parse().ok(),
                password: Some(password.get_untracked()).filter(|p| !p.is_empty()),
            };
            let name = file.name();
            announcement.set(format!("Uploading {name}."));
            spawn_local(async move {
                let mut outcome = upload::run(file.clone(), choices.clone(), phase, paused).await;
                // Stranded in a region that does not answer: the person may start it again, from
                // the first byte, wherever uploads are taken now.
                while let Err(UploadError::Stranded(message)) = outcome {
                    phase.set(Phase::Stranded(message));
                    restart_pressed(restart).await;
                    phase.set(Phase::Hashing(0.0));
                    multipart::abandon(&file).await;
                    unfinished.set(multipart::unfinished());
                    outcome = upload::run(file.clone(), choices.clone(), phase, paused).await;
                }
                unfinished.set(multipart::unfinished());
                match outcome {
                    Ok(()) => announcement.set(format!("{name}: Shared. Its link is ready to copy.")),
                    // Failures are announced at once by the row's alert.
                    Err(UploadError::Failed(message) | UploadError::Stranded(message)) => {
                        phase.set(Phase::Failed(message))
                    }
                }
                // A refused code was forgotten: ask again. The room left changed either way.
                code_known.set(upload_code::get().is_some());
                read_uploads();
            });
        }
    };

    view! {
        <PageHeading text="Share files" />
        <p class="intro">
            "Send anyone a link to your files. twinshare keeps every file in two regions, so its link keeps working when one is down. No account needed."
        </p>
        <p class="visually-hidden" aria-live="polite">{announcement}</p>
        <UploadGate uploads code_known />
        <Show when=move || upload_code::may_upload(uploads.get().as_ref(), code_known.get())>
        <form class="options" on:submit=|ev| ev.prevent_default()>
            <label>
                "Your name (optional)"
                <input type="text" name="uploader" maxlength=limits::MAX_UPLOADER_CHARS.to_string() placeholder="anonymous"
                    prop:value=uploader on:input=move |ev| uploader.set(event_target_value(&ev)) />
            </label>
            <label>
                "Expires after"
                <select name="expiry" on:change=move |ev| {
                    if let Ok(secs) = event_target_value(&ev).parse() { expires_in_secs.set(secs); }
                }>
                    {EXPIRY_CHOICES.iter().map(|(secs, text)| view! {
                        <option value=secs.to_string() selected=*secs == DEFAULT_EXPIRY_SECS>{*text}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>
                "Download limit (optional)"
                <input type="number" name="max_downloads" min="1" step="1" inputmode="numeric" placeholder="unlimited"
                    prop:value=download_limit on:input=move |ev| download_limit.set(event_target_value(&ev)) />
            </label>
            <label>
                "Password (optional)"
                <input type="password" name="password" autocomplete="new-password" placeholder="none"
                    prop:value=password on:input=move |ev| password.set(event_target_value(&ev)) />
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
        </Show>
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
    let (phase, paused, restart) = (row.phase, row.paused, row.restart);
    // Each quarter of the way is said once, politely; the start and the end are said by the page.
    let quarter_said = StoredValue::new(0u32);
    let (name, announcement) = (row.name.clone(), row.announcement);
    Effect::new(move |_| {
        if let Phase::Uploading {
            loaded,
            total,
            paused: false,
            ..
        } = phase.get()
        {
            let quarter = (format::percent(loaded, total) / 25.0) as u32;
            if (1..=3).contains(&quarter) && quarter > quarter_said.get_value() {
                quarter_said.set_value(quarter);
                announcement.set(format!("{name}: {} % uploaded.", quarter * 25));
            }
        }
    });
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
            let percent = format::percent(loaded, total);
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
            // The owner's link: the token rides in the fragment, which no server sees.
            let manage = owned::token(&file.id).map(|token| {
                let link = owned::manage_link(&format::origin(), &file.id, &token);
                view! {
                    <span class="manage">
                        <a class="manage-link" href=format!("/manage/{}", file.id)>"Manage"</a>
                        " (edit, limit, delete) · keep this link private: "
                        <CopyButton text=link label="Copy manage link" />
                    </span>
                }
            });
            view! {
                <span class="state done">{format!("Shared · {}", format::copies(&file))}</span>
                <span class="share">
                    <a class="share-link" href=format!("/f/{}", file.id)>{link.clone()}</a>
                    <CopyLink link=link.clone() />
                </span>
                {manage}
                <QrCode link />
            }
            .into_any()
        }
        Phase::Failed(message) => view! { <span class="state error" role="alert">{message}</span> }.into_any(),
        Phase::Stranded(message) => view! {
            <span class="state error" role="alert">{message}</span>
            <button type="button" class="restart" on:click=move |_| {
                if let Some(resolve) = restart.try_update_value(Option::take).flatten() {
                    let _ = resolve.call0(&wasm_bindgen::JsValue::NULL);
                }
            }>"Start again in the other region"</button>
        }
        .into_any(),
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
