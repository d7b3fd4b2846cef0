//! `/signin`.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::auth::SignIn;
use crate::ui::components::form::{action_error, FieldMessage, FormProblem};

/// Sign in with email and password. Works without JavaScript.
#[component]
pub fn SignInPage() -> impl IntoView {
    let action = ServerAction::<SignIn>::new();
    let error = action_error(action);
    view! {
        <Title text="Sign in" />
        <section class="card narrow">
            <h1>"Sign in"</h1>
            <ActionForm action>
                <FormProblem error />
                <label for="email">"Email"</label>
                <input id="email" name="email" type="email" autocomplete="email" required />
                <FieldMessage error field="email" />
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="current-password" required />
                <FieldMessage error field="password" />
                <button type="submit">"Sign in"</button>
            </ActionForm>
            <p class="muted"><a href="/forgot-password">"Forgot your password?"</a></p>
            <p class="muted">"New to Refloop? " <a href="/signup">"Create an account"</a></p>
        </section>
    }
}
