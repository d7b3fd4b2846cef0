//! The emails a campaign sends its participants: the kinds, their templates with placeholders,
//! checked as typed, and what the Emails step saves.

use serde::{Deserialize, Serialize};

use super::validate;

keyed!(
    /// What an email tells its reader.
    EmailKind {
        Welcome => "welcome", "Welcome",
        FriendJoined => "friend_joined", "A friend joined through your link",
        FriendQualified => "friend_qualified", "Your friend's referral qualified",
        RewardEarned => "reward_earned", "You earned a reward",
        FriendReward => "friend_reward", "The friend's own reward",
        Reminder => "reminder", "Reminder to share",
        YourLink => "your_link", "Your link, on request",
    }
);

impl EmailKind {
    /// Who it goes to and when, for the Emails step.
    pub fn describe(self) -> &'static str {
        match self {
            EmailKind::Welcome => "To everyone who joins (or is imported or synced): their referral link, code and personal page.",
            EmailKind::FriendJoined => "To the person referring, each time someone joins through their link.",
            EmailKind::FriendQualified => "To the person referring, when an invited friend reaches the target.",
            EmailKind::RewardEarned => "To the person referring, when a reward of theirs is issued: the amount, and the promotion code or credit.",
            EmailKind::FriendReward => "To the invited friend, when their own reward is issued.",
            EmailKind::Reminder => "Once, to people who have referred nobody some days after joining.",
            EmailKind::YourLink => "To someone who asks for their link again on the campaign's pages. Sent even to people who unsubscribed.",
        }
    }

    /// Campaign news, which an unsubscribed person no longer gets; the link asked for is not.
    pub fn is_marketing(self) -> bool {
        self != EmailKind::YourLink
    }

    /// The placeholders its template may use.
    pub fn placeholders(self) -> &'static [Placeholder] {
        use Placeholder::*;
        match self {
            EmailKind::FriendJoined | EmailKind::FriendQualified => &[
                FirstName,
                ReferralLink,
                Code,
                PersonalPage,
                Campaign,
                FriendFirstName,
                FriendOffer,
            ],
            EmailKind::RewardEarned => &[
                FirstName,
                ReferralLink,
                Code,
                PersonalPage,
                Campaign,
                FriendFirstName,
                Reward,
                FriendOffer,
            ],
            EmailKind::FriendReward => &[
                FirstName,
                ReferralLink,
                Code,
                PersonalPage,
                Campaign,
                FriendFirstName,
                Reward,
            ],
            _ => &[
                FirstName,
                ReferralLink,
                Code,
                PersonalPage,
                Campaign,
                FriendOffer,
            ],
        }
    }

    fn default_subject(self) -> &'static str {
        match self {
            EmailKind::Welcome => "Your referral link for {{campaign}}",
            EmailKind::FriendJoined => "{{friend_first_name}} joined through your link",
            EmailKind::FriendQualified => "{{friend_first_name}}'s referral qualified",
            EmailKind::RewardEarned => "You earned a reward: {{reward}}",
            EmailKind::FriendReward => "Your reward from {{campaign}}: {{reward}}",
            EmailKind::Reminder => "Your friends are waiting for your link",
            EmailKind::YourLink => "Your link for {{campaign}}",
        }
    }

    fn default_body(self) -> &'static str {
        match self {
            EmailKind::Welcome => "Hi {{first_name}},\n\nThanks for joining {{campaign}}. Share your link with friends:\n{{referral_link}}\n\nYour code is {{code}}. See who joined and what you earned on your page:\n{{personal_page}}",
            EmailKind::FriendJoined => "Hi {{first_name}},\n\n{{friend_first_name}} just joined {{campaign}} through your link. Once their referral qualifies, you earn your reward.\n\nYour page: {{personal_page}}",
            EmailKind::FriendQualified => "Hi {{first_name}},\n\n{{friend_first_name}}'s referral qualified. Thank you for spreading the word!\n\nYour page: {{personal_page}}",
            EmailKind::RewardEarned => "Hi {{first_name}},\n\nYou earned {{reward}} for referring {{friend_first_name}}.\n\nKeep sharing your link: {{referral_link}}",
            EmailKind::FriendReward => "Hi {{first_name}},\n\nWelcome aboard! Your reward: {{reward}}.\n\nShare your own link: {{referral_link}}",
            EmailKind::Reminder => "Hi {{first_name}},\n\nYou have not shared {{campaign}} yet. Your link is waiting:\n{{referral_link}}",
            EmailKind::YourLink => "Hi {{first_name}},\n\nHere is your page for {{campaign}}, with your referral link and code:\n{{personal_page}}",
        }
    }

    /// The email as Refloop writes it until the team edits it. Only the link someone asks for
    /// is switched on: a campaign emails its participants once its team says so.
    pub fn default_template(self) -> EmailTemplate {
        EmailTemplate {
            kind: self,
            enabled: self == EmailKind::YourLink,
            subject: self.default_subject().into(),
            body: self.default_body().into(),
        }
    }
}

keyed!(
    /// What a template may say about its reader, written `{{key}}`.
    Placeholder {
        FirstName => "first_name", "Their first name",
        ReferralLink => "referral_link", "Their referral link",
        Code => "code", "Their referral code",
        PersonalPage => "personal_page", "Their personal page",
        Campaign => "campaign", "The campaign's name",
        FriendFirstName => "friend_first_name", "The friend's first name",
        Reward => "reward", "The reward (amount, and promotion code or credit)",
        FriendOffer => "friend_offer", "What their friends get with their promotion code (with a friend's offer; empty until the code is made)",
    }
);

/// A piece of a template: text as written, or a placeholder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece<'a> {
    Text(&'a str),
    Value(Placeholder),
}

/// Splits a template into text and placeholders; the error names what is wrong, e.g. an
/// unknown placeholder, one this email cannot fill, or braces left open.
pub fn parse(template: &str, kind: EmailKind) -> Result<Vec<Piece<'_>>, String> {
    let mut pieces = Vec::new();
    let mut rest = template;
    while let Some(open) = rest.find("{{") {
        if open > 0 {
            pieces.push(Piece::Text(&rest[..open]));
        }
        let after = &rest[open + 2..];
        let Some(close) = after.find("}}") else {
            return Err(format!(
                "“{{{{{}” is not closed: write placeholders as {{{{first_name}}}}.",
                after.chars().take(20).collect::<String>()
            ));
        };
        let key = after[..close].trim();
        let Some(p) = Placeholder::from_key(key) else {
            return Err(format!(
                "{{{{{key}}}}} is not a placeholder. You can use {}.",
                names(kind.placeholders())
            ));
        };
        if !kind.placeholders().contains(&p) {
            return Err(format!(
                "{{{{{key}}}}} has no value in the “{}” email. You can use {}.",
                kind.label(),
                names(kind.placeholders())
            ));
        }
        pieces.push(Piece::Value(p));
        rest = &after[close + 2..];
    }
    if !rest.is_empty() {
        pieces.push(Piece::Text(rest));
    }
    Ok(pieces)
}

fn names(placeholders: &[Placeholder]) -> String {
    placeholders
        .iter()
        .map(|p| format!("{{{{{}}}}}", p.key()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Fills a checked template's placeholders with `value`. The result is plain text: whoever
/// puts it into HTML escapes it.
pub fn fill(pieces: &[Piece<'_>], value: impl Fn(Placeholder) -> String) -> String {
    pieces
        .iter()
        .map(|p| match p {
            Piece::Text(t) => (*t).to_string(),
            Piece::Value(v) => value(*v),
        })
        .collect()
}

/// One email of a campaign as the team wrote it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailTemplate {
    pub kind: EmailKind,
    pub enabled: bool,
    pub subject: String,
    pub body: String,
}

/// A campaign's emails, checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailSettings {
    /// The name the emails come from (the address is the instance's `--smtp-from`).
    pub sender_name: String,
    /// Where replies go (empty: to the sender).
    pub reply_to: String,
    /// Days after joining before the reminder goes to someone who has referred nobody.
    pub reminder_days: u32,
    /// One per kind, in `EmailKind::ALL` order.
    pub templates: Vec<EmailTemplate>,
}

impl EmailSettings {
    /// What a campaign sends before its team opens the Emails step.
    pub fn defaults(campaign_name: &str) -> EmailSettings {
        EmailSettings {
            sender_name: campaign_name.chars().take(MAX_SENDER).collect(),
            reply_to: String::new(),
            reminder_days: 7,
            templates: EmailKind::ALL
                .iter()
                .map(|k| k.default_template())
                .collect(),
        }
    }

    /// The template of `kind` (the default one if these settings predate it).
    pub fn template(&self, kind: EmailKind) -> EmailTemplate {
        self.templates
            .iter()
            .find(|t| t.kind == kind)
            .cloned()
            .unwrap_or_else(|| kind.default_template())
    }

    pub fn enabled(&self, kind: EmailKind) -> bool {
        self.template(kind).enabled
    }

    pub fn to_form(&self) -> EmailForm {
        EmailForm {
            sender_name: self.sender_name.clone(),
            reply_to: self.reply_to.clone(),
            reminder_days: self.reminder_days.to_string(),
            templates: EmailKind::ALL.iter().map(|k| self.template(*k)).collect(),
        }
    }
}

/// What the Emails step sends.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct EmailForm {
    pub sender_name: String,
    pub reply_to: String,
    pub reminder_days: String,
    pub templates: Vec<EmailTemplate>,
}

const MAX_SENDER: usize = 80;
const MAX_SUBJECT: usize = 200;
const MAX_BODY: usize = 10_000;

/// Checks one template; each error names its field (`{kind}.subject`, `{kind}.body`).
pub fn check_template(t: &EmailTemplate) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    let label = t.kind.label();
    let subject = t.subject.trim();
    if subject.is_empty() {
        errors.push(("subject", format!("“{label}”: write a subject.")));
    } else if subject.chars().count() > MAX_SUBJECT {
        errors.push((
            "subject",
            format!("“{label}”: the subject is longer than {MAX_SUBJECT} characters."),
        ));
    } else if subject.contains(['\r', '\n']) {
        errors.push(("subject", format!("“{label}”: the subject is one line.")));
    } else if let Err(e) = parse(subject, t.kind) {
        errors.push(("subject", format!("“{label}” subject: {e}")));
    }
    if t.body.trim().is_empty() {
        errors.push(("body", format!("“{label}”: write the message.")));
    } else if t.body.chars().count() > MAX_BODY {
        errors.push((
            "body",
            format!("“{label}”: the message is longer than {MAX_BODY} characters."),
        ));
    } else if let Err(e) = parse(&t.body, t.kind) {
        errors.push(("body", format!("“{label}” message: {e}")));
    }
    errors
        .into_iter()
        .map(|(field, m)| (format!("{}.{field}", t.kind.key()), m))
        .collect()
}

/// Checks the Emails step; each error names its field.
pub fn check_emails(f: &EmailForm) -> Result<EmailSettings, Vec<(String, String)>> {
    let mut errors = Vec::new();
    let sender_name = match validate::name(&f.sender_name, "the sender's name", MAX_SENDER) {
        Ok(n) if n.contains(['"', '<', '>', '\r', '\n']) => {
            errors.push((
                "sender_name".into(),
                "The sender's name cannot contain quotes or angle brackets.".into(),
            ));
            n
        }
        Ok(n) => n,
        Err(e) => {
            errors.push(("sender_name".into(), e));
            String::new()
        }
    };
    let reply_to = match f.reply_to.trim() {
        "" => String::new(),
        raw => validate::email(raw).unwrap_or_else(|e| {
            errors.push(("reply_to".into(), format!("Reply-to: {e}")));
            String::new()
        }),
    };
    let reminder_days = match f.reminder_days.trim().parse::<u32>() {
        Ok(d @ 1..=365) => d,
        _ => {
            errors.push((
                "reminder_days".into(),
                "The reminder goes 1 to 365 days after joining: give a whole number of days."
                    .into(),
            ));
            7
        }
    };
    let mut templates = Vec::new();
    for kind in EmailKind::ALL {
        let t = f
            .templates
            .iter()
            .find(|t| t.kind == kind)
            .cloned()
            .unwrap_or_else(|| kind.default_template());
        errors.extend(check_template(&t));
        templates.push(EmailTemplate {
            subject: t.subject.trim().to_string(),
            body: t.body.trim().to_string(),
            ..t
        });
    }
    if !errors.is_empty() {
        return Err(errors);
    }
    Ok(EmailSettings {
        sender_name,
        reply_to,
        reminder_days,
        templates,
    })
}

/// An email as a participant would get it, for the Emails step's preview.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EmailPreview {
    /// Whose data fills it in, or that the values are examples.
    pub reader: String,
    /// "Spring referrals <hello@acme.test>"
    pub from: String,
    pub subject: String,
    pub text: String,
    /// A whole HTML document, every value escaped: shown in a sandboxed frame.
    pub html: String,
}

/// What the Emails step shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignEmails {
    pub campaign_id: String,
    pub form: EmailForm,
    /// Why the viewer cannot change them, if they cannot.
    pub read_only: Option<String>,
    /// Whether this instance has a mail server (`REFLOOP_SMTP_URL`); without one nothing is sent.
    pub smtp_configured: bool,
    /// The address the emails come from.
    pub from_address: String,
}

keyed!(
    /// What became of an email.
    EmailStatus {
        Sending => "sending", "Sending",
        Sent => "sent", "Sent",
        Failed => "failed", "Failed",
        Skipped => "skipped", "Not sent",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_are_checked_and_filled() {
        let pieces = parse(
            "Hi {{ first_name }}, share {{referral_link}}!",
            EmailKind::Welcome,
        )
        .unwrap();
        let text = fill(&pieces, |p| match p {
            Placeholder::FirstName => "Ann".into(),
            Placeholder::ReferralLink => "https://x.test/r/ANN".into(),
            _ => unreachable!(),
        });
        assert_eq!(text, "Hi Ann, share https://x.test/r/ANN!");
    }

    #[test]
    fn an_unknown_or_unfillable_placeholder_is_named() {
        let e = parse("Hi {{firstname}}", EmailKind::Welcome).unwrap_err();
        assert!(e.contains("{{firstname}} is not a placeholder"), "{e}");
        assert!(e.contains("{{first_name}}"), "{e}");
        let e = parse("You earned {{reward}}", EmailKind::Welcome).unwrap_err();
        assert!(
            e.contains("{{reward}} has no value in the “Welcome” email"),
            "{e}"
        );
        let e = parse("Hi {{first_name", EmailKind::Welcome).unwrap_err();
        assert!(e.contains("is not closed"), "{e}");
    }

    #[test]
    fn the_defaults_pass_their_own_checks() {
        let settings = EmailSettings::defaults("Spring referrals");
        assert_eq!(check_emails(&settings.to_form()), Ok(settings));
    }

    #[test]
    fn the_form_names_each_wrong_field() {
        let mut f = EmailSettings::defaults("Spring").to_form();
        f.reply_to = "not an address".into();
        f.reminder_days = "0".into();
        f.templates[0].subject = "Hello {{nme}}".into();
        f.templates[1].body = " ".into();
        let fields: Vec<String> = check_emails(&f)
            .unwrap_err()
            .into_iter()
            .map(|(field, _)| field)
            .collect();
        assert_eq!(
            fields,
            [
                "reply_to",
                "reminder_days",
                "welcome.subject",
                "friend_joined.body"
            ]
        );
    }
}
