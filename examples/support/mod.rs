//! What the benchmarks share.

use refloop::{
    accounts::{self, SignUp},
    auth::{caller_from, session, Ctx},
    db::Db,
};

/// Signs up a new account and returns its owner, as a server function would see them.
pub async fn owner(db: &Db) -> Ctx {
    let token = accounts::sign_up(
        db,
        SignUp {
            company: "Bench".into(),
            name: "Bench Owner".into(),
            email: "owner@bench.test".into(),
            password: "correct horse battery".into(),
        },
        "127.0.0.1",
    )
    .await
    .unwrap();
    let mut headers = axum::http::HeaderMap::new();
    headers.insert(
        axum::http::header::COOKIE,
        format!("{}={token}", session::COOKIE).parse().unwrap(),
    );
    caller_from(db, &headers, "127.0.0.1".into())
        .await
        .unwrap()
        .unwrap()
}
