//! The heading and tabs every page of one campaign shares.

use leptos::prelude::*;

use crate::{domain::campaigns::CampaignDetail, ui::pages::campaigns::status_badge};

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Overview,
    Builder,
    Users,
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
        </nav>
    }
}
