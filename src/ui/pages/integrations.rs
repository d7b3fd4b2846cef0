use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    api::integrations::{get_stripe_connection, ConnectStripe, DisconnectStripe},
    domain::{integrations::key_creation_link, permissions::Permission, time::format_utc},
    ui::components::form::error_notice,
    ui::components::{
        form::{action_error, Explanation, FieldMessage, FormProblem},
        layout::{require_user, UserResource},
    },
};

/// `/app/integrations`: the Stripe connection. Read-only, with who can change it, for those
/// without Manage integrations.
#[component]
pub fn IntegrationsPage() -> impl IntoView {
    let user = expect_context::<UserResource>();
    let connect = ServerAction::<ConnectStripe>::new();
    let disconnect = ServerAction::<DisconnectStripe>::new();
    let connection = Resource::new(
        move || (connect.version().get(), disconnect.version().get()),
        |_| get_stripe_connection(),
    );
    let connect_error = action_error(connect);
    let disconnect_error = action_error(disconnect);

    view! {
        <Title text="Integrations" />
        <h1>"Integrations"</h1>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let me = match require_user(user.await) {
                    Ok(me) => me,
                    Err(view) => return view,
                };
                let current = match connection.await {
                    Ok(c) => c,
                    Err(e) => return error_notice(&e),
                };
                let explanation = me.explain(Permission::ManageIntegrations);
                let can_manage = explanation.is_none();
                let body = match current {
                    Some(c) => view! {
                        <p class="status status-ok">
                            <strong>"Connected: "</strong>{c.describe()}
                        </p>
                        <p class="muted">{format!("Connected by {} on {}.", c.connected_by, format_utc(c.connected_at))}</p>
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
                view! {
                    <section class="card stripe-settings" aria-labelledby="stripe-heading">
                        <h2 id="stripe-heading">"Stripe"</h2>
                        <Explanation text=explanation />
                        {body}
                    </section>
                }
                .into_any()
            })}
        </Transition>
    }
}
