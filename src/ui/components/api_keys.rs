//! The Integrations page's API keys: make one (shown once), see each key's access and last
//! use, revoke one. For people with Manage integrations; nothing for anyone else.
//!
//! Its resources are made with the page, never inside another suspended view: a resource made
//! after an await gets its hydration id in whatever order the browser happens to resolve, and a
//! mismatch panics the page.

use leptos::prelude::*;

use crate::{
    api::{
        api_keys::{list_api_keys, CreateApiKey, RevokeApiKey},
        campaigns::list_campaigns,
    },
    domain::{api_keys::ApiScope, permissions::Permission, time::format_utc},
    ui::components::{
        form::{action_error, FieldMessage, FormProblem},
        layout::UserResource,
    },
};

#[component]
pub fn ApiKeys() -> impl IntoView {
    let user = expect_context::<UserResource>();
    let create = ServerAction::<CreateApiKey>::new();
    let revoke = ServerAction::<RevokeApiKey>::new();
    let keys = Resource::new(
        move || (create.version().get(), revoke.version().get()),
        |_| list_api_keys(),
    );
    let campaigns = Resource::new(|| (), |_| list_campaigns());
    let create_error = action_error(create);
    let revoke_error = action_error(revoke);
    let made = move || match create.value().get() {
        Some(Ok(new)) => Some(new),
        _ => None,
    };
    let section = move || {
        view! {
            <section class="card api-keys" aria-labelledby="api-keys-heading">
                <h2 id="api-keys-heading">"API keys"</h2>
                <p class="muted">
                    "Your own systems call Refloop's API at " <code>"/api/v1"</code>
                    " with a key, as " <code>"Authorization: Bearer rfk_…"</code>
                    ": to enrol people when they sign up and to look them up. A key is shown once, when it is made; Refloop keeps only its hash."
                </p>
                <p>
                    <a href="/app/integrations/api">"API reference"</a>
                    " · the referral widget for your own app: "
                    <code>"<script src=\"/widget.js\">"</code>" and "<code>"<refloop-referral token=…>"</code>
                    " with a token from " <code>"POST /api/v1/participants/{id}/widget_tokens"</code>"."
                </p>
                {move || made().map(|new| view! {
                    <div class="notice notice-ok" role="status">
                        <p><strong>{format!("Key “{}” made. ", new.key.name)}</strong>"Copy it now: it is not shown again."</p>
                        <input class="api-key-secret" readonly aria-label="The new API key" prop:value=new.secret />
                    </div>
                })}
                <ActionForm action=create>
                    <FormProblem error=create_error />
                    <label for="api-key-name">"Name"</label>
                    <input id="api-key-name" name="name" maxlength="60" placeholder="Signup backend" required />
                    <FieldMessage error=create_error field="name" />
                    <label for="api-key-scope">"Access"</label>
                    <select id="api-key-scope" name="scope">
                        {ApiScope::ALL.into_iter().rev().map(|s| view! { <option value=s.key()>{s.label()}</option> }).collect_view()}
                    </select>
                    <FieldMessage error=create_error field="scope" />
                    <label for="api-key-campaign">"Campaigns"</label>
                    <Transition fallback=|| ()>
                        {move || Suspend::new(async move {
                            let all = campaigns.await.unwrap_or_default();
                            view! {
                                <select id="api-key-campaign" name="campaign">
                                    <option value="">"Every campaign"</option>
                                    {all.into_iter().map(|c| view! { <option value=c.id>{format!("Only {}", c.name)}</option> }).collect_view()}
                                </select>
                            }
                        })}
                    </Transition>
                    <FieldMessage error=create_error field="campaigns" />
                    <button type="submit">"Create key"</button>
                </ActionForm>
                <FormProblem error=revoke_error />
                <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                    {move || Suspend::new(async move {
                        let list = keys.await.unwrap_or_default();
                        if list.is_empty() {
                            return view! { <p class="muted">"No keys yet."</p> }.into_any();
                        }
                        let rows = list.into_iter().map(|k| {
                            let access = if k.campaigns.is_empty() {
                                format!("{}, every campaign", k.scope.label())
                            } else {
                                format!("{}, {}", k.scope.label(), k.campaigns.join(", "))
                            };
                            let (id, name) = (k.id.clone(), k.name.clone());
                            let state = match k.revoked_at {
                                Some(at) => view! { <span class="muted">{format!("Revoked {}", format_utc(at))}</span> }.into_any(),
                                None => view! {
                                    <ActionForm action=revoke>
                                        <input type="hidden" name="id" value=id />
                                        <button type="submit" class="secondary danger" aria-label=format!("Revoke {name}")>"Revoke"</button>
                                    </ActionForm>
                                }.into_any(),
                            };
                            view! {
                                <tr data-key=k.id.clone()>
                                    <td>{k.name.clone()}</td>
                                    <td><code>{k.prefix.clone()}</code></td>
                                    <td>{access}</td>
                                    <td>{format!("{} by {}", format_utc(k.created_at), k.created_by)}</td>
                                    <td>{k.last_used_at.map_or_else(|| "Never".to_string(), format_utc)}</td>
                                    <td>{state}</td>
                                </tr>
                            }
                        }).collect_view();
                        view! {
                            <table>
                                <thead><tr><th>"Name"</th><th>"Key"</th><th>"Access"</th><th>"Made"</th><th>"Last used"</th><th></th></tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                        }.into_any()
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
