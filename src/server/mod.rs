//! The composition root: reads the configuration, builds the state, the job registry and the
//! routes, and runs the process (serve, worker, sandbox, admin) until a signal. Nothing imports
//! it but `main`; it only composes what the layers below provide.

pub mod client_addr;
pub mod export;
pub mod front_end;
pub mod health;
pub mod middleware;
pub mod router;
pub mod snippet;
pub mod unsubscribe;
pub mod webhooks;

use std::{future::IntoFuture, process::ExitCode, sync::Arc, time::Duration};

use clap::Parser;
use tokio::{net::TcpListener, sync::Notify};

use crate::{
    config::{self, Cli, Config},
    db::Db,
    jobs::Registry,
    mail::Mailer,
    state::{self, AppState},
    workflows::StripeAccess,
};

/// Every job kind this process runs: the workflows', the emails and the housekeeping.
pub fn job_registry(
    config: &Config,
    stripe: StripeAccess,
    mailer: Mailer,
) -> Registry<StripeAccess> {
    let outbound = crate::workflows::outbound::Outbound::new(config.webhooks_allow_private);
    crate::housekeeping::register(
        crate::workflows::outbound::register(
            crate::notifications::register(crate::workflows::registry(stripe), mailer),
            outbound,
        ),
        config.job_retention_days,
    )
}

/// The binary's entry point: parse the configuration, start logging, serve until a signal.
pub async fn main() -> ExitCode {
    let cli = Cli::parse();
    config::init_logging(&cli.config);
    let outcome = match cli.command {
        None | Some(config::Command::Serve) => serve(cli.config).await,
        Some(config::Command::Worker) => work(cli.config).await,
        Some(config::Command::StripeSandbox { port }) => serve_sandbox(cli.config, port).await,
        Some(config::Command::Admin(command)) => admin(cli.config, command).await,
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            tracing::error!("{message}");
            eprintln!("refloop: {message}");
            ExitCode::FAILURE
        }
    }
}

/// Opens the database, binds the address and serves until SIGINT or SIGTERM.
pub async fn serve(config: Config) -> Result<(), String> {
    let db = Db::connect(&config.database_url).await.map_err(|e| {
        format!(
            "could not open the database named by DATABASE_URL ({}): {e}",
            config::redact_url(&config.database_url)
        )
    })?;
    let grace = Duration::from_secs(config.shutdown_grace_secs);
    let shutdown = shutdown_signal();
    let listener = TcpListener::bind(config.addr).await.map_err(|e| {
        format!(
            "could not listen on {} (LEPTOS_SITE_ADDR): {e}",
            config.addr
        )
    })?;
    // The port actually taken (when asked for any), for the links and the sandbox's address.
    let mut config = config;
    config.addr = listener.local_addr().map_err(|e| e.to_string())?;
    let state = AppState::new(config, db.clone())?;
    state::check_secret_key(&db, &state.stripe.sealer).await?;
    let (stop_workers, workers_stopped) = tokio::sync::watch::channel(false);
    let workers = (state.config.workers > 0).then(|| {
        let worker = crate::jobs::Worker::new(
            state.queue.clone(),
            job_registry(&state.config, state.stripe.clone(), state.mailer.clone()),
            state.config.worker_config(),
        );
        tokio::spawn(worker.run(workers_stopped))
    });
    if let Some(addr) = state.config.metrics_addr {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| format!("could not listen on {addr} (REFLOOP_METRICS_ADDR): {e}"))?;
        tracing::info!(%addr, "metrics on http://{addr}/metrics");
        let metrics = router::metrics_router(state.clone());
        tokio::spawn(async move { axum::serve(listener, metrics).await });
    }
    if state.front_end.has_bundle() {
        tracing::info!("the front end is {}", state.front_end.describe());
    } else {
        tracing::warn!(
            "no front-end bundle ({}): pages will render but not become interactive; \
             build with `scripts/dist`, or give --site-root",
            state.front_end.describe()
        );
    }
    let app = router::router(state);
    tracing::info!(
        addr = %listener.local_addr().map_err(|e| e.to_string())?,
        database = db.backend().name(),
        "Refloop is listening on http://{}",
        listener.local_addr().map_err(|e| e.to_string())?
    );

    let stop = Arc::new(Notify::new());
    let serving = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<std::net::SocketAddr>(),
    )
    .with_graceful_shutdown({
        let stop = stop.clone();
        async move { stop.notified().await }
    });
    let mut serving = std::pin::pin!(serving.into_future());
    tokio::select! {
        result = &mut serving => result.map_err(|e| format!("the server stopped: {e}"))?,
        signal = shutdown => {
            tracing::info!(signal, "shutting down: finishing requests in flight (at most {}s)", grace.as_secs());
            stop.notify_one();
            match tokio::time::timeout(grace, serving).await {
                Ok(result) => result.map_err(|e| format!("the server stopped: {e}"))?,
                Err(_) => tracing::warn!("grace period over; stopping with requests still running"),
            }
        }
    }
    let _ = stop_workers.send(true);
    if let Some(w) = workers {
        let _ = w.await;
    }
    db.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// Runs only the background workers until SIGINT or SIGTERM.
pub async fn work(config: Config) -> Result<(), String> {
    let shutdown = shutdown_signal();
    let db = Db::connect(&config.database_url).await.map_err(|e| {
        format!(
            "could not open the database named by DATABASE_URL ({}): {e}",
            config::redact_url(&config.database_url)
        )
    })?;
    let stripe = state::stripe_access(&config)?;
    state::check_secret_key(&db, &stripe.sealer).await?;
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let worker_config = crate::jobs::WorkerConfig {
        concurrency: (config.workers as usize).max(1),
        ..config.worker_config()
    };
    tracing::info!(concurrency = worker_config.concurrency, owner = %worker_config.owner, "worker started");
    let worker = tokio::spawn(
        crate::jobs::Worker::new(
            crate::jobs::Queue::new(db.clone()),
            job_registry(&config, stripe, state::mailer(&config)?),
            worker_config,
        )
        .run(stopped),
    );
    let signal = shutdown.await;
    tracing::info!(signal, "worker shutting down: letting running jobs finish");
    let _ = stop.send(true);
    let _ = worker.await;
    db.close().await;
    tracing::info!("stopped");
    Ok(())
}

/// `refloop admin …`: prints what the command reports; fails when it does.
pub async fn admin(config: Config, command: config::AdminCommand) -> Result<(), String> {
    let report = crate::admin::run(&config, command).await?;
    println!("{}", report.text);
    if report.ok {
        Ok(())
    } else {
        Err("a check failed".into())
    }
}

/// Serves the Stripe sandbox alone, on 127.0.0.1:`port`, storing its state in DATABASE_URL.
pub async fn serve_sandbox(config: Config, port: u16) -> Result<(), String> {
    let db = Db::connect(&config.database_url)
        .await
        .map_err(|e| format!("could not open the database named by DATABASE_URL: {e}"))?;
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let shutdown = shutdown_signal();
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|e| format!("could not listen on {addr} (--port): {e}"))?;
    tracing::info!("Stripe sandbox listening on http://{addr} (API at /v1, controls at /_sandbox)");
    // Alone, the sandbox is a test tool: its controls are open on the loopback address.
    let app =
        crate::stripe_sandbox::Sandbox::start(db.clone(), crate::stripe_sandbox::Access::Controls)
            .router();
    axum::serve(listener, app)
        .with_graceful_shutdown(async move {
            shutdown.await;
        })
        .await
        .map_err(|e| format!("the sandbox stopped: {e}"))?;
    db.close().await;
    Ok(())
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM, naming which. The signals are caught from the moment
/// this is called, not from the first poll, so call it before serving: a signal that arrives
/// while the server is starting then still shuts it down gracefully.
fn shutdown_signal() -> impl std::future::Future<Output = &'static str> {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        let interrupt = signal(SignalKind::interrupt());
        let terminate = signal(SignalKind::terminate());
        async move {
            let wait = |s: std::io::Result<tokio::signal::unix::Signal>| async move {
                match s {
                    Ok(mut s) => {
                        s.recv().await;
                    }
                    Err(_) => std::future::pending::<()>().await,
                }
            };
            tokio::select! {
                _ = wait(interrupt) => "SIGINT",
                _ = wait(terminate) => "SIGTERM",
            }
        }
    }
    #[cfg(not(unix))]
    async {
        let _ = tokio::signal::ctrl_c().await;
        "SIGINT"
    }
}
