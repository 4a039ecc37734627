fn main() {
    console_error_panic_hook::set_once();
    // The static shell of index.html has done its job: the app draws the page now.
    if let Some(shell) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.get_element_by_id("shell"))
    {
        shell.remove();
    }
    leptos::mount::mount_to_body(twinshare_site::App);
}
