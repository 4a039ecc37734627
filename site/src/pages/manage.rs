//! A file's owner page (`/manage/{id}`, the manage link): edit its name, visibility, expiry
//! and download limit, or delete it. The manage link carries the token in its fragment; this
//! page keeps it in this browser and takes it out of the address bar.

use leptos::{prelude::*, task::spawn_local};
use leptos_router::hooks::use_params_map;
use twinshare_api::{EditFileRequest, FileView, Visibility};

use crate::{
    api, format, owned,
    pages::share::EXPIRY_CHOICES,
    widgets::{CopyButton, PageHeading, RefusedFile},
};

/// Takes a token from the address's fragment (a manage link opened here), keeps it, and
/// removes it from the address so that it stays out of the history and screenshots.
fn adopt_token_from_fragment(id: &str) {
    let Some(window) = web_sys::window() else { return };
    let fragment = window.location().hash().unwrap_or_default();
    let token = fragment.trim_start_matches('#');
    if token.is_empty() {
        return;
    }
    owned::remember(id, token, "");
    if let Ok(history) = window.history() {
        let _ = history.replace_state_with_url(&wasm_bindgen::JsValue::NULL, "", Some(&format!("/manage/{id}")));
    }
}

#[component]
pub fn ManagePage() -> impl IntoView {
    let params = use_params_map();
    let id = params.read_untracked().get("id").unwrap_or_default();
    adopt_token_from_fragment(&id);
    let Some(token) = owned::token(&id) else {
        return view! {
            <PageHeading text="Manage a file" />
            <p class="error" role="alert">
                "This browser has no manage link for this file. Open the manage link you were given when you shared it (it ends with # and a long code)."
            </p>
        }
        .into_any();
    };
    let file = RwSignal::new(None::<Result<FileView, api::Refusal>>);
    let fetched = id.clone();
    spawn_local(async move { file.set(Some(api::find_file(&fetched).await)) });
    let (id, token) = (StoredValue::new(id), StoredValue::new(token));
    // Outside the form, which is drawn again with the saved values: the message stays.
    let outcome = RwSignal::new(None::<Result<String, String>>);
    let page = move || {
        match file.get() {
        None => view! { <p class="muted">"Loading…"</p> }.into_any(),
        Some(Err(refused)) => view! {
            <RefusedFile refused><a href="/mine">"Your uploads"</a></RefusedFile>
        }
        .into_any(),
        Some(Ok(current)) => view! {
            <PageHeading text=format!("Manage {}", current.name) />
            <EditForm file=current.clone() token=token.get_value() outcome on_saved=move |saved| file.set(Some(Ok(saved))) />
            <DeleteControl id=id.get_value() token=token.get_value() on_deleted=move || file.set(Some(Err(api::Refusal {
                status: 410,
                code: "file_deleted".into(),
                message: "Deleted from both regions. Its link now answers that it was deleted.".into(),
            }))) />
            <p>
                <a href=format!("/f/{}", id.get_value())>"Open its page"</a>
                " · "
                <CopyButton text=owned::manage_link(&format::origin(), &id.get_value(), &token.get_value()) label="Copy manage link" />
            </p>
        }
        .into_any(),
    }
    };
    page.into_any()
}

#[component]
fn EditForm(
    file: FileView,
    token: String,
    outcome: RwSignal<Option<Result<String, String>>>,
    on_saved: impl Fn(FileView) + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let name = RwSignal::new(file.name.clone());
    let listed = RwSignal::new(file.visibility == Visibility::Listed);
    // 0: keep the current expiry.
    let expiry = RwSignal::new(0u64);
    let limit = RwSignal::new(file.max_downloads.map(|m| m.to_string()).unwrap_or_default());
    // Empty: keep the password as it is (or none).
    let new_password = RwSignal::new(String::new());
    let remove_password = RwSignal::new(false);
    let protected = file.protected;
    let saving = RwSignal::new(false);
    let original = StoredValue::new(file.clone());
    let (id, token) = (StoredValue::new(file.id.clone()), StoredValue::new(token));
    let save = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let before = original.get_value();
        let visibility = if listed.get_untracked() {
            Visibility::Listed
        } else {
            Visibility::Unlisted
        };
        let limit_text = limit.get_untracked();
        let max_downloads = match limit_text.trim() {
            "" => None,
            text => match text.parse::<u32>() {
                Ok(n) => Some(n),
                Err(_) => {
                    outcome.set(Some(Err(
                        "The download limit is a whole number of downloads, or empty for unlimited.".into(),
                    )));
                    return;
                }
            },
        };
        let edit = EditFileRequest {
            name: Some(name.get_untracked()).filter(|n| *n != before.name),
            visibility: Some(visibility).filter(|v| *v != before.visibility),
            expires_in_secs: Some(expiry.get_untracked()).filter(|s| *s > 0),
            never_expires: false,
            max_downloads: (max_downloads != before.max_downloads).then_some(max_downloads),
            password: match (remove_password.get_untracked(), new_password.get_untracked()) {
                (true, _) => Some(None),
                (false, new) if !new.is_empty() => Some(Some(new)),
                _ => None,
            },
        };
        if edit == EditFileRequest::default() {
            outcome.set(Some(Ok("Nothing to change.".into())));
            return;
        }
        saving.set(true);
        let on_saved = on_saved.clone();
        spawn_local(async move {
            match api::edit_file(&id.get_value(), &token.get_value(), &edit).await {
                Ok(saved) => {
                    original.set_value(saved.clone());
                    outcome.set(Some(Ok("Saved.".into())));
                    on_saved(saved);
                }
                Err(refused) => outcome.set(Some(Err(refused.message))),
            }
            saving.set(false);
        });
    };
    view! {
        <dl>
            <dt>"State"</dt><dd>{format::copies(&file)}</dd>
            <dt>"Expires"</dt><dd>{format::expiry(file.expires_at_ms, js_sys::Date::now())}</dd>
            <dt>"Downloads"</dt><dd>{format::downloads_left(&file)}</dd>
            <dt>"Password"</dt><dd>{if file.protected { "yes" } else { "none" }}</dd>
        </dl>
        <form class="options edit" on:submit=save>
            <label>"Name"<input type="text" name="name" required prop:value=name on:input=move |ev| name.set(event_target_value(&ev)) /></label>
            <label>
                "Expiry"
                <select name="expiry" on:change=move |ev| expiry.set(event_target_value(&ev).parse().unwrap_or(0))>
                    <option value="0" selected>"Keep: "{format::expiry(file.expires_at_ms, js_sys::Date::now())}</option>
                    {EXPIRY_CHOICES.iter().map(|(secs, text)| view! {
                        <option value=secs.to_string()>{format!("{text} from now")}</option>
                    }).collect_view()}
                </select>
            </label>
            <label>
                "Download limit (empty: unlimited)"
                <input type="number" name="max_downloads" min="1" step="1" inputmode="numeric" placeholder="unlimited"
                    prop:value=limit on:input=move |ev| limit.set(event_target_value(&ev)) />
            </label>
            <label>
                {if protected { "New password (empty: keep it)" } else { "Password (empty: none)" }}
                <input type="password" name="password" autocomplete="new-password"
                    prop:value=new_password on:input=move |ev| new_password.set(event_target_value(&ev)) />
            </label>
            <Show when=move || protected>
                <label class="inline">
                    <input type="checkbox" name="remove_password" prop:checked=remove_password
                        on:change=move |ev| remove_password.set(event_target_checked(&ev)) />
                    "Remove the password"
                </label>
            </Show>
            <label class="inline">
                <input type="checkbox" name="listed" prop:checked=listed on:change=move |ev| listed.set(event_target_checked(&ev)) />
                "List publicly"
            </label>
            <button type="submit" disabled=saving>"Save changes"</button>
        </form>
        {move || outcome.get().map(|result| match result {
            Ok(text) => view! { <p class="done" role="status">{text}</p> }.into_any(),
            Err(text) => view! { <p class="error" role="alert">{text}</p> }.into_any(),
        })}
    }
}

/// Delete, in two steps: a second button confirms, so one slip cannot delete a file.
#[component]
pub fn DeleteControl(
    id: String,
    token: String,
    on_deleted: impl Fn() + Clone + Send + Sync + 'static,
) -> impl IntoView {
    let asking = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let (id, token) = (StoredValue::new(id), StoredValue::new(token));
    let delete = move |_| {
        let on_deleted = on_deleted.clone();
        spawn_local(async move {
            match api::delete_file(&id.get_value(), &token.get_value()).await {
                Ok(()) => on_deleted(),
                Err(message) => error.set(Some(message)),
            }
            asking.set(false);
        });
    };
    view! {
        <p class="delete">
            <Show when=move || asking.get() fallback=move || view! {
                <button type="button" class="secondary danger" on:click=move |_| asking.set(true)>"Delete…"</button>
            }>
                <span>"Delete it from both regions, for good? "</span>
                <button type="button" class="danger" on:click=delete.clone()>"Delete for good"</button>
                <button type="button" class="secondary" on:click=move |_| asking.set(false)>"Keep it"</button>
            </Show>
            {move || error.get().map(|m| view! { <span class="error" role="alert">{m}</span> })}
        </p>
    }
}
