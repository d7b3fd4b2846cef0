//! A value a marketer shares (a link, a snippet), in its own labelled block with a Copy button.

use leptos::prelude::*;

/// What the Copy button says: before, after copying, or when the browser refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Copied {
    Not,
    Yes,
    Refused,
}

/// `id` names the field (and labels it); `rows` above 1 shows a text area, for snippets.
#[component]
pub fn CopyField(
    id: &'static str,
    label: String,
    value: String,
    #[prop(default = 1)] rows: u32,
) -> impl IntoView {
    let copied = RwSignal::new(Copied::Not);
    let text = value.clone();
    let copy = move |_| {
        let text = text.clone();
        leptos::task::spawn_local(async move {
            copied.set(if write_clipboard(&text).await {
                Copied::Yes
            } else {
                select_field(id);
                Copied::Refused
            });
        });
    };
    let field = if rows > 1 {
        view! { <textarea id=id class="copy-field" readonly rows=rows>{value}</textarea> }
            .into_any()
    } else {
        view! { <input id=id class="copy-field" readonly value=value /> }.into_any()
    };
    view! {
        <div class="copy-block">
            <label for=id id=format!("{id}-label")>{label}</label>
            <div class="copy-row">
                {field}
                <button type="button" class="secondary small" aria-describedby=format!("{id}-label") on:click=copy>
                    {move || match copied.get() {
                        Copied::Not => "Copy",
                        Copied::Yes => "Copied",
                        Copied::Refused => "Press Ctrl+C",
                    }}
                </button>
            </div>
            <span class="visually-hidden" role="status">
                {move || match copied.get() {
                    Copied::Not => "",
                    Copied::Yes => "Copied to the clipboard.",
                    Copied::Refused => "The browser did not allow copying: the text is selected, press Ctrl+C.",
                }}
            </span>
        </div>
    }
}

/// Writes `text` to the clipboard; false when the browser refuses.
#[cfg(feature = "hydrate")]
async fn write_clipboard(text: &str) -> bool {
    let promise = window().navigator().clipboard().write_text(text);
    wasm_bindgen_futures::JsFuture::from(promise).await.is_ok()
}

#[cfg(not(feature = "hydrate"))]
async fn write_clipboard(_text: &str) -> bool {
    false
}

/// Selects the field's text, for the person to copy themself.
fn select_field(id: &str) {
    #[cfg(feature = "hydrate")]
    {
        use wasm_bindgen::JsCast;
        if let Some(field) = document().get_element_by_id(id) {
            if let Ok(input) = field.clone().dyn_into::<web_sys::HtmlInputElement>() {
                input.select();
            } else if let Ok(area) = field.dyn_into::<web_sys::HtmlTextAreaElement>() {
                area.select();
            }
        }
    }
    #[cfg(not(feature = "hydrate"))]
    let _ = id;
}
