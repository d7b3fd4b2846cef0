//! `/app/operations`: the account's background jobs.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    api::operations::{get_operations, RetryJob},
    domain::{operations::kind_label, permissions::Permission, time::format_utc},
    ui::components::{
        form::{action_error, Explanation, FormProblem},
        layout::{loaded, require_user, UserResource},
    },
};

/// `/app/operations`: what the background is doing for this account, and what failed.
#[component]
pub fn OperationsPage() -> impl IntoView {
    let user = expect_context::<UserResource>();
    let retry = ServerAction::<RetryJob>::new();
    let stats = Resource::new(move || retry.version().get(), |_| get_operations());
    let retry_error = action_error(retry);
    view! {
        <Title text="Operations" />
        <h1>"Operations"</h1>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let me = or_view!(require_user(user.await));
                if let Some(why) = me.explain(Permission::ViewActivity) {
                    return view! { <Explanation text=Some(why) /> }.into_any();
                }
                let stats = or_view!(loaded(stats.await));
                let can_retry = me.can(Permission::ManageIntegrations);
                let kinds = stats.by_kind.iter().map(|k| view! {
                    <tr>
                        <td>{kind_label(&k.kind)}</td>
                        <td>{k.queued}</td>
                        <td>{k.running}</td>
                        <td>{k.done_last_minute}</td>
                        <td>{k.dead}</td>
                    </tr>
                }).collect_view();
                let failing = stats.failing.iter().map(|j| view! {
                    <tr>
                        <td>{kind_label(&j.kind)}</td>
                        <td>{format!("{} of {}", j.attempts, j.max_attempts)}</td>
                        <td>{j.error.clone()}</td>
                        <td class="nowrap">{format_utc(j.at_ms / 1000)}</td>
                    </tr>
                }).collect_view();
                let dead = stats.dead.iter().map(|j| {
                    let id = j.id.clone();
                    view! {
                        <tr>
                            <td>{kind_label(&j.kind)}</td>
                            <td>{j.error.clone()}</td>
                            <td class="nowrap">{format_utc(j.at_ms / 1000)}</td>
                            <td>
                                <ActionForm action=retry>
                                    <input type="hidden" name="job_id" value=id />
                                    <button type="submit" class="secondary small" disabled=!can_retry>"Retry"</button>
                                </ActionForm>
                            </td>
                        </tr>
                    }
                }).collect_view();
                view! {
                    <FormProblem error=retry_error />
                    <section class="card">
                        <h2>"Queue"</h2>
                        <p class="queue-outlook">{stats.outlook()}</p>
                        <p class="muted">{match stats.oldest_waiting_ms {
                            Some(ms) => format!("The oldest waiting job has waited {:.1} s.", ms as f64 / 1000.0),
                            None => "No job is waiting to start.".to_string(),
                        }}</p>
                        <table class="queue">
                            <thead><tr><th>"Work"</th><th>"Waiting"</th><th>"Running"</th><th>"Done (last min)"</th><th>"Dead"</th></tr></thead>
                            <tbody>{kinds}</tbody>
                        </table>
                    </section>
                    <section class="card">
                        <h2>"Recent failures (will be retried)"</h2>
                        <table><thead><tr><th>"Work"</th><th>"Attempts"</th><th>"Error"</th><th>"When"</th></tr></thead><tbody>{failing}</tbody></table>
                    </section>
                    <section class="card">
                        <h2>"Dead jobs"</h2>
                        <Explanation text=me.explain(Permission::ManageIntegrations) />
                        <table class="dead-jobs"><thead><tr><th>"Work"</th><th>"Error"</th><th>"When"</th><th></th></tr></thead><tbody>{dead}</tbody></table>
                    </section>
                }
                .into_any()
            })}
        </Transition>
    }
}
