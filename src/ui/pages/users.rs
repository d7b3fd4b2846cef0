//! `/app/campaigns/{id}/users`: the campaign's people, searchable, filterable, sortable and
//! paged (all in the address, so a view can be shared), with CSV export and import; and
//! `/app/campaigns/{id}/users/{participant}`: one person's page and timeline.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::{
    api::{
        campaigns::get_campaign,
        health::why_participant,
        participants::{get_participant, list_participants, ImportParticipants},
        sync::get_campaign_sync,
    },
    domain::{
        health::WhyAnswer,
        participants::{
            ImportReport, ParticipantKind, ParticipantQuery, ParticipantSort, ParticipantSummary,
            Qualification, StripeStatus,
        },
        permissions::Permission,
        time::{format_date, format_utc},
    },
    ui::components::{
        campaign::{CampaignTabs, Tab},
        form::{action_error, error_notice, Explanation, FieldMessage, FormProblem},
        layout::{loaded, require_user, UserResource},
    },
    ui::pages::sync::SyncPanel,
};

#[component]
pub fn UsersPage() -> impl IntoView {
    let user = expect_context::<UserResource>();
    let params = use_params_map();
    let query_map = use_query_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let query = move || ParticipantQuery::from_params(|k| query_map.read().get(k));
    let import = ServerAction::<ImportParticipants>::new();
    let campaign = Resource::new(id, get_campaign);
    // What the page shows again when it changes; the sync panel is drawn afresh with it, so its
    // data is read again too.
    let shown = move || (id(), query(), import.version().get());
    let page = Resource::new(shown, |(id, query, _)| list_participants(id, query));
    let sync = Resource::new(shown, |(id, ..)| get_campaign_sync(id));
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let me = or_view!(require_user(user.await));
                let c = or_view!(loaded(campaign.await));
                let head = view! {
                    <Title text=format!("Users · {}", c.name) />
                    <CampaignTabs campaign=c.clone() active=Tab::Users />
                };
                if let Some(why) = me.explain(Permission::ViewParticipants) {
                    return view! { {head} <Explanation text=Some(why) /> }.into_any();
                }
                let q = query();
                let listing = match page.await {
                    Err(e) => error_notice(&e),
                    Ok(p) => {
                        let base = format!("/app/campaigns/{}/users", c.id);
                        let pager = {
                            let prev = (p.page > 1).then(|| format!("{base}{}", q.to_params(p.page - 1)));
                            let next = (p.page < p.pages).then(|| format!("{base}{}", q.to_params(p.page + 1)));
                            view! {
                                <nav class="pager row" aria-label="Pages">
                                    {prev.map(|href| view! { <a href=href rel="prev">"← Previous"</a> })}
                                    <span class="muted">{format!("Page {} of {} · {} people", p.page, p.pages, p.total)}</span>
                                    {next.map(|href| view! { <a href=href rel="next">"Next →"</a> })}
                                </nav>
                            }
                        };
                        if p.rows.is_empty() && q == ParticipantQuery::default() {
                            view! {
                                <div class="notice empty-state">
                                    <p>"Nobody has joined yet. Share the campaign's join link, or import people below."</p>
                                    <a class="button" href=format!("/app/campaigns/{}/edit?step=promote", c.id)>"Get the join link"</a>
                                </div>
                            }
                            .into_any()
                        } else if p.rows.is_empty() {
                            view! { <p class="muted">"Nobody matches. Clear the search or filters to see everyone."</p> {pager} }.into_any()
                        } else {
                            view! { <ParticipantTable base rows=p.rows /> {pager} }.into_any()
                        }
                    }
                };
                let sync = sync.await;
                let export = match me.explain(Permission::ExportParticipants) {
                    None => view! {
                        <a class="button secondary small" href=format!("/export/campaigns/{}/participants.csv", c.id) download="">"Export CSV"</a>
                    }
                    .into_any(),
                    Some(why) => view! { <Explanation text=Some(why) /> }.into_any(),
                };
                view! {
                    {head}
                    <Filters campaign_id=c.id.clone() query=q />
                    <div class="row">{export}</div>
                    <SyncPanel campaign_id=c.id.clone() sync />
                    {listing}
                    <ImportCard campaign_id=c.id.clone() action=import explanation=me.explain(Permission::EditCampaigns) />
                }
                .into_any()
            })}
        </Transition>
    }
}

/// Participants as rows linking to their pages under `base`.
#[component]
fn ParticipantTable(base: String, rows: Vec<ParticipantSummary>) -> impl IntoView {
    let rows = rows
        .into_iter()
        .map(|row| participant_row(&base, row))
        .collect_view();
    view! {
        <table class="participants">
            <thead><tr>
                <th>"Name"</th><th>"Email"</th><th>"Code"</th><th>"Kind"</th>
                <th>"Qualification"</th><th>"Stripe"</th><th class="num">"Referrals"</th><th>"Joined"</th>
            </tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}

fn participant_row(base: &str, row: ParticipantSummary) -> impl IntoView {
    view! {
        <tr>
            <td><a href=format!("{base}/{}", row.id)>{row.display_name()}</a></td>
            <td>{row.email.clone()}</td>
            <td><code>{row.code.clone()}</code></td>
            <td>{row.kind.label()}</td>
            <td>{row.qualification.label()}</td>
            <td class="stripe-status">
                {row.stripe_status.label()}
                {(!row.stripe_note.is_empty()).then(|| view! { <small class="muted note">{row.stripe_note.clone()}</small> })}
            </td>
            <td class="num">{row.referrals}</td>
            <td class="nowrap">{format_date(row.joined_at)}</td>
        </tr>
    }
}

/// The search, filters and order: a GET form, so the result is an address.
#[component]
fn Filters(campaign_id: String, query: ParticipantQuery) -> impl IntoView {
    fn options<T: Copy + PartialEq + 'static>(
        all: &'static [T],
        current: Option<T>,
        key: fn(T) -> &'static str,
        label: fn(T) -> &'static str,
    ) -> impl IntoView {
        all.iter()
            .map(|v| view! { <option value=key(*v) selected=current == Some(*v)>{label(*v)}</option> })
            .collect_view()
    }
    view! {
        <form class="filters row" method="get" action=format!("/app/campaigns/{campaign_id}/users") role="search">
            <div class="grow">
                <label for="q">"Search"</label>
                <input id="q" name="q" type="search" value=query.search.clone() placeholder="Name, email or referral code" />
            </div>
            <div>
                <label for="kind">"Kind"</label>
                <select id="kind" name="kind">
                    <option value="">"Everyone"</option>
                    {options(&ParticipantKind::ALL, query.kind, ParticipantKind::key, ParticipantKind::label)}
                </select>
            </div>
            <div>
                <label for="qualification">"Qualification"</label>
                <select id="qualification" name="qualification">
                    <option value="">"Any"</option>
                    {options(&Qualification::ALL[1..], query.qualification, Qualification::key, Qualification::label)}
                </select>
            </div>
            <div>
                <label for="stripe">"Stripe"</label>
                <select id="stripe" name="stripe">
                    <option value="">"Any"</option>
                    {options(&StripeStatus::ALL, query.stripe, StripeStatus::key, StripeStatus::label)}
                </select>
            </div>
            <div>
                <label for="sort">"Order"</label>
                <select id="sort" name="sort">
                    {options(&ParticipantSort::ALL, Some(query.sort), ParticipantSort::key, ParticipantSort::label)}
                </select>
            </div>
            <button type="submit" class="secondary">"Search"</button>
        </form>
    }
}

#[component]
fn ImportCard(
    campaign_id: String,
    action: ServerAction<ImportParticipants>,
    explanation: Option<String>,
) -> impl IntoView {
    let error = action_error(action);
    let report = move || action.value().get().and_then(Result::ok);
    view! {
        <section class="card" aria-labelledby="import-heading">
            <h2 id="import-heading">"Import from CSV"</h2>
            <Explanation text=explanation.clone() />
            <ActionForm action>
                <fieldset disabled=explanation.is_some()>
                    <FormProblem error />
                    <input type="hidden" name="campaign_id" value=campaign_id />
                    <label for="csv">"CSV with a header row: email, and optionally first_name, last_name, referrer_email and your custom fields"</label>
                    <textarea id="csv" name="csv" rows="6" placeholder="email,first_name,last_name\nann@example.com,Ann,Lee"></textarea>
                    <FieldMessage error field="csv" />
                    <button type="submit">"Import"</button>
                </fieldset>
            </ActionForm>
            {move || report().map(|r| view! { <ImportReportView report=r /> })}
        </section>
    }
}

#[component]
fn ImportReportView(report: ImportReport) -> impl IntoView {
    let rows = report
        .rows
        .into_iter()
        .map(|r| {
            let added = r.refusal.is_none();
            view! {
                <tr class:refused=!added>
                    <td class="num">{r.line}</td>
                    <td>{r.email}</td>
                    <td>{r.refusal.unwrap_or_else(|| "Added".to_string())}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <div class="import-report" role="status">
            <p><strong>{format!("{} added, {} refused.", report.added, report.refused)}</strong></p>
            <table>
                <thead><tr><th class="num">"Line"</th><th>"Email"</th><th>"Result"</th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        </div>
    }
}

/// "Why?": what decided their Stripe status, qualification and rewards, in order.
fn why_view(w: WhyAnswer) -> impl IntoView {
    let steps = w
        .steps
        .into_iter()
        .map(|s| view! { <li><time>{format_utc(s.at)}</time> " " {s.text}</li> })
        .collect_view();
    view! {
        <section class="card why" aria-labelledby="why-title">
            <h2 id="why-title">"Why?"</h2>
            <table class="facts">
                <tbody>
                    <tr><th>"Stripe"</th><td class="why-stripe">{w.stripe}</td></tr>
                    <tr><th>"Qualification"</th><td class="why-qualification">{w.qualification}</td></tr>
                    <tr><th>"Rewards"</th><td class="why-rewards">{w.rewards}</td></tr>
                    <tr><th>"Emails"</th><td class="why-emails">{w.emails}</td></tr>
                </tbody>
            </table>
            <h3>"What decided it, in order"</h3>
            <ol class="why-steps">{steps}</ol>
        </section>
    }
}

#[component]
pub fn ParticipantPage() -> impl IntoView {
    let user = expect_context::<UserResource>();
    let params = use_params_map();
    let ids = move || {
        let p = params.read();
        (
            p.get("id").unwrap_or_default(),
            p.get("participant").unwrap_or_default(),
        )
    };
    let campaign = Resource::new(move || ids().0, get_campaign);
    let detail = Resource::new(ids, |(c, p)| get_participant(c, p));
    let why = Resource::new(ids, |(c, p)| why_participant(c, p));
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let me = or_view!(require_user(user.await));
                let c = or_view!(loaded(campaign.await));
                if let Some(why) = me.explain(Permission::ViewParticipants) {
                    return view! { <Explanation text=Some(why) /> }.into_any();
                }
                let d = or_view!(loaded(detail.await));
                let why = match why.await {
                    Ok(w) => why_view(w).into_any(),
                    Err(e) => error_notice(&e),
                };
                let base = format!("/app/campaigns/{}/users", c.id);
                let s = d.summary.clone();
                let fields = d
                    .fields
                    .into_iter()
                    .map(|(label, value)| view! { <tr><th>{label}</th><td>{value}</td></tr> })
                    .collect_view();
                let referrer = d.referrer.map(|r| {
                    view! { <tr><th>"Referred by"</th><td><a href=format!("{base}/{}", r.id)>{r.display_name()}</a></td></tr> }
                });
                let referred = if d.referred.is_empty() {
                    view! { <p class="muted">"Nobody has joined through their link yet."</p> }.into_any()
                } else {
                    view! { <ParticipantTable base=base.clone() rows=d.referred /> }.into_any()
                };
                let timeline = d
                    .timeline
                    .into_iter()
                    .map(|e| {
                        let (kind, rest) = e.phrased(" — ");
                        let kind = kind.to_string();
                        view! {
                            <li data-kind=e.kind>
                                <time>{format_utc(e.at)}</time>
                                " " <strong>{kind}</strong>
                                {(!rest.is_empty()).then(|| view! { <span class="muted">{rest}</span> })}
                            </li>
                        }
                    })
                    .collect_view();
                view! {
                    <Title text=format!("{} · {}", s.display_name(), c.name) />
                    <CampaignTabs campaign=c.clone() active=Tab::Users />
                    <h2 class="participant-name">{s.display_name()}</h2>
                    <section class="card">
                        <table class="facts participant-facts">
                            <tbody>
                                <tr><th>"Email"</th><td>{s.email.clone()}</td></tr>
                                <tr><th>"Kind"</th><td>{s.kind.label()}</td></tr>
                                <tr><th>"Referral code"</th><td><code>{s.code.clone()}</code></td></tr>
                                <tr><th>"Referral link"</th><td>{d.referral_link}</td></tr>
                                {referrer}
                                <tr>
                                    <th>"Qualification"</th>
                                    <td class="qualification-status">
                                        {s.qualification.label()}
                                        {(!d.qualification_note.is_empty()).then(|| view! { <small class="muted note">{d.qualification_note.clone()}</small> })}
                                    </td>
                                </tr>
                                <tr>
                                    <th>"Stripe"</th>
                                    <td class="stripe-status">
                                        {s.stripe_status.label()}
                                        {(!d.stripe_customers.is_empty()).then(|| format!(" ({})", d.stripe_customers.join(", ")))}
                                        {(!s.stripe_note.is_empty()).then(|| view! { <small class="muted note">{s.stripe_note.clone()}</small> })}
                                    </td>
                                </tr>
                                <tr><th>"Friends joined"</th><td>{s.referrals}</td></tr>
                                <tr><th>"Joined"</th><td>{format_utc(s.joined_at)}</td></tr>
                                {fields}
                            </tbody>
                        </table>
                    </section>
                    {why}
                    <section class="card">
                        <h2>"Referrals"</h2>
                        {referred}
                    </section>
                    {(!d.rewards.is_empty()).then(|| {
                        let rows = d.rewards.iter().map(|r| view! {
                            <li data-status=r.status.key()>
                                <strong>{r.description.clone()}</strong>
                                {format!(" for {} (friend {}): {}", r.recipient_email, r.referral_email, r.status.label())}
                                <small class="muted note">{r.note.clone()}</small>
                            </li>
                        }).collect_view();
                        view! { <section class="card person-rewards"><h2>"Rewards"</h2><ul>{rows}</ul></section> }
                    })}
                    <section class="card">
                        <h2>"Timeline"</h2>
                        <ol class="timeline">{timeline}</ol>
                    </section>
                }
                .into_any()
            })}
        </Transition>
    }
}
