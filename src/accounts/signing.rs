//! Signing up, signing in and out, and the sign-up policy.

use super::{collect_invalid, start_session};
use crate::{
    auth::{password, session},
    db::{accounts, activity, new_id, throttles, unix_now, Db},
    domain::{activity::ActivityKind, permissions::Role, team::SignUpPolicy, validate},
    error::AppError,
};

/// Failed sign-ins allowed per email, and per address, in `THROTTLE_WINDOW_SECS`.
pub const MAX_FAILURES_PER_EMAIL: i64 = 5;
pub const MAX_FAILURES_PER_ADDRESS: i64 = 20;
pub const THROTTLE_WINDOW_SECS: i64 = 15 * 60;
const SIGN_UP_WINDOW_SECS: i64 = 3600;

#[derive(Debug, Clone)]
pub struct SignUp {
    pub company: String,
    pub name: String,
    pub email: String,
    pub password: String,
}

/// Creates the account and its Owner, and signs them in. Returns the session token.
pub async fn sign_up(db: &Db, form: SignUp, ip: &str) -> Result<String, AppError> {
    Ok(open_account(db, form, ip, true)
        .await?
        .expect("a session was asked for"))
}

/// Creates an account and its Owner for the operator (`refloop admin create-account`), whatever
/// the sign-up policy: the Owner chooses their password through the link returned.
pub async fn create_account(
    db: &Db,
    public_url: &str,
    company: &str,
    name: &str,
    email: &str,
) -> Result<String, AppError> {
    let form = SignUp {
        company: company.into(),
        name: name.into(),
        email: email.into(),
        // Nobody knows it: the Owner sets theirs through the link.
        password: session::new_token(),
    };
    open_account(db, form, "operator", false).await?;
    super::passwords::reset_link(db, public_url, email, super::passwords::OPERATOR_LINK_SECS).await
}

/// Creates the account and its Owner; with `sign_in`, a session for them too (its token).
async fn open_account(
    db: &Db,
    form: SignUp,
    ip: &str,
    sign_in: bool,
) -> Result<Option<String>, AppError> {
    let company = validate::name(&form.company, "your company's name", 80);
    let name = validate::name(&form.name, "your name", 80);
    let email = validate::email(&form.email);
    let password_ok = match &email {
        Ok(e) => validate::password(&form.password, e),
        Err(_) => validate::password(&form.password, ""),
    };
    collect_invalid(vec![
        (
            "company",
            company.as_ref().map(|_| ()).map_err(Clone::clone),
        ),
        ("name", name.as_ref().map(|_| ()).map_err(Clone::clone)),
        ("email", email.as_ref().map(|_| ()).map_err(Clone::clone)),
        ("password", password_ok),
    ])?;
    let (company, name, email) = (company.unwrap(), name.unwrap(), email.unwrap());
    let taken = || {
        AppError::invalid(
            "email",
            format!(
                "{email} already has a Refloop account. Sign in instead, or use another email."
            ),
        )
    };
    if accounts::user_by_email(db.pool(), &email).await?.is_some() {
        return Err(taken());
    }
    let password_hash = password::hash(form.password).await?;

    let now = unix_now();
    let account_id = new_id("acc");
    let user = accounts::UserRow {
        id: new_id("usr"),
        account_id: account_id.clone(),
        email: email.clone(),
        name: name.clone(),
        password_hash,
        role: Role::Owner,
        overrides: Default::default(),
        created_at: now,
    };
    let mut tx = db.begin().await?;
    accounts::insert_account(&mut *tx, &account_id, &company, now).await?;
    accounts::insert_user(&mut *tx, &user).await.map_err(|e| {
        if accounts::is_unique_violation(&e) {
            taken()
        } else {
            e.into()
        }
    })?;
    activity::record(
        &mut *tx,
        activity::NewActivity {
            account_id: &account_id,
            actor_id: Some(&user.id),
            actor_name: &name,
            kind: ActivityKind::AccountCreated,
            summary: format!("Created the account {company}"),
            ip,
        },
    )
    .await?;
    let token = match sign_in {
        true => Some(start_session(&mut *tx, &user.id).await?),
        false => None,
    };
    tx.commit().await?;
    Ok(token)
}

/// Whether someone at `ip` may create an account now: the instance's sign-up policy, and at
/// most `per_hour` attempts from one address an hour.
pub async fn may_sign_up(
    db: &Db,
    policy: SignUpPolicy,
    per_hour: u64,
    ip: &str,
) -> Result<(), AppError> {
    if !policy.allows(accounts::count_accounts(db.pool()).await?) {
        return Err(AppError::Forbidden(
            "Sign-up is closed on this Refloop. Ask a teammate to invite you from Team, or ask the person who runs this Refloop to create your account.".into(),
        ));
    }
    let attempts = throttles::bump(
        db.pool(),
        &format!("signup-ip:{ip}"),
        unix_now(),
        SIGN_UP_WINDOW_SECS,
    )
    .await?;
    if attempts > per_hour as i64 {
        return Err(AppError::TooManyRequests(
            "Too many sign-ups came from your network in the last hour. Try again later.".into(),
        ));
    }
    Ok(())
}

/// Checks the password and opens a session. Every attempt is counted for the email and the
/// address before the password is checked (so attempts made at the same moment cannot all slip
/// under the limit); past the limit, sign-in waits, without checking the password at all.
pub async fn sign_in(db: &Db, email: &str, password: &str, ip: &str) -> Result<String, AppError> {
    let email = validate::email(email).map_err(|m| AppError::invalid("email", m))?;
    if password.is_empty() {
        return Err(AppError::invalid("password", "Enter your password."));
    }
    let now = unix_now();
    let (email_key, ip_key) = (format!("signin-email:{email}"), format!("signin-ip:{ip}"));
    let by_email = throttles::bump(db.pool(), &email_key, now, THROTTLE_WINDOW_SECS).await?;
    let by_address = throttles::bump(db.pool(), &ip_key, now, THROTTLE_WINDOW_SECS).await?;
    if by_email > MAX_FAILURES_PER_EMAIL || by_address > MAX_FAILURES_PER_ADDRESS {
        return Err(AppError::TooManyRequests(format!(
            "Too many failed sign-ins. Wait {} minutes and try again.",
            THROTTLE_WINDOW_SECS / 60
        )));
    }
    let Some(user) = accounts::user_by_email(db.pool(), &email).await? else {
        return Err(AppError::invalid(
            "email",
            format!("No Refloop account uses {email}. Check the address, or sign up."),
        ));
    };
    if !password::verify(password.to_string(), user.password_hash.clone()).await {
        let left = MAX_FAILURES_PER_EMAIL - by_email;
        return Err(AppError::invalid(
            "password",
            if left > 0 {
                format!(
                    "That password is not right. {left} more tries before a {}-minute pause.",
                    THROTTLE_WINDOW_SECS / 60
                )
            } else {
                format!(
                    "That password is not right. Wait {} minutes and try again.",
                    THROTTLE_WINDOW_SECS / 60
                )
            },
        ));
    }
    throttles::clear(db.pool(), &email_key).await?;
    throttles::take_back(db.pool(), &ip_key).await?;
    start_session(db.pool(), &user.id).await
}

pub async fn sign_out(db: &Db, token: &str) -> Result<(), AppError> {
    crate::db::sessions::delete(db.pool(), &session::hash(token)).await?;
    Ok(())
}
