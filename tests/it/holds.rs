//! Holds end to end: a reward held after the payment that earned it is given by its scheduled
//! job within seconds of the hold's end, or cancelled if that payment was refunded inside it.
//! The friends joined 15 days ago and paid, in the sandbox, 14 days less a few seconds ago,
//! so that a 14-day hold ends while the test watches.

use refloop::{
    db::{self, rewards::RewardRow},
    domain::rewards::RewardStatus,
    workflows::rewards::RELEASE,
};
use serde_json::json;

use crate::{
    qualification::{credit, Qualifying},
    support::TestDb,
};

crate::on_both_backends!(
    a_held_reward_is_given_when_its_hold_ends_or_cancelled_by_a_refund_inside_it,
);

const DAY: i64 = 86_400;

/// A friend of a new referrer, who joined 15 days ago and paid 60.00 USD 14 days ago less
/// `seconds`; the referrer's email and the charge.
async fn paid_before_the_hold_ends(
    q: &Qualifying,
    t: &TestDb,
    referrer: &str,
    friend: &str,
    seconds: i64,
) -> String {
    let customer = q.pair(t, referrer, friend).await;
    sqlx::query("UPDATE participants SET created_at = created_at - $1 WHERE email = $2")
        .bind(15 * DAY)
        .bind(friend)
        .execute(t.db.pool())
        .await
        .unwrap();
    let account = db::stripe_connections::current_stripe_account(t.db.pool(), &q.alice.account_id)
        .await
        .unwrap()
        .unwrap();
    let charge = q
        .control(
            "payment",
            json!({
                "account": account, "customer": customer, "amount": 6_000, "currency": "usd",
                "created": db::unix_now() - 14 * DAY + seconds,
            }),
        )
        .await;
    charge["id"].as_str().unwrap().to_string()
}

async fn a_held_reward_is_given_when_its_hold_ends_or_cancelled_by_a_refund_inside_it(t: &TestDb) {
    let mut held_for_14_days = credit("10.00", true, false);
    held_for_14_days.rules[0].hold_days = "14".into();
    let q = Qualifying::start(t, held_for_14_days).await;

    // Held from the payment that reached the target, its release scheduled for the hold's end.
    let charge = paid_before_the_hold_ends(&q, t, "ann@x.test", "bob@x.test", 4).await;
    let held: RewardRow = q.until_reward(t, "ann@x.test", RewardStatus::Held).await;
    assert_eq!(held.held_for.as_deref(), Some(charge.as_str()));
    let until = held.held_until.unwrap();
    assert!((until - db::unix_now() - 4).abs() <= 2, "{until}");
    assert!(
        held.note.starts_with("Held until ")
            && held.note.ends_with(&format!(
                ": 14 days after {charge}, in case it is refunded or disputed"
            )),
        "{}",
        held.note
    );
    let scheduled: Vec<(i64,)> =
        sqlx::query_as("SELECT run_at_ms FROM jobs WHERE kind = $1 AND status = 'queued'")
            .bind(RELEASE)
            .fetch_all(t.db.pool())
            .await
            .unwrap();
    assert_eq!(scheduled, [(until * 1000,)]);

    // The hold ends: the credit is issued in Stripe, within seconds.
    let issued = q.until_reward(t, "ann@x.test", RewardStatus::Issued).await;
    assert!(db::unix_now() >= until);
    let ann = q.customer(t, "ann@x.test").await;
    assert_eq!(q.balance(t, &ann).await, -1_000);
    assert!(q
        .timeline(t, "ann@x.test")
        .await
        .contains(&"Reward: 10.00 USD credit — hold ended; Being issued in Stripe".to_string()));
    assert_eq!(issued.id, held.id);

    // A refund inside the hold cancels the reward when it ends, though the friend still
    // qualifies (55.00 of 50.00).
    let charge = paid_before_the_hold_ends(&q, t, "cat@x.test", "dan@x.test", 4).await;
    q.until_reward(t, "cat@x.test", RewardStatus::Held).await;
    q.stripe(t)
        .await
        .refund(&charge, Some(500), "refund-inside-the-hold")
        .await
        .unwrap();
    let cancelled = q
        .until_reward(t, "cat@x.test", RewardStatus::Cancelled)
        .await;
    assert_eq!(
        cancelled.note,
        format!("Cancelled when its hold ended: its payment {charge} was refunded or disputed")
    );
    let dan = q
        .until(t, "dan@x.test", "counted the refund", |p| p.spent == 5_500)
        .await;
    assert_eq!(
        dan.qualification,
        refloop::domain::participants::Qualification::Qualified
    );
    let cat = q.customer(t, "cat@x.test").await;
    assert_eq!(q.balance(t, &cat).await, 0);
    assert!(q.timeline(t, "cat@x.test").await.contains(&format!(
        "Reward cancelled: 10.00 USD credit (its payment {charge} was refunded or disputed during the hold)"
    )));
}
