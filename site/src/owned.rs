//! The files this browser shared, with their manage tokens, kept in localStorage. The token is
//! the owner's only proof: it never leaves this browser but in an owner's call's
//! `Authorization` header, and in the manage link's fragment (which browsers do not send).

use serde::{Deserialize, Serialize};

const STORAGE_KEY: &str = "twinshare.owned.v1";

/// A file this browser may manage.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Owned {
    pub id: String,
    pub token: String,
    /// The name when it was shared (the page shows the current one once it has read it).
    pub name: String,
    pub shared_at_ms: f64,
}

fn storage() -> Option<web_sys::Storage> {
    web_sys::window()?.local_storage().ok().flatten()
}

/// Every file this browser owns, newest first.
pub fn all() -> Vec<Owned> {
    let mut owned: Vec<Owned> = storage()
        .and_then(|s| s.get_item(STORAGE_KEY).ok().flatten())
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default();
    owned.sort_by(|a, b| b.shared_at_ms.total_cmp(&a.shared_at_ms));
    owned
}

fn save(owned: &[Owned]) {
    if let (Some(storage), Ok(text)) = (storage(), serde_json::to_string(owned)) {
        let _ = storage.set_item(STORAGE_KEY, &text);
    }
}

/// Keeps (or replaces) the token of a file.
pub fn remember(id: &str, token: &str, name: &str) {
    let mut owned = all();
    owned.retain(|o| o.id != id);
    owned.push(Owned {
        id: id.to_owned(),
        token: token.to_owned(),
        name: name.to_owned(),
        shared_at_ms: crate::transfer::now_ms(),
    });
    save(&owned);
}

pub fn token(id: &str) -> Option<String> {
    all().into_iter().find(|o| o.id == id).map(|o| o.token)
}

/// Forgets a file (it was deleted, or its owner no longer wants it listed here).
pub fn forget(id: &str) {
    let mut owned = all();
    owned.retain(|o| o.id != id);
    save(&owned);
}

/// The site's manage link of a file: the token travels in the fragment, which never reaches a
/// server or its logs.
pub fn manage_link(origin: &str, id: &str, token: &str) -> String {
    format!("{origin}/manage/{id}#{token}")
}
