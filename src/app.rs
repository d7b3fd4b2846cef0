//! The HTML shell and the route table. Pages live in `ui::pages`.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, MetaTags, Title};
use leptos_router::{
    components::{Outlet, ParentRoute, Route, Router, Routes},
    Lazy, ParamSegment, SsrMode, StaticSegment,
};

use crate::ui::{components::layout::Layout, pages::not_found::NotFoundPage};

/// The public pages a friend opens on a phone: complete HTML whose forms post without scripts,
/// so they load no WASM at all (the page and its stylesheet are the whole download).
const SCRIPT_FREE: [&str; 3] = ["/j/", "/r/", "/p/"];

/// Whether the page at `path` loads the app's WASM bundle and hydrates.
pub fn hydrates(path: &str) -> bool {
    !SCRIPT_FREE.iter().any(|prefix| path.starts_with(prefix))
}

/// The document around every server-rendered page. Its Content-Security-Policy allows scripts
/// only from this origin and the inline hydration script carrying this response's nonce. The
/// stylesheet and bundle have content-hashed names when the build wrote them (`front_end_head`).
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
                {front_end_head(interactive)}
                {interactive.then(|| view! { <AutoReload options /> })}
                <MetaTags />
            </head>
            <body>
                <App />
            </body>
        </html>
    }
}

/// The stylesheet and, on pages that hydrate, the bundle's scripts, under the names the server's
/// front end has (`server::front_end`). Only the server renders the shell.
fn front_end_head(interactive: bool) -> impl IntoView {
    #[cfg(feature = "ssr")]
    {
        use_context::<crate::state::AppState>()
            .map(|state| crate::server::front_end::head(state.front_end.names(), interactive))
    }
    #[cfg(not(feature = "ssr"))]
    {
        let _ = interactive;
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    view! {
        <Title formatter=|title: String| {
            if title.is_empty() { "Refloop".to_string() } else { format!("{title} · Refloop") }
        } />
        <Router>
            <Layout>
                // Every page arrives complete (the public ones work without scripts). Pages under
                // /app render once their data is loaded, so that a visitor who is not signed in
                // gets a real redirect to /signin (see `require_user`).
                <Routes fallback=|| view! { <NotFoundPage /> <PageHydrated /> }>
                    <Route path=StaticSegment("") view={Lazy::<routes::Welcome>::new()} ssr=SsrMode::InOrder />
                    <Route path=StaticSegment("signin") view={Lazy::<routes::SignIn>::new()} ssr=SsrMode::InOrder />
                    <Route path=StaticSegment("signup") view={Lazy::<routes::SignUp>::new()} ssr=SsrMode::InOrder />
                    <Route path=StaticSegment("forgot-password") view={Lazy::<routes::ForgotPassword>::new()} ssr=SsrMode::InOrder />
                    <Route
                        path=(StaticSegment("reset-password"), ParamSegment("token"))
                        view={Lazy::<routes::ResetPassword>::new()}
                        ssr=SsrMode::InOrder
                    />
                    <Route
                        path=(StaticSegment("invite"), ParamSegment("token"))
                        view={Lazy::<routes::AcceptInvite>::new()}
                        ssr=SsrMode::InOrder
                    />
                    // The public referral pages: complete before the first byte, so that the
                    // referral cookie can be set and the forms work without scripts.
                    <Route path=(StaticSegment("j"), ParamSegment("campaign")) view={Lazy::<routes::Join>::new()} ssr=SsrMode::Async />
                    <Route path=(StaticSegment("r"), ParamSegment("code")) view={Lazy::<routes::Referral>::new()} ssr=SsrMode::Async />
                    <Route path=(StaticSegment("p"), ParamSegment("token")) view={Lazy::<routes::PersonalPage>::new()} ssr=SsrMode::Async />
                    <ParentRoute path=StaticSegment("app") view=Outlet ssr=SsrMode::Async>
                        <Route path=StaticSegment("") view={Lazy::<routes::Dashboard>::new()} ssr=SsrMode::Async />
                        <Route path=StaticSegment("campaigns") view={Lazy::<routes::Campaigns>::new()} ssr=SsrMode::Async />
                        <Route path=(StaticSegment("campaigns"), ParamSegment("id")) view={Lazy::<routes::Campaign>::new()} ssr=SsrMode::Async />
                        <Route path=(StaticSegment("campaigns"), ParamSegment("id"), StaticSegment("edit")) view={Lazy::<routes::CampaignBuilder>::new()} ssr=SsrMode::Async />
                        <Route path=(StaticSegment("campaigns"), ParamSegment("id"), StaticSegment("users")) view={Lazy::<routes::Users>::new()} ssr=SsrMode::Async />
                        <Route path=(StaticSegment("campaigns"), ParamSegment("id"), StaticSegment("stripe")) view={Lazy::<routes::Sending>::new()} ssr=SsrMode::Async />
                        <Route path=(StaticSegment("campaigns"), ParamSegment("id"), StaticSegment("sync")) view={Lazy::<routes::CustomerSync>::new()} ssr=SsrMode::Async />
                        <Route
                            path=(StaticSegment("campaigns"), ParamSegment("id"), StaticSegment("users"), ParamSegment("participant"))
                            view={Lazy::<routes::Participant>::new()}
                            ssr=SsrMode::Async
                        />
                        <Route path=StaticSegment("integrations") view={Lazy::<routes::Integrations>::new()} ssr=SsrMode::Async />
                        <Route path=(StaticSegment("integrations"), StaticSegment("api")) view={Lazy::<routes::ApiReference>::new()} ssr=SsrMode::Async />
                        <Route path=StaticSegment("team") view={Lazy::<routes::Team>::new()} ssr=SsrMode::Async />
                        <Route path=StaticSegment("activity") view={Lazy::<routes::Activity>::new()} ssr=SsrMode::Async />
                        <Route path=StaticSegment("operations") view={Lazy::<routes::Operations>::new()} ssr=SsrMode::Async />
                        <Route path=StaticSegment("health") view={Lazy::<routes::Health>::new()} ssr=SsrMode::Async />
                        <Route path=StaticSegment("account") view={Lazy::<routes::Account>::new()} ssr=SsrMode::Async />
                    </ParentRoute>
                </Routes>
            </Layout>
        </Router>
    }
}

/// Marks `<body>` once the page's own (lazily loaded) code has hydrated it: every page ends with
/// it. Effects run only in the browser, after the views before this one have taken over their
/// part of the page.
#[component]
fn PageHydrated() -> impl IntoView {
    Effect::new(|_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}

/// Every page's code sits in a WASM chunk of its own (`cargo leptos build --split`), fetched when
/// its route is first shown; the server's HTML names the chunk of the page a visit starts on, so
/// the browser fetches it beside the main bundle. The main bundle holds only what every page
/// needs: the runtime, the router and the layout.
mod routes {
    use leptos::prelude::*;
    use leptos_router::{lazy_route, LazyRoute};

    use crate::ui::pages::{
        accept_invite::AcceptInvitePage,
        activity::ActivityPage,
        api_reference::ApiReferencePage,
        builder::CampaignBuilderPage,
        campaigns::{CampaignPage, CampaignsPage},
        dashboard::DashboardPage,
        health::HealthPage,
        integrations::IntegrationsPage,
        join::{JoinPage, PersonalPageView, ReferralPage},
        operations::OperationsPage,
        passwords::{AccountPage, ForgotPasswordPage, ResetPasswordPage},
        sending::SendingPage,
        sign_in::SignInPage,
        sign_up::SignUpPage,
        sync::SyncPage,
        team::TeamPage,
        users::{ParticipantPage, UsersPage},
        welcome::WelcomePage,
    };

    macro_rules! lazy_pages {
        ($($route:ident => $page:ident),* $(,)?) => {$(
            pub struct $route;

            #[lazy_route]
            impl LazyRoute for $route {
                fn data() -> Self {
                    $route
                }

                fn view(_this: Self) -> AnyView {
                    view! { <$page /> <super::PageHydrated /> }.into_any()
                }
            }
        )*};
    }

    lazy_pages! {
        Welcome => WelcomePage,
        SignIn => SignInPage,
        SignUp => SignUpPage,
        ForgotPassword => ForgotPasswordPage,
        ResetPassword => ResetPasswordPage,
        AcceptInvite => AcceptInvitePage,
        Join => JoinPage,
        Referral => ReferralPage,
        PersonalPage => PersonalPageView,
        Dashboard => DashboardPage,
        ApiReference => ApiReferencePage,
        Campaigns => CampaignsPage,
        Campaign => CampaignPage,
        CampaignBuilder => CampaignBuilderPage,
        Users => UsersPage,
        Sending => SendingPage,
        CustomerSync => SyncPage,
        Participant => ParticipantPage,
        Integrations => IntegrationsPage,
        Team => TeamPage,
        Activity => ActivityPage,
        Operations => OperationsPage,
        Health => HealthPage,
        Account => AccountPage,
    }
}
