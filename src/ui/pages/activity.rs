//! `/app/activity`: the activity log.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::use_query_map;

use crate::{
    api::{activity::list_activity, team::get_team},
    domain::{activity::ActivityKind, permissions::Permission, time::format_utc},
    ui::components::form::error_notice,
    ui::components::{
        form::Explanation,
        layout::{require_user, UserResource},
    },
};

/// `/app/activity`: every change made in the account, filterable by person and kind. The
/// filters are a plain GET form, so links to a filtered view can be shared.
#[component]
pub fn ActivityPage() -> impl IntoView {
    let user = expect_context::<UserResource>();
    let query = use_query_map();
    let actor = move || query.read().get("actor").filter(|s| !s.is_empty());
    let kind = move || query.read().get("kind").filter(|s| !s.is_empty());
    let entries = Resource::new(
        move || (actor(), kind()),
        |(a, k)| list_activity(a, k, None),
    );
    let team = Resource::new(|| (), |_| get_team());

    view! {
        <Title text="Activity" />
        <h1>"Activity"</h1>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                let me = or_view!(require_user(user.await));
                if let Some(why) = me.explain(Permission::ViewActivity) {
                    return view! { <Explanation text=Some(why) /> }.into_any();
                }
                let (entries, team) = (entries.await, team.await);
                let people = team
                    .map(|t| t.members)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|m| {
                        let selected = actor().as_deref() == Some(m.id.as_str());
                        view! { <option value=m.id selected=selected>{m.name}</option> }
                    })
                    .collect_view();
                let kinds = ActivityKind::ALL
                    .into_iter()
                    .map(|k| {
                        let selected = kind().as_deref() == Some(k.key());
                        view! { <option value=k.key() selected=selected>{k.label()}</option> }
                    })
                    .collect_view();
                let listing = match entries {
                    Err(e) => error_notice(&e),
                    Ok(list) if list.is_empty() => view! { <p class="muted">"Nothing matches these filters."</p> }.into_any(),
                    Ok(list) => {
                        let rows = list
                            .into_iter()
                            .map(|e| view! {
                                <tr>
                                    <td class="nowrap">{format_utc(e.at)}</td>
                                    <td>{e.actor_name}</td>
                                    <td>{e.kind_label}</td>
                                    <td>{e.summary}</td>
                                    <td class="muted">{e.ip}</td>
                                </tr>
                            })
                            .collect_view();
                        view! {
                            <table class="activity">
                                <thead><tr><th>"When"</th><th>"Who"</th><th>"What"</th><th>"Details"</th><th>"From"</th></tr></thead>
                                <tbody>{rows}</tbody>
                            </table>
                        }
                        .into_any()
                    }
                };
                view! {
                    <form class="filters row" method="get" action="/app/activity">
                        <div>
                            <label for="actor">"Person"</label>
                            <select id="actor" name="actor">
                                <option value="">"Everyone"</option>
                                {people}
                            </select>
                        </div>
                        <div>
                            <label for="kind">"Kind"</label>
                            <select id="kind" name="kind">
                                <option value="">"Everything"</option>
                                {kinds}
                            </select>
                        </div>
                        <button type="submit" class="secondary">"Filter"</button>
                    </form>
                    {listing}
                }
                .into_any()
            })}
        </Transition>
    }
}
