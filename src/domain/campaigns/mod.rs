//! Campaigns and who may join them: the rules the public pages, the builder and imports share.
//! Pure Rust, so the browser can check a form as it is filled in and the server decides with
//! the very same code.

mod forms;
mod joining;
mod toggles;

pub use forms::{
    check_form, check_form_fields, default_form, field_key, live_change_warnings, normalise_form,
    FieldKind, FormField, MAX_NUMBER_CHARS,
};
pub use joining::{limit_warning, may_join, JoinContext, JoinRefusal};
pub use toggles::{toggle_blocker, Blocker, PromoteToggle, ToggleState};

use serde::{Deserialize, Serialize};

keyed!(
    /// Where a campaign is in its life.
    CampaignStatus {
        Draft => "draft", "Draft",
        Live => "live", "Live",
        Paused => "paused", "Paused",
        Ended => "ended", "Ended",
    }
);

/// The status people meet: a live campaign is not open before its start date and has ended
/// after its end date.
pub fn open_status(
    status: CampaignStatus,
    starts_at: Option<i64>,
    ends_at: Option<i64>,
    now: i64,
) -> CampaignStatus {
    match status {
        CampaignStatus::Live if starts_at.is_some_and(|s| now < s) => CampaignStatus::Draft,
        CampaignStatus::Live if ends_at.is_some_and(|e| now >= e) => CampaignStatus::Ended,
        other => other,
    }
}

/// The merchant's page referral links may lead to: empty (Refloop's join page), or an absolute
/// http(s) address of at most 2,000 characters.
pub fn check_landing_url(raw: &str) -> Result<String, String> {
    let url = raw.trim();
    if url.is_empty() {
        return Ok(String::new());
    }
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .ok_or_else(|| {
            "Enter the full address of your page, starting with https://.".to_string()
        })?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() || host.starts_with('.') || host.starts_with(':') {
        return Err(format!("“{url}” has no site name after the https://."));
    }
    if url.len() > 2_000 {
        return Err("Keep the address to 2,000 characters.".into());
    }
    if url
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || "\"'<>`".contains(c))
    {
        return Err("The address may not contain spaces, quotes or angle brackets.".into());
    }
    Ok(url.to_string())
}

/// Where a referral link sends its visitor when the campaign has a landing page: the page with
/// `ref={code}` (and `promo={promotion code}` when the person has one) added to its query
/// (before any `#fragment`).
pub fn landing_for(landing_url: &str, code: &str, promo: Option<&str>) -> String {
    let (base, fragment) = match landing_url.split_once('#') {
        Some((b, f)) => (b, format!("#{f}")),
        None => (landing_url, String::new()),
    };
    let joiner = if !base.contains('?') {
        "?"
    } else if base.ends_with('?') || base.ends_with('&') {
        ""
    } else {
        "&"
    };
    let promo = promo.map(|p| format!("&promo={p}")).unwrap_or_default();
    format!("{base}{joiner}ref={code}{promo}{fragment}")
}

/// A public slug: 3–60 lowercase letters, digits and single dashes, not at either end.
pub fn check_slug(raw: &str) -> Result<String, String> {
    let slug = raw.trim().to_lowercase();
    if slug.len() < 3 || slug.len() > 60 {
        return Err("Use 3 to 60 characters for the link name.".into());
    }
    if !slug
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(
            "Use only letters, digits and dashes in the link name (e.g. spring-referrals).".into(),
        );
    }
    if slug.starts_with('-') || slug.ends_with('-') || slug.contains("--") {
        return Err("Dashes go between words in the link name, one at a time.".into());
    }
    Ok(slug)
}

/// The builder's Setup step, as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignSetup {
    pub name: String,
    pub slug: String,
    /// "YYYY-MM-DD" or empty.
    pub starts_on: String,
    pub ends_on: String,
    /// A number, or empty for no cap.
    pub referral_cap: String,
    pub share_text: String,
    /// The merchant's page referral links lead to, or empty for Refloop's join page.
    #[serde(default)]
    pub landing_url: String,
}

/// A campaign in the list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignSummary {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub status: CampaignStatus,
    pub participants: i64,
    pub created_at: i64,
}

/// A campaign as the builder edits it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignDetail {
    pub id: String,
    pub name: String,
    pub slug: String,
    pub status: CampaignStatus,
    pub starts_at: Option<i64>,
    pub ends_at: Option<i64>,
    pub referral_cap: Option<i64>,
    pub share_text: String,
    pub landing_url: String,
    pub referrer_form: Vec<FormField>,
    pub friend_form: Vec<FormField>,
    pub toggles: Vec<ToggleState>,
    /// `https://refloop.example.com/j/{slug}`.
    pub join_link: String,
    /// The referral link with `{code}` where each person's code goes.
    pub referral_link_format: String,
    /// The `<script>` tag of `/refloop.js` for the merchant's site, for this campaign.
    pub snippet: String,
    pub participants: i64,
}

/// A campaign's public join page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublicCampaign {
    pub name: String,
    pub slug: String,
    pub form: Vec<FormField>,
    /// Why nobody can join now (paused, ended, not open, full), if so.
    pub closed: Option<String>,
    /// The person who invited the visitor, when they came through a referral link.
    pub referrer_name: Option<String>,
    pub referral_code: Option<String>,
    /// Where a referral link sends its visitor instead (the merchant's page, with the code).
    pub landing: Option<String>,
}

/// The personal page of someone who joined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PersonalPage {
    pub campaign_name: String,
    pub first_name: String,
    pub code: String,
    pub referral_link: String,
    pub share_text: String,
    pub friends_joined: i64,
    pub friends_qualified: i64,
    /// What they have earned so far, one line each (with promotion codes).
    pub rewards: Vec<String>,
    pub invited_by: Option<String>,
    /// "Your friends get 20% off at checkout with your code ANN-7K2Q." (people referring, when
    /// the campaign has a friend's offer).
    #[serde(default)]
    pub friend_offer: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn landing_pages_are_full_addresses_and_carry_the_code() {
        assert_eq!(check_landing_url("  "), Ok(String::new()));
        assert_eq!(
            check_landing_url(" https://shop.example/spring "),
            Ok("https://shop.example/spring".into())
        );
        assert!(check_landing_url("shop.example")
            .unwrap_err()
            .contains("https://"));
        assert!(check_landing_url("https:///x")
            .unwrap_err()
            .contains("no site name"));
        assert!(check_landing_url("https://shop.example/\"><script>")
            .unwrap_err()
            .contains("quotes"));
        assert_eq!(
            landing_for("https://shop.example/", "ann7k2q9", None),
            "https://shop.example/?ref=ann7k2q9"
        );
        assert_eq!(
            landing_for(
                "https://shop.example/?utm=x#buy",
                "ann7k2q9",
                Some("ANN-7K2Q")
            ),
            "https://shop.example/?utm=x&ref=ann7k2q9&promo=ANN-7K2Q#buy"
        );
    }

    fn field(key: &str, kind: FieldKind, required: bool) -> FormField {
        FormField {
            key: key.into(),
            label: key.replace('_', " "),
            kind,
            required,
        }
    }

    fn live<'a>(existing: &'a [String]) -> JoinContext<'a> {
        JoinContext {
            status: CampaignStatus::Live,
            existing,
            referrer: None,
            referral_cap: None,
            account_participants: 10,
            participant_limit: 5_000,
        }
    }

    #[test]
    fn slugs_are_checked_and_normalised() {
        assert_eq!(
            check_slug(" Spring-Referrals ").unwrap(),
            "spring-referrals"
        );
        assert!(check_slug("ab").is_err());
        assert!(check_slug("spring referrals")
            .unwrap_err()
            .contains("letters, digits and dashes"));
        assert!(check_slug("-spring").is_err());
        assert!(check_slug("spring--x").is_err());
        for s in ["draft", "live", "paused", "ended"] {
            assert_eq!(CampaignStatus::from_key(s).unwrap().key(), s);
        }
    }

    #[test]
    fn fields_check_their_values() {
        let email = field("email", FieldKind::Email, true);
        assert_eq!(
            email.check(Some(" Ann@Example.com ")).unwrap(),
            "ann@example.com"
        );
        assert_eq!(email.check(None).unwrap_err(), "Fill in email.");
        let size = field("company_size", FieldKind::Number, false);
        assert_eq!(size.check(Some("")).unwrap(), "");
        assert!(size
            .check(Some("many"))
            .unwrap_err()
            .contains("must be a number"));
        assert_eq!(size.check(Some("1e3")).unwrap(), "1e3");
        let huge = format!("1{}", "0".repeat(100_000));
        assert!(size.check(Some(&huge)).unwrap_err().contains("too long"));
        let plan = field(
            "plan",
            FieldKind::Select(vec!["basic".into(), "pro".into()]),
            true,
        );
        assert_eq!(plan.check(Some("pro")).unwrap(), "pro");
        assert!(plan.check(Some("gold")).is_err());
        let terms = field("terms", FieldKind::Checkbox, true);
        assert!(terms.check(None).unwrap_err().contains("Tick"));
        assert_eq!(terms.check(Some("on")).unwrap(), "yes");
    }

    #[test]
    fn a_form_keeps_a_required_email() {
        let first = field("first_name", FieldKind::FirstName, true);
        assert!(check_form(std::slice::from_ref(&first))
            .unwrap_err()
            .contains("needs an email field"));
        assert!(
            check_form(&[first.clone(), field("email", FieldKind::Email, false)])
                .unwrap_err()
                .contains("must be required")
        );
        assert!(check_form(&[first.clone(), field("email", FieldKind::Email, true)]).is_ok());
        assert!(
            check_form(&[first.clone(), first, field("email", FieldKind::Email, true)])
                .unwrap_err()
                .contains("share the key")
        );
    }

    #[test]
    fn the_join_rules() {
        let existing = vec!["ann@example.com".to_string()];
        assert_eq!(may_join("bob@example.com", &live(&existing)), Ok(()));
        assert_eq!(
            may_join("ann@example.com", &live(&existing)),
            Err(JoinRefusal::AlreadyJoined)
        );
        for status in [
            CampaignStatus::Draft,
            CampaignStatus::Paused,
            CampaignStatus::Ended,
        ] {
            let ctx = JoinContext {
                status,
                ..live(&existing)
            };
            assert_eq!(
                may_join("bob@example.com", &ctx),
                Err(JoinRefusal::NotOpen(status))
            );
        }
        let referred = JoinContext {
            referrer: Some(("ann@example.com", 2)),
            referral_cap: Some(3),
            ..live(&existing)
        };
        assert_eq!(may_join("bob@example.com", &referred), Ok(()));
        assert_eq!(
            may_join("ann@example.com", &referred),
            Err(JoinRefusal::SelfReferral)
        );
        let capped = JoinContext {
            referrer: Some(("ann@example.com", 3)),
            referral_cap: Some(3),
            ..live(&existing)
        };
        assert_eq!(
            may_join("bob@example.com", &capped),
            Err(JoinRefusal::ReferrerAtCap(3))
        );
        assert!(JoinRefusal::ReferrerAtCap(3)
            .message()
            .contains("limit of 3 referrals"));
        let full = JoinContext {
            account_participants: 5_000,
            ..live(&existing)
        };
        assert_eq!(
            may_join("bob@example.com", &full),
            Err(JoinRefusal::AccountFull)
        );
    }

    #[test]
    fn dates_open_and_close_a_live_campaign() {
        let live = CampaignStatus::Live;
        assert_eq!(
            open_status(live, Some(100), Some(200), 50),
            CampaignStatus::Draft
        );
        assert_eq!(open_status(live, Some(100), Some(200), 150), live);
        assert_eq!(
            open_status(live, Some(100), Some(200), 200),
            CampaignStatus::Ended
        );
        assert_eq!(
            open_status(CampaignStatus::Paused, None, None, 150),
            CampaignStatus::Paused
        );
    }

    #[test]
    fn builder_checks_and_live_warnings() {
        assert_eq!(field_key(" Company size (approx.) "), "company_size_approx");
        let mut fields = default_form();
        assert!(check_form_fields(&fields).is_empty());
        fields.push(FormField {
            key: String::new(),
            label: "  ".into(),
            kind: FieldKind::Select(vec![" ".into()]),
            required: false,
        });
        let errors = check_form_fields(&fields);
        assert_eq!(
            errors.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            vec!["3.label", "3.options"]
        );
        let without_email: Vec<FormField> = default_form()
            .into_iter()
            .filter(|f| f.kind != FieldKind::Email)
            .collect();
        assert_eq!(check_form_fields(&without_email)[0].0, "form");

        let old = default_form();
        let mut new = default_form();
        new.retain(|f| f.key != "last_name");
        new[0].kind = FieldKind::Text;
        let warnings = live_change_warnings("spring", "summer", &old, &new);
        assert_eq!(warnings.len(), 3, "{warnings:?}");
        assert!(warnings[0].contains("/j/spring to /j/summer"));
        assert!(warnings[1].contains("First name"));
        assert!(warnings[2].contains("Removing “Last name”"));
        assert!(live_change_warnings("spring", "spring", &old, &old).is_empty());
    }

    #[test]
    fn toggles_explain_what_blocks_them() {
        let blocker = |t, connected, problem: Option<&str>, permission: Option<&str>| {
            toggle_blocker(
                t,
                "cmp_1",
                connected,
                problem.map(String::from),
                permission.map(String::from),
            )
        };
        assert_eq!(
            blocker(PromoteToggle::SendReferrers, false, None, None)
                .unwrap()
                .fix_href,
            "/app/integrations"
        );
        assert_eq!(
            blocker(PromoteToggle::SendReferrers, true, None, None),
            None
        );
        let missing =
            blocker(PromoteToggle::SendFriends, true, Some("Map the Name"), None).unwrap();
        assert_eq!(missing.reason, "Map the Name");
        assert_eq!(missing.fix_href, "/app/campaigns/cmp_1/stripe");
        let unset = blocker(
            PromoteToggle::OngoingSync,
            true,
            Some("Set up the sync"),
            None,
        )
        .unwrap();
        assert_eq!(unset.fix_href, "/app/campaigns/cmp_1/sync");
        assert_eq!(blocker(PromoteToggle::OngoingSync, true, None, None), None);
        assert_eq!(
            blocker(PromoteToggle::OngoingSync, true, None, Some("Ask Alice"))
                .unwrap()
                .reason,
            "Ask Alice"
        );
        for t in PromoteToggle::ALL {
            assert_eq!(PromoteToggle::from_key(t.key()), Some(t));
        }
    }

    #[test]
    fn the_limit_banner_appears_at_80_and_100_percent() {
        assert_eq!(limit_warning(3_999, 5_000), None);
        assert!(limit_warning(4_000, 5_000)
            .unwrap()
            .contains("4000 of its 5000 participants (80%)"));
        assert!(limit_warning(5_000, 5_000)
            .unwrap()
            .contains("reached its limit of 5000"));
        assert_eq!(limit_warning(0, 0), None);
    }
}
