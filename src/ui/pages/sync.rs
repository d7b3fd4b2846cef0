//! Syncing Stripe customers into a campaign: `SyncPanel` (the live progress of the latest
//! sync and the ongoing switch's state, on the Promote step and the Users tab) and
//! `/app/campaigns/{id}/sync`, the wizard (which customers, field mapping, what is written
//! back, one-time or ongoing, a preview) and the report of skipped customers with its CSV.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};

use crate::{
    api::{
        campaigns::get_campaign,
        sync::{get_campaign_sync, get_sync_skipped, PreviewSync, StartOngoingSync, StartSync},
    },
    domain::{
        sync::{
            CampaignSync, CustomerSource, FirstNameFrom, RunKind, SkippedCustomer, SyncMapping,
            SyncProgress, SyncSettings,
        },
        time::{format_date, format_date_input, format_duration, format_utc, parse_date},
    },
    error::AppError,
    ui::components::{
        campaign::{CampaignTabs, Tab},
        form::{action_error, error_notice, Explanation, FieldMessage, FormProblem},
        layout::{loaded, require_user, UserResource},
    },
};

/// One sync's progress: the bar, the counts, the pace and what stopped it.
fn run_view(campaign_id: &str, p: SyncProgress) -> impl IntoView {
    let bar = match p.percent() {
        Some(v) => view! { <progress max="100" value=v.to_string()></progress> }.into_any(),
        None => view! { <progress aria-label="Reading customers"></progress> }.into_any(),
    };
    let reasons = p
        .skipped
        .iter()
        .map(|(r, n)| view! { <li data-reason=r.key()><strong>{*n}</strong> " " {r.label()}</li> })
        .collect_view();
    let writes = (p.to_write > 0).then(|| {
        view! {
            <li><strong class="sync-written">{p.written}</strong> {format!(" of {} referral links written back", p.to_write)}
                {(p.write_failed > 0).then(|| format!(" ({} could not be written)", p.write_failed))}</li>
        }
    });
    let pace = match (p.status.active(), p.eta_secs) {
        (true, Some(eta)) => format!(
            "{:.0} customers/s read · {:.1} links/s written · about {} left",
            p.read_rate,
            p.write_rate,
            format_duration(eta)
        ),
        (true, None) if p.kind == RunKind::Once => format!(
            "{:.0} customers/s read · finish estimated once every customer is read",
            p.read_rate
        ),
        _ => match p.finished_at {
            Some(at) => format!(
                "Finished {} · {:.0} customers/s",
                format_utc(at),
                p.read_rate
            ),
            None => String::new(),
        },
    };
    let report = (p.skipped_total() > 0).then(|| {
        let page = format!("/app/campaigns/{campaign_id}/sync?run={}#report", p.run_id);
        let csv = format!(
            "/export/campaigns/{campaign_id}/syncs/{}/skipped.csv",
            p.run_id
        );
        view! {
            <p class="row">
                <a href=page>"See the skipped customers"</a>
                <a class="button secondary small" href=csv download="">"Download skipped (CSV)"</a>
            </p>
        }
    });
    view! {
        <div class="sync-run" data-run=p.run_id.clone() data-status=p.status.key() data-kind=p.kind.key()>
            <p>
                <strong>{p.kind.label()}</strong> " · "
                <span class="sync-status">{p.status.label()}</span>
                {format!(" · started by {} on {}", p.started_by, format_date(p.started_at))}
            </p>
            {bar}
            <ul class="counts row">
                <li><strong class="sync-read">{p.read}</strong> " customers read"</li>
                <li><strong class="sync-enrolled">{p.enrolled}</strong> " enrolled"</li>
                <li><strong class="sync-skipped">{p.skipped_total()}</strong> " skipped"</li>
                {writes}
            </ul>
            {(!p.skipped.is_empty()).then(|| view! { <ul class="sync-reasons">{reasons}</ul> })}
            <p class="muted sync-pace">{pace}</p>
            {(!p.note.is_empty()).then(|| view! { <p class="notice notice-warn sync-note">{p.note.clone()}</p> })}
            <p class="muted">{format!("Written back: {}", p.write_back)}</p>
            {report}
        </div>
    }
}

fn panel_body(s: CampaignSync) -> AnyView {
    let latest = s.runs.iter().find(|r| r.kind == RunKind::Once).cloned();
    let ongoing = s
        .runs
        .iter()
        .find(|r| r.kind == RunKind::Ongoing && s.ongoing)
        .cloned();
    let id = s.campaign_id.clone();
    let ongoing_line = match ongoing {
        Some(r) => view! {
            <p class="sync-ongoing" data-on="true">
                <strong>"Ongoing sync: on."</strong>
                {format!(" New Stripe customers are enrolled within seconds ({} so far since {}).", r.enrolled, format_date(r.started_at))}
            </p>
        }
        .into_any(),
        None => view! {
            <p class="sync-ongoing" data-on="false">
                <strong>"Ongoing sync: off."</strong>
                " New Stripe customers are not enrolled; switch it on under Promote → Stripe."
            </p>
        }
        .into_any(),
    };
    view! {
        {ongoing_line}
        {match latest {
            Some(p) => run_view(&id, p).into_any(),
            None => view! { <p class="muted">"No one-time sync has run yet."</p> }.into_any(),
        }}
    }
    .into_any()
}

/// The latest sync of a campaign, as its page loaded it (`sync`), then refreshed every second
/// while one is under way, and at once when `refresh` changes (the wizard on the same page
/// started one). The refreshes are the browser's own requests rather than a resource: a
/// resource made inside the page's suspense breaks hydration now and then.
#[component]
pub fn SyncPanel(
    campaign_id: String,
    sync: Result<CampaignSync, AppError>,
    #[prop(optional, into)] refresh: Option<Signal<u32>>,
) -> impl IntoView {
    let state = RwSignal::new(sync);
    let wizard = format!("/app/campaigns/{campaign_id}/sync");
    let reload = move || {
        let id = campaign_id.clone();
        leptos::task::spawn_local(async move { state.set(get_campaign_sync(id).await) });
    };
    Effect::new({
        let reload = reload.clone();
        move |_| {
            let reload = reload.clone();
            let under_way = move || {
                state.with_untracked(|s| {
                    s.as_ref()
                        .is_ok_and(|s| s.runs.iter().any(|r| r.status.active()))
                })
            };
            let every = std::time::Duration::from_secs(1);
            if let Ok(handle) = set_interval_with_handle(
                move || {
                    if under_way() {
                        reload();
                    }
                },
                every,
            ) {
                on_cleanup(move || handle.clear());
            }
        }
    });
    if let Some(refresh) = refresh {
        Effect::new(move |before: Option<u32>| {
            let now = refresh.get();
            if before.is_some() {
                reload();
            }
            now
        });
    }
    view! {
        <section class="card sync-panel" aria-labelledby="sync-heading" aria-live="polite">
            <h2 id="sync-heading">"Stripe customers"</h2>
            {move || match state.get() {
                Err(e) => error_notice(&e),
                Ok(s) => panel_body(s),
            }}
            <a class="button secondary small" href=wizard>"Sync Stripe customers…"</a>
        </section>
    }
}

#[component]
pub fn SyncPage() -> impl IntoView {
    let user = expect_context::<UserResource>();
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let campaign = Resource::new(id, get_campaign);
    let sync = Resource::new(id, get_campaign_sync);
    // Read beside the others, so that the page has one level of suspense (see `StepData` in
    // the builder).
    let skipped = Resource::new(
        move || (id(), query.read().get("run")),
        |(id, run)| skipped_report(id, run),
    );
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                or_view!(require_user(user.await));
                let c = or_view!(loaded(campaign.await));
                let s = or_view!(loaded(sync.await));
                let connect = (!s.stripe_connected).then(|| view! {
                    <p class="notice notice-warn">
                        "Stripe is not connected to this account yet. "
                        <a href="/app/integrations">"Connect Stripe"</a>
                    </p>
                });
                let refresh = RwSignal::new(0u32);
                let report = match skipped.await {
                    Ok(Some((run_id, rows))) => view! { <Report campaign_id=c.id.clone() run_id rows /> }.into_any(),
                    Ok(None) => ().into_any(),
                    Err(e) => error_notice(&e),
                };
                view! {
                    <Title text=format!("Sync from Stripe · {}", c.name) />
                    <CampaignTabs campaign=c.clone() active=Tab::Users />
                    <p class="lead">
                        "Bring the customers already in your Stripe into this campaign as people referring. "
                        "Every customer is accounted for: enrolled, or skipped with the reason."
                    </p>
                    {connect}
                    <SyncPanel campaign_id=c.id.clone() sync=Ok(s.clone()) refresh />
                    <Explanation text=s.read_only.clone() />
                    <Wizard sync=s.clone() refresh />
                    {report}
                }
                .into_any()
            })}
        </Transition>
    }
}

type FieldRow = (u32, RwSignal<String>, RwSignal<String>, RwSignal<String>);

fn source_key(s: &CustomerSource) -> (&'static str, String) {
    match s {
        CustomerSource::Name => ("name", String::new()),
        CustomerSource::Phone => ("phone", String::new()),
        CustomerSource::Metadata(k) => ("metadata", k.clone()),
    }
}

/// `refresh` counts the syncs this wizard started (the panel above refreshes on it).
#[component]
fn Wizard(sync: CampaignSync, refresh: RwSignal<u32>) -> impl IntoView {
    let s = sync.settings.clone();
    let editable = sync.read_only.is_none();
    let campaign_id = sync.campaign_id.clone();
    let since = RwSignal::new(s.created_after.map(format_date_input).unwrap_or_default());
    let only_since = RwSignal::new(s.created_after.is_some());
    let first_name = RwSignal::new(s.mapping.first_name);
    let rows: RwSignal<Vec<FieldRow>> = RwSignal::new(
        s.mapping
            .fields
            .iter()
            .enumerate()
            .map(|(i, (field, source))| {
                let (kind, key) = source_key(source);
                (
                    i as u32,
                    RwSignal::new(field.clone()),
                    RwSignal::new(kind.to_string()),
                    RwSignal::new(key),
                )
            })
            .collect(),
    );
    let next_row = StoredValue::new(s.mapping.fields.len() as u32);
    let write_back = RwSignal::new(!sync.saved || s.writes_back());
    let link_key = RwSignal::new(if s.link_key.is_empty() {
        "referral_link".to_string()
    } else {
        s.link_key.clone()
    });
    let code_key = RwSignal::new(if s.code_key.is_empty() {
        "referral_code".to_string()
    } else {
        s.code_key.clone()
    });
    let ongoing = RwSignal::new(false);
    let date_problem = RwSignal::new(None::<String>);
    let settings = move || -> Option<SyncSettings> {
        let created_after = if only_since.get_untracked() {
            match parse_date(&since.get_untracked()) {
                Some(t) => Some(t),
                None => {
                    date_problem.set(Some(
                        "Choose the date customers must be created on or after.".into(),
                    ));
                    return None;
                }
            }
        } else {
            None
        };
        date_problem.set(None);
        let on = write_back.get_untracked();
        Some(SyncSettings {
            created_after,
            mapping: SyncMapping {
                first_name: first_name.get_untracked(),
                fields: rows
                    .get_untracked()
                    .into_iter()
                    .map(|(_, field, kind, key)| {
                        let source = match kind.get_untracked().as_str() {
                            "phone" => CustomerSource::Phone,
                            "metadata" => CustomerSource::Metadata(key.get_untracked()),
                            _ => CustomerSource::Name,
                        };
                        (field.get_untracked(), source)
                    })
                    .collect(),
            },
            link_key: if on {
                link_key.get_untracked()
            } else {
                String::new()
            },
            code_key: if on {
                code_key.get_untracked()
            } else {
                String::new()
            },
        })
    };
    let preview = ServerAction::<PreviewSync>::new();
    let start = ServerAction::<StartSync>::new();
    let start_ongoing = ServerAction::<StartOngoingSync>::new();
    Effect::new(move |_| {
        let one_time = matches!(start.value().get(), Some(Ok(_)));
        let ongoing = matches!(start_ongoing.value().get(), Some(Ok(_)));
        if one_time || ongoing {
            refresh.update(|n| *n += 1);
        }
    });
    let preview_error = action_error(preview);
    let start_error = action_error(start);
    let ongoing_error = action_error(start_ongoing);
    let error = Signal::derive(move || {
        start_error
            .get()
            .or_else(|| ongoing_error.get())
            .or_else(|| preview_error.get())
    });
    let fields = sync.fields.clone();
    let field_row = move |(row, field, kind, key): FieldRow| {
        let options = fields
            .iter()
            .map(|(k, l)| {
                let selected = k.clone();
                view! { <option value=k.clone() selected=move || field.get() == selected>{l.clone()}</option> }
            })
            .collect_view();
        view! {
            <li class="row sync-field">
                <select aria-label="Participant field" on:change=move |ev| field.set(event_target_value(&ev))>
                    <option value="" selected=move || field.get().is_empty()>"— choose a field —"</option>
                    {options}
                </select>
                " from "
                <select aria-label="Customer source" on:change=move |ev| kind.set(event_target_value(&ev))>
                    <option value="name" selected=move || kind.get() == "name">"the customer's name"</option>
                    <option value="phone" selected=move || kind.get() == "phone">"the customer's phone"</option>
                    <option value="metadata" selected=move || kind.get() == "metadata">"a metadata key"</option>
                </select>
                <Show when=move || kind.get() == "metadata">
                    <input aria-label="Metadata key read" placeholder="key" prop:value=move || key.get()
                        on:input=move |ev| key.set(event_target_value(&ev)) />
                </Show>
                <button type="button" class="link" on:click=move |_| rows.update(|r| r.retain(|(i, ..)| *i != row))>"Remove"</button>
            </li>
        }
    };
    let preview_view = move || {
        preview.value().get().and_then(|r| r.ok()).map(|rows| {
            let body = rows
                .into_iter()
                .map(|r| {
                    view! {
                        <tr class:enrols=r.enrols>
                            <td><code>{r.customer_id}</code></td><td>{r.email}</td><td>{r.name}</td><td>{r.outcome}</td>
                        </tr>
                    }
                })
                .collect_view();
            view! {
                <table class="dry-run sync-preview">
                    <caption>"Preview: the first customers, and what would happen to each"</caption>
                    <thead><tr><th>"Customer"</th><th>"Email"</th><th>"Name"</th><th>"What would happen"</th></tr></thead>
                    <tbody>{body}</tbody>
                </table>
            }
        })
    };
    let started = move || {
        matches!(start.value().get(), Some(Ok(_))).then(|| view! {
            <p class="notice notice-ok" role="status">"Sync started: watch its progress above."</p>
        })
    };
    let ongoing_started = move || {
        matches!(start_ongoing.value().get(), Some(Ok(_))).then(|| view! {
            <p class="notice notice-ok" role="status">"Ongoing sync is on: new Stripe customers are enrolled within seconds."</p>
        })
    };
    let (preview_id, start_id) = (campaign_id.clone(), campaign_id.clone());
    let rules = FirstNameFrom::ALL
        .iter()
        .map(|&rule| {
            view! {
                <label class="choice">
                    <input type="radio" name="first_name" value=rule.key() prop:checked=move || first_name.get() == rule
                        on:change=move |_| first_name.set(rule) />
                    " " {rule.label()}
                </label>
            }
        })
        .collect_view();
    view! {
        <section class="card sync-wizard" aria-labelledby="wizard-heading">
            <h2 id="wizard-heading">"Sync Stripe customers"</h2>
            <form on:submit=|ev| ev.prevent_default()>
                <fieldset disabled=!editable>
                    <legend>"1. Which customers"</legend>
                    <label class="choice">
                        <input type="radio" name="which" value="all" prop:checked=move || !only_since.get()
                            on:change=move |_| only_since.set(false) />
                        " All customers"
                    </label>
                    <label class="choice">
                        <input type="radio" name="which" value="since" prop:checked=move || only_since.get()
                            on:change=move |_| only_since.set(true) />
                        " Customers created on or after "
                        <input type="date" name="since" prop:value=move || since.get()
                            on:input=move |ev| { since.set(event_target_value(&ev)); only_since.set(true); } />
                    </label>
                    {move || date_problem.get().map(|m| view! { <p class="field-error">{m}</p> })}
                </fieldset>
                <fieldset disabled=!editable>
                    <legend>"2. Field mapping"</legend>
                    <p class="muted">"Email comes from the customer's email. First name from the customer's name:"</p>
                    {rules}
                    <p class="muted">"Other fields of the join form:"</p>
                    <ul class="sync-fields">
                        <For each=move || rows.get() key=|(row, ..)| *row children=field_row />
                    </ul>
                    <button type="button" class="secondary small" on:click=move |_| {
                        let row = next_row.get_value();
                        next_row.set_value(row + 1);
                        rows.update(|r| r.push((row, RwSignal::new(String::new()), RwSignal::new("metadata".into()), RwSignal::new(String::new()))));
                    }>"Map another field"</button>
                    <FieldMessage error field="fields" />
                </fieldset>
                <fieldset disabled=!editable>
                    <legend>"3. Written back to each customer"</legend>
                    <label class="choice">
                        <input type="checkbox" name="write_back" prop:checked=move || write_back.get()
                            on:change=move |ev| write_back.set(event_target_checked(&ev)) />
                        " Write the referral link and code to the customer's metadata"
                    </label>
                    <Show when=move || write_back.get()>
                        <label>"Referral link key "
                            <input name="link_key" prop:value=move || link_key.get() on:input=move |ev| link_key.set(event_target_value(&ev)) />
                        </label>
                        <FieldMessage error field="link_key" />
                        <label>"Referral code key "
                            <input name="code_key" prop:value=move || code_key.get() on:input=move |ev| code_key.set(event_target_value(&ev)) />
                        </label>
                        <FieldMessage error field="code_key" />
                    </Show>
                </fieldset>
                <fieldset disabled=!editable>
                    <legend>"4. Once or ongoing"</legend>
                    <label class="choice">
                        <input type="radio" name="mode" value="once" prop:checked=move || !ongoing.get() on:change=move |_| ongoing.set(false) />
                        " One-time: read every customer now"
                    </label>
                    <label class="choice">
                        <input type="radio" name="mode" value="ongoing" prop:checked=move || ongoing.get() on:change=move |_| ongoing.set(true) />
                        " Ongoing: enrol each new customer within seconds of their creation in Stripe"
                    </label>
                </fieldset>
                <FormProblem error />
                <div class="row">
                    <button type="button" class="secondary" disabled=!editable on:click=move |_| {
                        if let Some(settings) = settings() {
                            preview.dispatch(PreviewSync { campaign_id: preview_id.clone(), settings });
                        }
                    }>"Preview"</button>
                    <button type="button" disabled=!editable on:click=move |_| {
                        if let Some(settings) = settings() {
                            let campaign_id = start_id.clone();
                            if ongoing.get_untracked() {
                                start_ongoing.dispatch(StartOngoingSync { campaign_id, settings });
                            } else {
                                start.dispatch(StartSync { campaign_id, settings });
                            }
                        }
                    }>{move || if ongoing.get() { "Save and switch ongoing sync on" } else { "Start one-time sync" }}</button>
                </div>
                {preview_view}
                {started}
                {ongoing_started}
            </form>
        </section>
    }
}

/// The skipped customers the page lists: of the run named in the address (the panel's "See the
/// skipped customers"), else of the latest run that skipped anyone; `None` when none did.
async fn skipped_report(
    campaign_id: String,
    run: Option<String>,
) -> Result<Option<(String, Vec<SkippedCustomer>)>, AppError> {
    let run_id = match run {
        Some(run) => run,
        None => {
            let runs = get_campaign_sync(campaign_id.clone()).await?.runs;
            match runs.into_iter().find(|r| r.skipped_total() > 0) {
                Some(run) => run.run_id,
                None => return Ok(None),
            }
        }
    };
    let rows = get_sync_skipped(campaign_id, run_id.clone()).await?;
    Ok(Some((run_id, rows)))
}

/// Every customer a sync skipped, with the reason.
#[component]
fn Report(campaign_id: String, run_id: String, rows: Vec<SkippedCustomer>) -> impl IntoView {
    let csv = format!("/export/campaigns/{campaign_id}/syncs/{run_id}/skipped.csv");
    let list = if rows.is_empty() {
        view! { <p class="muted">"Nobody was skipped."</p> }.into_any()
    } else {
        let body = rows
            .into_iter()
            .map(|r| {
                view! {
                    <tr data-reason=r.reason.key()>
                        <td><code>{r.customer_id}</code></td><td>{r.email}</td>
                        <td>{r.reason.label()}</td><td>{r.detail}</td>
                    </tr>
                }
            })
            .collect_view();
        view! {
            <table class="sync-skipped">
                <thead><tr><th>"Customer"</th><th>"Email"</th><th>"Reason"</th><th>"Detail"</th></tr></thead>
                <tbody>{body}</tbody>
            </table>
        }
        .into_any()
    };
    view! {
        <section class="card" id="report" aria-labelledby="report-heading">
            <h2 id="report-heading">"Skipped customers"</h2>
            <a class="button secondary small" href=csv download="">"Download as CSV"</a>
            {list}
        </section>
    }
}
