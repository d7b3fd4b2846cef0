//! The Integrations page's webhook endpoints: add one (its signing secret shown once), see each
//! with its latest messages and their responses, replay a message, enable a disabled endpoint,
//! remove one. For people with Manage integrations; nothing for anyone else.
//!
//! As `ApiKeys`, its resources are made with the page, never inside a suspended view.

use leptos::prelude::*;

use crate::{
    api::webhooks::{
        list_webhook_endpoints, CreateWebhookEndpoint, DeleteWebhookEndpoint,
        EnableWebhookEndpoint, ReplayWebhook,
    },
    domain::{
        permissions::Permission,
        time::format_utc,
        webhooks::{DeliveryStatus, WebhookDelivery, WebhookEndpoint, WebhookEvent},
    },
    ui::components::{
        form::{action_error, FieldMessage, FormProblem},
        layout::UserResource,
    },
};

#[component]
pub fn Webhooks() -> impl IntoView {
    let user = expect_context::<UserResource>();
    let create = ServerAction::<CreateWebhookEndpoint>::new();
    let enable = ServerAction::<EnableWebhookEndpoint>::new();
    let delete = ServerAction::<DeleteWebhookEndpoint>::new();
    let replay = ServerAction::<ReplayWebhook>::new();
    let endpoints = Resource::new(
        move || {
            (
                create.version().get(),
                enable.version().get(),
                delete.version().get(),
                replay.version().get(),
            )
        },
        |_| list_webhook_endpoints(),
    );
    let create_error = action_error(create);
    let change_error = action_error(enable);
    let delete_error = action_error(delete);
    let replay_error = action_error(replay);
    let made = move || match create.value().get() {
        Some(Ok(new)) => Some(new),
        _ => None,
    };
    let section = move || {
        view! {
            <section class="card webhooks" aria-labelledby="webhooks-heading">
                <h2 id="webhooks-heading">"Webhooks"</h2>
                <p class="muted">
                    "Refloop tells your systems when something happens, with a signed POST to your endpoint (the Standard Webhooks headers "
                    <code>"webhook-id"</code>", "<code>"webhook-timestamp"</code>", "<code>"webhook-signature"</code>
                    "). A message that fails is tried again over about three days; an endpoint that fails all that time is disabled."
                </p>
                {move || made().map(|new| view! {
                    <div class="notice notice-ok" role="status">
                        <p><strong>{format!("Endpoint {} added. ", new.endpoint.url)}</strong>"Copy its signing secret now: it is not shown again."</p>
                        <input class="webhook-secret" readonly aria-label="The endpoint's signing secret" prop:value=new.secret />
                    </div>
                })}
                <ActionForm action=create>
                    <FormProblem error=create_error />
                    <label for="webhook-url">"Endpoint address"</label>
                    <input id="webhook-url" name="url" type="url" maxlength="2000" placeholder="https://example.com/webhooks/refloop" required />
                    <FieldMessage error=create_error field="url" />
                    <fieldset>
                        <legend>"Events"</legend>
                        {WebhookEvent::ALL.into_iter().map(|e| view! {
                            <label class="choice">
                                <input type="checkbox" name=format!("events[{}]", e.key()) value="on" />
                                " " <code>{e.key()}</code> " — " {e.label()}
                            </label>
                        }).collect_view()}
                    </fieldset>
                    <FieldMessage error=create_error field="events" />
                    <button type="submit">"Add endpoint"</button>
                </ActionForm>
                <FormProblem error=change_error />
                <FormProblem error=delete_error />
                <FormProblem error=replay_error />
                <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        let list = endpoints.await.unwrap_or_default();
                        if list.is_empty() {
                            return view! { <p class="muted">"No endpoints yet."</p> }.into_any();
                        }
                        list.into_iter().map(|e| endpoint_view(e, enable, delete, replay)).collect_view().into_any()
                    })}
                </Transition>
            </section>
        }
    };
    view! {
        <Transition fallback=|| ()>
            {move || Suspend::new(async move {
                let me = user.await.ok().flatten();
                me.filter(|me| me.explain(Permission::ManageIntegrations).is_none()).map(|_| section())
            })}
        </Transition>
    }
}

fn endpoint_view(
    e: WebhookEndpoint,
    enable: ServerAction<EnableWebhookEndpoint>,
    delete: ServerAction<DeleteWebhookEndpoint>,
    replay: ServerAction<ReplayWebhook>,
) -> impl IntoView {
    let events: Vec<&str> = e.events.iter().map(|k| k.key()).collect();
    let (enable_id, delete_id) = (e.id.clone(), e.id.clone());
    let state = match &e.disabled_reason {
        Some(reason) if !e.enabled => view! {
            <p class="notice notice-error" role="alert">{reason.clone()}</p>
            <ActionForm action=enable>
                <input type="hidden" name="id" value=enable_id />
                <button type="submit" class="secondary">"Enable"</button>
            </ActionForm>
        }
        .into_any(),
        _ => view! { <p class="status status-ok">"Enabled"</p> }.into_any(),
    };
    let log = if e.deliveries.is_empty() {
        view! { <p class="muted">"Nothing sent yet."</p> }.into_any()
    } else {
        let rows = e
            .deliveries
            .into_iter()
            .map(|d| delivery_row(d, replay))
            .collect_view();
        view! {
            <table>
                <thead><tr><th>"Made"</th><th>"Event"</th><th>"Status"</th><th>"Attempts"</th><th>"Last response"</th><th></th></tr></thead>
                <tbody>{rows}</tbody>
            </table>
        }.into_any()
    };
    view! {
        <div class="webhook-endpoint" data-endpoint=e.id.clone()>
            <h3><code>{e.url.clone()}</code></h3>
            <p class="muted">{format!("{} — added by {} on {}", events.join(", "), e.created_by, format_utc(e.created_at))}</p>
            {state}
            {log}
            <ActionForm action=delete>
                <input type="hidden" name="id" value=delete_id />
                <button type="submit" class="secondary danger" aria-label=format!("Remove {}", e.url)>"Remove endpoint"</button>
            </ActionForm>
        </div>
    }
}

fn delivery_row(d: WebhookDelivery, replay: ServerAction<ReplayWebhook>) -> impl IntoView {
    let status = match (d.status, d.next_attempt_at) {
        (DeliveryStatus::Pending, Some(at)) if d.attempts > 0 => {
            format!("Failed; tried again at {}", format_utc(at))
        }
        (s, _) => s.label().to_string(),
    };
    let response = match d.response_status {
        Some(code) => format!(
            "HTTP {code} {}",
            d.response_body.chars().take(120).collect::<String>()
        ),
        None => d.response_body.chars().take(160).collect(),
    };
    let replay_id = d.id.clone();
    let replay_label = format!("Replay {}", d.id);
    view! {
        <tr data-delivery=d.id.clone()>
            <td>{format_utc(d.created_at)}</td>
            <td><code>{d.event.key()}</code></td>
            <td>{status}</td>
            <td>{d.attempts}</td>
            <td class="small">{response}</td>
            <td>
                <ActionForm action=replay>
                    <input type="hidden" name="id" value=replay_id />
                    <button type="submit" class="secondary" aria-label=replay_label>"Replay"</button>
                </ActionForm>
            </td>
        </tr>
    }
}
