//! The builder's Emails step: which emails go to the campaign's participants, what they say
//! (placeholders checked as they are typed), and from whom.

use leptos::prelude::*;

use crate::{
    api::emails::{preview_email, send_test_email, SaveEmails},
    domain::emails::{check_template, CampaignEmails, EmailForm, EmailKind, EmailTemplate},
    ui::components::form::{action_error, error_notice, Explanation, FieldMessage, FormProblem},
};

/// The step, given its data (read by the builder with the campaign, again after each save).
#[component]
pub fn EmailsStep(e: CampaignEmails, save: ServerAction<SaveEmails>) -> impl IntoView {
    let editable = e.read_only.is_none();
    let f = e.form.clone();
    let sender_name = RwSignal::new(f.sender_name);
    let reply_to = RwSignal::new(f.reply_to);
    let reminder_days = RwSignal::new(f.reminder_days);
    let templates: Vec<RwSignal<EmailTemplate>> =
        f.templates.into_iter().map(RwSignal::new).collect();
    let error = action_error(save);
    let campaign_id = e.campaign_id.clone();
    let all = templates.clone();
    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        save.dispatch(SaveEmails {
            campaign_id: campaign_id.clone(),
            form: EmailForm {
                sender_name: sender_name.get_untracked(),
                reply_to: reply_to.get_untracked(),
                reminder_days: reminder_days.get_untracked(),
                templates: all.iter().map(|t| t.get_untracked()).collect(),
            },
        });
    };
    let smtp = (!e.smtp_configured).then(|| {
        view! {
            <p class="notice notice-warn" role="status">
                "No mail server is configured (REFLOOP_SMTP_URL), so nothing is sent: each email switched on is marked “not sent” on the person's timeline. Once one is, these emails go from "
                <code>{e.from_address.clone()}</code> "."
            </p>
        }
    });
    let cards = templates
        .into_iter()
        .map(|t| {
            let campaign_id = e.campaign_id.clone();
            view! { <TemplateEditor t editable campaign_id sender_name /> }
        })
        .collect_view();
    let saved_notice = move || {
        matches!(save.value().get(), Some(Ok(_)))
            .then(|| view! { <span class="notice-ok" role="status">" Saved."</span> })
    };
    view! {
        <section class="card emails">
            <h2>"Emails"</h2>
            <p>"What the campaign tells its participants, and when. Each email is off until you switch it on; every one sent, refused or not sent is on the person's timeline, and each carries a one-click unsubscribe."</p>
            {smtp}
            <Explanation text=e.read_only.clone() />
            <form on:submit=submit>
                <fieldset disabled=!editable>
                    <legend>"Sender"</legend>
                    <label>"Sender name "
                        <input name="sender_name" maxlength="80" prop:value=move || sender_name.get()
                            on:input=move |ev| sender_name.set(event_target_value(&ev)) />
                    </label>
                    <span class="muted">" from " <code>{e.from_address.clone()}</code></span>
                    <FieldMessage error field="sender_name" />
                    <label>"Replies go to (empty: the sender) "
                        <input name="reply_to" type="email" prop:value=move || reply_to.get()
                            on:input=move |ev| reply_to.set(event_target_value(&ev)) />
                    </label>
                    <FieldMessage error field="reply_to" />
                    <label>"Remind people who have referred nobody after "
                        <input name="reminder_days" inputmode="numeric" size="4" prop:value=move || reminder_days.get()
                            on:input=move |ev| reminder_days.set(event_target_value(&ev)) />
                        " days"
                    </label>
                    <FieldMessage error field="reminder_days" />
                </fieldset>
                {cards}
                <FormProblem error />
                <button type="submit" disabled=!editable>"Save emails"</button>
                {saved_notice}
            </form>
        </section>
    }
}

/// One email: switched on or off, its subject and message, checked as they are typed, and
/// previewed or sent to oneself as it stands.
#[component]
fn TemplateEditor(
    t: RwSignal<EmailTemplate>,
    editable: bool,
    campaign_id: String,
    sender_name: RwSignal<String>,
) -> impl IntoView {
    let kind: EmailKind = t.get_untracked().kind;
    let key = kind.key();
    let problems = Memo::new(move |_| check_template(&t.get()));
    let problem = move |field: &'static str| {
        let name = format!("{key}.{field}");
        move || {
            problems
                .get()
                .into_iter()
                .find(|(f, _)| *f == name)
                .map(|(_, m)| view! { <p class="field-error" role="alert">{m}</p> })
        }
    };
    let placeholders = kind
        .placeholders()
        .iter()
        .map(|p| view! { <li><code>{format!("{{{{{}}}}}", p.key())}</code> " " {p.label()}</li> })
        .collect_view();
    view! {
        <div class="email-card">
        <fieldset class="email-template" data-kind=key disabled=!editable>
            <legend>{kind.label()}</legend>
            <p class="muted">{kind.describe()}</p>
            <label class="choice">
                <input type="checkbox" name=format!("{key}.enabled")
                    prop:checked=move || t.get().enabled
                    on:change=move |ev| t.update(|t| t.enabled = event_target_checked(&ev)) />
                " Send it"
            </label>
            <label>"Subject "
                <input name=format!("{key}.subject") size="60" prop:value=move || t.get().subject
                    on:input=move |ev| t.update(|t| t.subject = event_target_value(&ev)) />
            </label>
            {problem("subject")}
            <label>"Message"
                <textarea name=format!("{key}.body") rows="7" cols="70" prop:value=move || t.get().body
                    on:input=move |ev| t.update(|t| t.body = event_target_value(&ev))></textarea>
            </label>
            {problem("body")}
            <details>
                <summary>"Placeholders"</summary>
                <ul class="placeholders">{placeholders}</ul>
            </details>
        </fieldset>
        <TryTemplate t editable campaign_id sender_name />
        </div>
    }
}

/// "Preview" shows the email as written now, filled in with a real participant's data;
/// "Send me a test" sends it to the teammate.
#[component]
fn TryTemplate(
    t: RwSignal<EmailTemplate>,
    editable: bool,
    campaign_id: String,
    sender_name: RwSignal<String>,
) -> impl IntoView {
    let id = campaign_id.clone();
    let preview = Action::new(move |_: &()| {
        preview_email(id.clone(), sender_name.get_untracked(), t.get_untracked())
    });
    let test = Action::new(move |_: &()| {
        send_test_email(
            campaign_id.clone(),
            sender_name.get_untracked(),
            t.get_untracked(),
        )
    });
    let shown = move || {
        preview.value().get().map(|r| match r {
            Ok(p) => view! {
                <div class="email-preview">
                    <p class="muted">{p.reader}</p>
                    <dl>
                        <dt>"From"</dt>
                        <dd>{p.from}</dd>
                        <dt>"Subject"</dt>
                        <dd class="email-subject">{p.subject}</dd>
                    </dl>
                    <iframe title="The email as it arrives" sandbox="" srcdoc=p.html></iframe>
                    <details>
                        <summary>"Plain-text part"</summary>
                        <pre>{p.text}</pre>
                    </details>
                </div>
            }
            .into_any(),
            Err(e) => error_notice(&e),
        })
    };
    let tested = move || {
        test.value().get().map(|r| match r {
            Ok(text) => view! { <p class="notice notice-ok" role="status">{text}</p> }.into_any(),
            Err(e) => error_notice(&e),
        })
    };
    view! {
        <div class="email-try">
            <button type="button" on:click=move |_| { preview.dispatch(()); }
                disabled=move || preview.pending().get()>"Preview"</button>
            " "
            <button type="button" on:click=move |_| { test.dispatch(()); }
                disabled=move || !editable || test.pending().get()>"Send me a test"</button>
            {tested}
            {shown}
        </div>
    }
}
