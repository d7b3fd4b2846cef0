//! How well the self-referral signs tell honest friends from people referring themselves
//! (issue 27). Prints figures; asserts nothing.
//!
//! A generated population of 10,000 honest friends of 1,000 people referring, with the overlaps
//! real programs have: colleagues at one company domain joining from their office's one address
//! (five people refer at each of 200 companies), common names at Gmail, Outlook addresses that
//! differ only by a dot (which Outlook does not ignore), friends with +tags of their own, busy
//! referrers bringing all ten friends in an hour, and 3% of friends in the referrer's household
//! (on their home network; a third of those on the family computer, a sixth paying with a joint
//! card). Then 1,000 self-referrals of each kind: a +tag, Gmail's dots, googlemail.com, a
//! disposable domain, the referrer's browser, the referrer's home network in another browser,
//! the referrer's card, and bursts of 20 "friends" in an hour.
//!
//! Each join is judged by `fraud::findings` as Refloop's join calls it (the shipped disposable
//! list; who else joined from an address counted as `db::fraud::address_use` counts it, over the
//! generated joins), and each payment by `fraud::shared_card` as qualification does. Figures are
//! given for the default settings (Same network and Disposable email off) and with every sign on.
//!
//!     . scripts/env.sh && cargo run --release --features ssr --example bench_fraud

use refloop::domain::fraud::{
    evidence_line, findings, same_card, shared_card, AddressUse, Card, CardUse, Finding,
    FraudSettings, Joining, Known, Response, Signal, NETWORK_WINDOW,
};

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

/// Where someone joined from, and who they are to the referral graph (for the address counts).
#[derive(Clone)]
struct Seen {
    id: usize,
    referrer: Option<usize>,
    device: String,
    network: String,
    at: i64,
}

/// Every join so far, as `join_sightings` holds them; ids count up from 0.
#[derive(Default)]
struct World {
    seen: Vec<Seen>,
}

impl World {
    /// `db::fraud::address_use`: joins from `network` in the last hour (this one too), and
    /// people unconnected to `referrer` within the network window.
    fn address_use(&self, network: &str, referrer: usize, at: i64) -> AddressUse {
        let from = || self.seen.iter().filter(move |s| s.network == network);
        AddressUse {
            joins_last_hour: from().filter(|s| s.at > at - 3_600).count() + 1,
            unconnected: from()
                .filter(|s| s.at > at - NETWORK_WINDOW)
                .filter(|s| s.id != referrer && s.referrer != Some(referrer))
                .count(),
        }
    }

    fn add(&mut self, referrer: Option<usize>, device: String, network: String, at: i64) -> usize {
        let id = self.seen.len();
        self.seen.push(Seen {
            id,
            referrer,
            device,
            network,
            at,
        });
        id
    }
}

struct Referrer {
    id: usize,
    email: String,
    company: String,
    home: String,
    card: String,
    friends: Vec<(String, usize)>,
}

/// A friend joining: their email, browser, address, time and the card they pay with.
struct Join {
    email: String,
    device: String,
    network: String,
    at: i64,
    card: String,
}

/// Judges a friend joining `r` as the join (and, for the card, their first payment) does, and
/// adds them to `r`'s friends.
fn judge(world: &mut World, r: &mut Referrer, j: Join) -> Vec<Finding> {
    let me = &world.seen[r.id];
    let known: Vec<Known> = r
        .friends
        .iter()
        .map(|(e, id)| {
            let s = &world.seen[*id];
            Known {
                name: "Friend",
                email: e,
                joined_at: s.at,
                device: Some(&s.device),
                network: Some(&s.network),
            }
        })
        .collect();
    let them = Known {
        name: "Referrer",
        email: &r.email,
        joined_at: me.at,
        device: Some(&me.device),
        network: Some(&me.network),
    };
    let joining = Joining {
        email: &j.email,
        device: Some(&j.device),
        network: Some(&j.network),
        disposable: disposable_emails::is_disposable_email(&j.email),
    };
    let mut found = findings(
        &joining,
        &them,
        &known,
        world.address_use(&j.network, r.id, j.at),
        j.at,
    );
    let used = |fingerprint: &str, who: usize, at: i64| CardUse {
        card: Card {
            fingerprint: fingerprint.into(),
            last4: "4242".into(),
            brand: "visa".into(),
        },
        charge_id: format!("ch_{who}"),
        customer: Some(format!("cus_{who}")),
        at,
    };
    let (mine, theirs) = (
        [used(&j.card, world.seen.len(), j.at)],
        [used(&r.card, r.id, me.at)],
    );
    if let Some((theirs, mine)) = shared_card(&mine, &theirs) {
        found.push(same_card(&j.email, "Referrer", theirs, mine));
    }
    drop(known);
    let id = world.add(Some(r.id), j.device, j.network, j.at);
    r.friends.push((j.email, id));
    found
}

/// Counts of findings by sign, and how many joins any sign flagged.
#[derive(Default)]
struct Tally {
    joins: usize,
    any: usize,
    by_default: usize,
    by_sign: Vec<(Signal, usize)>,
}

impl Tally {
    fn count(&mut self, found: &[Finding]) {
        self.joins += 1;
        self.any += usize::from(!found.is_empty());
        let defaults = FraudSettings::default();
        self.by_default += usize::from(
            found
                .iter()
                .any(|f| defaults.response(f.signal) != Response::Off),
        );
        for signal in Signal::ALL {
            if found.iter().any(|f| f.signal == signal) {
                match self.by_sign.iter_mut().find(|(s, _)| *s == signal) {
                    Some((_, n)) => *n += 1,
                    None => self.by_sign.push((signal, 1)),
                }
            }
        }
    }

    fn pct(&self, n: usize) -> f64 {
        n as f64 * 100.0 / self.joins.max(1) as f64
    }

    fn signs(&self) -> String {
        let parts: Vec<String> = self
            .by_sign
            .iter()
            .map(|(s, n)| format!("{} {n}", s.label()))
            .collect();
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join(", ")
        }
    }
}

fn main() {
    let mut rng = Lcg(27);
    let mut world = World::default();
    // 200 companies, each with one office address; 1,000 people referring, joined over two
    // days before their friends, half at work (a company address, from the office), half at home.
    let mut referrers: Vec<Referrer> = (0..1_000)
        .map(|i| {
            let (first, last) = (rng.pick(&FIRST), rng.pick(&LAST));
            // Five people referring at each company.
            let company = format!("{}-{}.com", LAST[i % LAST.len()], i % 200);
            let at_work = i % 2 == 0;
            let email = if at_work {
                format!("{first}.{last}@{company}")
            } else {
                format!("{first}{last}@gmail.com")
            };
            let home = format!("home-r{i}");
            let network = if at_work {
                format!("office-{company}")
            } else {
                home.clone()
            };
            let at = NOW - 2 * 86_400 + i as i64 * 150;
            let id = world.add(None, format!("dev-r{i}"), network, at);
            Referrer {
                id,
                email,
                company,
                home,
                card: format!("card-r{i}"),
                friends: Vec::new(),
            }
        })
        .collect();

    // 10,000 honest friends, ten per referrer, over a day (busy referrers: all ten in an hour).
    // Colleagues join from the office; 3% are the referrer's household on the home network (a
    // third of those on the family computer, a sixth paying with a joint card); the rest from
    // their own home or phone.
    let mut honest = Tally::default();
    let mut examples = Vec::new();
    let mut n = 0;
    for (i, r) in referrers.iter_mut().enumerate() {
        for k in 0..10 {
            n += 1;
            let (first, last) = (rng.pick(&FIRST), rng.pick(&LAST));
            let kind = rng.next() % 100;
            let email = match kind % 10 {
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
            let household = kind < 3;
            let network = if household {
                r.home.clone()
            } else if kind % 10 <= 3 {
                format!("office-{}", r.company)
            } else {
                format!("home-f{n}")
            };
            let device = if kind == 0 {
                world.seen[r.id].device.clone()
            } else {
                format!("dev-f{n}")
            };
            let card = if household && rng.next().is_multiple_of(6) {
                r.card.clone()
            } else {
                format!("card-f{n}")
            };
            let at = if i % 20 == 0 {
                NOW - 3_000 + k * 300
            } else {
                NOW - 86_400 + k * 8_000
            };
            let found = judge(
                &mut world,
                r,
                Join {
                    email: email.clone(),
                    device,
                    network,
                    at,
                    card,
                },
            );
            honest.count(&found);
            let found: Vec<Finding> = found;
            for f in found {
                if !examples
                    .iter()
                    .any(|(_, e): &(String, Finding)| e.signal == f.signal)
                {
                    examples.push((email.clone(), f));
                }
            }
        }
    }
    println!(
        "honest friends: {}; flagged with the default settings: {} ({:.2}%); with every sign on: {} ({:.2}%); by sign: {}",
        honest.joins,
        honest.by_default,
        honest.pct(honest.by_default),
        honest.any,
        honest.pct(honest.any),
        honest.signs()
    );
    for (email, found) in &examples {
        println!(
            "  e.g. {email}: {}",
            evidence_line(std::slice::from_ref(found))
        );
    }

    // 1,000 self-referrals of each kind, each by a new referrer of its own (so no burst), who
    // joined at home an hour before.
    let by_email: [(&str, FakeOf); 4] = [
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
    // How the fake joins and pays: (browser, address, card) as the referrer's (true) or new.
    let kinds: Vec<(&str, Option<FakeOf>, [bool; 3])> = by_email
        .iter()
        .map(|(kind, make)| (*kind, Some(*make), [false, false, false]))
        .chain([
            (
                "the referrer's browser, a new address",
                None,
                [true, false, false],
            ),
            (
                "the referrer's home network, another browser",
                None,
                [false, true, false],
            ),
            (
                "the referrer's card, from elsewhere",
                None,
                [false, false, true],
            ),
        ])
        .collect();
    for (kind, make, [same_device, same_network, same_card]) in kinds {
        let mut fakes = Tally::default();
        for i in 0..1_000 {
            n += 1;
            let first = rng.pick(&FIRST);
            let email = format!("{first}{}{i}@gmail.com", rng.pick(&LAST));
            let home = format!("home-x{n}");
            let id = world.add(None, format!("dev-x{n}"), home.clone(), NOW - 3_600);
            let mut r = Referrer {
                id,
                email,
                company: String::new(),
                home: home.clone(),
                card: format!("card-x{n}"),
                friends: Vec::new(),
            };
            let fake = match make {
                Some(make) => make(&r.email, &mut rng),
                None => format!("{}{}{i}@outlook.com", rng.pick(&FIRST), rng.pick(&LAST)),
            };
            let join = Join {
                email: fake,
                device: if same_device {
                    world.seen[id].device.clone()
                } else {
                    format!("dev-y{n}")
                },
                network: if same_network {
                    home
                } else {
                    format!("mobile-y{n}")
                },
                at: NOW,
                card: if same_card {
                    r.card.clone()
                } else {
                    format!("card-y{n}")
                },
            };
            fakes.count(&judge(&mut world, &mut r, join));
        }
        println!(
            "self-referrals by {kind}: 1,000; caught with the default settings {} ({:.1}%), with every sign on {} ({:.1}%)",
            fakes.by_default,
            fakes.pct(fakes.by_default),
            fakes.any,
            fakes.pct(fakes.any)
        );
    }
    // A burst: 50 people each making 20 "friends" within an hour, from new browsers on phones.
    let mut burst = Tally::default();
    for i in 0..50 {
        n += 1;
        let id = world.add(None, format!("dev-b{i}"), format!("home-b{i}"), NOW - 7_200);
        let mut r = Referrer {
            id,
            email: format!("burst{i}@example.org"),
            company: String::new(),
            home: String::new(),
            card: format!("card-b{i}"),
            friends: Vec::new(),
        };
        for k in 0..20 {
            n += 1;
            let join = Join {
                email: format!("fake{i}x{k}@example.org"),
                device: format!("dev-b{n}"),
                network: format!("mobile-b{n}"),
                at: NOW - 3_000 + k * 100,
                card: format!("card-b{n}"),
            };
            burst.count(&judge(&mut world, &mut r, join));
        }
    }
    println!(
        "self-referrals by a burst of 20 friends in an hour: 1,000; caught {} ({:.1}%; the first 10 of each burst pass)",
        burst.by_default,
        burst.pct(burst.by_default)
    );
}
