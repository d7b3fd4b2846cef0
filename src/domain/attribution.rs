//! Which invited friend a payment counts for, when several pieces of evidence point at people:
//! one rule, strongest evidence first, and the words that say what was used and what was set
//! aside.

use serde::{Deserialize, Serialize};

use super::qualification::ChargeEntry;

keyed!(
    /// Evidence linking a payment to an invited friend, strongest first.
    Evidence {
        ClientReference => "client_reference_id", "client_reference_id",
        PromotionCode => "promotion_code", "promotion code",
        LinkedCustomer => "customer", "linked customer",
        Email => "email", "email",
    }
);

impl Evidence {
    /// Lower is stronger.
    pub fn rank(self) -> usize {
        Evidence::ALL
            .iter()
            .position(|e| *e == self)
            .expect("every evidence is listed")
    }
}

/// How a friend claims a charge: the evidence and what it carried (the code, the customer, the
/// Checkout Session).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claim {
    pub evidence: Evidence,
    pub detail: String,
}

impl Claim {
    pub fn describe(&self) -> String {
        match self.evidence {
            Evidence::Email => "email".to_string(),
            _ => format!("{} {}", self.evidence.label(), self.detail),
        }
    }
}

/// Another friend's claim on a charge this friend claims too.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rival {
    pub charge_id: String,
    pub email: String,
    pub claim: Claim,
}

/// A charge the friend claims, with their strongest claim on it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub charge: ChargeEntry,
    pub claim: Claim,
}

/// What the rule decided for one friend.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attributed {
    /// The charges that count for them.
    pub counted: Vec<ChargeEntry>,
    /// "ch_… by client_reference_id ann7k2q9 (checkout cs_…)", one per counted charge.
    pub used: Vec<String>,
    /// "ch_… counts for carol@example.com (client_reference_id …), not by email", one per
    /// charge a stronger claim of someone else took.
    pub set_aside: Vec<String>,
}

/// Keeps the strongest of each charge's claims (a charge may be claimed several ways).
pub fn strongest(claims: Vec<Claimed>) -> Vec<Claimed> {
    let mut best: Vec<Claimed> = Vec::new();
    for c in claims {
        match best.iter_mut().find(|b| b.charge.id == c.charge.id) {
            Some(b) if c.claim.evidence.rank() < b.claim.evidence.rank() => *b = c,
            Some(_) => {}
            None => best.push(c),
        }
    }
    best
}

/// The rule: a charge counts for the friend unless someone else claims it with stronger
/// evidence (equal evidence counts for both, as two campaigns may each reward one payment).
pub fn decide(mine: Vec<Claimed>, rivals: &[Rival]) -> Attributed {
    let mut out = Attributed::default();
    for c in strongest(mine) {
        let stronger = rivals
            .iter()
            .filter(|r| r.charge_id == c.charge.id)
            .filter(|r| r.claim.evidence.rank() < c.claim.evidence.rank())
            .min_by_key(|r| r.claim.evidence.rank());
        match stronger {
            Some(r) => out.set_aside.push(format!(
                "{} counts for {} ({}), not by {}",
                c.charge.id,
                r.email,
                r.claim.describe(),
                c.claim.evidence.label()
            )),
            None => {
                out.used
                    .push(format!("{} by {}", c.charge.id, c.claim.describe()));
                out.counted.push(c.charge);
            }
        }
    }
    out
}

/// What a Checkout Session's client_reference_id names: a Refloop referral code or a
/// participant id. Stripe accepts up to 200 letters, digits, dashes and underscores.
pub fn reference_shape_ok(reference: &str) -> bool {
    !reference.is_empty()
        && reference.len() <= 200
        && reference
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    fn charge(id: &str) -> ChargeEntry {
        ChargeEntry {
            id: id.into(),
            amount: 5_000,
            currency: "usd".into(),
            created: 10,
            paid: true,
            refunded: 0,
            disputed: 0,
            settled: None,
        }
    }

    fn claimed(id: &str, evidence: Evidence, detail: &str) -> Claimed {
        Claimed {
            charge: charge(id),
            claim: Claim {
                evidence,
                detail: detail.into(),
            },
        }
    }

    #[test]
    fn evidence_is_ranked_in_the_documented_order() {
        let ranks: Vec<usize> = [
            Evidence::ClientReference,
            Evidence::PromotionCode,
            Evidence::LinkedCustomer,
            Evidence::Email,
        ]
        .iter()
        .map(|e| e.rank())
        .collect();
        assert_eq!(ranks, vec![0, 1, 2, 3]);
    }

    #[test]
    fn a_stronger_claim_of_someone_else_sets_a_charge_aside() {
        let mine = vec![
            claimed("ch_1", Evidence::Email, ""),
            claimed("ch_2", Evidence::LinkedCustomer, "cus_1"),
        ];
        let rivals = vec![Rival {
            charge_id: "ch_1".into(),
            email: "carol@example.com".into(),
            claim: Claim {
                evidence: Evidence::ClientReference,
                detail: "ann7k2q9 (checkout cs_1)".into(),
            },
        }];
        let a = decide(mine, &rivals);
        assert_eq!(a.counted, vec![charge("ch_2")]);
        assert_eq!(a.used, vec!["ch_2 by linked customer cus_1".to_string()]);
        assert_eq!(
            a.set_aside,
            vec![
                "ch_1 counts for carol@example.com (client_reference_id ann7k2q9 (checkout cs_1)), not by email"
                    .to_string()
            ]
        );
    }

    #[test]
    fn equal_or_weaker_rivals_do_not_and_the_strongest_own_claim_is_named() {
        let mine = vec![
            claimed("ch_1", Evidence::Email, ""),
            claimed("ch_1", Evidence::PromotionCode, "ANN-7K2Q"),
        ];
        let rivals = vec![Rival {
            charge_id: "ch_1".into(),
            email: "dee@example.com".into(),
            claim: Claim {
                evidence: Evidence::PromotionCode,
                detail: "DEE-1".into(),
            },
        }];
        let a = decide(mine, &rivals);
        assert_eq!(a.counted, vec![charge("ch_1")]);
        assert_eq!(a.used, vec!["ch_1 by promotion code ANN-7K2Q".to_string()]);
        assert!(a.set_aside.is_empty());
    }

    #[test]
    fn references_take_stripes_shape() {
        assert!(reference_shape_ok("ann7k2q9"));
        assert!(reference_shape_ok("par_01J-x_2"));
        assert!(!reference_shape_ok(""));
        assert!(!reference_shape_ok("a b"));
        assert!(!reference_shape_ok(&"a".repeat(201)));
    }
}
