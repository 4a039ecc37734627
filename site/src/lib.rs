//! twinshare's site: one module per page under [`pages`], shared pieces in [`widgets`], API
//! calls in [`api`], this browser's manage tokens in [`owned`], the upload steps in [`upload`] and [`multipart`],
//! on the bytes-sending pieces of [`transfer`].

pub mod api;
pub mod format;
pub mod live;
pub mod multipart;
pub mod owned;
pub mod pages;
pub mod transfer;
pub mod upload;
pub mod upload_code;
pub mod widgets;

use leptos::prelude::*;
use leptos_router::{
    components::{Route, Router, Routes, A},
    path,
};
use pages::{
    file::FilePage, files::FilesPage, manage::ManagePage, mine::MinePage, share::UploadPage, status::StatusPage,
};
use widgets::{OutageBanner, PageHeading};

#[component]
pub fn App() -> impl IntoView {
    view! {
        <Router>
            <header class="top">
                <a class="brand" href="/">"twinshare"</a>
                // `A` marks the current page's link with aria-current="page".
                <nav aria-label="Pages">
                    <A href="/" exact=true>"Share"</A>
                    <A href="/files">"Files"</A>
                    <A href="/mine">"My uploads"</A>
                    <A href="/status">"Status"</A>
                </nav>
            </header>
            <OutageBanner />
            <main>
                <Routes fallback=NotFound>
                    <Route path=path!("/") view=UploadPage />
                    <Route path=path!("/files") view=FilesPage />
                    <Route path=path!("/f/:id") view=FilePage />
                    <Route path=path!("/mine") view=MinePage />
                    <Route path=path!("/manage/:id") view=ManagePage />
                    <Route path=path!("/status") view=StatusPage />
                </Routes>
            </main>
        </Router>
    }
}

#[component]
fn NotFound() -> impl IntoView {
    view! {
        <PageHeading text="Not found" />
        <p class="error">"There is no page here. Check the link, or "<a href="/">"share a file"</a>"."</p>
    }
}
