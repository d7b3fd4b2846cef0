//! Prints the Stripe sandbox's throughput and the client's overhead per request:
//!
//!     . scripts/env.sh && cargo run --release --features ssr --example bench_stripe_sandbox
//!
//! The sandbox runs on loopback over a SQLite file in a temporary folder (or `DATABASE_URL`),
//! with its rate limit off. Figures: customer creations per second (16 at a time, each with an
//! idempotency key, as Refloop sends them), list pages of 100 per second, and the time the
//! client adds to a request over a bare HTTP call of the same endpoint.

use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use refloop::{
    db::Db,
    stripe::{types::CustomerParams, types::ListFilter, StripeClient},
    stripe_sandbox::Sandbox,
};
use serde_json::{json, Value};

const CUSTOMERS: usize = 3000;

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let url = std::env::var("DATABASE_URL")
        .unwrap_or_else(|_| format!("sqlite://{}/bench.db", dir.path().display()));
    let db = Db::connect(&url).await.expect("the database");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let app = Sandbox::start(db.clone(), refloop::stripe_sandbox::Access::Controls).router();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });

    let http = reqwest::Client::new();
    let control = |action: &'static str, body: Value| {
        let http = http.clone();
        let base = base.clone();
        async move {
            http.post(format!("{base}/_sandbox/{action}"))
                .json(&body)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };
    control("settings", json!({"rate_limit": null})).await;
    let account = control("accounts", json!({"name": "Bench"})).await;
    let key = account["secret_key"].as_str().unwrap().to_string();
    let client = StripeClient::new(&base, &key);

    let start = Instant::now();
    futures::stream::iter(0..CUSTOMERS)
        .map(|i| {
            let client = client.clone();
            async move {
                let p = CustomerParams {
                    email: Some(format!("c{i}@bench.example")),
                    name: Some(format!("Customer {i}")),
                    ..Default::default()
                };
                client.create_customer(&p, &format!("bench-{i}")).await
            }
        })
        .buffer_unordered(16)
        .try_collect::<Vec<_>>()
        .await
        .expect("creations");
    let creations = CUSTOMERS as f64 / start.elapsed().as_secs_f64();

    let start = Instant::now();
    let mut pages = 0;
    while start.elapsed() < Duration::from_secs(3) {
        let listed: Vec<_> = client
            .list_customers(ListFilter {
                page_size: Some(100),
                ..Default::default()
            })
            .try_collect()
            .await
            .unwrap();
        assert_eq!(listed.len(), CUSTOMERS);
        pages += CUSTOMERS.div_ceil(100);
    }
    let pages_per_sec = pages as f64 / start.elapsed().as_secs_f64();

    // Client overhead: the same GET through the client and as a bare request.
    let rounds = 500;
    let start = Instant::now();
    for _ in 0..rounds {
        client.account().await.unwrap();
    }
    let with_client = start.elapsed() / rounds;
    let start = Instant::now();
    for _ in 0..rounds {
        http.get(format!("{base}/v1/account"))
            .bearer_auth(&key)
            .send()
            .await
            .unwrap()
            .bytes()
            .await
            .unwrap();
    }
    let bare = start.elapsed() / rounds;

    println!(
        "stripe sandbox on {} (rate limit off):",
        db.backend().name()
    );
    println!("  customer creations: {creations:.0}/s ({CUSTOMERS} customers, 16 in flight, idempotency keys)");
    println!("  list pages (100 customers each): {pages_per_sec:.0}/s");
    println!(
        "  client overhead per request: {:.1} µs ({:.1} µs through the client, {:.1} µs bare)",
        with_client.as_secs_f64() * 1e6 - bare.as_secs_f64() * 1e6,
        with_client.as_secs_f64() * 1e6,
        bare.as_secs_f64() * 1e6
    );
}
