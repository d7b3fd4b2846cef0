//! How well the self-referral signs that look at a join tell honest friends from people referring
//! themselves (issue 27). Prints figures; asserts nothing.
//!
//! A generated population of 10,000 honest friends of 1,000 people referring, with the overlaps
//! real programs have — colleagues at one company domain, common names at Gmail, Outlook
//! addresses that differ only by a dot (which Outlook does not ignore), friends with +tags of
//! their own, busy referrers bringing 8 friends in an hour — and 1,000 self-referrals of each
//! kind the join sees: a +tag, Gmail's dots, googlemail.com, a disposable domain, and a burst of
//! 20 "friends" in an hour. Each join is judged as Refloop's join does (`fraud::findings` with
//! the shipped disposable list).
//!
//!     . scripts/env.sh && cargo run --release --features ssr --example bench_fraud

use refloop::domain::fraud::{findings, Finding, Known};

/// A small deterministic generator, so that every run judges the same population.
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6_364_136_223_846_793_005)
            .wrapping_add(1_442_695_040_888_963_407);
        self.0 >> 33
    }

    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from[(self.next() as usize) % from.len()]
    }
}

const FIRST: [&str; 24] = [
    "ann", "anna", "bob", "carol", "dan", "eve", "frank", "grace", "heidi", "ivan", "judy",
    "mallory", "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "maria",
    "jose", "wei", "fatima",
];
const LAST: [&str; 12] = [
    "smith", "jones", "garcia", "chen", "khan", "muller", "rossi", "silva", "kim", "nguyen",
    "brown", "martin",
];
const PROVIDERS: [&str; 4] = ["outlook.com", "yahoo.com", "icloud.com", "proton.me"];
const DISPOSABLE: [&str; 10] = [
    "mailinator.com",
    "guerrillamail.com",
    "10minutemail.com",
    "yopmail.com",
    "temp-mail.org",
    "trashmail.com",
    "sharklasers.com",
    "getnada.com",
    "dispostable.com",
    "maildrop.cc",
];

const NOW: i64 = 1_780_000_000;

/// Makes a self-referral's address from the referrer's own.
type FakeOf = fn(&str, &mut Lcg) -> String;

struct Referrer {
    email: String,
    company: String,
    friends: Vec<(String, i64)>,
}

/// Judges a friend joining `r` at `at` as the join does, and adds them to `r`'s friends.
fn judge(r: &mut Referrer, email: String, at: i64) -> Vec<Finding> {
    let known: Vec<Known> = r
        .friends
        .iter()
        .map(|(e, t)| Known {
            name: "Friend",
            email: e,
            joined_at: *t,
        })
        .collect();
    let them = Known {
        name: "Referrer",
        email: &r.email,
        joined_at: 0,
    };
    let found = findings(
        &email,
        &them,
        &known,
        disposable_emails::is_disposable_email(&email),
        at,
    );
    r.friends.push((email, at));
    found
}

fn main() {
    let mut rng = Lcg(27);
    let mut referrers: Vec<Referrer> = (0..1_000)
        .map(|i| {
            let (first, last) = (rng.pick(&FIRST), rng.pick(&LAST));
            let company = format!("{}-{}.com", rng.pick(&LAST), i % 200);
            let email = if i % 2 == 0 {
                format!("{first}.{last}@{company}")
            } else {
                format!("{first}{last}@gmail.com")
            };
            Referrer {
                email,
                company,
                friends: Vec::new(),
            }
        })
        .collect();

    // 10,000 honest friends, ten per referrer, over a day (busy referrers: 8 in an hour).
    let mut flagged_honest = Vec::new();
    let mut honest = 0;
    for (i, r) in referrers.iter_mut().enumerate() {
        for k in 0..10 {
            let (first, last) = (rng.pick(&FIRST), rng.pick(&LAST));
            let email = match rng.next() % 10 {
                // A colleague at the referrer's company, whose name may be the referrer's.
                0..=3 => format!("{first}.{last}{}@{}", k, r.company),
                // Gmail, with a number where a common name is taken.
                4..=6 => format!("{first}{last}{}@gmail.com", rng.next() % 1_000),
                // Other providers, where a dot makes another address; some with a +tag.
                7 | 8 => format!("{first}.{last}{}@{}", k, rng.pick(&PROVIDERS)),
                _ => format!(
                    "{first}{}+news@{}",
                    rng.next() % 10_000,
                    rng.pick(&PROVIDERS)
                ),
            };
            let at = if i % 20 == 0 {
                NOW - 3_000 + k * 300
            } else {
                NOW - 86_400 + k * 8_000
            };
            honest += 1;
            let found = judge(r, email.clone(), at);
            if !found.is_empty() {
                flagged_honest.push((email, found));
            }
        }
    }
    println!(
        "honest friends: {honest}, flagged: {} ({:.2}% false positives)",
        flagged_honest.len(),
        flagged_honest.len() as f64 * 100.0 / honest as f64
    );
    for (email, found) in flagged_honest.iter().take(5) {
        println!(
            "  e.g. {email}: {}",
            refloop::domain::fraud::evidence_line(found)
        );
    }

    // 1,000 self-referrals of each kind, each by a referrer of its own (so no burst).
    let kinds: [(&str, FakeOf); 4] = [
        ("+tag", |own, rng| {
            own.replacen('@', &format!("+{}@", rng.next() % 100), 1)
        }),
        ("Gmail dots", |own, rng| {
            let (local, _) = own.split_once('@').unwrap();
            let cut = 1 + (rng.next() as usize) % (local.len() - 1);
            format!("{}.{}@gmail.com", &local[..cut], &local[cut..])
        }),
        ("googlemail.com", |own, _| {
            own.replace("@gmail.com", "@googlemail.com")
        }),
        ("disposable domain", |own, rng| {
            format!(
                "{}@{}",
                own.split_once('@').unwrap().0,
                rng.pick(&DISPOSABLE)
            )
        }),
    ];
    for (kind, make) in kinds {
        let mut caught = 0;
        for i in 0..1_000 {
            let first = rng.pick(&FIRST);
            let mut r = Referrer {
                email: format!("{first}{}{i}@gmail.com", rng.pick(&LAST)),
                company: String::new(),
                friends: Vec::new(),
            };
            let fake = make(&r.email, &mut rng);
            if !judge(&mut r, fake, NOW).is_empty() {
                caught += 1;
            }
        }
        println!(
            "self-referrals by {kind}: 1,000, caught {caught} ({:.1}%)",
            caught as f64 / 10.0
        );
    }
    // A burst: 50 people each making 20 "friends" within an hour.
    let mut caught = 0;
    for i in 0..50 {
        let mut r = Referrer {
            email: format!("burst{i}@example.org"),
            company: String::new(),
            friends: Vec::new(),
        };
        for k in 0..20 {
            let fake = format!("fake{i}x{k}@example.org");
            if !judge(&mut r, fake, NOW - 3_000 + k * 100).is_empty() {
                caught += 1;
            }
        }
    }
    println!(
        "self-referrals by a burst of 20 friends in an hour: 1,000, caught {caught} ({:.1}%; the first 10 of each burst pass)",
        caught as f64 / 10.0
    );
}
