//! `/app`: the dashboard. What the referral program earned and cost, and what to do next when
//! there is nothing to show yet.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    api::{campaigns::list_campaigns, integrations::get_stripe_connection},
    domain::permissions::Permission,
    ui::components::{
        dashboard::{dashboard_resource, figures},
        form::Explanation,
        layout::{loaded, require_user, UserResource},
    },
};

/// The first page after signing in.
#[component]
pub fn DashboardPage() -> impl IntoView {
    let user = expect_context::<UserResource>();
    let campaigns = Resource::new(|| (), |_| list_campaigns());
    let stripe = Resource::new(|| (), |_| get_stripe_connection());
    let dashboard = dashboard_resource(String::new);
    view! {
        <Title text="Dashboard" />
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let me = or_view!(require_user(user.await));
                let campaigns = or_view!(loaded(campaigns.await));
                let stripe = or_view!(loaded(stripe.await));
                let data = dashboard.await;
                let connect = stripe.is_none().then(|| view! {
                    <section class="card empty-state" data-next="stripe">
                        <h2>"Stripe is not connected"</h2>
                        <p>"Connect Stripe (or the built-in sandbox to try Refloop) so that the people who join become customers and their friends' payments count."</p>
                        <a class="button" href="/app/integrations">"Connect Stripe"</a>
                    </section>
                });
                let create = campaigns.is_empty().then(|| view! {
                    <section class="card empty-state" data-next="campaign">
                        <h2>"No campaign yet"</h2>
                        <p>"A campaign gives people a join page and a referral link to share with their friends."</p>
                        <a class="button" href="/app/campaigns">"Create a campaign"</a>
                    </section>
                });
                let numbers = match me.explain(Permission::ViewParticipants) {
                    Some(why) => view! { <Explanation text=Some(why) /> }.into_any(),
                    None => figures(data, "/app".into()),
                };
                view! {
                    <h1>{format!("Welcome, {}", me.name)}</h1>
                    <p class="lead">{format!("{} · you are {}", me.account_name, me.role)}</p>
                    {connect}
                    {create}
                    {numbers}
                }
                .into_any()
            })}
        </Transition>
    }
}
