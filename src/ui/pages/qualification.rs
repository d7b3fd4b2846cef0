//! The builder's Qualification step: the spend rule, and Refloop's webhook endpoint in the
//! connected Stripe (its health, a repair, and reconciliation on demand).

use leptos::prelude::*;

use crate::{
    api::qualification::{ReconcileNow, RepairWebhook, SaveQualification},
    domain::{
        qualification::{
            CampaignQualification, CustomerScope, EndpointHealth, QualificationForm, WebhookStatus,
        },
        time::format_utc,
    },
    ui::components::form::{action_error, Explanation, FieldMessage, FormProblem},
};

/// The step, given its data (read by the builder with the campaign, again after each action).
#[component]
pub fn QualificationStep(
    q: CampaignQualification,
    save: ServerAction<SaveQualification>,
    repair: ServerAction<RepairWebhook>,
) -> impl IntoView {
    let editable = q.read_only.is_none() && q.stripe_connected;
    let f = q.form.clone();
    let target = RwSignal::new(f.target);
    let currency = RwSignal::new(f.currency.to_uppercase());
    let window_days = RwSignal::new(f.window_days);
    let min_payment = RwSignal::new(f.min_payment);
    let refunds_reduce = RwSignal::new(f.refunds_reduce);
    let disputes_reduce = RwSignal::new(f.disputes_reduce);
    let back_to_pending = RwSignal::new(f.back_to_pending);
    let scope = RwSignal::new(CustomerScope::from_key(&f.scope).unwrap_or(CustomerScope::Linked));
    let error = action_error(save);
    let campaign_id = q.campaign_id.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save.dispatch(SaveQualification {
            campaign_id: campaign_id.clone(),
            form: QualificationForm {
                target: target.get_untracked(),
                currency: currency.get_untracked(),
                window_days: window_days.get_untracked(),
                min_payment: min_payment.get_untracked(),
                refunds_reduce: refunds_reduce.get_untracked(),
                disputes_reduce: disputes_reduce.get_untracked(),
                back_to_pending: back_to_pending.get_untracked(),
                scope: scope.get_untracked().key().to_string(),
            },
        });
    };
    let connect = (!q.stripe_connected).then(|| {
        view! {
            <p class="notice notice-warn">
                "Stripe is not connected to this account yet: qualification reads payments from it. "
                <a href="/app/integrations">"Connect Stripe"</a>
            </p>
        }
    });
    let rule = match &q.saved {
        Some(text) => view! {
            <p class="rule-summary"><strong>{text.clone()}</strong>
                {format!(" · {} pending, {} qualified", q.pending, q.qualified)}</p>
        }
        .into_any(),
        None => view! {
            <p class="muted">"No qualification rule yet: invited friends stay Pending until one is saved."</p>
        }
        .into_any(),
    };
    let scopes = CustomerScope::ALL
        .iter()
        .map(|&choice| {
            view! {
                <label class="choice">
                    <input type="radio" name="scope" value=choice.key()
                        prop:checked=move || scope.get() == choice
                        on:change=move |_| scope.set(choice) />
                    " " <strong>{choice.label()}</strong> " — " {choice.explain()}
                </label>
            }
        })
        .collect_view();
    let saved_notice = move || {
        matches!(save.value().get(), Some(Ok(_))).then(|| {
            view! { <span class="notice-ok" role="status">" Saved; the webhook endpoint is ready."</span> }
        })
    };
    view! {
        <section class="card qualification">
            <h2>"Qualification"</h2>
            <p>"A friend qualifies when their payments in Stripe reach the target within the window after they joined. "
               "Refloop hears of each payment from Stripe within a second, and each person's timeline says how far they are."</p>
            <p class="muted">"Only people invited can qualify; people referring show “not applicable”."</p>
            {connect}
            <Explanation text=q.read_only.clone() />
            {rule}
            <form on:submit=submit>
                <fieldset disabled=!editable>
                    <legend>"Target"</legend>
                    <div class="row">
                        <label>"Spend at least "
                            <input name="target" inputmode="decimal" size="8" prop:value=move || target.get()
                                on:input=move |ev| target.set(event_target_value(&ev)) />
                        </label>
                        <label>" Currency "
                            <input name="currency" size="4" maxlength="3" prop:value=move || currency.get()
                                on:input=move |ev| currency.set(event_target_value(&ev)) />
                        </label>
                        <label>" within "
                            <input name="window_days" inputmode="numeric" size="4" prop:value=move || window_days.get()
                                on:input=move |ev| window_days.set(event_target_value(&ev)) />
                            " days of joining"
                        </label>
                    </div>
                    <FieldMessage error field="target" />
                    <FieldMessage error field="currency" />
                    <FieldMessage error field="window_days" />
                    <label>"Smallest payment that counts (empty: every payment) "
                        <input name="min_payment" inputmode="decimal" size="8" prop:value=move || min_payment.get()
                            on:input=move |ev| min_payment.set(event_target_value(&ev)) />
                    </label>
                    <FieldMessage error field="min_payment" />
                </fieldset>
                <fieldset disabled=!editable>
                    <legend>"Refunds and disputes"</legend>
                    <label class="choice"><input type="checkbox" name="refunds_reduce" prop:checked=move || refunds_reduce.get()
                        on:change=move |ev| refunds_reduce.set(event_target_checked(&ev)) />" Refunds reduce the spend"</label>
                    <label class="choice"><input type="checkbox" name="disputes_reduce" prop:checked=move || disputes_reduce.get()
                        on:change=move |ev| disputes_reduce.set(event_target_checked(&ev)) />" Lost disputes reduce the spend"</label>
                    <label class="choice"><input type="checkbox" name="back_to_pending" prop:checked=move || back_to_pending.get()
                        on:change=move |ev| back_to_pending.set(event_target_checked(&ev)) />
                        " A qualified referral that falls under the target returns to pending (while its reward is not given; a given credit is reversed if its rule says so, anything else is flagged)"</label>
                </fieldset>
                <fieldset disabled=!editable>
                    <legend>"Which Stripe customers count for a person"</legend>
                    {scopes}
                    <FieldMessage error field="scope" />
                </fieldset>
                <FormProblem error />
                <button type="submit" disabled=!editable>"Save qualification settings"</button>
                {saved_notice}
            </form>
            {q.webhook.map(|w| view! { <WebhookPanel w repair /> })}
        </section>
    }
}

#[component]
fn WebhookPanel(w: WebhookStatus, repair: ServerAction<RepairWebhook>) -> impl IntoView {
    let reconcile = ServerAction::<ReconcileNow>::new();
    let repair_error = action_error(repair);
    let reconcile_error = action_error(reconcile);
    let healthy = w.health == EndpointHealth::Enabled && w.problem.is_none();
    let last_event = w
        .last_event_at
        .map(format_utc)
        .unwrap_or_else(|| "none yet".into());
    let failures = if w.signature_failures == 0 {
        "none".to_string()
    } else {
        format!(
            "{} (last {})",
            w.signature_failures,
            w.last_failure_at.map(format_utc).unwrap_or_default()
        )
    };
    let problem = w.problem.clone().map(|p| {
        view! {
            <div class="notice notice-error" role="alert">
                {p} " "
                <button type="button" on:click=move |_| { repair.dispatch(RepairWebhook {}); }>"Repair"</button>
            </div>
        }
    });
    view! {
        <div class="webhook" data-health=w.health.key()>
            <h3>"Webhook endpoint"</h3>
            <dl class="facts">
                <dt>"Status"</dt><dd class:ok=healthy data-status>{w.health.label()}</dd>
                <dt>"Address"</dt><dd><code>{w.url.clone()}</code></dd>
                <dt>"In Stripe"</dt><dd><code>{w.endpoint_id.clone()}</code></dd>
                <dt>"Last event received"</dt><dd>{last_event}</dd>
                <dt>"Events received"</dt><dd>{w.events_received}</dd>
                <dt>"Signature failures"</dt><dd>{failures}</dd>
                <dt>"Last reconciled"</dt><dd>{w.reconciled_at.map(format_utc).unwrap_or_else(|| "not yet".into())}</dd>
            </dl>
            {problem}
            <FormProblem error=repair_error />
            <button type="button" class="secondary" on:click=move |_| { reconcile.dispatch(ReconcileNow {}); }>
                "Reconcile now"
            </button>
            <span class="muted">" reads from Stripe any payment a webhook may have missed (also every 5 minutes)."</span>
            <FormProblem error=reconcile_error />
            <Show when=move || matches!(reconcile.value().get(), Some(Ok(())))>
                <span class="notice-ok" role="status">" Reconciliation started."</span>
            </Show>
        </div>
    }
}
