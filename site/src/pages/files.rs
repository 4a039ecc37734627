//! The public table of listed files, searchable and paged.

use leptos::prelude::*;
use twinshare_api::FileView;

use crate::{
    api, format, live,
    widgets::{CopyLink, PageHeading},
};

const PAGE_SIZE: u32 = 20;

#[component]
pub fn FilesPage() -> impl IntoView {
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
            // Paging only when there is somewhere to go.
            let has_next = next.is_some();
            view! {
                <table class="files">
                    <thead><tr><th>"Name"</th><th>"Size"</th><th>"Shared by"</th><th>"Age"</th><th>"Copies"</th><th><span class="visually-hidden">"Actions"</span></th></tr></thead>
                    <tbody>
                        {list.files.into_iter().map(|file| view! { <FileRow file now /> }).collect_view()}
                    </tbody>
                </table>
                {(has_next || !previous.with_untracked(Vec::is_empty)).then(|| view! {
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
                })}
            }.into_any()
        }
    };

    view! {
        <PageHeading text="Shared files" />
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
