//! The public table of listed files: searched, sorted by name, size or age either way, and
//! paged; the search and the order live in the address.

use leptos::prelude::*;
use leptos_router::{
    hooks::{use_navigate, use_query_map},
    NavigateOptions,
};
use twinshare_api::FileView;

use crate::{
    api, format, live,
    widgets::{CopyLink, DownloadButton, PageHeading},
};

const PAGE_SIZE: u32 = 20;

/// The orders people can pick: (sort, descending, what it is called).
const ORDERS: [(&str, bool, &str); 6] = [
    ("age", true, "Newest first"),
    ("age", false, "Oldest first"),
    ("name", false, "Name, A to Z"),
    ("name", true, "Name, Z to A"),
    ("size", true, "Largest first"),
    ("size", false, "Smallest first"),
];

/// The order the address names (`?sort=…&order=…`), or newest first.
fn order_of(sort: Option<String>, order: Option<String>) -> (&'static str, bool) {
    let sort = ORDERS
        .iter()
        .map(|o| o.0)
        .find(|s| sort.as_deref() == Some(*s))
        .unwrap_or("age");
    // Each sort's first choice is the direction people expect: newest, A to Z, largest.
    let expected = ORDERS.iter().find(|o| o.0 == sort).is_some_and(|o| o.1);
    let descending = match order.as_deref() {
        Some("asc") => false,
        Some("desc") => true,
        _ => expected,
    };
    (sort, descending)
}

/// The table's address for a search and an order (the defaults left out).
fn address(search: &str, sort: &str, descending: bool) -> String {
    let mut params = Vec::new();
    if !search.is_empty() {
        params.push(format!("q={}", String::from(js_sys::encode_uri_component(search))));
    }
    if (sort, descending) != ("age", true) {
        params.push(format!("sort={sort}&order={}", if descending { "desc" } else { "asc" }));
    }
    match params.is_empty() {
        true => "/files".to_owned(),
        false => format!("/files?{}", params.join("&")),
    }
}

#[component]
pub fn FilesPage() -> impl IntoView {
    // The search and the order live in the address: a link or a reload shows the same table.
    let params = use_query_map();
    let navigate = use_navigate();
    let search = Memo::new(move |_| params.with(|p| p.get("q").unwrap_or_default()));
    let order = Memo::new(move |_| params.with(|p| order_of(p.get("sort"), p.get("order"))));
    let cursor = RwSignal::new(None::<String>);
    // Cursors of the pages before this one, to go back.
    let previous = RwSignal::new(Vec::<Option<String>>::new());
    let show = move |search: &str, (sort, descending): (&str, bool)| {
        cursor.set(None);
        previous.set(Vec::new());
        let options = NavigateOptions {
            replace: true,
            scroll: false,
            ..Default::default()
        };
        navigate(&address(search, sort, descending), options);
    };
    let page = live::live(
        move || {
            let (query, (sort, descending), at) = (search.get(), order.get(), cursor.get());
            async move { api::list_files(&query, sort, descending, at.as_deref(), PAGE_SIZE).await }
        },
        |list: &twinshare_api::FileList| list.files.iter().any(format::settling),
        2_000,
    );
    let now = js_sys::Date::now();

    // A column heading that sorts by it; again, the other way round.
    let heading = {
        let show = show.clone();
        move |label: &'static str, sort: &'static str| {
            let show = show.clone();
            let aria_sort = move || match order.get() {
                (s, true) if s == sort => "descending",
                (s, false) if s == sort => "ascending",
                _ => "none",
            };
            let arrow = move || match order.get() {
                (s, true) if s == sort => " ▼",
                (s, false) if s == sort => " ▲",
                _ => "",
            };
            view! {
                <th aria-sort=aria_sort>
                    <button type="button" class="sort"
                        on:click=move |_| {
                            let (current, descending) = order.get_untracked();
                            let next = match current == sort {
                                true => (sort, !descending),
                                false => order_of(Some(sort.to_owned()), None),
                            };
                            show(&search.get_untracked(), next);
                        }>
                        {label}<span aria-hidden="true">{arrow}</span>
                    </button>
                </th>
            }
        }
    };

    let table = move || match page.get() {
        None => view! { <p class="muted">"Loading…"</p> }.into_any(),
        Some(Err(refused)) => view! { <p class="error" role="alert">{refused.message}</p> }.into_any(),
        Some(Ok(list)) if list.files.is_empty() && list.next_cursor.is_none() => {
            view! { <p class="muted">"No files match."</p> }.into_any()
        }
        Some(Ok(list)) => {
            let next = list.next_cursor.clone();
            // Paging only when there is somewhere to go.
            let has_next = next.is_some();
            // A search whose matches are very sparse may stop reading (a request's time is
            // bounded) before it found one: say so, and let the next page go on.
            let searched_in_vain = list.files.is_empty();
            view! {
                {searched_in_vain.then(|| view! { <p class="muted">"No match among the files searched so far: Next searches further."</p> })}
                <table class="files" class:hidden=searched_in_vain>
                    <thead><tr>
                        {heading("Name", "name")}
                        {heading("Size", "size")}
                        <th>"Shared by"</th>
                        {heading("Age", "age")}
                        <th>"Copies"</th>
                        <th><span class="visually-hidden">"Actions"</span></th>
                    </tr></thead>
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

    let on_search = {
        let show = show.clone();
        move |ev| show(&event_target_value(&ev), order.get_untracked())
    };
    let on_order = move |ev| {
        let chosen: usize = event_target_value(&ev).parse().unwrap_or(0);
        let (sort, descending, _) = ORDERS[chosen.min(ORDERS.len() - 1)];
        show(&search.get_untracked(), (sort, descending));
    };
    view! {
        <PageHeading text="Shared files" />
        <div class="table-controls">
            <input type="search" class="search" placeholder="Search by file name" aria-label="Search by file name"
                prop:value=search on:input=on_search />
            <label class="sort-choice">"Sort "
                <select on:change=on_order prop:value=move || {
                    let current = order.get();
                    ORDERS.iter().position(|o| (o.0, o.1) == current).unwrap_or(0).to_string()
                }>
                    {ORDERS.iter().enumerate().map(|(i, o)| view! { <option value=i.to_string()>{o.2}</option> }).collect_view()}
                </select>
            </label>
        </div>
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
                <DownloadButton file=file.clone() />
                <CopyLink link />
            </td>
        </tr>
    }
}
