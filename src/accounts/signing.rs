use super::{collect_invalid, start_session};
use crate::{
    auth::{password, session},
    db::{accounts, activity, new_id, sign_in_failures, unix_now, Db},
    domain::{activity::ActivityKind, permissions::Role, validate},
    error::AppError,
};

/// Failed sign-ins allowed per email, and per address, in `THROTTLE_WINDOW_SECS`.
pub const MAX_FAILURES_PER_EMAIL: i64 = 5;
pub const MAX_FAILURES_PER_ADDRESS: i64 = 20;
pub const THROTTLE_WINDOW_SECS: i64 = 15 * 60;

#[derive(Debug, Clone)]
pub struct SignUp {
    pub company: String,
    pub name: String,
    pub email: String,
    pub password: String,
}

/// Creates the account and its Owner, and signs them in. Returns the session token.
pub async fn sign_up(db: &Db, form: SignUp, ip: &str) -> Result<String, AppError> {
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
    let token = start_session(&mut *tx, &user.id).await?;
    tx.commit().await?;
    Ok(token)
}

/// Checks the password and opens a session. Too many failures for the email or the address
/// are refused for a while, with the time to wait.
pub async fn sign_in(db: &Db, email: &str, password: &str, ip: &str) -> Result<String, AppError> {
    let email = validate::email(email).map_err(|m| AppError::invalid("email", m))?;
    if password.is_empty() {
        return Err(AppError::invalid("password", "Enter your password."));
    }
    let now = unix_now();
    let (by_email, by_address) =
        sign_in_failures::counts(db.pool(), &email, ip, now - THROTTLE_WINDOW_SECS).await?;
    if by_email >= MAX_FAILURES_PER_EMAIL || by_address >= MAX_FAILURES_PER_ADDRESS {
        return Err(AppError::TooManyRequests(format!(
            "Too many failed sign-ins. Wait {} minutes and try again.",
            THROTTLE_WINDOW_SECS / 60
        )));
    }
    let Some(user) = accounts::user_by_email(db.pool(), &email).await? else {
        sign_in_failures::record(db.pool(), &email, ip, now).await?;
        return Err(AppError::invalid(
            "email",
            format!("No Refloop account uses {email}. Check the address, or sign up."),
        ));
    };
    if !password::verify(password.to_string(), user.password_hash.clone()).await {
        sign_in_failures::record(db.pool(), &email, ip, now).await?;
        let left = MAX_FAILURES_PER_EMAIL - by_email - 1;
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
    sign_in_failures::clear(db.pool(), &email).await?;
    start_session(db.pool(), &user.id).await
}

pub async fn sign_out(db: &Db, token: &str) -> Result<(), AppError> {
    crate::db::sessions::delete(db.pool(), &session::hash(token)).await?;
    Ok(())
}
