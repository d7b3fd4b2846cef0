//! Participants as the team sees them: the Users tab's query and rows, a participant's page
//! and timeline, import reports and a campaign's numbers.

use serde::{Deserialize, Serialize};

keyed!(
    /// Whether someone joined on their own (and refers others) or was invited by a referrer.
    ParticipantKind {
        Referring => "referring", "Referring",
        Invited => "invited", "Invited",
    }
);

keyed!(
    /// Whether an invited friend has reached the campaign's target (people referring: none).
    Qualification {
        NotApplicable => "none", "—",
        Pending => "pending", "Pending",
        Qualified => "qualified", "Qualified",
    }
);

keyed!(
    /// Where a participant stands with Stripe.
    StripeStatus {
        NotSent => "not_sent", "Not sent",
        Queued => "queued", "Sending",
        Waiting => "waiting", "Waiting for your system",
        Sent => "sent", "In Stripe",
        Skipped => "skipped", "Not sent (see why)",
        Failed => "failed", "Failed",
    }
);

impl StripeStatus {
    /// Not in Stripe and not on the way: "Send existing participants" picks them up.
    pub fn can_be_sent(self) -> bool {
        matches!(
            self,
            StripeStatus::NotSent | StripeStatus::Skipped | StripeStatus::Failed
        )
    }
}

keyed!(
    /// The orders of the Users tab.
    ParticipantSort {
        Newest => "newest", "Newest first",
        Oldest => "oldest", "Oldest first",
        Name => "name", "Name",
        Email => "email", "Email",
        Referrals => "referrals", "Most referrals",
    }
);

keyed!(
    /// What can happen to a participant; the timeline and the campaign's numbers count these.
    EventKind {
        Joined => "joined", "Joined",
        Imported => "imported", "Imported",
        Clicked => "clicked", "Referral link clicked",
        Referred => "referred", "Invited a friend who joined",
        SentToStripe => "sent_to_stripe", "Sent to Stripe",
        StripeWaiting => "stripe_waiting", "Waiting for a Stripe customer",
        NotSentToStripe => "not_sent_to_stripe", "Not sent to Stripe",
        Spent => "spent", "Spending",
        Qualified => "qualified", "Qualified",
        Unqualified => "unqualified", "Back to pending",
        FriendUpdate => "friend_update", "Their friend",
        Rewarded => "rewarded", "Rewarded",
        RewardUpdate => "reward_update", "Reward",
        Synced => "synced", "Enrolled from Stripe",
        SyncWritten => "sync_written", "Referral link written to Stripe",
        StripeAccountChanged => "stripe_account_changed", "Stripe account changed",
        Emailed => "emailed", "Email",
        Attributed => "attributed", "Attributed at checkout",
        Flagged => "flagged", "Flagged for review",
        DetailsChanged => "details_changed", "Details changed",
    }
);

/// A participant's public referral link.
pub fn referral_link(public_url: &str, code: &str) -> String {
    format!("{}/r/{code}", public_url.trim_end_matches('/'))
}

/// Rows per page of the Users tab.
pub const PAGE_SIZE: u32 = 50;

/// The Users tab's search, filters, order and page, as they appear in its address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantQuery {
    /// Part of a name, an email or a referral code.
    pub search: String,
    pub kind: Option<ParticipantKind>,
    pub qualification: Option<Qualification>,
    pub stripe: Option<StripeStatus>,
    pub sort: ParticipantSort,
    /// From 1.
    pub page: u32,
}

impl Default for ParticipantQuery {
    fn default() -> Self {
        ParticipantQuery {
            search: String::new(),
            kind: None,
            qualification: None,
            stripe: None,
            sort: ParticipantSort::Newest,
            page: 1,
        }
    }
}

impl ParticipantQuery {
    /// Reads the query from its address parameters; anything unknown falls back to the default.
    pub fn from_params(get: impl Fn(&str) -> Option<String>) -> ParticipantQuery {
        let text = |k: &str| get(k).unwrap_or_default();
        ParticipantQuery {
            search: text("q").trim().chars().take(100).collect(),
            kind: ParticipantKind::from_key(&text("kind")),
            qualification: Qualification::from_key(&text("qualification")),
            stripe: StripeStatus::from_key(&text("stripe")),
            sort: ParticipantSort::from_key(&text("sort")).unwrap_or(ParticipantSort::Newest),
            page: text("page").parse().ok().filter(|p| *p >= 1).unwrap_or(1),
        }
    }

    /// The address parameters of this query with another page.
    pub fn to_params(&self, page: u32) -> String {
        let mut parts = Vec::new();
        if !self.search.is_empty() {
            parts.push(format!("q={}", url_escape(&self.search)));
        }
        if let Some(k) = self.kind {
            parts.push(format!("kind={}", k.key()));
        }
        if let Some(q) = self.qualification {
            parts.push(format!("qualification={}", q.key()));
        }
        if let Some(s) = self.stripe {
            parts.push(format!("stripe={}", s.key()));
        }
        if self.sort != ParticipantSort::Newest {
            parts.push(format!("sort={}", self.sort.key()));
        }
        if page > 1 {
            parts.push(format!("page={page}"));
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        }
    }
}

/// Percent-encodes a query-string value.
pub fn url_escape(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// One row of the Users tab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantSummary {
    pub id: String,
    pub email: String,
    pub first_name: String,
    pub last_name: String,
    pub code: String,
    pub kind: ParticipantKind,
    pub qualification: Qualification,
    pub stripe_status: StripeStatus,
    /// Why the Stripe status is what it is ("policy: most recent", "email is empty").
    pub stripe_note: String,
    pub referrals: i64,
    pub qualified_referrals: i64,
    pub joined_at: i64,
}

impl ParticipantSummary {
    /// The name, or the email when no name was given.
    pub fn display_name(&self) -> String {
        let name = format!("{} {}", self.first_name, self.last_name)
            .trim()
            .to_string();
        if name.is_empty() {
            self.email.clone()
        } else {
            name
        }
    }
}

/// One page of the Users tab.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantPage {
    pub rows: Vec<ParticipantSummary>,
    /// Participants matching the search and filters.
    pub total: i64,
    pub page: u32,
    pub pages: u32,
}

/// One entry of a participant's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimelineEntry {
    pub kind: String,
    pub label: String,
    pub detail: String,
    pub at: i64,
}

impl TimelineEntry {
    /// The entry as read, its kind named once: `(kind, rest)`, `rest` following the kind
    /// directly. A detail that starts with its kind is a sentence of its own ("Qualified on 3 Dec
    /// …"); one that repeats it before a colon ("Reward: 10.00 USD credit …") loses the repeat;
    /// any other follows `separator` ("Joined" — "through the referral link of …").
    pub fn phrased(&self, separator: &str) -> (&str, String) {
        let label = self.label.as_str();
        let detail = self.detail.as_str();
        if detail.is_empty() {
            return (label, String::new());
        }
        if let Some(rest) = detail.strip_prefix(label) {
            if let Some(after_colon) = rest.strip_prefix(": ") {
                return (label, format!("{separator}{after_colon}"));
            }
            if rest.starts_with(' ') {
                return (label, rest.to_string());
            }
        }
        (label, format!("{separator}{detail}"))
    }
}

/// A participant's page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ParticipantDetail {
    pub summary: ParticipantSummary,
    /// The other form fields, by label.
    pub fields: Vec<(String, String)>,
    pub referrer: Option<ParticipantSummary>,
    pub referred: Vec<ParticipantSummary>,
    /// Newest first.
    pub timeline: Vec<TimelineEntry>,
    pub referral_link: String,
    /// The Stripe customers they are linked to.
    pub stripe_customers: Vec<String>,
    /// Invited friends: where they stand against the campaign's target, in words.
    pub qualification_note: String,
    /// The rewards they earned, or that their qualification earned their referrer.
    pub rewards: Vec<crate::domain::rewards::RewardEntry>,
}

/// What a CSV import did with each row.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportReport {
    pub added: u32,
    pub refused: u32,
    pub rows: Vec<ImportRow>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportRow {
    /// The line in the file (the header is line 1).
    pub line: u32,
    pub email: String,
    /// `None` when added; otherwise why not.
    pub refusal: Option<String>,
}

/// One day of a campaign's numbers.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DayCounts {
    /// Unix seconds of the day's start (UTC).
    pub day: i64,
    pub clicks: i64,
    pub joins: i64,
    pub invited: i64,
    pub qualified: i64,
    pub rewards: i64,
}

/// A campaign's dashboard.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CampaignStats {
    pub totals: DayCounts,
    /// The last 30 days, oldest first, every day present.
    pub days: Vec<DayCounts>,
    /// Refusals by reason, most frequent first.
    pub refusals: Vec<(String, i64)>,
    /// Referrals flagged by each sign: waiting for review, approved, rejected.
    pub flags: Vec<FlagCount>,
}

/// How often one sign of a self-referral flagged a referral of a campaign.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlagCount {
    pub signal: String,
    pub waiting: i64,
    pub approved: i64,
    pub rejected: i64,
}

/// Spreads counts per day over every day of `[first_day, first_day + days)`.
pub fn fill_days(first_day: i64, days: usize, counts: &[DayCounts]) -> Vec<DayCounts> {
    (0..days as i64)
        .map(|i| {
            let day = first_day + i * 86_400;
            counts
                .iter()
                .find(|c| c.day == day)
                .cloned()
                .unwrap_or(DayCounts {
                    day,
                    ..DayCounts::default()
                })
        })
        .collect()
}

/// One field of a CSV file, quoted when it must be. Values starting with a formula sign are
/// prefixed with a quote so a spreadsheet shows them instead of running them.
pub fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// Reads CSV text (RFC 4180: commas, double-quoted fields with `""` for a quote, CRLF or LF)
/// into rows of fields. Blank lines are skipped.
pub fn parse_csv(text: &str) -> Result<Vec<Vec<String>>, String> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut line = 1;
    let mut chars = text.trim_start_matches('\u{feff}').chars().peekable();
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => {
                if c == '\n' {
                    line += 1;
                }
                field.push(c);
            }
            (false, '"') if field.is_empty() => quoted = true,
            (false, ',') => row.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                row.push(std::mem::take(&mut field));
                if row.iter().any(|f| !f.is_empty()) {
                    rows.push(std::mem::take(&mut row));
                } else {
                    row.clear();
                }
                line += 1;
            }
            (false, c) => field.push(c),
        }
    }
    if quoted {
        return Err(format!(
            "A quoted value that starts before line {line} is never closed: check its quotes."
        ));
    }
    row.push(field);
    if row.iter().any(|f| !f.is_empty()) {
        rows.push(row);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(label: &str, detail: &str) -> TimelineEntry {
        TimelineEntry {
            kind: "k".into(),
            label: label.into(),
            detail: detail.into(),
            at: 0,
        }
    }

    fn read(e: &TimelineEntry) -> String {
        let (kind, rest) = e.phrased(" — ");
        format!("{kind}{rest}")
    }

    #[test]
    fn a_timeline_entry_names_its_kind_once() {
        assert_eq!(
            read(&entry(
                "Qualified",
                "Qualified on 3 Dec 2026 (target reached by ch_1)"
            )),
            "Qualified on 3 Dec 2026 (target reached by ch_1)"
        );
        assert_eq!(
            read(&entry("Reward", "Reward: 10.00 USD credit issued to cus_1")),
            "Reward — 10.00 USD credit issued to cus_1"
        );
        assert_eq!(
            read(&entry("Joined", "through the referral link of ann@x.test")),
            "Joined — through the referral link of ann@x.test"
        );
        assert_eq!(read(&entry("Joined", "")), "Joined");
        // A word that merely begins like the kind is not taken for it.
        assert_eq!(
            read(&entry("Email", "Emailed twice")),
            "Email — Emailed twice"
        );
        let back = entry("Back to pending", "Back to pending: Spent 35.00 USD");
        let (kind, rest) = back.phrased(": ");
        assert_eq!(
            (kind, rest.as_str()),
            ("Back to pending", ": Spent 35.00 USD")
        );
    }

    #[test]
    fn the_query_round_trips_through_its_address() {
        let params = [
            ("q", "ann smith"),
            ("kind", "invited"),
            ("stripe", "not_sent"),
            ("sort", "email"),
            ("page", "3"),
        ];
        let get = |k: &str| {
            params
                .iter()
                .find(|(key, _)| *key == k)
                .map(|(_, v)| v.to_string())
        };
        let query = ParticipantQuery::from_params(get);
        assert_eq!(query.search, "ann smith");
        assert_eq!(query.kind, Some(ParticipantKind::Invited));
        assert_eq!(query.qualification, None);
        assert_eq!(query.stripe, Some(StripeStatus::NotSent));
        assert_eq!(query.sort, ParticipantSort::Email);
        assert_eq!(query.page, 3);
        assert_eq!(
            query.to_params(4),
            "?q=ann%20smith&kind=invited&stripe=not_sent&sort=email&page=4"
        );
        let junk = ParticipantQuery::from_params(|k| (k == "page").then(|| "-2".to_string()));
        assert_eq!(junk, ParticipantQuery::default());
        assert_eq!(junk.to_params(1), "");
    }

    #[test]
    fn csv_fields_are_quoted_and_defused() {
        assert_eq!(csv_field("plain"), "plain");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("=SUM(A1)"), "'=SUM(A1)");
    }

    #[test]
    fn csv_text_is_read() {
        let rows = parse_csv(
            "email,first_name\r\nann@x.test,\"Ann, \"\"A\"\"\"\n\n\"multi\nline\",x\nlast,",
        )
        .unwrap();
        assert_eq!(
            rows,
            vec![
                vec!["email", "first_name"],
                vec!["ann@x.test", "Ann, \"A\""],
                vec!["multi\nline", "x"],
                vec!["last", ""],
            ]
        );
        assert!(parse_csv("a,\"open\nb")
            .unwrap_err()
            .contains("never closed"));
    }

    #[test]
    fn every_day_is_present() {
        let counts = [DayCounts {
            day: 86_400,
            joins: 2,
            ..DayCounts::default()
        }];
        let days = fill_days(0, 3, &counts);
        assert_eq!(
            days.iter().map(|d| (d.day, d.joins)).collect::<Vec<_>>(),
            vec![(0, 0), (86_400, 2), (172_800, 0)]
        );
    }
}
