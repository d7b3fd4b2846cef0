//! Passwords: a forgotten one (`/forgot-password`, `/reset-password/{token}`) and the signed-in
//! person's own account (`/app/account`: change the password, sign out everywhere). Every form
//! works without JavaScript.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::{
    api::auth::{
        get_password_reset, ChangePassword, RequestPasswordReset, ResetPassword, SignOutEverywhere,
    },
    domain::validate::MIN_PASSWORD,
    ui::components::{
        form::{action_error, FieldMessage, FormProblem},
        layout::{require_user, UserResource},
    },
};

/// `/forgot-password`: asks for a link by email.
#[component]
pub fn ForgotPasswordPage() -> impl IntoView {
    let action = ServerAction::<RequestPasswordReset>::new();
    let error = action_error(action);
    let query = use_query_map();
    let sent = move || {
        query.read().get("sent").is_some() || action.value().get().is_some_and(|r| r.is_ok())
    };
    view! {
        <Title text="Forgot your password" />
        <section class="card narrow">
            <h1>"Choose a new password"</h1>
            <Show
                when=sent
                fallback=move || view! {
                    <p>"We email you a link to choose a new password. It works once, for an hour."</p>
                    <ActionForm action>
                        <FormProblem error />
                        <label for="email">"Email"</label>
                        <input id="email" name="email" type="email" autocomplete="email" required />
                        <FieldMessage error field="email" />
                        <button type="submit">"Email me a link"</button>
                    </ActionForm>
                }
            >
                <p class="notice" role="status">
                    "If a Refloop account uses this email, a link to choose a new password is on its way. Check your inbox."
                </p>
            </Show>
            <p class="muted"><a href="/signin">"Back to sign in"</a></p>
        </section>
    }
}

/// `/reset-password/{token}`: chooses the new password, then opens the app.
#[component]
pub fn ResetPasswordPage() -> impl IntoView {
    let params = use_params_map();
    let token = move || params.read().get("token").unwrap_or_default();
    let reset = Resource::new(token, get_password_reset);
    let action = ServerAction::<ResetPassword>::new();
    let error = action_error(action);
    view! {
        <Title text="Choose a new password" />
        <section class="card narrow">
            <Suspense fallback=|| view! { <p class="muted">"Checking the link…"</p> }>
                {move || Suspend::new(async move {
                    match reset.await {
                        Ok(email) => view! {
                            <h1>"Choose a new password"</h1>
                            <p>{format!("For {email}. Every other session of yours will be signed out.")}</p>
                            <ActionForm action>
                                <FormProblem error />
                                <input type="hidden" name="token" value=token() />
                                <label for="password">"New password"</label>
                                <input id="password" name="password" type="password" autocomplete="new-password" required />
                                <p class="hint">{format!("At least {MIN_PASSWORD} characters.")}</p>
                                <FieldMessage error field="password" />
                                <button type="submit">"Save and sign in"</button>
                            </ActionForm>
                        }
                        .into_any(),
                        Err(e) => view! {
                            <h1>"This link cannot be used"</h1>
                            <div class="notice notice-error" role="alert">{e.to_string()}</div>
                            <p><a href="/forgot-password">"Ask for a new link"</a></p>
                        }
                        .into_any(),
                    }
                })}
            </Suspense>
        </section>
    }
}

/// `/app/account`: the signed-in person's password and sessions.
#[component]
pub fn AccountPage() -> impl IntoView {
    let user = expect_context::<UserResource>();
    let change = ServerAction::<ChangePassword>::new();
    let change_error = action_error(change);
    let everywhere = ServerAction::<SignOutEverywhere>::new();
    let everywhere_error = action_error(everywhere);
    let changed = move || change.value().get().is_some_and(|r| r.is_ok());
    view! {
        <Title text="Your account" />
        <h1>"Your account"</h1>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let me = or_view!(require_user(user.await));
                view! {
                    <p class="muted">{format!("{} ({}), {} of {}", me.name, me.email, me.role, me.account_name)}</p>
                    <section class="card narrow">
                        <h2>"Change your password"</h2>
                        <Show when=changed>
                            <p class="notice" role="status">"Your password is changed. Your other sessions were signed out."</p>
                        </Show>
                        <ActionForm action=change>
                            <FormProblem error=change_error />
                            <label for="current_password">"Current password"</label>
                            <input id="current_password" name="current_password" type="password" autocomplete="current-password" required />
                            <FieldMessage error=change_error field="current_password" />
                            <label for="new_password">"New password"</label>
                            <input id="new_password" name="new_password" type="password" autocomplete="new-password" required />
                            <p class="hint">{format!("At least {MIN_PASSWORD} characters.")}</p>
                            <FieldMessage error=change_error field="new_password" />
                            <button type="submit">"Change password"</button>
                        </ActionForm>
                    </section>
                    <section class="card narrow">
                        <h2>"Sign out everywhere"</h2>
                        <p>"Ends every session of yours, on every device, this one too."</p>
                        <ActionForm action=everywhere>
                            <FormProblem error=everywhere_error />
                            <button type="submit" class="secondary">"Sign out everywhere"</button>
                        </ActionForm>
                    </section>
                }
                .into_any()
            })}
        </Transition>
    }
}
