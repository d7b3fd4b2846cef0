//! The dashboard's figures for a period, shared by the page after sign-in (the account) and a
//! campaign's Overview. The server renders them (`dashboard_html`): they need no script (links,
//! a GET form, SVG charts and tables), so the pages' WASM carries none of their code.

use leptos::prelude::*;
use leptos_router::hooks::use_query_map;

use crate::{api::dashboard::get_dashboard, error::AppError, ui::components::form::error_notice};

/// The period the address asks for: `(period, from, to)`.
fn period_query() -> Memo<(String, String, String)> {
    let query = use_query_map();
    Memo::new(move |_| {
        let q = query.read();
        let get = |key: &str| q.get(key).unwrap_or_default();
        (get("period"), get("from"), get("to"))
    })
}

/// The dashboard a page shows, as the server rendered it, read again when the address's period
/// changes. `campaign` empty for the whole account.
pub type DashboardResource = Resource<Result<String, AppError>>;

pub fn dashboard_resource(
    campaign: impl Fn() -> String + Copy + Send + Sync + 'static,
) -> DashboardResource {
    let period = period_query();
    Resource::new(
        move || (campaign(), period.get()),
        |(campaign, (p, from, to))| get_dashboard(campaign, p, from, to),
    )
}

/// The figures, awaited inside the page's own `Suspend` (one level of suspense per page).
/// `base` is the page's own address, for going back to the default period after an error.
pub fn figures(data: Result<String, AppError>, base: String) -> AnyView {
    match data {
        Ok(html) => view! { <div class="dashboard" inner_html=html></div> }.into_any(),
        Err(e) => view! {
            {error_notice(&e)}
            <p><a href=base>"Show the last 30 days"</a></p>
        }
        .into_any(),
    }
}
