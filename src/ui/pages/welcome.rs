//! `/`: what Refloop is, and where each kind of visitor starts.

use leptos::prelude::*;
use leptos_meta::Title;

use crate::api::instance::get_instance_info;
use crate::ui::components::error_view::ErrorPanel;

/// The three people a referral program involves, each with their own path through Refloop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Audience {
    Marketer,
    Referrer,
    Friend,
}

impl Audience {
    const ALL: [Audience; 3] = [Audience::Marketer, Audience::Referrer, Audience::Friend];

    fn label(self) -> &'static str {
        match self {
            Audience::Marketer => "Your marketing team",
            Audience::Referrer => "The person referring",
            Audience::Friend => "The friend they invite",
        }
    }

    fn slug(self) -> &'static str {
        match self {
            Audience::Marketer => "marketer",
            Audience::Referrer => "referrer",
            Audience::Friend => "friend",
        }
    }

    fn steps(self) -> [&'static str; 3] {
        match self {
            Audience::Marketer => [
                "Connect your Stripe account with a restricted key, or try the built-in sandbox.",
                "Build a campaign: the join forms, the reward, and how much a friend must spend.",
                "Watch every referral qualify within seconds of the payment, with the reason shown.",
            ],
            Audience::Referrer => [
                "Joins your campaign on its public page and gets a personal referral link.",
                "Shares the link; each friend who joins through it is counted.",
                "Is rewarded automatically, as Stripe credit or a promotion code, once a friend qualifies.",
            ],
            Audience::Friend => [
                "Opens the referral link and joins with a short form.",
                "Becomes a customer in your Stripe account, linked to whoever invited them.",
                "Qualifies the referral by reaching the target spend within the campaign's window.",
            ],
        }
    }
}

/// The first page a visitor sees: what Refloop does, for whom, and where to start.
#[component]
pub fn WelcomePage() -> impl IntoView {
    let selected = RwSignal::new(Audience::Marketer);
    let instance = Resource::new(|| (), |_| get_instance_info());

    view! {
        <Title text="Welcome" />
        <section class="hero">
            <h1>"Referral programs that run on your Stripe data"</h1>
            <p class="lead">
                "Refloop sends the people who join your referral campaigns into Stripe as customers, "
                "watches what they spend, and rewards the people who referred them — in seconds, "
                "with an answer to every \"why not?\"."
            </p>
        </section>

        <section class="card" aria-labelledby="how-heading">
            <h2 id="how-heading">"How it works"</h2>
            <div class="tabs" role="tablist" aria-label="Who is it for">
                {Audience::ALL
                    .into_iter()
                    .map(|audience| {
                        let is_selected = move || selected.get() == audience;
                        view! {
                            <button
                                type="button"
                                role="tab"
                                id=format!("tab-{}", audience.slug())
                                aria-controls="how-panel"
                                aria-selected=move || is_selected().to_string()
                                class:active=is_selected
                                on:click=move |_| selected.set(audience)
                            >
                                {audience.label()}
                            </button>
                        }
                    })
                    .collect_view()}
            </div>
            <div id="how-panel" role="tabpanel" aria-labelledby=move || format!("tab-{}", selected.get().slug())>
                <ol class="steps">
                    {move || {
                        selected.get().steps().into_iter().map(|step| view! { <li>{step}</li> }).collect_view()
                    }}
                </ol>
            </div>
        </section>

        <section class="card" aria-labelledby="instance-heading">
            <h2 id="instance-heading">"This installation"</h2>
            <Suspense fallback=|| view! { <p class="muted">"Checking…"</p> }>
                <ErrorPanel>
                    {move || Suspend::new(async move {
                        instance.await.map(|info| view! {
                            <p class="instance-info">
                                "Refloop " {info.version} " is running, storing its data in "
                                <strong>{info.database}</strong> "."
                            </p>
                        })
                    })}
                </ErrorPanel>
            </Suspense>
        </section>
    }
}
