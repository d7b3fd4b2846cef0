//! The error boundary pages render inside: an error a person can act on, never an internal
//! detail.

use leptos::prelude::*;

use crate::error::AppError;

/// Shows what went wrong in words a person can act on. Only `AppError` messages are shown;
/// anything else (which would be an internal detail) is replaced by a generic sentence.
#[component]
pub fn ErrorView(errors: ArcRwSignal<Errors>) -> impl IntoView {
    let messages = move || {
        errors
            .get()
            .into_iter()
            .map(|(_, e)| match e.downcast_ref::<AppError>() {
                Some(app) => app.to_string(),
                None => "Something went wrong. Please try again.".to_string(),
            })
            .collect::<Vec<_>>()
    };
    view! {
        <div class="notice notice-error" role="alert">
            <For each=messages key=|m| m.clone() let:message>
                <p>{message}</p>
            </For>
        </div>
    }
}

/// Renders `children`, or the error view if any of them fails with an error.
#[component]
pub fn ErrorPanel(children: Children) -> impl IntoView {
    view! {
        <ErrorBoundary fallback=|errors| view! { <ErrorView errors /> }>{children()}</ErrorBoundary>
    }
}
