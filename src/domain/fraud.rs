//! Referral fraud: the signs that an invited friend is the person who referred them (or a
//! second friend the same person), each with the evidence a marketer reads, and what each
//! campaign does about each sign: nothing, flag the referral for review, or refuse the join.

use serde::{Deserialize, Serialize};

keyed!(
    /// A sign of a self-referral.
    Signal {
        SameEmail => "same_email", "Same person by email",
        SameDevice => "same_device", "Same browser",
        SameNetwork => "same_network", "Same network",
        SameCard => "same_card", "Same card",
        DisposableEmail => "disposable_email", "Disposable email domain",
        Velocity => "velocity", "Many joins in an hour",
    }
);

keyed!(
    /// What a campaign does when a sign fires.
    Response {
        Off => "off", "Off",
        Flag => "flag", "Flag for review",
        Refuse => "refuse", "Refuse the join",
    }
);

keyed!(
    /// Where a flagged referral's review stands.
    ReviewState {
        Waiting => "waiting", "Waiting for review",
        Approved => "approved", "Approved",
        Rejected => "rejected", "Rejected",
    }
);

impl Signal {
    /// What the sign looks at, as the setting explains it.
    pub fn hint(self) -> &'static str {
        match self {
            Signal::SameEmail => "a +tag, Gmail's dots, googlemail.com: the referrer's own mailbox or another friend's",
            Signal::SameDevice => "the friend joined in the browser the referrer (or another of their friends) joined in, by a first-party cookie of the public pages",
            Signal::SameNetwork => "the friend joined from the referrer's internet address within 7 days, unless people unconnected to them joined from it too (an office, a café)",
            Signal::SameCard => "the friend paid with a card (its Stripe fingerprint) that the referrer paid with; seen when they pay, so it can only flag",
            Signal::DisposableEmail => "a throwaway inbox such as mailinator.com, from the community list github.com/disposable/disposable",
            Signal::Velocity => "more than 10 friends of one person, or more than 10 joins from one internet address, within an hour",
        }
    }

    /// Whether the sign is seen when someone joins (and so can refuse the join); a card is seen
    /// only when the friend pays.
    pub fn at_join(self) -> bool {
        self != Signal::SameCard
    }
}

/// What a campaign does about each sign (kept with its reward settings; a sign added since they
/// were saved starts at its default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FraudSettings {
    pub same_email: Response,
    pub same_device: Response,
    pub same_network: Response,
    pub same_card: Response,
    pub disposable_email: Response,
    pub velocity: Response,
}

impl Default for FraudSettings {
    fn default() -> Self {
        FraudSettings {
            same_email: Response::Flag,
            same_device: Response::Flag,
            // Off until chosen: a household or a small office shares one address.
            same_network: Response::Off,
            same_card: Response::Flag,
            // Off until chosen: the list names a few domains people do use, such as example.com.
            disposable_email: Response::Off,
            velocity: Response::Flag,
        }
    }
}

impl FraudSettings {
    pub fn response(&self, signal: Signal) -> Response {
        match signal {
            Signal::SameEmail => self.same_email,
            Signal::SameDevice => self.same_device,
            Signal::SameNetwork => self.same_network,
            Signal::SameCard => self.same_card,
            Signal::DisposableEmail => self.disposable_email,
            Signal::Velocity => self.velocity,
        }
    }

    /// Sets what `signal` does.
    pub fn set(&mut self, signal: Signal, response: Response) {
        match signal {
            Signal::SameEmail => self.same_email = response,
            Signal::SameDevice => self.same_device = response,
            Signal::SameNetwork => self.same_network = response,
            Signal::SameCard => self.same_card = response,
            Signal::DisposableEmail => self.disposable_email = response,
            Signal::Velocity => self.velocity = response,
        }
    }
}

/// A sign that fired, and its evidence in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub signal: Signal,
    pub evidence: String,
}

/// Providers that deliver `a.n.n@` to `ann@`.
const DOTS_IGNORED: [&str; 1] = ["gmail.com"];

/// The mailbox an address reaches: lower case, without a `+tag`, without dots where the
/// provider ignores them, and `googlemail.com` as `gmail.com`. An address without `@` is
/// returned lower-cased.
pub fn mailbox(email: &str) -> String {
    let email = email.trim().to_lowercase();
    let Some((local, domain)) = email.rsplit_once('@') else {
        return email;
    };
    let domain = if domain == "googlemail.com" {
        "gmail.com"
    } else {
        domain
    };
    let local = local.split('+').next().unwrap_or_default();
    let local = if DOTS_IGNORED.contains(&domain) {
        local.replace('.', "")
    } else {
        local.to_string()
    };
    format!("{local}@{domain}")
}

/// Why two different addresses reach one mailbox, or `None` when they do not.
pub fn same_mailbox(a: &str, b: &str) -> Option<String> {
    let (ma, mb) = (mailbox(a), mailbox(b));
    if ma != mb || a.trim().eq_ignore_ascii_case(b.trim()) {
        return None;
    }
    let mut how = Vec::new();
    if a.contains('+') || b.contains('+') {
        how.push("a +tag");
    }
    let domain = ma.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
    let local = |e: &str| {
        e.trim()
            .to_lowercase()
            .rsplit_once('@')
            .map(|(l, _)| l.split('+').next().unwrap_or_default().to_string())
    };
    if DOTS_IGNORED.contains(&domain) && local(a) != local(b) {
        how.push("dots Gmail ignores");
    }
    let d = |e: &str| e.trim().to_lowercase().ends_with("@googlemail.com");
    if d(a) != d(b) {
        how.push("googlemail.com for gmail.com");
    }
    Some(format!("both reach the mailbox {ma} ({})", how.join(", ")))
}

/// Someone already in the campaign, as the checks compare them: `device` and `network` are
/// the keyed hashes of their browser's cookie and their address when they joined, while kept.
#[derive(Debug, Clone, Default)]
pub struct Known<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub joined_at: i64,
    pub device: Option<&'a str>,
    pub network: Option<&'a str>,
}

/// Someone joining, as the checks see them.
#[derive(Debug, Clone, Default)]
pub struct Joining<'a> {
    pub email: &'a str,
    /// The keyed hash of their browser's device cookie.
    pub device: Option<&'a str>,
    /// The keyed hash of their address.
    pub network: Option<&'a str>,
    /// Whether the email's domain is a disposable one.
    pub disposable: bool,
}

/// Who else joined the campaign from the joining person's address.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AddressUse {
    /// Joins from it within the last hour, this one included.
    pub joins_last_hour: usize,
    /// People who joined from it within `NETWORK_WINDOW`, other than the referrer and their
    /// friends: when there are any, the address is a shared one (an office, a café, a
    /// carrier's), and sharing it says nothing.
    pub unconnected: usize,
}

/// The most friends of one person that join within an hour before it is a sign.
pub const FRIENDS_PER_HOUR: usize = 10;

/// The most joins from one address within an hour before it is a sign.
pub const JOINS_PER_ADDRESS_HOUR: usize = 10;

/// How long after the referrer joined a friend joining from their address is a sign.
pub const NETWORK_WINDOW: i64 = 7 * 86_400;

/// Where the server's list of disposable email domains comes from, as evidence names it.
pub const DISPOSABLE_SOURCE: &str = "the community list github.com/disposable/disposable";

/// The signs someone joining through `referrer` at `now` gives, given the referrer's other
/// friends and who else joined from their address; each with its evidence.
pub fn findings(
    joining: &Joining<'_>,
    referrer: &Known<'_>,
    friends: &[Known<'_>],
    address: AddressUse,
    now: i64,
) -> Vec<Finding> {
    let email = joining.email;
    let mut found = Vec::new();
    let within_hour = friends.iter().filter(|f| f.joined_at > now - 3_600).count() + 1;
    if within_hour > FRIENDS_PER_HOUR {
        found.push(Finding {
            signal: Signal::Velocity,
            evidence: format!(
                "{email} is the {} friend of {}'s ({}) to join within an hour; more than {FRIENDS_PER_HOUR} is rare for a person sharing their link",
                super::rewards::ordinal(within_hour as u32),
                referrer.name,
                referrer.email
            ),
        });
    }
    if address.joins_last_hour > JOINS_PER_ADDRESS_HOUR {
        found.push(Finding {
            signal: Signal::Velocity,
            evidence: format!(
                "{email} is the {} join from one internet address within an hour; more than {JOINS_PER_ADDRESS_HOUR} is rare but for a script or one person",
                super::rewards::ordinal(address.joins_last_hour as u32),
            ),
        });
    }
    if joining.disposable {
        let domain = email.rsplit_once('@').map(|(_, d)| d).unwrap_or_default();
        found.push(Finding {
            signal: Signal::DisposableEmail,
            evidence: format!(
                "{email} is at {domain}, a disposable email domain ({DISPOSABLE_SOURCE})"
            ),
        });
    }
    if let Some(why) = same_mailbox(email, referrer.email) {
        found.push(Finding {
            signal: Signal::SameEmail,
            evidence: format!("{email} and {}'s {} {why}", referrer.name, referrer.email),
        });
    }
    if let Some((friend, why)) = friends
        .iter()
        .find_map(|f| same_mailbox(email, f.email).map(|why| (f, why)))
    {
        found.push(Finding {
            signal: Signal::SameEmail,
            evidence: format!(
                "{email} and {}'s other friend {} {why}",
                referrer.name, friend.email
            ),
        });
    }
    let same = |a: Option<&str>, b: Option<&str>| a.is_some() && a == b;
    if same(joining.device, referrer.device) {
        found.push(Finding {
            signal: Signal::SameDevice,
            evidence: format!(
                "{email} joined in the browser {} ({}) joined in at {} (the public pages' device cookie)",
                referrer.name,
                referrer.email,
                super::time::format_utc(referrer.joined_at)
            ),
        });
    } else if let Some(friend) = friends.iter().find(|f| same(joining.device, f.device)) {
        found.push(Finding {
            signal: Signal::SameDevice,
            evidence: format!(
                "{email} joined in the browser {}'s other friend {} joined in at {} (the public pages' device cookie)",
                referrer.name,
                friend.email,
                super::time::format_utc(friend.joined_at)
            ),
        });
    }
    if same(joining.network, referrer.network)
        && now - referrer.joined_at <= NETWORK_WINDOW
        && address.unconnected == 0
    {
        found.push(Finding {
            signal: Signal::SameNetwork,
            evidence: format!(
                "{email} joined from the internet address {} ({}) joined from at {}, which no one else joined from within 7 days",
                referrer.name,
                referrer.email,
                super::time::format_utc(referrer.joined_at)
            ),
        });
    }
    found
}

/// The evidence that a friend paid with a card the referrer paid with.
pub fn same_card(friend: &str, referrer: &str, theirs: &CardUse, mine: &CardUse) -> Finding {
    Finding {
        signal: Signal::SameCard,
        evidence: format!(
            "{friend}'s card {} ••{} (fingerprint {}) paid {} on {}, and {referrer} paid with it as customer {} on {}",
            mine.card.brand,
            mine.card.last4,
            mine.card.fingerprint,
            mine.charge_id,
            super::time::format_date(mine.at),
            theirs.customer.as_deref().unwrap_or("without a customer"),
            super::time::format_date(theirs.at),
        ),
    }
}

/// The card a payment was made with, as Stripe names it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Card {
    pub fingerprint: String,
    pub last4: String,
    pub brand: String,
}

/// A payment with a card: which charge, by which customer, when.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CardUse {
    pub card: Card,
    pub charge_id: String,
    pub customer: Option<String>,
    pub at: i64,
}

/// The first of `friends_cards` that is also among `referrers_cards`: theirs and the friend's.
pub fn shared_card<'a>(
    friends_cards: &'a [CardUse],
    referrers_cards: &'a [CardUse],
) -> Option<(&'a CardUse, &'a CardUse)> {
    friends_cards.iter().find_map(|mine| {
        referrers_cards
            .iter()
            .find(|theirs| theirs.card.fingerprint == mine.card.fingerprint)
            .map(|theirs| (theirs, mine))
    })
}

/// What becomes of a join given its findings: refused (by the first sign set to refuse), or
/// admitted with the findings to flag (empty: nothing to review).
pub fn decide(settings: &FraudSettings, found: Vec<Finding>) -> Result<Vec<Finding>, Finding> {
    let mut flags = Vec::new();
    for f in found {
        match settings.response(f.signal) {
            Response::Off => {}
            Response::Flag => flags.push(f),
            Response::Refuse => return Err(f),
        }
    }
    Ok(flags)
}

/// Flagged referrals counted by sign (a referral flagged by two signs counts for each), in the
/// signs' order; signs that flagged nothing are left out.
pub fn count_flags(reviews: &[(Vec<Finding>, ReviewState)]) -> Vec<super::participants::FlagCount> {
    Signal::ALL
        .into_iter()
        .map(|signal| {
            let mut count = super::participants::FlagCount {
                signal: signal.label().to_string(),
                waiting: 0,
                approved: 0,
                rejected: 0,
            };
            for (findings, state) in reviews {
                if findings.iter().any(|f| f.signal == signal) {
                    *match state {
                        ReviewState::Waiting => &mut count.waiting,
                        ReviewState::Approved => &mut count.approved,
                        ReviewState::Rejected => &mut count.rejected,
                    } += 1;
                }
            }
            count
        })
        .filter(|c| c.waiting + c.approved + c.rejected > 0)
        .collect()
}

/// What the friend's and the referrer's timelines say of a referral flagged with `found`.
pub fn flagged_lines(friend_email: &str, found: &[Finding]) -> (String, String) {
    let evidence = evidence_line(found);
    (
        format!("Flagged for review: their rewards wait for it. {evidence}"),
        format!(
            "Their friend {friend_email} was flagged for review; the referral's rewards wait for it. {evidence}"
        ),
    )
}

/// The evidence of a review in one line, as a reward waiting for it says.
pub fn evidence_line(found: &[Finding]) -> String {
    found
        .iter()
        .map(|f| format!("{}: {}", f.signal.label(), f.evidence))
        .collect::<Vec<_>>()
        .join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_mailbox_by_tag_dots_and_googlemail() {
        assert_eq!(mailbox(" Ann+promo@Example.com "), "ann@example.com");
        assert_eq!(mailbox("a.nn+2@googlemail.com"), "ann@gmail.com");
        // Only Gmail ignores dots.
        assert_eq!(mailbox("a.nn@example.com"), "a.nn@example.com");
        assert_eq!(
            same_mailbox("ann+2@example.com", "ann@example.com").as_deref(),
            Some("both reach the mailbox ann@example.com (a +tag)")
        );
        assert_eq!(
            same_mailbox("a.nn@googlemail.com", "ann@gmail.com").as_deref(),
            Some("both reach the mailbox ann@gmail.com (dots Gmail ignores, googlemail.com for gmail.com)")
        );
    }

    #[test]
    fn colleagues_and_strangers_are_not_one_person() {
        // A shared company domain, a shared first name elsewhere, the very same address (that
        // one is refused as one's own link before any check).
        for (a, b) in [
            ("ann@acme.com", "bob@acme.com"),
            ("ann@acme.com", "ann@acme.org"),
            ("a.nn@acme.com", "ann@acme.com"),
            ("ann@example.com", "ANN@example.com"),
        ] {
            assert_eq!(same_mailbox(a, b), None, "{a} {b}");
        }
    }

    const NOW: i64 = 1_000_000;

    fn person<'a>(name: &'a str, email: &'a str, joined_at: i64) -> Known<'a> {
        Known {
            name,
            email,
            joined_at,
            ..Known::default()
        }
    }

    /// The signs someone joining with `email` gives, from no known browser or address.
    fn by_email(
        email: &str,
        referrer: &Known,
        friends: &[Known],
        disposable: bool,
    ) -> Vec<Finding> {
        let joining = Joining {
            email,
            disposable,
            ..Joining::default()
        };
        findings(&joining, referrer, friends, AddressUse::default(), NOW)
    }

    #[test]
    fn settings_saved_before_a_sign_existed_give_it_its_default() {
        let old: FraudSettings = serde_json::from_str(r#"{"same_email":"Refuse"}"#).unwrap();
        assert_eq!(
            old,
            FraudSettings {
                same_email: Response::Refuse,
                ..FraudSettings::default()
            }
        );
    }

    #[test]
    fn a_sign_is_flagged_refused_or_ignored_as_the_campaign_says() {
        let ann = person("Ann", "ann@gmail.com", 0);
        let bob = person("Bob", "bob@acme.com", 0);
        let found = by_email("a.nn+2@gmail.com", &ann, std::slice::from_ref(&bob), false);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].evidence,
            "a.nn+2@gmail.com and Ann's ann@gmail.com both reach the mailbox ann@gmail.com (a +tag, dots Gmail ignores)"
        );
        let twice = by_email("bob+x@acme.com", &ann, &[bob], false);
        assert!(twice[0]
            .evidence
            .contains("Ann's other friend bob@acme.com"));
        let flag = FraudSettings::default();
        assert_eq!(decide(&flag, found.clone()), Ok(found.clone()));
        let refuse = FraudSettings {
            same_email: Response::Refuse,
            ..FraudSettings::default()
        };
        assert_eq!(decide(&refuse, found.clone()), Err(found[0].clone()));
        let off = FraudSettings {
            same_email: Response::Off,
            ..FraudSettings::default()
        };
        assert_eq!(decide(&off, found), Ok(Vec::new()));
        assert_eq!(
            decide(&refuse, by_email("carl@acme.com", &ann, &[], false)),
            Ok(Vec::new())
        );
        // A disposable domain is its own sign, with its own setting.
        let throwaway = by_email("bob@mailinator.com", &ann, &[], true);
        assert_eq!(
            throwaway,
            vec![Finding {
                signal: Signal::DisposableEmail,
                evidence: format!("bob@mailinator.com is at mailinator.com, a disposable email domain ({DISPOSABLE_SOURCE})"),
            }]
        );
        assert_eq!(decide(&refuse, throwaway.clone()), Ok(Vec::new()));
        let watched = FraudSettings {
            disposable_email: Response::Flag,
            ..FraudSettings::default()
        };
        assert_eq!(decide(&watched, throwaway.clone()), Ok(throwaway));
    }

    #[test]
    fn more_than_ten_friends_in_an_hour_is_a_sign() {
        let ann = person("Ann", "ann@acme.com", 0);
        let emails: Vec<String> = (0..10).map(|i| format!("f{i}@acme.com")).collect();
        // Ten friends: nine within the hour, the first an hour and a second ago.
        let friends: Vec<Known> = emails
            .iter()
            .enumerate()
            .map(|(i, e)| person("F", e, if i == 0 { NOW - 3_601 } else { NOW - 60 }))
            .collect();
        assert_eq!(by_email("g@acme.com", &ann, &friends, false), vec![]);
        let busier: Vec<Known> = emails.iter().map(|e| person("F", e, NOW - 60)).collect();
        let found = by_email("g@acme.com", &ann, &busier, false);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].evidence,
            "g@acme.com is the 11th friend of Ann's (ann@acme.com) to join within an hour; more than 10 is rare for a person sharing their link"
        );
    }

    #[test]
    fn the_referrers_browser_is_a_sign_and_a_shared_address_only_when_no_one_else_uses_it() {
        let ann = Known {
            device: Some("dev-ann"),
            network: Some("net-home"),
            ..person("Ann", "ann@example.com", NOW - 600)
        };
        let carl = Known {
            device: Some("dev-carl"),
            ..person("Carl", "carl@example.com", NOW - 300)
        };
        let joining = |device, network| Joining {
            email: "bob@example.com",
            device,
            network,
            disposable: false,
        };
        let signs = |j: &Joining, address: AddressUse, now: i64| {
            findings(j, &ann, std::slice::from_ref(&carl), address, now)
                .into_iter()
                .map(|f| (f.signal, f.evidence))
                .collect::<Vec<_>>()
        };
        let when = super::super::time::format_utc(NOW - 600);
        assert_eq!(
            signs(&joining(Some("dev-ann"), None), AddressUse::default(), NOW),
            [(
                Signal::SameDevice,
                format!("bob@example.com joined in the browser Ann (ann@example.com) joined in at {when} (the public pages' device cookie)")
            )]
        );
        assert_eq!(
            signs(&joining(Some("dev-carl"), None), AddressUse::default(), NOW)[0].1,
            format!(
                "bob@example.com joined in the browser Ann's other friend carl@example.com joined in at {} (the public pages' device cookie)",
                super::super::time::format_utc(NOW - 300)
            )
        );
        // Their own phone, unknown browsers: nothing.
        assert!(signs(&joining(Some("dev-bob"), None), AddressUse::default(), NOW).is_empty());
        assert!(signs(&joining(None, None), AddressUse::default(), NOW).is_empty());

        let home = joining(Some("dev-bob"), Some("net-home"));
        let quiet = AddressUse {
            joins_last_hour: 2,
            unconnected: 0,
        };
        assert_eq!(
            signs(&home, quiet, NOW),
            [(
                Signal::SameNetwork,
                format!("bob@example.com joined from the internet address Ann (ann@example.com) joined from at {when}, which no one else joined from within 7 days")
            )]
        );
        // An office or a café: people unconnected to Ann joined from it too.
        let public = AddressUse {
            joins_last_hour: 4,
            unconnected: 3,
        };
        assert!(signs(&home, public, NOW).is_empty());
        // Ann joined over a week before: the address may be someone else's by now.
        assert!(signs(&home, quiet, NOW - 600 + NETWORK_WINDOW + 1).is_empty());
        // Another address: nothing.
        assert!(signs(&joining(Some("dev-bob"), Some("net-cafe")), quiet, NOW).is_empty());
    }

    #[test]
    fn more_than_ten_joins_from_one_address_in_an_hour_is_a_sign() {
        let ann = person("Ann", "ann@example.com", NOW - 600);
        let joining = Joining {
            email: "bob@example.com",
            network: Some("net"),
            ..Joining::default()
        };
        let at = |joins_last_hour| AddressUse {
            joins_last_hour,
            unconnected: 5,
        };
        assert!(findings(&joining, &ann, &[], at(10), NOW).is_empty());
        let found = findings(&joining, &ann, &[], at(11), NOW);
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].signal, Signal::Velocity);
        assert_eq!(
            found[0].evidence,
            "bob@example.com is the 11th join from one internet address within an hour; more than 10 is rare but for a script or one person"
        );
    }

    #[test]
    fn a_card_the_referrer_paid_with_is_a_sign_with_its_charges() {
        let card = |fingerprint: &str| Card {
            fingerprint: fingerprint.into(),
            last4: "4242".into(),
            brand: "visa".into(),
        };
        let used = |fp: &str, charge: &str, customer: &str, at: i64| CardUse {
            card: card(fp),
            charge_id: charge.into(),
            customer: Some(customer.into()),
            at,
        };
        let ann = [used("fpA", "ch_ann", "cus_ann", 86_400 * 60)];
        let bob = [
            used("fpB", "ch_bob1", "cus_bob", 86_400 * 61),
            used("fpA", "ch_bob2", "cus_bob", 86_400 * 62),
        ];
        let (theirs, mine) = shared_card(&bob, &ann).unwrap();
        assert_eq!(
            (theirs.charge_id.as_str(), mine.charge_id.as_str()),
            ("ch_ann", "ch_bob2")
        );
        assert_eq!(
            same_card("bob@example.com", "Ann", theirs, mine).evidence,
            "bob@example.com's card visa ••4242 (fingerprint fpA) paid ch_bob2 on 4 Mar 1970, and Ann paid with it as customer cus_ann on 2 Mar 1970"
        );
        assert_eq!(shared_card(&bob[..1], &ann), None);
        assert_eq!(shared_card(&[], &ann), None);
    }

    #[test]
    fn a_card_can_only_be_flagged_as_it_is_seen_after_the_join() {
        assert!(!Signal::SameCard.at_join());
        assert!(Signal::ALL
            .into_iter()
            .filter(|s| *s != Signal::SameCard)
            .all(Signal::at_join));
    }
}
