//! The HTML shell and the route table. Pages live in `ui::pages`.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, HashedStylesheet, MetaTags, Title};
use leptos_router::{
    components::{Outlet, ParentRoute, Route, Router, Routes},
    ParamSegment, SsrMode, StaticSegment,
};

use crate::ui::{
    components::layout::Layout,
    pages::{
        accept_invite::AcceptInvitePage,
        activity::ActivityPage,
        builder::CampaignBuilderPage,
        campaigns::{CampaignPage, CampaignsPage},
        dashboard::DashboardPage,
        health::HealthPage,
        integrations::IntegrationsPage,
        join::{JoinPage, PersonalPageView, ReferralPage},
        not_found::NotFoundPage,
        operations::OperationsPage,
        passwords::{AccountPage, ForgotPasswordPage, ResetPasswordPage},
        sending::SendingPage,
        sign_in::SignInPage,
        sign_up::SignUpPage,
        sync::SyncPage,
        team::TeamPage,
        users::{ParticipantPage, UsersPage},
        welcome::WelcomePage,
    },
};

/// The public pages a friend opens on a phone: complete HTML whose forms post without scripts,
/// so they load no WASM at all (the page and its stylesheet are the whole download).
const SCRIPT_FREE: [&str; 3] = ["/j/", "/r/", "/p/"];

/// Whether the page at `path` loads the app's WASM bundle and hydrates.
pub fn hydrates(path: &str) -> bool {
    !SCRIPT_FREE.iter().any(|prefix| path.starts_with(prefix))
}

/// The document around every server-rendered page. Its Content-Security-Policy allows scripts
/// only from this origin and the inline hydration script carrying this response's nonce. The
/// stylesheet and bundle have content-hashed names when the build wrote them (see `assets`).
pub fn shell(options: LeptosOptions) -> impl IntoView {
    #[cfg(feature = "ssr")]
    let interactive = use_context::<axum::http::request::Parts>()
        .is_none_or(|request| hydrates(request.uri.path()));
    #[cfg(not(feature = "ssr"))]
    let interactive = true;
    let csp = leptos::nonce::use_nonce().map(|nonce| {
        format!(
            "default-src 'self'; script-src 'self' 'nonce-{nonce}' 'wasm-unsafe-eval'; \
             style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self' ws: wss:; \
             base-uri 'self'; form-action 'self'; object-src 'none'"
        )
    });
    view! {
        <!DOCTYPE html>
        <html lang="en">
            <head>
                <meta charset="utf-8" />
                <meta http-equiv="Content-Security-Policy" content=csp />
                <meta name="viewport" content="width=device-width, initial-scale=1" />
                <link rel="icon" href="/favicon.svg" type="image/svg+xml" />
                <HashedStylesheet id="leptos" options=options.clone() />
                {interactive.then(|| view! {
                    <AutoReload options=options.clone() />
                    <HydrationScripts options />
                })}
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    // Effects run only in the browser: the mark says the WASM bundle has taken over the page.
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
    view! {
        <Title formatter=|title: String| {
            if title.is_empty() { "Refloop".to_string() } else { format!("{title} · Refloop") }
        } />
        <Router>
            <Layout>
                // Every page arrives complete (the public ones work without scripts). Pages under
                // /app render once their data is loaded, so that a visitor who is not signed in
                // gets a real redirect to /signin (see `require_user`).
                <Routes fallback=NotFoundPage>
                    <Route path=StaticSegment("") view=WelcomePage ssr=SsrMode::InOrder />
                    <Route path=StaticSegment("signin") view=SignInPage ssr=SsrMode::InOrder />
                    <Route path=StaticSegment("signup") view=SignUpPage ssr=SsrMode::InOrder />
                    <Route path=StaticSegment("forgot-password") view=ForgotPasswordPage ssr=SsrMode::InOrder />
                    <Route
                        path=(StaticSegment("reset-password"), ParamSegment("token"))
                        view=ResetPasswordPage
                        ssr=SsrMode::InOrder
                    />
                    <Route
                        path=(StaticSegment("invite"), ParamSegment("token"))
                        view=AcceptInvitePage
                        ssr=SsrMode::InOrder
                    />
                    // The public referral pages: complete before the first byte, so that the
                    // referral cookie can be set and the forms work without scripts.
                    <Route path=(StaticSegment("j"), ParamSegment("campaign")) view=JoinPage ssr=SsrMode::Async />
                    <Route path=(StaticSegment("r"), ParamSegment("code")) view=ReferralPage ssr=SsrMode::Async />
                    <Route path=(StaticSegment("p"), ParamSegment("token")) view=PersonalPageView ssr=SsrMode::Async />
                    <ParentRoute path=StaticSegment("app") view=Outlet ssr=SsrMode::Async>
                        <Route path=StaticSegment("") view=DashboardPage ssr=SsrMode::Async />
                        <Route path=StaticSegment("campaigns") view=CampaignsPage ssr=SsrMode::Async />
                        <Route path=(StaticSegment("campaigns"), ParamSegment("id")) view=CampaignPage ssr=SsrMode::Async />
                        <Route path=(StaticSegment("campaigns"), ParamSegment("id"), StaticSegment("edit")) view=CampaignBuilderPage ssr=SsrMode::Async />
                        <Route path=(StaticSegment("campaigns"), ParamSegment("id"), StaticSegment("users")) view=UsersPage ssr=SsrMode::Async />
                        <Route path=(StaticSegment("campaigns"), ParamSegment("id"), StaticSegment("stripe")) view=SendingPage ssr=SsrMode::Async />
                        <Route path=(StaticSegment("campaigns"), ParamSegment("id"), StaticSegment("sync")) view=SyncPage ssr=SsrMode::Async />
                        <Route
                            path=(StaticSegment("campaigns"), ParamSegment("id"), StaticSegment("users"), ParamSegment("participant"))
                            view=ParticipantPage
                            ssr=SsrMode::Async
                        />
                        <Route path=StaticSegment("integrations") view=IntegrationsPage ssr=SsrMode::Async />
                        <Route path=StaticSegment("team") view=TeamPage ssr=SsrMode::Async />
                        <Route path=StaticSegment("activity") view=ActivityPage ssr=SsrMode::Async />
                        <Route path=StaticSegment("operations") view=OperationsPage ssr=SsrMode::Async />
                        <Route path=StaticSegment("health") view=HealthPage ssr=SsrMode::Async />
                        <Route path=StaticSegment("account") view=AccountPage ssr=SsrMode::Async />
                    </ParentRoute>
                </Routes>
            </Layout>
        </Router>
    }
}
