//! The frame every page shares (header, banners, footer) and what pages under `/app` start
//! with: the signed-in person (`require_user`) and their data (`loaded`).

use leptos::prelude::*;
use leptos_router::{
    components::{Redirect, A},
    hooks::use_location,
};

use crate::{
    api::{
        auth::{get_current_user, SignOut},
        health::get_health_banner,
        participants::get_limit_banner,
    },
    domain::team::CurrentUser,
    error::AppError,
    ui::components::{
        alerts::{Alert, AlertBar},
        form::error_notice,
    },
};

/// The signed-in person, loaded once per navigation by the layout and shared with every page.
pub type UserResource = Resource<Result<Option<CurrentUser>, AppError>>;

/// The signed-in person for a page under `/app`, awaited inside the page's own `Suspend`
/// (one level of suspense per page: nesting them breaks hydration). Anyone else is sent to
/// sign in; a failure shows its message.
pub fn require_user(user: Result<Option<CurrentUser>, AppError>) -> Result<CurrentUser, AnyView> {
    match user {
        Ok(Some(u)) => Ok(u),
        Ok(None) => Err(view! { <Redirect path="/signin" /> }.into_any()),
        Err(e) => Err(error_notice(&e)),
    }
}

/// A page's data, or the notice that shows why it could not be read.
pub fn loaded<T>(data: Result<T, AppError>) -> Result<T, AnyView> {
    data.map_err(|e| error_notice(&e))
}

/// The frame of every page: the header with navigation, the page, the footer.
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    let location = use_location();
    let user: UserResource = Resource::new(move || location.pathname.get(), |_| get_current_user());
    provide_context(user);
    let banner = Resource::new(move || location.pathname.get(), |_| get_limit_banner());
    let health = Resource::new(move || location.pathname.get(), |_| get_health_banner());
    let sign_out = ServerAction::<SignOut>::new();

    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="site-header">
            <a class="brand" href="/">
                <span class="brand-mark" aria-hidden="true">"↻"</span>
                "Refloop"
            </a>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    match user.await {
                        Ok(Some(u)) => view! {
                            <nav aria-label="Main">
                                <A href="/app" exact=true>"Dashboard"</A>
                                <A href="/app/campaigns">"Campaigns"</A>
                                <A href="/app/integrations">"Integrations"</A>
                                <A href="/app/team">"Team"</A>
                                <A href="/app/activity">"Activity"</A>
                                <A href="/app/operations">"Operations"</A>
                                <A href="/app/health">"Health"</A>
                            </nav>
                            <div class="account-menu">
                                <a class="who" href="/app/account" title="Your account">
                                    {u.name.clone()} " · " {u.account_name.clone()}
                                </a>
                                <ActionForm action=sign_out>
                                    <button type="submit" class="secondary small">"Sign out"</button>
                                </ActionForm>
                            </div>
                        }
                        .into_any(),
                        _ => view! {
                            <nav aria-label="Main">
                                <A href="/" exact=true>"Welcome"</A>
                            </nav>
                            <div class="account-menu">
                                <a class="button secondary small" href="/signin">"Sign in"</a>
                                <a class="button small" href="/signup">"Create an account"</a>
                            </div>
                        }
                        .into_any(),
                    }
                })}
            </Transition>
        </header>
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let limit = banner.await.ok().flatten().map(|text| Alert {
                    class: "notice-warn limit-banner",
                    text,
                    link: ("/app/team", "Participant limit"),
                });
                let failing = health.await.ok().flatten().map(|b| Alert {
                    class: "notice-error health-banner",
                    text: b.text(),
                    link: ("/app/health", "See integration health"),
                });
                let alerts: Vec<Alert> = limit.into_iter().chain(failing).collect();
                (!alerts.is_empty()).then(|| view! { <AlertBar alerts /> })
            })}
        </Transition>
        <main id="main" class="page">{children()}</main>
        <footer class="site-footer">
            "Refloop " {env!("CARGO_PKG_VERSION")} " · referral programs on your own Stripe data"
        </footer>
    }
}
