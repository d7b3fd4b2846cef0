//! `/signup`.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::auth::SignUp;
use crate::domain::validate::MIN_PASSWORD;
use crate::ui::components::form::{action_error, FieldMessage, FormProblem};

/// Creates a company's account and its owner. Works without JavaScript.
#[component]
pub fn SignUpPage() -> impl IntoView {
    let action = ServerAction::<SignUp>::new();
    let error = action_error(action);
    view! {
        <Title text="Create an account" />
        <section class="card narrow">
            <h1>"Create your Refloop account"</h1>
            <p class="muted">"You will be the account's owner, and can invite your team next."</p>
            <ActionForm action>
                <FormProblem error />
                <label for="company">"Company"</label>
                <input id="company" name="company" autocomplete="organization" required />
                <FieldMessage error field="company" />
                <label for="name">"Your name"</label>
                <input id="name" name="name" autocomplete="name" required />
                <FieldMessage error field="name" />
                <label for="email">"Work email"</label>
                <input id="email" name="email" type="email" autocomplete="email" required />
                <FieldMessage error field="email" />
                <label for="password">"Password"</label>
                <input id="password" name="password" type="password" autocomplete="new-password" required />
                <p class="hint">{format!("At least {MIN_PASSWORD} characters; a phrase of unrelated words works well.")}</p>
                <FieldMessage error field="password" />
                <button type="submit">"Create account"</button>
            </ActionForm>
            <p class="muted">"Already have an account? " <a href="/signin">"Sign in"</a></p>
        </section>
    }
}
