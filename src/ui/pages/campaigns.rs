//! `/app/campaigns`: the account's campaigns and a form to start one; `/app/campaigns/{id}`:
//! a campaign's dashboard.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::{
    api::{
        campaigns::{get_campaign, list_campaigns, CreateCampaign},
        participants::get_campaign_stats,
    },
    domain::{permissions::Permission, time::format_date},
    ui::components::{
        campaign::{status_badge, CampaignTabs, Tab},
        chart::DailyChart,
        dashboard::{dashboard_resource, figures},
        form::{action_error, error_notice, Explanation, FieldMessage, FormProblem},
        layout::{loaded, require_user, UserResource},
    },
};

#[component]
pub fn CampaignsPage() -> impl IntoView {
    let user = expect_context::<UserResource>();
    let create = ServerAction::<CreateCampaign>::new();
    let error = action_error(create);
    let campaigns = Resource::new(|| (), |_| list_campaigns());
    view! {
        <Title text="Campaigns" />
        <h1>"Campaigns"</h1>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let me = or_view!(require_user(user.await));
                let list = or_view!(loaded(campaigns.await));
                let explanation = me.explain(Permission::EditCampaigns);
                let listing = if list.is_empty() {
                    view! {
                        <div class="notice empty-state">
                            <p>"No campaign yet. Start one below: name it and choose its link, then launch it when it is ready (it stays a draft until then)."</p>
                        </div>
                    }
                    .into_any()
                } else {
                    let rows = list
                        .into_iter()
                        .map(|c| view! {
                            <tr>
                                <td><a href=format!("/app/campaigns/{}", c.id)>{c.name}</a></td>
                                <td class="muted">{format!("/j/{}", c.slug)}</td>
                                <td>{status_badge(c.status)}</td>
                                <td class="num">{c.participants}</td>
                                <td class="nowrap">{format_date(c.created_at)}</td>
                            </tr>
                        })
                        .collect_view();
                    view! {
                        <table class="campaigns">
                            <thead><tr><th>"Campaign"</th><th>"Join link"</th><th>"Status"</th><th class="num">"People"</th><th>"Created"</th></tr></thead>
                            <tbody>{rows}</tbody>
                        </table>
                    }
                    .into_any()
                };
                view! {
                    {listing}
                    <section class="card" aria-labelledby="new-campaign">
                        <h2 id="new-campaign">"New campaign"</h2>
                        <Explanation text=explanation.clone() />
                        <ActionForm action=create>
                            <fieldset disabled=explanation.is_some()>
                                <FormProblem error />
                                <label for="campaign-name">"Name"</label>
                                <input id="campaign-name" name="name" required placeholder="Spring referrals" />
                                <FieldMessage error field="name" />
                                <label for="campaign-slug">"Link name"</label>
                                <input id="campaign-slug" name="slug" required placeholder="spring-referrals" />
                                <p class="hint">"People join at /j/ followed by this name."</p>
                                <FieldMessage error field="slug" />
                                <button type="submit">"Create campaign"</button>
                            </fieldset>
                        </ActionForm>
                    </section>
                }
                .into_any()
            })}
        </Transition>
    }
}

/// `/app/campaigns/{id}`: clicks, joins, invited friends, qualified referrals and rewards, as
/// numbers and as a chart of the last 30 days, and who could not join and why.
#[component]
pub fn CampaignPage() -> impl IntoView {
    let user = expect_context::<UserResource>();
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let campaign = Resource::new(id, get_campaign);
    let stats = Resource::new(id, get_campaign_stats);
    let dashboard = dashboard_resource(id);
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let me = or_view!(require_user(user.await));
                let c = or_view!(loaded(campaign.await));
                let data = dashboard.await;
                let numbers = match (me.explain(Permission::ViewParticipants), stats.await) {
                    (Some(why), _) => view! { <Explanation text=Some(why) /> }.into_any(),
                    (None, Err(e)) => error_notice(&e),
                    (None, Ok(s)) => {
                        let t = &s.totals;
                        let cards = [
                            ("clicks", "Clicks", t.clicks),
                            ("joins", "Joined", t.joins),
                            ("invited", "Friends invited", t.invited),
                            ("qualified", "Qualified", t.qualified),
                            ("rewards", "Rewards", t.rewards),
                        ]
                        .into_iter()
                        .map(|(key, label, n)| view! {
                            <div class="stat"><span class="stat-value" data-stat=key>{n}</span>{label}</div>
                        })
                        .collect_view();
                        let refusals = if s.refusals.is_empty() {
                            view! { <p class="muted">"Nobody has been refused."</p> }.into_any()
                        } else {
                            let rows = s
                                .refusals
                                .into_iter()
                                .map(|(reason, n)| view! { <tr><td>{reason}</td><td class="num">{n}</td></tr> })
                                .collect_view();
                            view! { <table><thead><tr><th>"Reason"</th><th class="num">"People"</th></tr></thead><tbody>{rows}</tbody></table> }.into_any()
                        };
                        let flags = if s.flags.is_empty() {
                            view! { <p class="muted">"No referral has been flagged as a self-referral."</p> }.into_any()
                        } else {
                            let rows = s
                                .flags
                                .into_iter()
                                .map(|f| view! {
                                    <tr>
                                        <td>{f.signal}</td>
                                        <td class="num">{f.waiting}</td>
                                        <td class="num">{f.approved}</td>
                                        <td class="num">{f.rejected}</td>
                                    </tr>
                                })
                                .collect_view();
                            view! {
                                <table>
                                    <thead><tr><th>"Sign"</th><th class="num">"Waiting for review"</th><th class="num">"Approved"</th><th class="num">"Rejected"</th></tr></thead>
                                    <tbody>{rows}</tbody>
                                </table>
                            }
                            .into_any()
                        };
                        view! {
                            <div class="grid stats">{cards}</div>
                            {figures(data, format!("/app/campaigns/{}", c.id))}
                            <section class="card">
                                <h2>"Last 30 days"</h2>
                                <DailyChart days=s.days />
                            </section>
                            <section class="card">
                                <h2>"Who could not join, and why"</h2>
                                {refusals}
                            </section>
                            <section class="card flags">
                                <h2>"Referrals flagged as self-referrals"</h2>
                                {flags}
                            </section>
                        }
                        .into_any()
                    }
                };
                view! {
                    <Title text=c.name.clone() />
                    <CampaignTabs campaign=c.clone() active=Tab::Overview />
                    <p>
                        "Join page: " <a href=c.join_link.clone() target="_blank">{c.join_link.clone()}</a>
                    </p>
                    {numbers}
                }
                .into_any()
            })}
        </Transition>
    }
}
