//! `/app/health`: the integration's checks, with evidence and one-click fixes.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    api::health::{fix_health, get_integration_health},
    domain::{
        health::{CheckState, HealthAction, HealthCheck, HealthFix},
        permissions::Permission,
        time::format_utc,
    },
    ui::components::{
        form::{error_notice, Explanation},
        layout::{loaded, require_user, UserResource},
    },
};

fn badge_class(state: CheckState) -> &'static str {
    match state {
        CheckState::Pass => "badge badge-live",
        CheckState::Warn => "badge badge-paused",
        CheckState::Fail => "badge badge-ended",
    }
}

/// One check: its state, what it found, the evidence and its fixes.
fn check_view(
    check: HealthCheck,
    fix: Action<HealthAction, Result<String, crate::error::AppError>>,
) -> impl IntoView {
    let evidence = (!check.evidence.is_empty()).then(|| {
        let lines = check
            .evidence
            .iter()
            .map(|line| view! { <li>{line.clone()}</li> })
            .collect_view();
        view! { <ul class="evidence">{lines}</ul> }
    });
    let fixes = check
        .fixes
        .into_iter()
        .map(|f| match f {
            HealthFix::Link { label, href } => {
                view! { <a class="button secondary small" href=href>{label}</a> }.into_any()
            }
            HealthFix::Action { label, action } => view! {
                <button
                    type="button"
                    class="small"
                    disabled=move || fix.pending().get()
                    on:click=move |_| {
                        fix.dispatch(action.clone());
                    }
                >
                    {label}
                </button>
            }
            .into_any(),
        })
        .collect_view();
    view! {
        <li class=format!("health-check health-{}", check.state.key()) data-check=check.id.key()>
            <div class="health-head">
                <span class=badge_class(check.state)>{check.state.label()}</span>
                <h2>{check.id.label()}</h2>
            </div>
            <p class="health-summary">{check.summary}</p>
            {evidence}
            <div class="actions">{fixes}</div>
        </li>
    }
}

/// `/app/health`: every problem of a Stripe integration, checked, with the evidence and a fix.
#[component]
pub fn HealthPage() -> impl IntoView {
    let user = expect_context::<UserResource>();
    let fix = Action::new(|action: &HealthAction| fix_health(action.clone()));
    let health = Resource::new(move || fix.version().get(), |_| get_integration_health());
    let outcome = move || {
        fix.value().get().map(|r| match r {
            Ok(text) => view! { <p class="notice notice-ok" role="status">{text}</p> }.into_any(),
            Err(e) => error_notice(&e),
        })
    };
    view! {
        <Title text="Integration health" />
        <h1>"Integration health"</h1>
        <p class="muted">
            "Every problem a Stripe integration can have, checked against your Stripe account and Refloop's records, and whether the campaigns' emails can go."
        </p>
        {outcome}
        <Transition fallback=|| view! { <p class="muted">"Checking…"</p> }>
            {move || Suspend::new(async move {
                let me = or_view!(require_user(user.await));
                if let Some(why) = me.explain(Permission::ViewParticipants) {
                    return view! { <Explanation text=Some(why) /> }.into_any();
                }
                let health = or_view!(loaded(health.await));
                let counts = format!(
                    "{} failing · {} warnings · {} passing · checked {}",
                    health.count(CheckState::Fail),
                    health.count(CheckState::Warn),
                    health.count(CheckState::Pass),
                    format_utc(health.checked_at)
                );
                let checks = health
                    .checks
                    .into_iter()
                    .map(|c| check_view(c, fix))
                    .collect_view();
                view! {
                    <p class="health-counts">{counts}</p>
                    <ul class="health-checks">{checks}</ul>
                }
                .into_any()
            })}
        </Transition>
    }
}
