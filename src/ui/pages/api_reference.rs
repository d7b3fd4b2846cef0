//! `/app/integrations/api`: the developer API's reference, drawn from its OpenAPI document (the
//! same document `/api/v1/openapi.json` serves), for any teammate.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::{
    api::api_keys::get_api_reference,
    domain::api_reference::{ApiField, ApiOperation, ApiSchema},
    ui::components::layout::{loaded, require_user, UserResource},
};

#[component]
pub fn ApiReferencePage() -> impl IntoView {
    let user = expect_context::<UserResource>();
    let reference = Resource::new(|| (), |_| get_api_reference());
    view! {
        <Title text="API reference" />
        <p class="muted"><a href="/app/integrations">"Integrations"</a>" › API reference"</p>
        <h1>"API reference"</h1>
        <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                or_view!(require_user(user.await));
                let r = or_view!(loaded(reference.await));
                let contents = r
                    .operations
                    .iter()
                    .map(|o| view! {
                        <li><a href=format!("#{}", o.anchor())><code>{format!("{} {}", o.method, o.path)}</code></a>" "{o.summary.clone()}</li>
                    })
                    .collect_view();
                let operations = r.operations.into_iter().map(|o| view! { <Operation op=o /> }).collect_view();
                let schemas = r.schemas.into_iter().map(|s| view! { <Schema schema=s /> }).collect_view();
                view! {
                    <section class="card api-reference">
                        <p>{r.description}</p>
                        <p>"Base address: " <code class="api-base">{r.base_url.clone()}</code></p>
                        <p>
                            "The same as an OpenAPI 3.1 document, for code generators and API tools: "
                            <a href=format!("{}/openapi.json", r.base_url)>"openapi.json"</a>
                            ". Keys are made on " <a href="/app/integrations">"Integrations → API keys"</a> "."
                        </p>
                        <h2>"Routes"</h2>
                        <ul class="api-contents">{contents}</ul>
                    </section>
                    {operations}
                    <section class="card api-schemas">
                        <h2>"Objects"</h2>
                        {schemas}
                    </section>
                }
                .into_any()
            })}
        </Transition>
    }
}

#[component]
fn Operation(op: ApiOperation) -> impl IntoView {
    let responses = op
        .responses
        .iter()
        .map(|r| view! {
            <tr>
                <td><code>{r.status.clone()}</code></td>
                <td>{r.description.clone()}</td>
                <td>{r.body.clone().map(|b| view! { <a href=format!("#schema-{b}")><code>{b.clone()}</code></a> })}</td>
            </tr>
        })
        .collect_view();
    let parameters = (!op.parameters.is_empty()).then(|| {
        view! {
            <h3>"Parameters"</h3>
            <Fields fields=op.parameters.clone() />
        }
    });
    view! {
        <section class="card api-operation" id=op.anchor() data-tag=op.tag.clone()>
            <h2><code>{format!("{} {}", op.method, op.path)}</code></h2>
            <p><strong>{op.summary.clone()}</strong>{format!(" · {} · {}", op.tag, op.auth)}</p>
            <p>{op.description.clone()}</p>
            {parameters}
            {op.body.clone().map(|b| view! {
                <p>
                    "Body: " <a href=format!("#schema-{b}")><code>{b.clone()}</code></a>
                    {if op.body_required { " (JSON)" } else { " (JSON; it may be left out)" }}
                </p>
            })}
            <h3>"Answers"</h3>
            <table>
                <thead><tr><th>"Status"</th><th>"When"</th><th>"Body"</th></tr></thead>
                <tbody>{responses}</tbody>
            </table>
        </section>
    }
}

#[component]
fn Schema(schema: ApiSchema) -> impl IntoView {
    view! {
        <div class="api-schema" id=format!("schema-{}", schema.name)>
            <h3><code>{schema.name.clone()}</code></h3>
            {(!schema.description.is_empty()).then(|| view! { <p>{schema.description.clone()}</p> })}
            <Fields fields=schema.fields />
        </div>
    }
}

#[component]
fn Fields(fields: Vec<ApiField>) -> impl IntoView {
    let rows = fields
        .into_iter()
        .map(|f| {
            let place = if f.location.is_empty() {
                String::new()
            } else {
                format!(" ({})", f.location)
            };
            view! {
                <tr>
                    <td><code>{f.name}</code>{place}</td>
                    <td>{f.kind}</td>
                    <td>{if f.required { "Required" } else { "Optional" }}</td>
                    <td>{f.description}</td>
                </tr>
            }
        })
        .collect_view();
    view! {
        <table class="api-fields">
            <thead><tr><th>"Name"</th><th>"Type"</th><th></th><th>"Description"</th></tr></thead>
            <tbody>{rows}</tbody>
        </table>
    }
}
