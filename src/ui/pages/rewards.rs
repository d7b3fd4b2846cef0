//! The builder's Rewards step: the rules (who earns what, for which qualified referrals) and
//! the reward ledger, where teammates with "Manage rewards" approve, reject and mark rewards
//! fulfilled.

use leptos::prelude::*;

use crate::{
    api::qualification::{DecideReward, SaveRewards},
    domain::{
        commissions::{CommissionForm, CommissionSpan},
        fraud::{Response, Signal},
        permissions::{look_only, Permission},
        rewards::{
            CampaignRewards, OfferForm, Recipient, RewardDecision, RewardEntry, RewardForm,
            RewardKind, RewardRuleForm, RewardStatus,
        },
        time::format_utc,
    },
    ui::components::form::{action_error, Explanation, FieldMessage, FormProblem},
};

/// The step, given its data (read by the builder with the campaign, again after each action).
#[component]
pub fn RewardsStep(
    r: CampaignRewards,
    save: ServerAction<SaveRewards>,
    decide: ServerAction<DecideReward>,
) -> impl IntoView {
    view! { <RulesCard r=r.clone() save /> <Ledger r decide /> }
}

/// One editable rule: its own signals, so typing in one never rebuilds the others.
#[derive(Clone, Copy)]
struct RuleRow {
    row: u32,
    id: RwSignal<String>,
    recipient: RwSignal<String>,
    kind: RwSignal<String>,
    amount: RwSignal<String>,
    currency: RwSignal<String>,
    every: RwSignal<String>,
    from: RwSignal<String>,
    up_to: RwSignal<String>,
    description: RwSignal<String>,
    reverse: RwSignal<bool>,
    /// The commission's terms; `span` empty for a fixed reward.
    percent: RwSignal<String>,
    span: RwSignal<String>,
    months: RwSignal<String>,
    cap_per_referral: RwSignal<String>,
    cap_per_month: RwSignal<String>,
    hold_days: RwSignal<String>,
}

impl RuleRow {
    fn new(row: u32, f: RewardRuleForm) -> RuleRow {
        RuleRow {
            row,
            id: RwSignal::new(f.id),
            recipient: RwSignal::new(f.recipient),
            kind: RwSignal::new(f.kind),
            amount: RwSignal::new(f.amount),
            currency: RwSignal::new(f.currency.to_uppercase()),
            every: RwSignal::new(f.every),
            from: RwSignal::new(f.from),
            up_to: RwSignal::new(f.up_to),
            description: RwSignal::new(f.description),
            reverse: RwSignal::new(f.reverse_on_refund),
            percent: RwSignal::new(f.commission.percent),
            span: RwSignal::new(f.commission.span),
            months: RwSignal::new(f.commission.months),
            cap_per_referral: RwSignal::new(f.commission.cap_per_referral),
            cap_per_month: RwSignal::new(f.commission.cap_per_month),
            hold_days: RwSignal::new(f.hold_days),
        }
    }

    fn form(&self) -> RewardRuleForm {
        RewardRuleForm {
            id: self.id.get_untracked(),
            recipient: self.recipient.get_untracked(),
            kind: self.kind.get_untracked(),
            amount: self.amount.get_untracked(),
            currency: self.currency.get_untracked(),
            every: self.every.get_untracked(),
            from: self.from.get_untracked(),
            up_to: self.up_to.get_untracked(),
            description: self.description.get_untracked(),
            reverse_on_refund: self.reverse.get_untracked(),
            commission: CommissionForm {
                percent: self.percent.get_untracked(),
                span: self.span.get_untracked(),
                months: self.months.get_untracked(),
                cap_per_referral: self.cap_per_referral.get_untracked(),
                cap_per_month: self.cap_per_month.get_untracked(),
            },
            hold_days: self.hold_days.get_untracked(),
        }
    }
}

fn choices<T: Copy + 'static>(
    all: &'static [T],
    key: fn(T) -> &'static str,
    label: fn(T) -> &'static str,
    value: RwSignal<String>,
) -> impl IntoView {
    all.iter()
        .map(|&c| {
            let k = key(c);
            view! { <option value=k selected=move || value.get() == k>{label(c)}</option> }
        })
        .collect_view()
}

#[component]
fn RulesCard(r: CampaignRewards, save: ServerAction<SaveRewards>) -> impl IntoView {
    let editable = r.read_only.is_none();
    let auto_issue = RwSignal::new(r.settings.auto_issue);
    let rows: RwSignal<Vec<RuleRow>> = RwSignal::new(
        r.settings
            .rules
            .iter()
            .enumerate()
            .map(|(i, rule)| RuleRow::new(i as u32, rule.to_form()))
            .collect(),
    );
    let next_row = StoredValue::new(r.settings.rules.len() as u32);
    let offer = OfferForm::from_offer(r.settings.friend_offer.as_ref());
    let offer_kind = RwSignal::new(offer.kind);
    let offer_value = RwSignal::new(offer.value);
    let offer_currency = RwSignal::new(if offer.currency.is_empty() {
        "USD".to_string()
    } else {
        offer.currency
    });
    let fraud = RwSignal::new(r.settings.fraud);
    let error = action_error(save);
    let campaign_id = r.campaign_id.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save.dispatch(SaveRewards {
            campaign_id: campaign_id.clone(),
            form: RewardForm {
                auto_issue: auto_issue.get_untracked(),
                rules: rows.get_untracked().iter().map(RuleRow::form).collect(),
                offer: OfferForm {
                    kind: offer_kind.get_untracked(),
                    value: offer_value.get_untracked(),
                    currency: offer_currency.get_untracked(),
                },
                fraud: fraud.get_untracked(),
            },
        });
    };
    let rule_view = move |rule: RuleRow| {
        let index =
            move || rows.with(|all| all.iter().position(|r| r.row == rule.row).unwrap_or(0));
        let field = move |name: &'static str| format!("rules.{}.{name}", index());
        let in_stripe = move || rule.kind.get() != RewardKind::Manual.key();
        let commission = move || !rule.span.get().is_empty();
        view! {
            <li class="reward-rule card-inner" data-rule=move || rule.id.get()>
                <div class="row">
                    <label>"Who earns it "
                        <select name="recipient" on:change=move |ev| rule.recipient.set(event_target_value(&ev))>
                            {choices(&Recipient::ALL, Recipient::key, Recipient::label, rule.recipient)}
                        </select>
                    </label>
                    <label>" What "
                        <select name="kind" on:change=move |ev| rule.kind.set(event_target_value(&ev))>
                            {choices(&RewardKind::ALL, RewardKind::key, RewardKind::label, rule.kind)}
                        </select>
                    </label>
                </div>
                <label>"How much "
                    <select name="basis" on:change=move |ev| {
                        let percent = event_target_value(&ev) == "percent";
                        rule.span.set(if percent { CommissionSpan::Months.key().into() } else { String::new() });
                    }>
                        <option value="fixed" selected=move || !commission()>"A fixed amount for each qualified referral"</option>
                        <option value="percent" selected=commission>"A percentage of each payment (commission)"</option>
                    </select>
                </label>
                <Show when=move || in_stripe() || commission()>
                    <div class="row">
                        <Show when=move || !commission()>
                            <label>"Amount "
                                <input name="amount" inputmode="decimal" size="8" prop:value=move || rule.amount.get()
                                    on:input=move |ev| rule.amount.set(event_target_value(&ev)) />
                            </label>
                        </Show>
                        <label>" Currency "
                            <input name="currency" size="4" maxlength="3" prop:value=move || rule.currency.get()
                                on:input=move |ev| rule.currency.set(event_target_value(&ev)) />
                        </label>
                    </div>
                </Show>
                <Show when=commission>
                    <div class="row">
                        <label>
                            <input name="percent" inputmode="decimal" size="5" prop:value=move || rule.percent.get()
                                on:input=move |ev| rule.percent.set(event_target_value(&ev)) />
                            " % of each payment (after refunds and lost disputes) "
                        </label>
                        <label>
                            <select name="span" on:change=move |ev| rule.span.set(event_target_value(&ev))>
                                {choices(&CommissionSpan::ALL, CommissionSpan::key, CommissionSpan::label, rule.span)}
                            </select>
                        </label>
                        <Show when=move || rule.span.get() == CommissionSpan::Months.key()>
                            <label>
                                <input name="months" inputmode="numeric" size="3" prop:value=move || rule.months.get()
                                    on:input=move |ev| rule.months.set(event_target_value(&ev)) />
                                " months from the first payment"
                            </label>
                        </Show>
                    </div>
                    <div class="row">
                        <label>"At most "
                            <input name="cap_per_referral" inputmode="decimal" size="8" placeholder="no cap" prop:value=move || rule.cap_per_referral.get()
                                on:input=move |ev| rule.cap_per_referral.set(event_target_value(&ev)) />
                            " a referral"
                        </label>
                        <label>", at most "
                            <input name="cap_per_month" inputmode="decimal" size="8" placeholder="no cap" prop:value=move || rule.cap_per_month.get()
                                on:input=move |ev| rule.cap_per_month.set(event_target_value(&ev)) />
                            " a month for each person who earns it"
                        </label>
                    </div>
                    <p class="hint">"A commission counts every payment of an invited friend from their first, whether or not they reached the qualification target; each payment makes its own entry."</p>
                </Show>
                <Show when=move || !in_stripe()>
                    <label>"What a teammate gives "
                        <input name="description" size="30" prop:value=move || rule.description.get()
                            on:input=move |ev| rule.description.set(event_target_value(&ev)) />
                    </label>
                </Show>
                <Show when=move || !commission()>
                <label>"For every "
                    <input name="every" inputmode="numeric" size="3" prop:value=move || rule.every.get()
                        on:input=move |ev| rule.every.set(event_target_value(&ev)) />
                    " qualified referral(s) (1: each one; 3: every third, a milestone)"
                </label>
                <div class="row">
                    <label>"Tier: from the "
                        <input name="from" inputmode="numeric" size="3" placeholder="1st" prop:value=move || rule.from.get()
                            on:input=move |ev| rule.from.set(event_target_value(&ev)) />
                    </label>
                    <label>" up to the "
                        <input name="up_to" inputmode="numeric" size="3" placeholder="last" prop:value=move || rule.up_to.get()
                            on:input=move |ev| rule.up_to.set(event_target_value(&ev)) />
                        " qualified referral of the person referring (empty: no limit; 10.00 up to the 4th and 20.00 from the 5th step a reward up)"
                    </label>
                </div>
                </Show>
                <label>"Hold each reward "
                    <input name="hold_days" inputmode="numeric" size="3" placeholder="0" prop:value=move || rule.hold_days.get()
                        on:input=move |ev| rule.hold_days.set(event_target_value(&ev)) />
                    " days after the payment that earned it (given when the hold ends, cancelled if that payment is refunded or disputed by then)"
                </label>
                <Show when=move || rule.kind.get() == RewardKind::Credit.key()>
                    <label class="choice"><input type="checkbox" name="reverse_on_refund" prop:checked=move || rule.reverse.get()
                        on:change=move |ev| rule.reverse.set(event_target_checked(&ev)) />
                        {move || if commission() {
                            " Reverse a payment's credit if the payment is refunded or lost in a dispute"
                        } else {
                            " Reverse the credit if a refund takes the referral back under the target"
                        }}</label>
                </Show>
                {move || {
                    ["recipient", "kind", "amount", "currency", "percent", "span", "months", "cap_per_referral", "cap_per_month", "hold_days", "description", "every", "from", "up_to"]
                        .into_iter()
                        .map(|name| view! { <FieldMessage error field=field(name) /> })
                        .collect_view()
                }}
                <button type="button" class="link" on:click=move |_| rows.update(|all| all.retain(|r| r.row != rule.row))>
                    "Remove this rule"
                </button>
            </li>
        }
    };
    view! {
        <section class="card rewards">
            <h2>"Rewards"</h2>
            <p>"What a qualified referral earns: Stripe customer credit (a balance transaction the customer's next invoices use), "
               "a Stripe promotion code only that customer can use (shown on their personal page), or a manual reward a teammate gives."</p>
            <Explanation text=r.read_only.clone() />
            <form on:submit=submit>
                <fieldset disabled=!editable>
                    <ul class="reward-rules">
                        <For each=move || rows.get() key=|r| r.row children=rule_view />
                    </ul>
                    <Show when=move || rows.with(Vec::is_empty)>
                        <p class="muted empty-rules">"This campaign has no reward rules yet."</p>
                    </Show>
                    <button type="button" class="secondary" on:click=move |_| {
                        let row = next_row.get_value();
                        next_row.set_value(row + 1);
                        rows.update(|all| all.push(RuleRow::new(row, RewardRuleForm {
                            recipient: Recipient::Referrer.key().into(),
                            kind: RewardKind::Credit.key().into(),
                            currency: "usd".into(),
                            every: "1".into(),
                            ..Default::default()
                        })));
                    }>"Add a reward rule"</button>
                    <FieldMessage error field="rules" />
                    <fieldset class="friend-offer">
                        <legend>"The friend's offer"</legend>
                        <p class="hint">"A discount for people invited, as a Stripe coupon: each person referring gets their own promotion code for it (such as ANN-7K2Q, on their personal page and their Stripe customer), and a payment that redeems it counts for a friend of theirs."</p>
                        <div class="row">
                            <label>"Friends get "
                                <select name="offer_kind" on:change=move |ev| offer_kind.set(event_target_value(&ev))>
                                    <option value="" selected=move || offer_kind.get().is_empty()>"no offer"</option>
                                    <option value="percent" selected=move || offer_kind.get() == "percent">"a percentage off"</option>
                                    <option value="amount" selected=move || offer_kind.get() == "amount">"an amount off"</option>
                                </select>
                            </label>
                            <Show when=move || !offer_kind.get().is_empty()>
                                <label>" of "
                                    <input name="offer_value" inputmode="decimal" size="8" prop:value=move || offer_value.get()
                                        on:input=move |ev| offer_value.set(event_target_value(&ev)) />
                                </label>
                            </Show>
                            <Show when=move || offer_kind.get() == "amount">
                                <label>" Currency "
                                    <input name="offer_currency" size="4" maxlength="3" prop:value=move || offer_currency.get()
                                        on:input=move |ev| offer_currency.set(event_target_value(&ev)) />
                                </label>
                            </Show>
                        </div>
                        <FieldMessage error field="offer.kind" />
                        <FieldMessage error field="offer.value" />
                        <FieldMessage error field="offer.currency" />
                    </fieldset>
                    <fieldset class="fraud-checks">
                        <legend>"Self-referrals"</legend>
                        <p class="hint">"A flagged referral qualifies as usual, but its rewards wait in the ledger below, with the evidence, for someone with “Manage rewards” to approve or reject them. A refused join is told only that it could not be added; the reason is kept for the team."</p>
                        {Signal::ALL
                            .into_iter()
                            .map(|signal| view! {
                                <label>{signal.label()}" ("{signal.hint()}") "
                                    <select name=signal.key() on:change=move |ev| {
                                        if let Some(r) = Response::from_key(&event_target_value(&ev)) {
                                            fraud.update(|f| f.set(signal, r));
                                        }
                                    }>
                                        {Response::ALL
                                            .into_iter()
                                            .filter(move |r| signal.at_join() || *r != Response::Refuse)
                                            .map(|r| view! { <option value=r.key() selected=move || fraud.get().response(signal) == r>{r.label()}</option> })
                                            .collect_view()}
                                    </select>
                                    <FieldMessage error field=signal.key() />
                                </label>
                            })
                            .collect_view()}
                    </fieldset>
                    <label class="choice"><input type="checkbox" name="auto_issue" prop:checked=move || auto_issue.get()
                        on:change=move |ev| auto_issue.set(event_target_checked(&ev)) />
                        " Issue rewards automatically when a referral qualifies (otherwise each waits for approval by someone with “Manage rewards”)"</label>
                </fieldset>
                <FormProblem error />
                <button type="submit" disabled=!editable>"Save rewards"</button>
                <Show when=move || matches!(save.value().get(), Some(Ok(_)))>
                    <span class="notice-ok" role="status">" Saved."</span>
                </Show>
            </form>
        </section>
    }
}

#[component]
fn Ledger(r: CampaignRewards, decide: ServerAction<DecideReward>) -> impl IntoView {
    let error = action_error(decide);
    let can_manage = r.can_manage;
    let button = move |e: &RewardEntry, decision: RewardDecision, text: &'static str| {
        let reward_id = e.id.clone();
        view! {
            <button type="button" class="secondary" disabled=!can_manage
                on:click=move |_| { decide.dispatch(DecideReward { reward_id: reward_id.clone(), decision, reference: None }); }>
                {text}
            </button>
        }
    };
    // A manual reward is marked fulfilled with its payout's reference, if the teammate has one.
    let fulfil = move |e: &RewardEntry| {
        let reward_id = e.id.clone();
        let reference = RwSignal::new(String::new());
        view! {
            <input name="reference" size="14" placeholder="Reference (optional)" aria-label="Payout reference"
                disabled=!can_manage prop:value=move || reference.get()
                on:input=move |ev| reference.set(event_target_value(&ev)) />
            <button type="button" class="secondary" disabled=!can_manage
                on:click=move |_| {
                    decide.dispatch(DecideReward {
                        reward_id: reward_id.clone(),
                        decision: RewardDecision::MarkFulfilled,
                        reference: Some(reference.get_untracked()),
                    });
                }>
                "Mark fulfilled"
            </button>
        }
    };
    let rows = r
        .rewards
        .iter()
        .map(|e| {
            let actions = match e.status {
                RewardStatus::AwaitingApproval => view! {
                    {button(e, RewardDecision::Approve, "Approve")}
                    {button(e, RewardDecision::Reject, "Reject")}
                }
                .into_any(),
                RewardStatus::ToFulfil => fulfil(e).into_any(),
                _ => ().into_any(),
            };
            view! {
                <tr data-reward=e.id.clone() data-status=e.status.key()>
                    <td>{e.description.clone()}</td>
                    <td>{e.recipient_email.clone()}</td>
                    <td>{e.referral_email.clone()}</td>
                    <td><strong>{e.status.label()}</strong><br /><span class="muted">{e.note.clone()}</span></td>
                    <td>{format_utc(e.updated_at)}</td>
                    <td>{actions}</td>
                </tr>
            }
        })
        .collect_view();
    let empty = r.rewards.is_empty();
    let to_pay_out = can_manage
        && r.rewards
            .iter()
            .any(|e| e.status == RewardStatus::ToFulfil && e.kind == RewardKind::Manual);
    let payouts = format!("/export/campaigns/{}/payouts.csv", r.campaign_id);
    view! {
        <section class="card reward-ledger">
            <h2>"Reward ledger"</h2>
            <Show when=move || to_pay_out>
                <p><a class="button secondary" href=payouts.clone() download>"Download what is to pay out (CSV)"</a></p>
            </Show>
            <Show when=move || !can_manage>
                <p class="notice notice-warn permission-explanation">
                    {look_only(Permission::ManageRewards, "approve, reject or fulfil rewards")}
                </p>
            </Show>
            <FormProblem error />
            <FieldMessage error field="reference" />
            {if empty {
                view! { <p class="muted">"No rewards yet: they appear here when a referral qualifies."</p> }.into_any()
            } else {
                view! {
                    <table>
                        <thead><tr><th>"Reward"</th><th>"For"</th><th>"Friend"</th><th>"Status"</th><th>"Updated"</th><th></th></tr></thead>
                        <tbody>{rows}</tbody>
                    </table>
                }
                .into_any()
            }}
        </section>
    }
}
