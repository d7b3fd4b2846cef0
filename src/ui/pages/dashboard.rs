//! `/app`: the dashboard.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::ui::components::layout::{require_user, UserResource};

/// The first page after signing in.
#[component]
pub fn DashboardPage() -> impl IntoView {
    let user = expect_context::<UserResource>();
    view! {
        <Title text="Dashboard" />
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let me = or_view!(require_user(user.await));
                let permissions = me
                    .permissions
                    .iter()
                    .map(|p| view! { <li class="chip">{p.label()}</li> })
                    .collect_view();
                view! {
                    <h1>{format!("Welcome, {}", me.name)}</h1>
                    <p class="lead">{format!("{} · you are {}", me.account_name, me.role)}</p>
                    <div class="grid">
                        <a class="card link-card" href="/app/campaigns">
                            <h2>"Campaigns"</h2>
                            <p>"Build referral programs, share their pages, and see who joined."</p>
                        </a>
                        <a class="card link-card" href="/app/integrations">
                            <h2>"Integrations"</h2>
                            <p>"Connect Stripe so the people who join become customers."</p>
                        </a>
                        <a class="card link-card" href="/app/team">
                            <h2>"Team"</h2>
                            <p>"Invite teammates and decide what each may do."</p>
                        </a>
                        <a class="card link-card" href="/app/activity">
                            <h2>"Activity"</h2>
                            <p>"Every change made in this account: who, what, when and from where."</p>
                        </a>
                    </div>
                    <section class="card">
                        <h2>"What you can do"</h2>
                        <ul class="chips">{permissions}</ul>
                    </section>
                }
                .into_any()
            })}
        </Transition>
    }
}
