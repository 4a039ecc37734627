//! Values fetched from the API that stay current without a reload.

use std::future::Future;

use leptos::{prelude::*, task::spawn_local};

/// Fetches `fetch()` now and whenever the signals it reads change; while `settling` says the
/// value may still change by itself (a copy being made), fetches it again every `every_ms`.
/// The last value stays shown while the next one loads, and an answer that arrives after a
/// newer request was made is dropped.
pub fn live<T, E, Fut>(
    fetch: impl Fn() -> Fut + 'static,
    settling: impl Fn(&T) -> bool + Send + Sync + 'static,
    every_ms: u64,
) -> RwSignal<Option<Result<T, E>>>
where
    T: Send + Sync + 'static,
    E: Send + Sync + 'static,
    Fut: Future<Output = Result<T, E>> + 'static,
{
    let shown = RwSignal::new(None);
    let tick = RwSignal::new(0u64);
    let latest = StoredValue::new(0u64);
    Effect::new(move |_| {
        tick.track();
        let answer = fetch();
        let request = latest.get_value() + 1;
        latest.set_value(request);
        spawn_local(async move {
            let value = answer.await;
            if latest.get_value() == request {
                shown.set(Some(value));
            }
        });
    });
    let interval = set_interval_with_handle(
        move || {
            if shown.with_untracked(|v| matches!(v, Some(Ok(value)) if settling(value))) {
                tick.update(|t| *t += 1);
            }
        },
        std::time::Duration::from_millis(every_ms),
    );
    on_cleanup(move || {
        if let Ok(handle) = interval {
            handle.clear();
        }
    });
    shown
}

pub async fn sleep_ms(ms: i32) {
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        if let Some(window) = web_sys::window() {
            let _ = window.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        }
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
}
