//! twinshare's site: one module per page under [`pages`], shared pieces in [`widgets`], API
//! calls in [`api`], the upload steps in [`upload`] and [`multipart`],
//! on the bytes-sending pieces of [`transfer`].

pub mod api;
pub mod format;
pub mod live;
pub mod multipart;
pub mod pages;
pub mod transfer;
pub mod upload;
pub mod widgets;

use leptos::prelude::*;
use leptos_router::{
    components::{Route, Router, Routes},
    path,
};
use pages::{file::FilePage, files::FilesPage, share::UploadPage, status::StatusPage};
use widgets::OutageBanner;

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
