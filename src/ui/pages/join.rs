//! The public pages people see: the join page `/j/{campaign}`, the referral landing
//! `/r/{code}`, and the personal page `/p/{token}`. Rendered on the server; they work without
//! JavaScript (forms post and redirect).

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::hooks::{use_location, use_params_map, use_query_map};

use crate::{
    api::public::{
        get_personal_page, get_public_campaign, open_referral, EmailMyLink, JoinCampaign,
    },
    domain::{
        campaigns::{FieldKind, FormField, PersonalPage, PublicCampaign},
        participants::url_escape,
    },
    error::AppError,
    ui::components::form::{action_error, error_notice, FieldMessage, FormProblem},
};

/// `/j/{campaign}`: the join page for people referring (or, with a remembered referral link,
/// for the friend of the person who shared it).
#[component]
pub fn JoinPage() -> impl IntoView {
    let params = use_params_map();
    let campaign = Resource::new(
        move || params.read().get("campaign").unwrap_or_default(),
        get_public_campaign,
    );
    view! { <PublicCampaignView campaign /> }
}

/// `/r/{code}`: a referral link. Counts the click, remembers the referrer, and shows the form
/// for the person invited.
#[component]
pub fn ReferralPage() -> impl IntoView {
    let params = use_params_map();
    let campaign = Resource::new(
        move || params.read().get("code").unwrap_or_default(),
        open_referral,
    );
    view! { <PublicCampaignView campaign /> }
}

#[component]
fn PublicCampaignView(campaign: Resource<Result<PublicCampaign, AppError>>) -> impl IntoView {
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match campaign.await {
                    Ok(c) => view! { <JoinCard campaign=c /> }.into_any(),
                    Err(e) => view! {
                        <Title text="Referral program" />
                        <section class="card narrow">{error_notice(&e)}</section>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn JoinCard(campaign: PublicCampaign) -> impl IntoView {
    let action = ServerAction::<JoinCampaign>::new();
    let error = action_error(action);
    let lost_link_slug = campaign.slug.clone();
    let intro = match &campaign.referrer_name {
        Some(name) => format!("{name} invited you to join {}.", campaign.name),
        None => format!("Join {} and invite your friends.", campaign.name),
    };
    let body = match campaign.closed {
        Some(reason) => {
            view! { <div class="notice notice-warn" role="status">{reason}</div> }.into_any()
        }
        None => {
            let fields = campaign
                .form
                .into_iter()
                .map(|f| view! { <JoinField field=f error /> })
                .collect_view();
            view! {
                <ActionForm action attr:class="join-form">
                    <FormProblem error />
                    <input type="hidden" name="slug" value=campaign.slug />
                    <input type="hidden" name="code" value=campaign.referral_code.unwrap_or_default() />
                    {fields}
                    // A field people never see: bots fill it in, and their sign-ups are refused.
                    <div class="honeypot" aria-hidden="true">
                        <label for="website">"Website (leave empty)"</label>
                        <input id="website" name="website" type="text" tabindex="-1" autocomplete="off" />
                    </div>
                    <button type="submit">"Join"</button>
                </ActionForm>
            }
            .into_any()
        }
    };
    view! {
        <Title text=campaign.name.clone() />
        <section class="card narrow public-join">
            <h1>{campaign.name.clone()}</h1>
            <p class="lead">{intro}</p>
            {body}
            <LostLink slug=lost_link_slug />
        </section>
    }
}

/// "Email me my link", for someone who joined and lost their personal page. It answers the
/// same words whether or not the address is in the campaign.
#[component]
fn LostLink(slug: String) -> impl IntoView {
    let action = ServerAction::<EmailMyLink>::new();
    let error = action_error(action);
    let from = use_location().pathname.get_untracked();
    let asked = use_query_map().read_untracked().get("link").as_deref() == Some("sent");
    let sent = move || asked || matches!(action.value().get(), Some(Ok(())));
    let open = move || sent() || error.get().is_some();
    view! {
        <details class="lost-link" open=open>
            <summary>"Already joined? Email me my link"</summary>
            <Show when=sent>
                <p class="notice notice-ok" role="status">
                    "If that address is in this campaign, its link is on its way: check your inbox."
                </p>
            </Show>
            <ActionForm action attr:class="lost-link-form">
                <FormProblem error />
                <input type="hidden" name="slug" value=slug />
                <input type="hidden" name="from" value=from />
                <label for="lost-link-address">"The address you joined with"</label>
                <input id="lost-link-address" name="email" type="email" autocomplete="email" required />
                <FieldMessage error field="email" />
                <button type="submit">"Email me my link"</button>
            </ActionForm>
        </details>
    }
}

/// One field of a join form, named `values[key]` so the form posts a map of values.
#[component]
fn JoinField(field: FormField, error: Signal<Option<AppError>>) -> impl IntoView {
    let id = format!("field-{}", field.key);
    let name = format!("values[{}]", field.key);
    let required = field.required;
    let label = if required {
        field.label.clone()
    } else {
        format!("{} (optional)", field.label)
    };
    let input = match &field.kind {
        FieldKind::Email => view! { <input id=id.clone() name=name type="email" autocomplete="email" required=required /> }.into_any(),
        FieldKind::FirstName => view! { <input id=id.clone() name=name type="text" autocomplete="given-name" required=required /> }.into_any(),
        FieldKind::LastName => view! { <input id=id.clone() name=name type="text" autocomplete="family-name" required=required /> }.into_any(),
        FieldKind::Text => view! { <input id=id.clone() name=name type="text" required=required /> }.into_any(),
        FieldKind::Number => view! { <input id=id.clone() name=name type="number" step="any" required=required /> }.into_any(),
        FieldKind::Select(options) => {
            let options = options
                .iter()
                .map(|o| view! { <option value=o.clone()>{o.clone()}</option> })
                .collect_view();
            view! {
                <select id=id.clone() name=name required=required>
                    <option value="">"Choose…"</option>
                    {options}
                </select>
            }
            .into_any()
        }
        FieldKind::Checkbox => {
            return view! {
                <label class="choice">
                    <input id=id name=name type="checkbox" value="on" required=required />
                    " " {label}
                </label>
                <FieldMessage error field=field.key />
            }
            .into_any()
        }
    };
    view! {
        <label for=id>{label}</label>
        {input}
        <FieldMessage error field=field.key />
    }
    .into_any()
}

/// `/p/{token}`: the personal page of someone who joined: their link, code, share buttons,
/// friends and rewards.
#[component]
pub fn PersonalPageView() -> impl IntoView {
    let params = use_params_map();
    let page = Resource::new(
        move || params.read().get("token").unwrap_or_default(),
        get_personal_page,
    );
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || Suspend::new(async move {
                match page.await {
                    Ok(p) => view! { <PersonalCard page=p /> }.into_any(),
                    Err(e) => view! {
                        <Title text="Your referral page" />
                        <section class="card narrow">{error_notice(&e)}</section>
                    }
                    .into_any(),
                }
            })}
        </Suspense>
    }
}

#[component]
fn PersonalCard(page: PersonalPage) -> impl IntoView {
    let greeting = if page.first_name.is_empty() {
        "You're in!".to_string()
    } else {
        format!("You're in, {}!", page.first_name)
    };
    let message = if page.share_text.is_empty() {
        format!("Join me on {}", page.campaign_name)
    } else {
        page.share_text.clone()
    };
    let link = url_escape(&page.referral_link);
    let text = url_escape(&message);
    let shares = [
        (
            "Email",
            format!("mailto:?subject={text}&body={text}%20{link}"),
        ),
        (
            "X",
            format!("https://twitter.com/intent/tweet?text={text}&url={link}"),
        ),
        (
            "Facebook",
            format!("https://www.facebook.com/sharer/sharer.php?u={link}"),
        ),
        (
            "LinkedIn",
            format!("https://www.linkedin.com/sharing/share-offsite/?url={link}"),
        ),
        (
            "WhatsApp",
            format!("https://wa.me/?text={text}%20{link}"),
        ),
    ]
    .into_iter()
    .map(|(name, href)| {
        view! { <a class="button secondary small" href=href target="_blank" rel="noopener noreferrer">{name}</a> }
    })
    .collect_view();
    let rewards = if page.rewards.is_empty() {
        view! { <p class="muted">"No rewards yet: they appear here when your friends qualify."</p> }
            .into_any()
    } else {
        let items = page
            .rewards
            .into_iter()
            .map(|r| view! { <li>{r}</li> })
            .collect_view();
        view! { <ul>{items}</ul> }.into_any()
    };
    view! {
        <Title text=format!("Your referral page · {}", page.campaign_name) />
        <section class="card narrow personal-page">
            <h1>{greeting}</h1>
            <p class="lead">{format!("Share your link to invite friends to {}.", page.campaign_name)}</p>
            {page.invited_by.map(|name| view! { <p class="muted">{format!("You were invited by {name}.")}</p> })}
            <label for="referral-link">"Your referral link"</label>
            <input id="referral-link" class="copy-field" readonly value=page.referral_link.clone() />
            {page.friend_offer.clone().map(|offer| view! { <p class="friend-offer">{offer}</p> })}
            <p>"Your referral code: " <strong class="referral-code">{page.code}</strong></p>
            <div class="share row">{shares}</div>
            <div class="grid stats">
                <div class="stat"><span class="stat-value" data-stat="joined">{page.friends_joined}</span>" friends joined"</div>
                <div class="stat"><span class="stat-value" data-stat="qualified">{page.friends_qualified}</span>" friends qualified"</div>
            </div>
            <h2>"Your rewards"</h2>
            {rewards}
            <p class="hint">"Keep this page's address: it is your own and not shown to anyone else."</p>
        </section>
    }
}
