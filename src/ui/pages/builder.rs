//! `/app/campaigns/{id}/edit?step=…`: the campaign builder, one step at a time: Setup, Forms,
//! Rewards, Qualification, Emails and Promote.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_params_map, use_query_map};
use serde::{Deserialize, Serialize};

use crate::{
    api::{
        campaigns::{get_campaign, SaveCampaignForms, SaveCampaignSetup, SetCampaignStatus},
        emails::{get_campaign_emails, SaveEmails},
        qualification::{
            get_campaign_qualification, get_campaign_rewards, DecideReward, RepairWebhook,
            SaveQualification, SaveRewards,
        },
        sync::get_campaign_sync,
    },
    domain::{
        campaigns::{
            check_form_fields, live_change_warnings, normalise_form, CampaignDetail,
            CampaignStatus, FieldKind, FormField,
        },
        emails::CampaignEmails,
        permissions::Permission,
        qualification::CampaignQualification,
        rewards::CampaignRewards,
        sync::CampaignSync,
        time::format_date_input,
    },
    error::AppError,
    ui::components::{
        campaign::{CampaignTabs, PromoteSwitch, Tab},
        copy::CopyField,
        form::{action_error, error_notice, successes, Explanation, FieldMessage, FormProblem},
        layout::{loaded, require_user, UserResource},
    },
    ui::pages::sync::SyncPanel,
    ui::pages::{emails::EmailsStep, qualification::QualificationStep, rewards::RewardsStep},
};

#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    Setup,
    Forms,
    Rewards,
    Qualification,
    Emails,
    Promote,
}

impl Step {
    const ALL: [Step; 6] = [
        Step::Setup,
        Step::Forms,
        Step::Rewards,
        Step::Qualification,
        Step::Emails,
        Step::Promote,
    ];

    fn key(self) -> &'static str {
        match self {
            Step::Setup => "setup",
            Step::Forms => "forms",
            Step::Rewards => "rewards",
            Step::Qualification => "qualification",
            Step::Emails => "emails",
            Step::Promote => "promote",
        }
    }

    fn label(self) -> &'static str {
        match self {
            Step::Setup => "Setup",
            Step::Forms => "Forms",
            Step::Rewards => "Rewards",
            Step::Qualification => "Qualification",
            Step::Emails => "Emails",
            Step::Promote => "Promote",
        }
    }

    fn from_key(key: &str) -> Step {
        Step::ALL
            .into_iter()
            .find(|s| s.key() == key)
            .unwrap_or(Step::Setup)
    }
}

/// What a step shows besides the campaign itself. It is read beside the campaign, by a resource
/// the page makes as it starts, so that the page has one level of suspense: a resource made
/// after an `await` may be numbered differently by the server and by the browser, which then
/// finds no data for it and fails to hydrate the step.
#[derive(Clone, Serialize, Deserialize)]
enum StepData {
    Campaign,
    Rewards(CampaignRewards),
    Qualification(Box<CampaignQualification>),
    Emails(CampaignEmails),
}

async fn load_step(id: String, step: Step) -> Result<StepData, AppError> {
    Ok(match step {
        Step::Rewards => StepData::Rewards(get_campaign_rewards(id).await?),
        Step::Qualification => {
            StepData::Qualification(Box::new(get_campaign_qualification(id).await?))
        }
        Step::Emails => StepData::Emails(get_campaign_emails(id).await?),
        Step::Setup | Step::Forms | Step::Promote => StepData::Campaign,
    })
}

/// The actions of the steps with data of their own: a save that took, or a button's run,
/// reads that data again.
#[derive(Clone, Copy)]
struct StepActions {
    save_rewards: ServerAction<SaveRewards>,
    decide_reward: ServerAction<DecideReward>,
    save_qualification: ServerAction<SaveQualification>,
    repair_webhook: ServerAction<RepairWebhook>,
    save_emails: ServerAction<SaveEmails>,
    /// The saves that took: rewards, qualification, emails.
    saved: [Signal<usize>; 3],
}

impl StepActions {
    fn new() -> StepActions {
        let (save_rewards, save_qualification, save_emails) = (
            ServerAction::new(),
            ServerAction::new(),
            ServerAction::new(),
        );
        StepActions {
            save_rewards,
            decide_reward: ServerAction::new(),
            save_qualification,
            repair_webhook: ServerAction::new(),
            save_emails,
            saved: [
                successes(save_rewards),
                successes(save_qualification),
                successes(save_emails),
            ],
        }
    }

    fn versions(self) -> [usize; 5] {
        [
            self.saved[0].get(),
            self.decide_reward.version().get(),
            self.saved[1].get(),
            self.repair_webhook.version().get(),
            self.saved[2].get(),
        ]
    }
}

#[component]
pub fn CampaignBuilderPage() -> impl IntoView {
    let user = expect_context::<UserResource>();
    let params = use_params_map();
    let query = use_query_map();
    let id = move || params.read().get("id").unwrap_or_default();
    let step = move || Step::from_key(&query.read().get("step").unwrap_or_default());
    let save_setup = ServerAction::<SaveCampaignSetup>::new();
    let setup_saved = successes(save_setup);
    let set_status = ServerAction::<SetCampaignStatus>::new();
    let save_forms = ServerAction::<SaveCampaignForms>::new();
    let forms_saved = successes(save_forms);
    // What the page shows again when it changes. The Promote step's sync panel is drawn afresh
    // with it and with each step, so its data is read again then too.
    let shown = move || {
        (
            id(),
            setup_saved.get(),
            set_status.version().get(),
            forms_saved.get(),
        )
    };
    let campaign = Resource::new(shown, |(id, ..)| get_campaign(id));
    let sync = Resource::new(
        move || (shown(), step()),
        |((id, ..), _)| get_campaign_sync(id),
    );
    let actions = StepActions::new();
    let step_data = Resource::new(
        move || (id(), step(), actions.versions()),
        |(id, step, _)| load_step(id, step),
    );
    view! {
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                let step = step();
                Suspend::new(async move {
                    let me = or_view!(require_user(user.await));
                    let c = or_view!(loaded(campaign.await));
                    let data = step_data.await;
                    let explanation = me.explain(Permission::EditCampaigns);
                    let steps = Step::ALL
                        .into_iter()
                        .enumerate()
                        .map(|(i, s)| {
                            let current = (s == step).then_some("step");
                            view! {
                                <li class:active=s == step>
                                    <a href=format!("?step={}", s.key()) aria-current=current>
                                        {format!("{}. {}", i + 1, s.label())}
                                    </a>
                                </li>
                            }
                        })
                        .collect_view();
                    let a = actions;
                    let body = match (step, data) {
                        (Step::Setup, _) => view! { <SetupStep campaign=c.clone() action=save_setup explanation=explanation.clone() /> }.into_any(),
                        (Step::Forms, _) => view! { <FormsStep campaign=c.clone() explanation=explanation.clone() save=save_forms /> }.into_any(),
                        (Step::Promote, _) => {
                            let sync = sync.await;
                            view! { <PromoteStep campaign=c.clone() sync /> }.into_any()
                        }
                        (_, Err(e)) => error_notice(&e),
                        (Step::Rewards, Ok(StepData::Rewards(r))) => view! { <RewardsStep r save=a.save_rewards decide=a.decide_reward /> }.into_any(),
                        (Step::Qualification, Ok(StepData::Qualification(q))) => view! { <QualificationStep q=*q save=a.save_qualification repair=a.repair_webhook /> }.into_any(),
                        (Step::Emails, Ok(StepData::Emails(e))) => view! { <EmailsStep e save=a.save_emails /> }.into_any(),
                        // The step's data is read with the step, so they always agree.
                        _ => ().into_any(),
                    };
                    view! {
                        <Title text=format!("Builder · {}", c.name) />
                        <CampaignTabs campaign=c.clone() active=Tab::Builder />
                        <StatusBar campaign=c.clone() action=set_status explanation=explanation.clone() />
                        <ol class="steps builder-steps">{steps}</ol>
                        {body}
                    }
                    .into_any()
                })
            }}
        </Transition>
    }
}

/// Launch, pause, resume or end the campaign.
#[component]
fn StatusBar(
    campaign: CampaignDetail,
    action: ServerAction<SetCampaignStatus>,
    explanation: Option<String>,
) -> impl IntoView {
    let error = action_error(action);
    let choices: &[(CampaignStatus, &str)] = match campaign.status {
        CampaignStatus::Draft => &[(CampaignStatus::Live, "Launch")],
        CampaignStatus::Live => &[
            (CampaignStatus::Paused, "Pause"),
            (CampaignStatus::Ended, "End"),
        ],
        CampaignStatus::Paused => &[
            (CampaignStatus::Live, "Resume"),
            (CampaignStatus::Ended, "End"),
        ],
        CampaignStatus::Ended => &[],
    };
    let locked = explanation.is_some();
    let buttons = choices
        .iter()
        .map(|(status, label)| {
            let id = campaign.id.clone();
            view! {
                <ActionForm action>
                    <input type="hidden" name="id" value=id />
                    <input type="hidden" name="status" value=status.key() />
                    <button type="submit" class="secondary" disabled=locked>{*label}</button>
                </ActionForm>
            }
        })
        .collect_view();
    view! {
        <div class="status-bar row">
            <span class="muted">{format!("{} participants", campaign.participants)}</span>
            {buttons}
        </div>
        <FormProblem error />
    }
}

#[component]
fn SetupStep(
    campaign: CampaignDetail,
    action: ServerAction<SaveCampaignSetup>,
    explanation: Option<String>,
) -> impl IntoView {
    let error = action_error(action);
    let saved = move || matches!(action.value().get(), Some(Ok(())));
    // A live campaign's risky change comes back as a conflict: offer to confirm it.
    let needs_confirm = move || matches!(error.get(), Some(AppError::Conflict(_)));
    let date = |at: Option<i64>| at.map(format_date_input).unwrap_or_default();
    view! {
        <section class="card" aria-labelledby="setup-heading">
            <h2 id="setup-heading">"Setup"</h2>
            <Explanation text=explanation.clone() />
            <ActionForm action>
                <fieldset disabled=explanation.is_some()>
                    <FormProblem error />
                    <input type="hidden" name="id" value=campaign.id.clone() />
                    <label for="name">"Name"</label>
                    <input id="name" name="setup[name]" value=campaign.name.clone() required />
                    <FieldMessage error field="name" />
                    <label for="slug">"Link name"</label>
                    <input id="slug" name="setup[slug]" value=campaign.slug.clone() required />
                    <p class="hint">"People join at /j/ followed by this name."</p>
                    <FieldMessage error field="slug" />
                    <div class="row">
                        <div>
                            <label for="starts_on">"Starts on (optional)"</label>
                            <input id="starts_on" name="setup[starts_on]" type="date" value=date(campaign.starts_at) />
                            <FieldMessage error field="starts_on" />
                        </div>
                        <div>
                            <label for="ends_on">"Ends after (optional)"</label>
                            <input id="ends_on" name="setup[ends_on]" type="date" value=date(campaign.ends_at.map(|e| e - 86_400)) />
                            <FieldMessage error field="ends_on" />
                        </div>
                    </div>
                    <label for="referral_cap">"Most friends one person may refer (optional)"</label>
                    <input id="referral_cap" name="setup[referral_cap]" type="number" min="1" value=campaign.referral_cap.map(|n| n.to_string()).unwrap_or_default() />
                    <FieldMessage error field="referral_cap" />
                    <label for="share_text">"Share text"</label>
                    <textarea id="share_text" name="setup[share_text]" rows="2" placeholder="Join me on Acme and get 20% off">{campaign.share_text.clone()}</textarea>
                    <FieldMessage error field="share_text" />
                    <label for="landing_url">"Referral links lead to (optional)"</label>
                    <input id="landing_url" name="setup[landing_url]" type="url" maxlength="2000" placeholder="https://your-shop.example/" value=campaign.landing_url.clone() aria-describedby="landing_url-hint" />
                    <p class="hint" id="landing_url-hint">"Your own page with Refloop's snippet (see Promote): a referral link then sends its visitor there with ?ref={code}, counting the click, and a payment through your Payment Links or Checkout counts for the referral. Empty: Refloop's join page."</p>
                    <FieldMessage error field="landing_url" />
                    <Show when=needs_confirm>
                        <label class="choice confirm">
                            <input type="checkbox" name="confirm" value="yes" />
                            " Save anyway"
                        </label>
                    </Show>
                    <button type="submit">"Save setup"</button>
                    <Show when=saved>
                        <span class="saved" role="status">" Saved."</span>
                    </Show>
                </fieldset>
            </ActionForm>
        </section>
    }
}

/// A form's fields with stable ids, so rows keep their focus while others change.
type Rows = RwSignal<Vec<(u32, FormField)>>;

fn plain(rows: &[(u32, FormField)]) -> Vec<FormField> {
    rows.iter().map(|(_, f)| f.clone()).collect()
}

#[component]
fn FormsStep(
    campaign: CampaignDetail,
    explanation: Option<String>,
    save: ServerAction<SaveCampaignForms>,
) -> impl IntoView {
    let numbered = |form: &[FormField], from: u32| -> Vec<(u32, FormField)> {
        form.iter()
            .cloned()
            .enumerate()
            .map(|(i, f)| (from + i as u32, f))
            .collect()
    };
    let referrer: Rows = RwSignal::new(numbered(&campaign.referrer_form, 0));
    let friend: Rows = RwSignal::new(numbered(&campaign.friend_form, 1_000));
    // "Saved." stays until the forms are edited again (this step is rebuilt after each save).
    let (stored_referrer, stored_friend) =
        (campaign.referrer_form.clone(), campaign.friend_form.clone());
    let unchanged =
        move || plain(&referrer.get()) == stored_referrer && plain(&friend.get()) == stored_friend;
    let error = action_error(save);
    let saved = move || matches!(save.value().get(), Some(Ok(())));
    let live = campaign.status == CampaignStatus::Live;
    let (slug, old_referrer, old_friend) = (
        campaign.slug.clone(),
        campaign.referrer_form.clone(),
        campaign.friend_form.clone(),
    );
    let warnings = move || {
        if !live {
            return Vec::new();
        }
        let mut w = live_change_warnings(
            &slug,
            &slug,
            &old_referrer,
            &normalise_form(plain(&referrer.get())),
        );
        w.extend(live_change_warnings(
            &slug,
            &slug,
            &old_friend,
            &normalise_form(plain(&friend.get())),
        ));
        w
    };
    let invalid = move || {
        !check_form_fields(&normalise_form(plain(&referrer.get()))).is_empty()
            || !check_form_fields(&normalise_form(plain(&friend.get()))).is_empty()
    };
    let id = campaign.id.clone();
    let submit = move |confirm: bool| {
        save.dispatch(SaveCampaignForms {
            id: id.clone(),
            referrer_form: plain(&referrer.get_untracked()),
            friend_form: plain(&friend.get_untracked()),
            confirm,
        });
    };
    let submit_anyway = submit.clone();
    let disabled = explanation.is_some();
    view! {
        <section class="card" aria-labelledby="forms-heading">
            <h2 id="forms-heading">"Forms"</h2>
            <Explanation text=explanation.clone() />
            <FormEditor title="People referring" prefix="referrer" rows=referrer disabled error />
            <FormEditor title="People invited" prefix="friend" rows=friend disabled error />
            <FormProblem error />
            {move || {
                let w = warnings();
                if w.is_empty() {
                    let submit = submit.clone();
                    view! {
                        <button type="button" class="save-forms" disabled=move || disabled || invalid() on:click=move |_| submit(false)>
                            "Save forms"
                        </button>
                    }
                    .into_any()
                } else {
                    let submit = submit_anyway.clone();
                    let items = w.into_iter().map(|m| view! { <li>{m}</li> }).collect_view();
                    view! {
                        <div class="notice notice-warn live-warning" role="alert">
                            <p><strong>"This campaign is live. Saving these forms will:"</strong></p>
                            <ul>{items}</ul>
                            <button type="button" class="danger" disabled=move || disabled || invalid() on:click=move |_| submit(true)>
                                "Save anyway"
                            </button>
                        </div>
                    }
                    .into_any()
                }
            }}
            <Show when=move || saved() && unchanged()>
                <span class="saved" role="status">"Saved."</span>
            </Show>
        </section>
    }
}

/// The editor of one join form: a row per field, and a way to add one.
#[component]
fn FormEditor(
    title: &'static str,
    prefix: &'static str,
    rows: Rows,
    disabled: bool,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let kind_to_add = RwSignal::new("text".to_string());
    let add = move |_| {
        let kind = FieldKind::from_key(&kind_to_add.get_untracked()).unwrap_or(FieldKind::Text);
        rows.update(|r| {
            let uid = r.iter().map(|(u, _)| *u).max().unwrap_or(0) + 1;
            r.push((
                uid,
                FormField {
                    key: String::new(),
                    label: kind.label().to_string(),
                    kind,
                    required: false,
                },
            ));
        });
    };
    let form_error = move || {
        check_form_fields(&normalise_form(plain(&rows.get())))
            .into_iter()
            .find(|(k, _)| k == "form")
            .map(|(_, m)| m)
            .or_else(|| {
                error
                    .get()
                    .and_then(|e| e.field_message(&format!("{prefix}.form")).map(String::from))
            })
    };
    let kinds = FieldKind::all()
        .into_iter()
        .map(|k| view! { <option value=k.key()>{k.label()}</option> })
        .collect_view();
    let uids = move || rows.with(|r| r.iter().map(|(uid, _)| *uid).collect::<Vec<u32>>());
    view! {
        <fieldset class="form-editor" data-form=prefix disabled=disabled>
            <legend>{title}</legend>
            <table>
                <thead><tr><th>"Label"</th><th>"Kind"</th><th>"Options"</th><th>"Required"</th><th></th></tr></thead>
                <tbody>
                    <For each=uids key=|uid| *uid let:uid>
                        <FieldRow uid rows prefix error />
                    </For>
                </tbody>
            </table>
            {move || form_error().map(|m| view! { <p class="field-error form-error">{m}</p> })}
            <div class="row add-field">
                <label for=format!("{prefix}-add")>"Add a field"</label>
                <select id=format!("{prefix}-add") on:change=move |ev| kind_to_add.set(event_target_value(&ev))>
                    {kinds}
                </select>
                <button type="button" class="secondary" on:click=add>"Add field"</button>
            </div>
        </fieldset>
    }
}

#[component]
fn FieldRow(
    uid: u32,
    rows: Rows,
    prefix: &'static str,
    error: Signal<Option<AppError>>,
) -> impl IntoView {
    let field = move || {
        rows.with(|r| r.iter().find(|(u, _)| *u == uid).map(|(_, f)| f.clone()))
            .unwrap_or_else(|| FormField {
                key: String::new(),
                label: String::new(),
                kind: FieldKind::Text,
                required: false,
            })
    };
    let index = move || rows.with(|r| r.iter().position(|(u, _)| *u == uid).unwrap_or(0));
    let edit = move |change: &dyn Fn(&mut FormField)| {
        rows.update(|r| {
            if let Some((_, f)) = r.iter_mut().find(|(u, _)| *u == uid) {
                change(f);
            }
        })
    };
    // The first problem with this row, checked here first and then by the server.
    let problem = move |what: &'static str| {
        let i = index();
        check_form_fields(&normalise_form(plain(&rows.get())))
            .into_iter()
            .find(|(k, _)| *k == format!("{i}.{what}"))
            .map(|(_, m)| m)
            .or_else(|| {
                error.get().and_then(|e| {
                    e.field_message(&format!("{prefix}.{i}.{what}"))
                        .map(String::from)
                })
            })
    };
    let kinds = move || {
        let current = field().kind.key();
        FieldKind::all()
            .into_iter()
            .map(|k| view! { <option value=k.key() selected=k.key() == current>{k.label()}</option> })
            .collect_view()
    };
    let is_email = move || field().kind == FieldKind::Email;
    view! {
        <tr class="field-row">
            <td>
                <input aria-label="Label" class="field-label" prop:value=move || field().label
                    on:input=move |ev| { let v = event_target_value(&ev); edit(&|f| f.label = v.clone()) } />
                {move || problem("label").map(|m| view! { <p class="field-error">{m}</p> })}
            </td>
            <td>
                <select aria-label="Kind" class="field-kind" on:change=move |ev| {
                    let key = event_target_value(&ev);
                    edit(&|f| {
                        if let Some(kind) = FieldKind::from_key(&key) {
                            f.kind = kind;
                        }
                    })
                }>
                    {kinds}
                </select>
            </td>
            <td>
                {move || match field().kind {
                    FieldKind::Select(options) => view! {
                        <input aria-label="Options, separated by commas" class="field-options" prop:value=options.join(",")
                            placeholder="basic,pro"
                            on:input=move |ev| {
                                let v = event_target_value(&ev);
                                edit(&|f| f.kind = FieldKind::Select(v.split(',').map(String::from).collect()))
                            } />
                        {move || problem("options").map(|m| view! { <p class="field-error">{m}</p> })}
                    }
                    .into_any(),
                    _ => view! { <span class="muted">"—"</span> }.into_any(),
                }}
            </td>
            <td>
                <input type="checkbox" aria-label="Required" class="field-required"
                    prop:checked=move || field().required || is_email()
                    disabled=is_email
                    on:change=move |ev| { let on = event_target_checked(&ev); edit(&|f| f.required = on) } />
            </td>
            <td>
                <button type="button" class="secondary small danger remove-field"
                    on:click=move |_| rows.update(|r| r.retain(|(u, _)| *u != uid))>
                    "Remove"
                </button>
            </td>
        </tr>
    }
}

/// What a Payment Link's URL takes for attribution, and an example of it.
const PAYMENT_LINK_PARAMETERS: &str =
    "?client_reference_id={referral code}&prefilled_email={email}&prefilled_promo_code={promotion code}";
const PAYMENT_LINK_EXAMPLE: &str =
    "https://buy.stripe.com/test_6oE9Ck?client_reference_id=ann7k2q9&prefilled_email=bob%40example.com";

#[component]
fn PromoteStep(campaign: CampaignDetail, sync: Result<CampaignSync, AppError>) -> impl IntoView {
    let snippet = format!(
        "<a href=\"{}\" target=\"_blank\" rel=\"noopener\">Join our referral program</a>",
        campaign.join_link
    );
    let share = if campaign.share_text.is_empty() {
        format!("Join me on {}: {{link}}", campaign.name)
    } else {
        format!("{} {{link}}", campaign.share_text)
    };
    let switches = campaign
        .toggles
        .iter()
        .cloned()
        .map(|t| view! { <PromoteSwitch campaign_id=campaign.id.clone() state=t /> })
        .collect_view();
    view! {
        <section class="card" aria-labelledby="promote-heading">
            <h2 id="promote-heading">"Promote"</h2>
            <CopyField id="join-link" label="Join link (people referring)".into() value=campaign.join_link.clone() />
            <CopyField
                id="referral-format"
                label="Referral link format (each person gets their own code)".into()
                value=campaign.referral_link_format.clone()
            />
            <CopyField id="snippet" label="Embed on your site".into() value=snippet rows=3 />
            <CopyField id="share-text" label="Share text (edit it in Setup)".into() value=share />
        </section>
        <section class="card" aria-labelledby="checkout-heading">
            <h2 id="checkout-heading">"Checkout and Payment Links"</h2>
            <p class="hint">
                "A payment through your Stripe Checkout or a Payment Link counts for the friend who was referred, whatever email they pay with, when it carries the referral code as "
                <code>"client_reference_id"</code>
                ". Someone new becomes the friend of the person whose code it is."
            </p>
            <CopyField
                id="site-snippet"
                label="On your site: keeps the code from ?ref=… and adds it to every Payment Link, Buy Button and element marked data-refloop-checkout".into()
                value=campaign.snippet.clone()
                rows=3
            />
            <CopyField id="link-parameters" label="Or add to a Payment Link's URL yourself".into() value=PAYMENT_LINK_PARAMETERS.into() />
            <CopyField id="link-example" label="Example".into() value=PAYMENT_LINK_EXAMPLE.into() />
            <p class="hint">
                "Creating Checkout Sessions on your server? Pass the code as "
                <code>"client_reference_id"</code>
                " (the snippet leaves it in "
                <code>"window.Refloop.referral"</code>
                ")."
            </p>
        </section>
        <section class="card" aria-labelledby="integration-heading">
            <h2 id="integration-heading">"Stripe"</h2>
            <ul class="switches">{switches}</ul>
        </section>
        <SyncPanel campaign_id=campaign.id.clone() sync />
    }
}
