//! The heading and tabs every page of one campaign shares.

use leptos::prelude::*;

use crate::{
    api::campaigns::SetPromoteToggle,
    domain::campaigns::{CampaignDetail, CampaignStatus, ToggleState},
};

/// A campaign's status as a coloured badge.
pub fn status_badge(status: CampaignStatus) -> impl IntoView {
    view! { <span class=format!("badge badge-{}", status.key())>{status.label()}</span> }
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Overview,
    Builder,
    Users,
    Stripe,
}

#[component]
pub fn CampaignTabs(campaign: CampaignDetail, active: Tab) -> impl IntoView {
    let base = format!("/app/campaigns/{}", campaign.id);
    let tab = move |t: Tab, href: String, label: &'static str| {
        let current = (t == active).then_some("page");
        view! { <a href=href class:active=t == active aria-current=current>{label}</a> }
    };
    view! {
        <p class="breadcrumb"><a href="/app/campaigns">"Campaigns"</a></p>
        <h1>{campaign.name.clone()} " " {status_badge(campaign.status)}</h1>
        <nav class="tabs campaign-tabs" aria-label="Campaign">
            {tab(Tab::Overview, base.clone(), "Overview")}
            {tab(Tab::Builder, format!("{base}/edit"), "Builder")}
            {tab(Tab::Users, format!("{base}/users"), "Users")}
            {tab(Tab::Stripe, format!("{base}/stripe"), "Stripe")}
        </nav>
    }
}

/// One integration toggle: it flips at once, saves in the background, and flips back with
/// the reason if the server refuses.
#[component]
pub fn PromoteSwitch(campaign_id: String, state: ToggleState) -> impl IntoView {
    let on = RwSignal::new(state.on);
    let confirmed = RwSignal::new(state.on);
    let problem = RwSignal::new(None::<String>);
    let action = ServerAction::<SetPromoteToggle>::new();
    Effect::new(move |_| match action.value().get() {
        Some(Ok(s)) => {
            confirmed.set(s.on);
            on.set(s.on);
            problem.set(None);
        }
        Some(Err(e)) => {
            on.set(confirmed.get_untracked());
            problem.set(Some(e.to_string()));
        }
        None => {}
    });
    let key = state.toggle.key();
    let id = format!("toggle-{key}");
    let label_for = id.clone();
    let blocked = state.blocker.is_some();
    let permission_blocked = state
        .blocker
        .as_ref()
        .is_some_and(|b| b.fix_href == "/app/team");
    // Blocked toggles can still be switched off (when the person may edit the campaign).
    let disabled = move || permission_blocked || (blocked && !on.get());
    let blocker = state.blocker.clone().map(|b| {
        view! {
            <p class="notice notice-warn blocker">
                {b.reason} " " <a href=b.fix_href>{b.fix_label}</a>
            </p>
        }
    });
    view! {
        <li class="switch" data-toggle=key>
            <label for=label_for class="choice">
                <input id=id type="checkbox" role="switch" prop:checked=move || on.get()
                    aria-checked=move || on.get().to_string()
                    disabled=disabled
                    on:change=move |ev| {
                        let target = event_target_checked(&ev);
                        on.set(target);
                        action.dispatch(SetPromoteToggle { id: campaign_id.clone(), toggle: key.to_string(), on: target });
                    } />
                " " {state.toggle.label()}
            </label>
            <span class=move || if on.get() { "switch-state on" } else { "switch-state" } aria-live="polite">
                {move || if on.get() { "On" } else { "Off" }}
            </span>
            {blocker}
            {move || problem.get().map(|m| view! { <p class="notice notice-error" role="alert">{m}</p> })}
        </li>
    }
}
