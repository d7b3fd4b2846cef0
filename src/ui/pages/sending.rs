//! `/app/campaigns/{id}/stripe`: how the campaign sends people referring and people invited to
//! Stripe as customers (switch, field mapping, policies), where each audience stands, and
//! "Send existing participants" with its dry run.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_params_map;

use crate::{
    api::{
        campaigns::get_campaign,
        sending::{
            get_campaign_sending, PreviewSendExisting, SaveSendSettings, SendExistingParticipants,
        },
    },
    domain::sending::{
        audience_label, AudienceSending, DuplicatePolicy, ExistingPolicy, MetadataMapping,
        NewPeople, SendSettings, FIRST_AND_LAST,
    },
    ui::components::{
        campaign::{CampaignTabs, PromoteSwitch, Tab},
        form::{action_error, error_notice, Explanation, FieldMessage, FormProblem},
        layout::{loaded, require_user, UserResource},
    },
};

#[component]
pub fn SendingPage() -> impl IntoView {
    let user = expect_context::<UserResource>();
    let params = use_params_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let campaign = Resource::new(id, get_campaign);
    let sending = Resource::new(id, get_campaign_sending);
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                or_view!(require_user(user.await));
                let c = or_view!(loaded(campaign.await));
                let s = or_view!(loaded(sending.await));
                let editable = s.read_only.is_none();
                let connect = (!s.stripe_connected).then(|| view! {
                    <p class="notice notice-warn">
                        "Stripe is not connected to this account yet, so nobody is sent. "
                        <a href="/app/integrations">"Connect Stripe"</a>
                    </p>
                });
                let cards = s.audiences.into_iter().map(|a| {
                    view! { <AudienceCard campaign_id=c.id.clone() audience=a editable /> }
                }).collect_view();
                view! {
                    <Title text=format!("Stripe · {}", c.name) />
                    <CampaignTabs campaign=c.clone() active=Tab::Stripe />
                    <p class="lead">
                        "Refloop creates a Stripe customer for each person who joins, or links them to the customer your own system creates. "
                        "Sending is not retroactive: people who joined before it was switched on stay out of Stripe until you use "
                        <strong>"Send existing participants"</strong> ", which shows what it would do first."
                    </p>
                    {connect}
                    <Explanation text=s.read_only />
                    {cards}
                }.into_any()
            })}
        </Transition>
    }
}

/// A radio button for each choice of a policy.
fn radios<T: Copy + PartialEq + Send + Sync + 'static>(
    name: String,
    all: &'static [T],
    key: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
    value: RwSignal<T>,
    disabled: bool,
) -> impl IntoView {
    all.iter()
        .map(|&choice| {
            let name = name.clone();
            view! {
                <label class="choice">
                    <input type="radio" name=name value=key(choice) disabled=disabled
                        prop:checked=move || value.get() == choice
                        on:change=move |_| value.set(choice) />
                    " " {label(choice)}
                </label>
            }
        })
        .collect_view()
}

/// Options for a field select: (value, label), with what "nothing" means first.
fn options(
    none: &'static str,
    extra: Option<(&'static str, &'static str)>,
    fields: &[(String, String)],
    value: RwSignal<String>,
) -> impl IntoView {
    let mut all: Vec<(String, String)> = vec![(String::new(), none.to_string())];
    if let Some((k, l)) = extra {
        all.push((k.to_string(), l.to_string()));
    }
    all.extend(fields.iter().cloned());
    all.into_iter()
        .map(|(k, l)| {
            let selected = k.clone();
            view! { <option value=k selected=move || value.get() == selected>{l}</option> }
        })
        .collect_view()
}

#[component]
fn AudienceCard(campaign_id: String, audience: AudienceSending, editable: bool) -> impl IntoView {
    let a = audience;
    let who = a.audience;
    let key = who.key();
    let s = a.settings.clone();
    let name = RwSignal::new(s.name.clone());
    let email = RwSignal::new(s.email.clone());
    let phone = RwSignal::new(s.phone.clone());
    let description = RwSignal::new(s.description.clone());
    // Each metadata row keeps its own signals, so typing in one never rebuilds the others.
    type Row = (u32, RwSignal<String>, RwSignal<String>);
    let metadata: RwSignal<Vec<Row>> = RwSignal::new(
        s.metadata
            .iter()
            .enumerate()
            .map(|(i, m)| {
                (
                    i as u32,
                    RwSignal::new(m.key.clone()),
                    RwSignal::new(m.field.clone()),
                )
            })
            .collect(),
    );
    let next_row = StoredValue::new(s.metadata.len() as u32);
    let new_people = RwSignal::new(s.new_people);
    let wait_hours = RwSignal::new(s.wait_hours.to_string());
    let existing = RwSignal::new(s.existing);
    let duplicates = RwSignal::new(s.duplicates);
    let save = ServerAction::<SaveSendSettings>::new();
    let error = action_error(save);
    let saved = move || matches!(save.value().get(), Some(Ok(())));
    let preview = ServerAction::<PreviewSendExisting>::new();
    let run = ServerAction::<SendExistingParticipants>::new();
    let fields = a.fields.clone();
    let submit = {
        let campaign_id = campaign_id.clone();
        move |ev: leptos::ev::SubmitEvent| {
            ev.prevent_default();
            let settings = SendSettings {
                name: name.get_untracked(),
                email: email.get_untracked(),
                phone: phone.get_untracked(),
                description: description.get_untracked(),
                metadata: metadata
                    .get_untracked()
                    .into_iter()
                    .map(|(_, key, field)| MetadataMapping {
                        key: key.get_untracked(),
                        field: field.get_untracked(),
                    })
                    .collect(),
                new_people: new_people.get_untracked(),
                wait_hours: wait_hours.get_untracked().trim().parse().unwrap_or(0),
                existing: existing.get_untracked(),
                duplicates: duplicates.get_untracked(),
            };
            save.dispatch(SaveSendSettings {
                campaign_id: campaign_id.clone(),
                audience: who,
                settings,
            });
        }
    };
    let counts = if a.counts.is_empty() {
        view! { <p class="muted">"Nobody in this audience yet."</p> }.into_any()
    } else {
        let items = a
            .counts
            .iter()
            .map(|(label, n)| view! { <li><strong>{*n}</strong> " " {label.clone()}</li> })
            .collect_view();
        view! { <ul class="counts row">{items}</ul> }.into_any()
    };
    let unsent = a.unsent;
    let (preview_id, run_id) = (campaign_id.clone(), campaign_id.clone());
    let preview_view = move || {
        preview.value().get().map(|r| match r {
            Err(e) => error_notice(&e),
            Ok(p) => {
                let shown = p.rows.len() as i64;
                let rows = p
                    .rows
                    .into_iter()
                    .map(|r| view! { <tr><td>{r.email}</td><td>{r.outcome}</td></tr> })
                    .collect_view();
                let more = (p.total > shown).then(|| {
                    view! { <p class="muted">{format!("… and {} more, decided the same way when they are sent.", p.total - shown)}</p> }
                });
                view! {
                    <table class="dry-run">
                        <caption>{format!("Dry run: {} participants would be sent", p.total)}</caption>
                        <thead><tr><th>"Participant"</th><th>"What would happen"</th></tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                    {more}
                }
                .into_any()
            }
        })
    };
    let run_view = move || {
        run.value().get().map(|r| match r {
            Err(e) => error_notice(&e),
            Ok(n) => view! {
                <p class="notice notice-ok" role="status">
                    {format!("{n} participants queued: watch them arrive in the Users tab.")}
                </p>
            }
            .into_any(),
        })
    };
    let metadata_row = {
        let fields = fields.clone();
        move |(row, key, field): Row| {
            view! {
                <li class="row">
                    <input aria-label="Metadata key" disabled=!editable prop:value=move || key.get()
                        on:input=move |ev| key.set(event_target_value(&ev)) />
                    " from "
                    <select aria-label="Participant field" disabled=!editable
                        on:change=move |ev| field.set(event_target_value(&ev))>
                        {options("— choose a field —", None, &fields, field)}
                    </select>
                    <button type="button" class="link" disabled=!editable
                        on:click=move |_| metadata.update(|rows| rows.retain(|(i, _, _)| *i != row))>
                        "Remove"
                    </button>
                </li>
            }
        }
    };
    let toggle = a.toggle.clone();
    view! {
        <section class="card audience" data-audience=key>
            <h2>{audience_label(who)}</h2>
            <ul class="switches"><PromoteSwitch campaign_id=campaign_id.clone() state=toggle /></ul>
            {counts}
            <form on:submit=submit>
                <fieldset disabled=!editable>
                    <legend>"Field mapping"</legend>
                    <p class="muted">"Name and Email are required: Refloop finds and links customers by their email."</p>
                    <label>"Name"
                        <select name="name" on:change=move |ev| name.set(event_target_value(&ev))>
                            {options("— choose —", Some((FIRST_AND_LAST, "First name + Last name")), &fields, name)}
                        </select>
                    </label>
                    <FieldMessage error field="name" />
                    <label>"Email"
                        <select name="email" on:change=move |ev| email.set(event_target_value(&ev))>
                            {options("— choose —", None, &fields, email)}
                        </select>
                    </label>
                    <FieldMessage error field="email" />
                    <label>"Phone"
                        <select name="phone" on:change=move |ev| phone.set(event_target_value(&ev))>
                            {options("None", None, &fields, phone)}
                        </select>
                    </label>
                    <FieldMessage error field="phone" />
                    <label>"Description"
                        <select name="description" on:change=move |ev| description.set(event_target_value(&ev))>
                            {options("None", None, &fields, description)}
                        </select>
                    </label>
                    <FieldMessage error field="description" />
                    <p>"Metadata keys (Refloop always writes referral_link, referral_code, campaign, and referred_by or referral counts)"</p>
                    <ul class="metadata-rows">
                        <For each=move || metadata.get() key=|(row, _, _)| *row children=metadata_row.clone() />
                    </ul>
                    <button type="button" class="secondary" on:click=move |_| {
                        let row = next_row.get_value();
                        next_row.set_value(row + 1);
                        metadata.update(|rows| rows.push((row, RwSignal::new(String::new()), RwSignal::new(String::new()))));
                    }>"Add a metadata key"</button>
                    <FieldMessage error field="metadata" />
                </fieldset>
                <fieldset disabled=!editable>
                    <legend>"New people"</legend>
                    {radios(format!("{key}-new"), &NewPeople::ALL, NewPeople::key, NewPeople::label, new_people, !editable)}
                    <Show when=move || new_people.get() == NewPeople::WaitForMySystem>
                        <label>"Wait up to (hours) "
                            <input name="wait_hours" inputmode="numeric" size="4" prop:value=move || wait_hours.get()
                                on:input=move |ev| wait_hours.set(event_target_value(&ev)) />
                        </label>
                        <p class="muted">"After that, the person is marked as never linked, with the reason."</p>
                    </Show>
                    <FieldMessage error field="wait_hours" />
                </fieldset>
                <fieldset disabled=!editable>
                    <legend>"People already in Stripe (a customer has the same email)"</legend>
                    {radios(format!("{key}-existing"), &ExistingPolicy::ALL, ExistingPolicy::key, ExistingPolicy::label, existing, !editable)}
                    <p>"When several customers share the email, link:"</p>
                    {radios(format!("{key}-duplicates"), &DuplicatePolicy::ALL, DuplicatePolicy::key, DuplicatePolicy::label, duplicates, !editable)}
                </fieldset>
                <FormProblem error />
                <button type="submit" disabled=!editable>"Save " {audience_label(who).to_lowercase()} " settings"</button>
                <Show when=saved><span class="notice-ok" role="status">" Saved."</span></Show>
            </form>
            <div class="backfill">
                <h3>"Send existing participants"</h3>
                <p class="muted">{format!("{unsent} not in Stripe (never sent, skipped or failed).")}</p>
                <button type="button" class="secondary" disabled=!editable
                    on:click=move |_| { preview.dispatch(PreviewSendExisting { campaign_id: preview_id.clone(), audience: who }); }>
                    "Preview (dry run)"
                </button>
                {preview_view}
                <Show when=move || matches!(preview.value().get(), Some(Ok(_)))>
                    <button type="button" disabled=!editable on:click={
                        let run_id = run_id.clone();
                        move |_| { run.dispatch(SendExistingParticipants { campaign_id: run_id.clone(), audience: who }); }
                    }>"Send them now"</button>
                </Show>
                {run_view}
            </div>
        </section>
    }
}
