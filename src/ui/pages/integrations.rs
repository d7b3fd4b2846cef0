//! `/app/integrations`: connecting Stripe, sending people to it, and the API's keys.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    api::{
        integrations::{get_stripe_connection, ConnectStripe, DisconnectStripe},
        sending::list_sending_switches,
    },
    domain::{integrations::key_creation_link, permissions::Permission, time::format_utc},
    ui::components::{
        api_keys::ApiKeys,
        campaign::PromoteSwitch,
        form::{action_error, successes, Explanation, FieldMessage, FormProblem},
        layout::{loaded, require_user, UserResource},
        webhooks::Webhooks,
    },
};

/// `/app/integrations`: the Stripe connection. Read-only, with who can change it, for those
/// without Manage integrations.
#[component]
pub fn IntegrationsPage() -> impl IntoView {
    let user = expect_context::<UserResource>();
    let connect = ServerAction::<ConnectStripe>::new();
    let connected = successes(connect);
    let disconnect = ServerAction::<DisconnectStripe>::new();
    let connection = Resource::new(
        move || (connected.get(), disconnect.version().get()),
        |_| get_stripe_connection(),
    );
    let switches = Resource::new(
        move || (connected.get(), disconnect.version().get()),
        |_| list_sending_switches(),
    );
    let connect_error = action_error(connect);
    let disconnect_error = action_error(disconnect);

    view! {
        <Title text="Integrations" />
        <h1>"Integrations"</h1>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let me = or_view!(require_user(user.await));
                let current = or_view!(loaded(connection.await));
                let switches = switches.await.unwrap_or_default();
                let explanation = me.explain(Permission::ManageIntegrations);
                let can_manage = explanation.is_none();
                let body = match current {
                    Some(c) => view! {
                        <p class="status status-ok">
                            <strong>"Connected: "</strong>{c.describe()}
                        </p>
                        <p class="muted">
                            {format!("Connected by {} on {}. ", c.connected_by, format_utc(c.connected_at))}
                            <a href=c.dashboard_url.clone() target="_blank" rel="noopener">"See its customers"</a>
                        </p>
                        {c.alert.clone().map(|alert| view! {
                            <p class="notice notice-error stripe-alert" role="alert">
                                <strong>"Sending to Stripe failed"</strong>
                                {format!(" ({}): {alert} ", c.alert_at.map(format_utc).unwrap_or_default())}
                                "The people it affected say so on their timelines; once fixed, reconnect and use Send existing participants on each campaign's Stripe tab."
                            </p>
                        })}
                        <ActionForm action=disconnect>
                            <fieldset disabled=!can_manage>
                                <FormProblem error=disconnect_error />
                                <p class="hint">
                                    "Disconnecting stops sending people to Stripe, qualifying referrals and issuing Stripe rewards until a Stripe account is connected again."
                                </p>
                                <button type="submit" class="secondary danger">"Disconnect Stripe"</button>
                            </fieldset>
                        </ActionForm>
                    }
                    .into_any(),
                    None => view! {
                        <p class="status">"Not connected. Connect one Stripe account to this Refloop account."</p>
                        <ActionForm action=connect>
                            <fieldset disabled=!can_manage>
                                <FormProblem error=connect_error />
                                <label class="choice">
                                    <input type="radio" name="mode" value="sandbox" checked />
                                    " The built-in Stripe sandbox (test mode: try Refloop without a Stripe account)"
                                </label>
                                <label class="choice">
                                    <input type="radio" name="mode" value="key" />
                                    " My Stripe account, with a restricted or secret key"
                                </label>
                                <label for="stripe-key">"Key (rk_… or sk_…)"</label>
                                <input id="stripe-key" name="key" type="password" autocomplete="off" placeholder="rk_live_…" />
                                <p class="hint">
                                    "Refloop checks the key with Stripe before keeping it. "
                                    <a href=key_creation_link() target="_blank" rel="noopener noreferrer">
                                        "Create a restricted key with every permission Refloop needs"
                                    </a>
                                    ". The key is encrypted at rest and never shown again, only its last four characters."
                                </p>
                                <FieldMessage error=connect_error field="key" />
                                <FieldMessage error=connect_error field="mode" />
                                <button type="submit">"Connect Stripe"</button>
                            </fieldset>
                        </ActionForm>
                    }
                    .into_any(),
                };
                let sending = if switches.is_empty() {
                    view! { <p class="muted">"No campaigns yet. " <a href="/app/campaigns">"Create one"</a> " to send its people to Stripe."</p> }.into_any()
                } else {
                    switches.into_iter().map(|c| {
                        let href = format!("/app/campaigns/{}/stripe", c.campaign_id);
                        let toggles = c.toggles.into_iter().map(|t| {
                            view! { <PromoteSwitch campaign_id=c.campaign_id.clone() state=t /> }
                        }).collect_view();
                        view! {
                            <div class="campaign-sending">
                                <h3>{c.name} " " <a href=href class="small">"Mapping and policies"</a></h3>
                                <ul class="switches">{toggles}</ul>
                            </div>
                        }
                    }).collect_view().into_any()
                };
                view! {
                    <section class="card stripe-settings" aria-labelledby="stripe-heading">
                        <h2 id="stripe-heading">"Stripe"</h2>
                        <Explanation text=explanation />
                        {body}
                    </section>
                    <section class="card" aria-labelledby="sending-heading">
                        <h2 id="sending-heading">"Sending people to Stripe"</h2>
                        <p class="muted">
                            "Each campaign sends people referring and people invited separately. Sending is not retroactive: "
                            "people who joined before it was switched on are sent with Send existing participants, on the campaign's Stripe tab."
                        </p>
                        {sending}
                    </section>
                }
                .into_any()
            })}
        </Transition>
        <ApiKeys />
        <Webhooks />
    }
}
