//! `/invite/{token}`: accepting an invitation.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::api::team::{get_invitation, AcceptInvitation};
use crate::domain::validate::MIN_PASSWORD;
use crate::ui::components::form::{action_error, FieldMessage, FormProblem};

/// `/invite/{token}`: join the account the invitation is for. Works without JavaScript.
#[component]
pub fn AcceptInvitePage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let preview = Resource::new(token, get_invitation);
    let action = ServerAction::<AcceptInvitation>::new();
    let error = action_error(action);
    view! {
        <Title text="Join your team" />
        <section class="card narrow">
            <Suspense fallback=|| view! { <p class="muted">"Checking the invitation…"</p> }>
                {move || Suspend::new(async move {
                    match preview.await {
                        Ok(inv) => view! {
                            <h1>{format!("Join {} on Refloop", inv.account_name)}</h1>
                            <p>
                                {format!("{} invited {} to join as {}.", inv.invited_by, inv.email, inv.role)}
                            </p>
                            <ActionForm action>
                                <FormProblem error />
                                <input type="hidden" name="token" value=token() />
                                <label for="name">"Your name"</label>
                                <input id="name" name="name" autocomplete="name" required />
                                <FieldMessage error field="name" />
                                <label for="password">"Choose a password"</label>
                                <input id="password" name="password" type="password" autocomplete="new-password" required />
                                <p class="hint">{format!("At least {MIN_PASSWORD} characters.")}</p>
                                <FieldMessage error field="password" />
                                <button type="submit">"Join the team"</button>
                            </ActionForm>
                        }
                        .into_any(),
                        Err(e) => view! {
                            <h1>"This invitation cannot be used"</h1>
                            <div class="notice notice-error" role="alert">{e.to_string()}</div>
                            <p><a href="/signin">"Sign in"</a></p>
                        }
                        .into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}
