//! The campaigns repository on both backends.

use refloop::{
    db::{accounts::is_unique_violation, campaigns, campaigns::CampaignRow, new_id, unix_now},
    domain::campaigns::{CampaignStatus, FieldKind, FormField, PromoteToggle},
};

use crate::{accounts::owner, support::TestDb};

crate::on_both_backends!(campaigns_are_stored_scoped_and_found_by_slug);

fn campaign(account_id: &str, slug: &str) -> CampaignRow {
    let email = FormField {
        key: "email".into(),
        label: "Email".into(),
        kind: FieldKind::Email,
        required: true,
    };
    let plan = FormField {
        key: "plan".into(),
        label: "Plan".into(),
        kind: FieldKind::Select(vec!["basic".into(), "pro".into()]),
        required: false,
    };
    CampaignRow {
        id: new_id("cmp"),
        account_id: account_id.into(),
        name: "Spring referrals".into(),
        slug: slug.into(),
        status: CampaignStatus::Draft,
        starts_at: None,
        ends_at: None,
        referrer_form: vec![email.clone(), plan],
        friend_form: vec![email],
        referral_cap: Some(10),
        send_referrers_to_stripe: false,
        send_friends_to_stripe: true,
        ongoing_stripe_sync: false,
        share_text: "Join me on Acme".into(),
        landing_url: String::new(),
        created_at: unix_now(),
        updated_at: unix_now(),
    }
}

async fn campaigns_are_stored_scoped_and_found_by_slug(t: &TestDb) {
    let (alice, _) = owner(&t.db, "Acme", "alice@acme.test").await;
    let (olga, _) = owner(&t.db, "Other", "olga@other.test").await;
    let mut c = campaign(&alice.account_id, "spring");
    campaigns::insert(t.db.pool(), &c).await.unwrap();
    assert_eq!(
        campaigns::get(t.db.pool(), &alice.account_id, &c.id)
            .await
            .unwrap(),
        Some(c.clone())
    );
    assert_eq!(
        campaigns::get(t.db.pool(), &olga.account_id, &c.id)
            .await
            .unwrap(),
        None,
        "another account's id finds nothing"
    );
    assert_eq!(
        campaigns::by_slug(t.db.pool(), "spring")
            .await
            .unwrap()
            .unwrap()
            .id,
        c.id
    );

    // Slugs are public addresses: unique across accounts.
    let err = campaigns::insert(t.db.pool(), &campaign(&olga.account_id, "spring"))
        .await
        .unwrap_err();
    assert!(is_unique_violation(&err));

    c.status = CampaignStatus::Live;
    assert!(campaigns::update(t.db.pool(), &c).await.unwrap());
    // A toggle is switched on its own, so a concurrent edit of the settings cannot undo it.
    assert!(campaigns::set_toggle(
        t.db.pool(),
        &alice.account_id,
        &c.id,
        PromoteToggle::SendReferrers,
        true,
        c.updated_at
    )
    .await
    .unwrap());
    c.send_referrers_to_stripe = true;
    let mut stale = c.clone();
    stale.send_referrers_to_stripe = false;
    stale.name = "Spring referrals 2".into();
    assert!(campaigns::update(t.db.pool(), &stale).await.unwrap());
    c.name = stale.name.clone();
    let mut foreign = c.clone();
    foreign.account_id = olga.account_id.clone();
    assert!(!campaigns::update(t.db.pool(), &foreign).await.unwrap());
    assert!(!campaigns::set_toggle(
        t.db.pool(),
        &olga.account_id,
        &c.id,
        PromoteToggle::SendFriends,
        false,
        0
    )
    .await
    .unwrap());
    let listed = campaigns::list(t.db.pool(), &alice.account_id)
        .await
        .unwrap();
    assert_eq!(listed, vec![c]);
    assert!(campaigns::list(t.db.pool(), &olga.account_id)
        .await
        .unwrap()
        .is_empty());
    assert_eq!(
        campaigns::participant_limit(t.db.pool(), &alice.account_id)
            .await
            .unwrap(),
        5_000
    );
}
