//! Writes a campaign email for one reader: the subject and the plain-text part filled in from
//! the template, and the HTML part rendered with Leptos's views, so every value is escaped and
//! the links are links.

use leptos::{prelude::*, tachys::view::RenderHtml};

use crate::{
    db::{participants::ParticipantRow, rewards::RewardRow},
    domain::{
        emails::{fill, parse, EmailKind, EmailSettings, Piece, Placeholder},
        participants::referral_link,
    },
    mail::Email,
    secrets::Sealer,
};

/// What a template's placeholders stand for, for one reader.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Values {
    pub first_name: String,
    pub referral_link: String,
    pub code: String,
    pub personal_page: String,
    pub campaign: String,
    pub friend_first_name: String,
    pub reward: String,
    /// "20% off at checkout with the code ANN-7K2Q" (people referring, with a friend's offer).
    pub friend_offer: String,
}

impl Values {
    /// The reader's own values; the friend and the reward, where the email has them.
    pub fn of(public_url: &str, campaign: &str, reader: &ParticipantRow) -> Values {
        Values {
            first_name: if reader.first_name.is_empty() {
                "there".into()
            } else {
                reader.first_name.clone()
            },
            referral_link: referral_link(public_url, &reader.code),
            code: reader.code.clone(),
            personal_page: format!(
                "{}/p/{}",
                public_url.trim_end_matches('/'),
                reader.page_token
            ),
            campaign: campaign.into(),
            ..Default::default()
        }
    }

    fn get(&self, p: Placeholder) -> String {
        match p {
            Placeholder::FirstName => &self.first_name,
            Placeholder::ReferralLink => &self.referral_link,
            Placeholder::Code => &self.code,
            Placeholder::PersonalPage => &self.personal_page,
            Placeholder::Campaign => &self.campaign,
            Placeholder::FriendFirstName => &self.friend_first_name,
            Placeholder::Reward => &self.reward,
            Placeholder::FriendOffer => &self.friend_offer,
        }
        .clone()
    }
}

/// How an email names a reward: what it is, and the promotion code or where it was applied.
pub fn reward_text(r: &RewardRow) -> String {
    match (&r.code, &r.customer_id) {
        (Some(code), _) => format!("{} (promotion code {code})", r.description),
        (None, Some(_)) => format!("{}, applied to your account", r.description),
        _ => r.description.clone(),
    }
}

/// Where one click unsubscribes this participant: their id and a token only this instance's
/// secret key makes.
pub fn unsubscribe_link(public_url: &str, sealer: &Sealer, participant_id: &str) -> String {
    format!(
        "{}/unsubscribe/{participant_id}/{}",
        public_url.trim_end_matches('/'),
        unsubscribe_token(sealer, participant_id)
    )
}

fn unsubscribe_token(sealer: &Sealer, participant_id: &str) -> String {
    sealer.derive(&format!("unsubscribe {participant_id}"))[..32].to_string()
}

/// Whether `token` is the one this instance's key makes for the participant (compared in
/// constant time).
pub fn unsubscribe_token_matches(sealer: &Sealer, participant_id: &str, token: &str) -> bool {
    let expected = unsubscribe_token(sealer, participant_id);
    expected.len() == token.len()
        && expected
            .bytes()
            .zip(token.bytes())
            .fold(0u8, |diff, (a, b)| diff | (a ^ b))
            == 0
}

/// The email of `kind` for `to`, from the campaign's template. An error names what is wrong
/// with a template saved before its checks (it is not sent).
pub fn compose(
    settings: &EmailSettings,
    kind: EmailKind,
    values: &Values,
    to: &str,
    unsubscribe: Option<String>,
) -> Result<Email, String> {
    let template = settings.template(kind);
    let subject = fill(&parse(&template.subject, kind)?, |p| values.get(p));
    let body = parse(&template.body, kind)?;
    let footer = format!("You get this email because you joined {}.", values.campaign);
    let mut text = fill(&body, |p| values.get(p));
    text.push_str("\n\n-- \n");
    text.push_str(&footer);
    if let Some(url) = &unsubscribe {
        text.push_str(&format!("\nUnsubscribe: {url}"));
    }
    Ok(Email {
        to: to.into(),
        from_name: Some(settings.sender_name.clone()).filter(|n| !n.is_empty()),
        reply_to: Some(settings.reply_to.clone()).filter(|r| !r.is_empty()),
        html: html(
            &subject,
            &paragraphs(&body, values),
            &footer,
            unsubscribe.clone(),
        ),
        subject,
        text,
        unsubscribe,
    })
}

/// An email Refloop writes itself (an invitation, a password reset link): the text as given,
/// and an HTML part with its paragraphs, each line that is a link made a link.
pub fn plain(to: &str, subject: &str, text: &str) -> Email {
    let paragraphs: Vec<Vec<Inline>> = text
        .split("\n\n")
        .map(|block| {
            let mut inlines = Vec::new();
            for (i, line) in block.lines().enumerate() {
                if i > 0 {
                    inlines.push(Inline::Break);
                }
                let line = line.trim();
                inlines.push(
                    if line.starts_with("https://") || line.starts_with("http://") {
                        Inline::Link(line.to_string())
                    } else {
                        Inline::Text(line.to_string())
                    },
                );
            }
            inlines
        })
        .filter(|p| !p.is_empty())
        .collect();
    Email {
        to: to.into(),
        from_name: None,
        reply_to: None,
        subject: subject.into(),
        text: text.into(),
        html: html(subject, &paragraphs, "Sent by Refloop.", None),
        unsubscribe: None,
    }
}

/// A piece of a paragraph in the HTML part.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Inline {
    Text(String),
    Break,
    Link(String),
}

/// The body in paragraphs (a blank line between two), lines kept, the links made links.
fn paragraphs(body: &[Piece<'_>], values: &Values) -> Vec<Vec<Inline>> {
    let mut paragraphs = vec![Vec::new()];
    for piece in body {
        match piece {
            Piece::Value(p @ (Placeholder::ReferralLink | Placeholder::PersonalPage)) => paragraphs
                .last_mut()
                .unwrap()
                .push(Inline::Link(values.get(*p))),
            Piece::Value(p) => paragraphs
                .last_mut()
                .unwrap()
                .push(Inline::Text(values.get(*p))),
            Piece::Text(text) => {
                let text = text.replace("\r\n", "\n");
                for (i, block) in text.split("\n\n").enumerate() {
                    if i > 0 {
                        paragraphs.push(Vec::new());
                    }
                    for (j, line) in block.split('\n').enumerate() {
                        let current = paragraphs.last_mut().unwrap();
                        if j > 0 {
                            current.push(Inline::Break);
                        }
                        if !line.is_empty() {
                            current.push(Inline::Text(line.to_string()));
                        }
                    }
                }
            }
        }
    }
    paragraphs.retain(|p| p.iter().any(|i| i != &Inline::Break));
    paragraphs
}

const FONT: &str = "font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;\
                    font-size:16px;line-height:1.5;color:#1f2933";

fn html(
    subject: &str,
    paragraphs: &[Vec<Inline>],
    footer: &str,
    unsubscribe: Option<String>,
) -> String {
    let body = paragraphs
        .iter()
        .map(|p| {
            let inlines = p
                .iter()
                .map(|i| match i {
                    Inline::Text(t) => t.clone().into_any(),
                    Inline::Break => view! { <br /> }.into_any(),
                    Inline::Link(url) => {
                        view! { <a href=url.clone() style="color:#4338ca">{url.clone()}</a> }
                            .into_any()
                    }
                })
                .collect_view();
            view! { <p style="margin:0 0 16px">{inlines}</p> }
        })
        .collect_view();
    let head = view! {
        <head>
            <meta charset="utf-8" />
            <meta name="viewport" content="width=device-width" />
            <title>{subject.to_string()}</title>
        </head>
    };
    let main = view! {
        <body style="margin:0;padding:24px;background:#f5f7fa">
            <div style=format!(
                "max-width:560px;margin:0 auto;background:#fff;padding:24px;border-radius:8px;{FONT}",
            )>
                {body}
                <hr style="border:none;border-top:1px solid #e4e7eb;margin:24px 0 12px" />
                <p style="margin:0;font-size:13px;color:#616e7c">
                    {footer.to_string()} " "
                    {unsubscribe.map(|url| view! { <a href=url style="color:#616e7c">"Unsubscribe"</a> })}
                </p>
            </div>
        </body>
    };
    // Leptos marks the boundaries between text nodes with empty comments (`<!>`) for
    // hydration; an email is never hydrated. Every `<` a value brings is escaped, so each `<!>`
    // left is one of those marks.
    format!(
        "<!DOCTYPE html><html lang=\"en\">{}{}</html>",
        head.to_html(),
        main.to_html()
    )
    .replace("<!>", "")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values() -> Values {
        Values {
            first_name: "<Ann>".into(),
            referral_link: "https://refer.test/r/ANN7".into(),
            code: "ANN7".into(),
            personal_page: "https://refer.test/p/tok".into(),
            campaign: "Spring & Co".into(),
            ..Default::default()
        }
    }

    #[test]
    fn both_parts_are_filled_and_the_html_escapes_every_value() {
        let settings = EmailSettings::defaults("Spring & Co");
        let email = compose(
            &settings,
            EmailKind::Welcome,
            &values(),
            "ann@x.test",
            Some("https://refer.test/unsubscribe/par_1/abc".into()),
        )
        .unwrap();
        assert_eq!(email.subject, "Your referral link for Spring & Co");
        assert!(email.text.starts_with("Hi <Ann>,\n\n"), "{}", email.text);
        assert!(email.text.contains("https://refer.test/r/ANN7"));
        assert!(email
            .text
            .contains("Unsubscribe: https://refer.test/unsubscribe/par_1/abc"));
        assert!(email.html.contains("Hi &lt;Ann&gt;,"), "{}", email.html);
        assert!(!email.html.contains("<Ann>"));
        assert!(email.html.contains(
            r#"<a href="https://refer.test/r/ANN7" style="color:#4338ca;">https://refer.test/r/ANN7</a>"#
        ));
        assert!(!email.html.contains("<!>"));
        assert!(email.html.contains("Spring &amp; Co"));
        assert!(email
            .html
            .contains(r#"<a href="https://refer.test/unsubscribe/par_1/abc""#));
        assert_eq!(email.from_name.as_deref(), Some("Spring & Co"));
    }

    #[test]
    fn blank_lines_make_paragraphs_and_lines_are_kept() {
        let body = parse("One\nline two\n\n{{code}}\n\n\n", EmailKind::Welcome).unwrap();
        assert_eq!(
            paragraphs(&body, &values()),
            vec![
                vec![
                    Inline::Text("One".into()),
                    Inline::Break,
                    Inline::Text("line two".into())
                ],
                vec![Inline::Text("ANN7".into())],
            ]
        );
    }
}
