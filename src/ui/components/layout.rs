use leptos::prelude::*;
use leptos_router::components::A;

/// The frame of every page: the header with navigation, the page, the footer.
#[component]
pub fn Layout(children: Children) -> impl IntoView {
    view! {
        <a class="skip-link" href="#main">"Skip to content"</a>
        <header class="site-header">
            <a class="brand" href="/">
                <span class="brand-mark" aria-hidden="true">"↻"</span>
                "Refloop"
            </a>
            <nav aria-label="Main">
                <A href="/" exact=true>"Welcome"</A>
            </nav>
        </header>
        <main id="main" class="page">{children()}</main>
        <footer class="site-footer">
            "Refloop " {env!("CARGO_PKG_VERSION")} " · referral programs on your own Stripe data"
        </footer>
    }
}
