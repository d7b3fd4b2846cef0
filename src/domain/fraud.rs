//! Referral fraud: the signs that an invited friend is the person who referred them (or a
//! second friend the same person), each with the evidence a marketer reads, and what each
//! campaign does about each sign: nothing, flag the referral for review, or refuse the join.

use serde::{Deserialize, Serialize};

keyed!(
    /// A sign of a self-referral.
    Signal {
        SameEmail => "same_email", "Same person by email",
        DisposableEmail => "disposable_email", "Disposable email domain",
        Velocity => "velocity", "Many friends in an hour",
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
            Signal::DisposableEmail => "a throwaway inbox such as mailinator.com, from the community list github.com/disposable/disposable",
            Signal::Velocity => "more than 10 friends of one person joined within an hour",
        }
    }
}

/// What a campaign does about each sign (kept with its reward settings; a sign added since they
/// were saved starts at its default).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct FraudSettings {
    pub same_email: Response,
    pub disposable_email: Response,
    pub velocity: Response,
}

impl Default for FraudSettings {
    fn default() -> Self {
        FraudSettings {
            same_email: Response::Flag,
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
            Signal::DisposableEmail => self.disposable_email,
            Signal::Velocity => self.velocity,
        }
    }

    /// Sets what `signal` does.
    pub fn set(&mut self, signal: Signal, response: Response) {
        match signal {
            Signal::SameEmail => self.same_email = response,
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

/// Someone already in the campaign, as the checks compare them.
#[derive(Debug, Clone)]
pub struct Known<'a> {
    pub name: &'a str,
    pub email: &'a str,
    pub joined_at: i64,
}

/// The most friends of one person that join within an hour before it is a sign.
pub const FRIENDS_PER_HOUR: usize = 10;

/// Where the server's list of disposable email domains comes from, as evidence names it.
pub const DISPOSABLE_SOURCE: &str = "the community list github.com/disposable/disposable";

/// The signs a friend joining with `email` through `referrer` at `now` gives, given the
/// referrer's other friends and whether the email's domain is a disposable one; each with its
/// evidence.
pub fn findings(
    email: &str,
    referrer: &Known<'_>,
    friends: &[Known<'_>],
    disposable: bool,
    now: i64,
) -> Vec<Finding> {
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
    if disposable {
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
    found
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
        }
    }

    #[test]
    fn settings_saved_before_a_sign_existed_give_it_its_default() {
        let old: FraudSettings = serde_json::from_str(r#"{"same_email":"Refuse"}"#).unwrap();
        assert_eq!(
            old,
            FraudSettings {
                same_email: Response::Refuse,
                disposable_email: Response::Off,
                velocity: Response::Flag,
            }
        );
    }

    #[test]
    fn a_sign_is_flagged_refused_or_ignored_as_the_campaign_says() {
        let ann = person("Ann", "ann@gmail.com", 0);
        let bob = person("Bob", "bob@acme.com", 0);
        let found = findings(
            "a.nn+2@gmail.com",
            &ann,
            std::slice::from_ref(&bob),
            false,
            NOW,
        );
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].evidence,
            "a.nn+2@gmail.com and Ann's ann@gmail.com both reach the mailbox ann@gmail.com (a +tag, dots Gmail ignores)"
        );
        let twice = findings("bob+x@acme.com", &ann, &[bob], false, NOW);
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
            decide(&refuse, findings("carl@acme.com", &ann, &[], false, NOW)),
            Ok(Vec::new())
        );
        // A disposable domain is its own sign, with its own setting.
        let throwaway = findings("bob@mailinator.com", &ann, &[], true, NOW);
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
        assert_eq!(findings("g@acme.com", &ann, &friends, false, NOW), vec![]);
        let busier: Vec<Known> = emails.iter().map(|e| person("F", e, NOW - 60)).collect();
        let found = findings("g@acme.com", &ann, &busier, false, NOW);
        assert_eq!(found.len(), 1);
        assert_eq!(
            found[0].evidence,
            "g@acme.com is the 11th friend of Ann's (ann@acme.com) to join within an hour; more than 10 is rare for a person sharing their link"
        );
    }
}
