//! My uploads: the files this browser shared (their manage tokens are kept here), each with its
//! state, expiry and downloads left, to edit or delete.

use leptos::{prelude::*, task::spawn_local};

use crate::{
    api, format,
    owned::{self, Owned},
    pages::manage::DeleteControl,
    widgets::PageHeading,
};

#[component]
pub fn MinePage() -> impl IntoView {
    let owned = RwSignal::new(owned::all());
    view! {
        <PageHeading text="My uploads" />
        <p class="intro">
            "The files shared from this browser. Another device can manage a file too: open its manage link there."
        </p>
        <Show when=move || !owned.get().is_empty() fallback=|| view! {
            <p class="muted">"Nothing shared from this browser yet. "<a href="/">"Share a file"</a>"."</p>
        }>
            <ul class="mine">
                <For each=move || owned.get() key=|o| o.id.clone() let:entry>
                    <MineRow entry owned />
                </For>
            </ul>
        </Show>
    }
}

#[component]
fn MineRow(entry: Owned, owned: RwSignal<Vec<Owned>>) -> impl IntoView {
    let file = RwSignal::new(None::<Result<twinshare_api::FileView, api::Refusal>>);
    let id = entry.id.clone();
    spawn_local(async move { file.set(Some(api::find_file(&id).await)) });
    let id = StoredValue::new(entry.id.clone());
    let forget = move |_| {
        owned::forget(&id.get_value());
        owned.set(owned::all());
    };
    let fallback_name = if entry.name.is_empty() {
        entry.id.clone()
    } else {
        entry.name.clone()
    };
    let token = entry.token.clone();
    move || {
        match file.get() {
        None => view! { <li class="upload"><span class="name">{fallback_name.clone()}</span><span class="muted">"Loading…"</span></li> }.into_any(),
        Some(Err(refused)) => {
            let state = format::gone_heading(&refused.code).unwrap_or("Not found");
            view! {
                <li class="upload gone">
                    <span class="name">{fallback_name.clone()}</span>
                    <span class="state">{state}</span>
                    <button type="button" class="secondary" on:click=forget>"Forget"</button>
                </li>
            }
            .into_any()
        }
        Some(Ok(current)) => {
            let gone = move || file.set(Some(Err(api::Refusal {
                status: 410,
                code: "file_deleted".into(),
                message: String::new(),
            })));
            view! {
                <li class="upload">
                    <a class="name" href=format!("/f/{}", current.id)>{current.name.clone()}</a>
                    <span class="size">{format::size(current.size)}</span>
                    <span class="state">{format!(
                        "{} · expires {} · downloads: {}",
                        format::copies(&current),
                        format::expiry(current.expires_at_ms, js_sys::Date::now()),
                        format::downloads_left(&current),
                    )}</span>
                    <a class="button secondary" href=format!("/manage/{}", current.id)>"Edit"</a>
                    <DeleteControl id=current.id.clone() token=token.clone() on_deleted=gone />
                </li>
            }
            .into_any()
        }
    }
    }
}
