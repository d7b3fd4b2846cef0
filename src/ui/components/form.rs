//! Pieces every form uses: the message under a field, and the problem above the form.

use leptos::prelude::*;
use leptos::server_fn::ServerFn;

use crate::error::AppError;

/// The error of an action's last run, if it failed.
pub fn action_error<S>(action: ServerAction<S>) -> Signal<Option<AppError>>
where
    S: ServerFn<Error = AppError> + Send + Sync + Clone + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    Signal::derive(move || action.value().get().and_then(|r| r.err()))
}

/// How many runs of `action` have succeeded: what a form's data is read again after. Read
/// again after a refused save, the form would be drawn afresh from what is stored, losing what
/// the person typed (the mistake the message names included).
pub fn successes<S>(action: ServerAction<S>) -> Signal<usize>
where
    S: ServerFn<Error = AppError> + Send + Sync + Clone + 'static,
    S::Output: Clone + Send + Sync + 'static,
{
    let count = RwSignal::new(0);
    Effect::new(move |_| {
        if action.value().with(|v| matches!(v, Some(Ok(_)))) {
            count.update(|n| *n += 1);
        }
    });
    count.into()
}

/// The message for one field, shown under it.
#[component]
pub fn FieldMessage(error: Signal<Option<AppError>>, #[prop(into)] field: String) -> impl IntoView {
    move || {
        error
            .get()
            .and_then(|e| e.field_message(&field).map(str::to_string))
            .map(|m| view! { <p class="field-error" id=format!("{field}-error")>{m}</p> })
    }
}

/// An error's message as a notice, for a page whose data could not be loaded.
pub fn error_notice(e: &AppError) -> AnyView {
    view! { <div class="notice notice-error" role="alert">{e.to_string()}</div> }.into_any()
}

/// A failure that is not about one field (permission, conflict, the server), above the form.
#[component]
pub fn FormProblem(error: Signal<Option<AppError>>) -> impl IntoView {
    move || {
        error
            .get()
            .filter(|e| !matches!(e, AppError::Invalid(_)))
            .map(|e| view! { <div class="notice notice-error" role="alert">{e.to_string()}</div> })
    }
}

/// Why a control is disabled, next to it.
#[component]
pub fn Explanation(#[prop(into)] text: Signal<Option<String>>) -> impl IntoView {
    move || {
        text.get()
            .map(|t| view! { <p class="notice notice-warn permission-explanation">{t}</p> })
    }
}
