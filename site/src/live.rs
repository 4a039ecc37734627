//! Values fetched from the API that stay current without a reload.

use std::future::Future;

use leptos::{prelude::*, task::spawn_local};

use crate::api::Refusal;

/// Fetches `fetch()` now and whenever the signals it reads change; while `settling` says the
/// value may still change by itself (a copy being made), fetches it again every `every_ms`; and
/// after an error that may pass (the network, a 5xx, a 429), asks again every `every_ms` too,
/// so a page recovers by itself. The last value stays shown while the next one loads (and when
/// only a refresh of it fails that way), and an answer that arrives after a newer request was
/// made is dropped.
pub fn live<T, Fut>(
    fetch: impl Fn() -> Fut + 'static,
    settling: impl Fn(&T) -> bool + Send + Sync + 'static,
    every_ms: u64,
) -> RwSignal<Option<Result<T, Refusal>>>
where
    T: Send + Sync + 'static,
    Fut: Future<Output = Result<T, Refusal>> + 'static,
{
    let shown = RwSignal::new(None);
    let tick = RwSignal::new(0u64);
    let latest = StoredValue::new(0u64);
    Effect::new(move |previous_tick: Option<u64>| {
        let this_tick = tick.get();
        // Run again by the timer alone: the same question, asked again.
        let refresh = previous_tick.is_some_and(|t| t != this_tick);
        let answer = fetch();
        let request = latest.get_value() + 1;
        latest.set_value(request);
        spawn_local(async move {
            let value = answer.await;
            let keep_last = refresh
                && matches!(&value, Err(refused) if refused.is_transient())
                && shown.with_untracked(|v| matches!(v, Some(Ok(_))));
            if latest.get_value() == request && !keep_last {
                shown.set(Some(value));
            }
        });
        this_tick
    });
    let interval = set_interval_with_handle(
        move || {
            let again = shown.with_untracked(|v| match v {
                Some(Ok(value)) => settling(value),
                Some(Err(refused)) => refused.is_transient(),
                None => false,
            });
            if again {
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
