//! The alert bar below the header: the participant limit and failing integration checks, each
//! dismissible for the rest of the browser session (it comes back when its text changes).

use leptos::prelude::*;

/// Where the texts of dismissed alerts are kept for the session.
const DISMISSED: &str = "refloop-dismissed-alerts";

/// One alert: its kind (a CSS class), its text and the link to what fixes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub class: &'static str,
    pub text: String,
    pub link: (&'static str, &'static str),
}

#[component]
pub fn AlertBar(alerts: Vec<Alert>) -> impl IntoView {
    let dismissed = RwSignal::new(Vec::<String>::new());
    // Read after hydration, so that the server's HTML and the first render agree.
    Effect::new(move |_| dismissed.set(read_dismissed()));
    let shown = alerts.iter().map(|a| a.text.clone()).collect::<Vec<_>>();
    let any = move || shown.iter().any(|t| !dismissed.read().contains(t));
    let items = alerts
        .into_iter()
        .map(|a| {
            let text = a.text.clone();
            let hidden = {
                let text = text.clone();
                move || dismissed.read().contains(&text)
            };
            let dismiss = move |_| {
                let text = text.clone();
                dismissed.update(|d| d.push(text));
                write_dismissed(&dismissed.get_untracked());
            };
            view! {
                <div class=format!("alert {}", a.class) role="status" hidden=hidden>
                    <p>{a.text} " " <a href=a.link.0>{a.link.1}</a></p>
                    <button type="button" class="alert-dismiss" aria-label="Dismiss this alert for this session" on:click=dismiss>
                        "Dismiss"
                    </button>
                </div>
            }
        })
        .collect_view();
    view! { <div class="alerts" hidden=move || !any()>{items}</div> }
}

#[cfg(feature = "hydrate")]
fn storage() -> Option<web_sys::Storage> {
    window().session_storage().ok().flatten()
}

fn read_dismissed() -> Vec<String> {
    #[cfg(feature = "hydrate")]
    if let Some(json) = storage().and_then(|s| s.get_item(DISMISSED).ok().flatten()) {
        return serde_json::from_str(&json).unwrap_or_default();
    }
    Vec::new()
}

fn write_dismissed(texts: &[String]) {
    #[cfg(feature = "hydrate")]
    if let (Some(s), Ok(json)) = (storage(), serde_json::to_string(texts)) {
        let _ = s.set_item(DISMISSED, &json);
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = (texts, DISMISSED);
}
