//! Argon2id password hashes, computed on a blocking thread so they never stall the server, and
//! a few at a time: each takes about 19 MiB, so a flood of sign-ins waits its turn instead of
//! exhausting memory.

use std::sync::{
    atomic::{AtomicUsize, Ordering},
    LazyLock,
};

use tokio::sync::Semaphore;

use argon2::{
    password_hash::{rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString},
    Argon2,
};

use crate::error::AppError;

/// Hashes computed at once: one per core, at least two.
static ARGON2: LazyLock<Semaphore> = LazyLock::new(|| {
    Semaphore::new(
        std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(2)
            .max(2),
    )
});
static IN_FLIGHT: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

/// The most Argon2 computations that ever ran at once in this process.
pub fn peak_concurrency() -> usize {
    PEAK.load(Ordering::Relaxed)
}

/// Runs `work` on a blocking thread once a permit is free.
async fn bounded<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let _permit = ARGON2.acquire().await.ok()?;
    let now = IN_FLIGHT.fetch_add(1, Ordering::SeqCst) + 1;
    PEAK.fetch_max(now, Ordering::SeqCst);
    let result = tokio::task::spawn_blocking(work).await.ok();
    IN_FLIGHT.fetch_sub(1, Ordering::SeqCst);
    result
}

pub async fn hash(password: String) -> Result<String, AppError> {
    bounded(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.as_bytes(), &salt)
            .map(|h| h.to_string())
    })
    .await
    .ok_or_else(|| AppError::internal("password hashing", "the hashing thread stopped"))?
    .map_err(|e| AppError::internal("password hashing", e))
}

pub async fn verify(password: String, stored: String) -> bool {
    bounded(move || {
        PasswordHash::new(&stored)
            .map(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            })
            .unwrap_or(false)
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_only_its_password() {
        let stored = hash("correct horse battery".into()).await.unwrap();
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify("correct horse battery".into(), stored.clone()).await);
        assert!(!verify("wrong horse battery".into(), stored).await);
        assert!(!verify("anything".into(), "not a hash".into()).await);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn no_more_hashes_run_at_once_than_there_are_permits() {
        let stored = hash("correct horse battery".into()).await.unwrap();
        let checks: Vec<_> = (0..24)
            .map(|_| tokio::spawn(verify("wrong horse battery".into(), stored.clone())))
            .collect();
        for c in checks {
            assert!(!c.await.unwrap());
        }
        let bound = std::thread::available_parallelism()
            .map(usize::from)
            .unwrap_or(2)
            .max(2);
        assert!(
            peak_concurrency() >= 1 && peak_concurrency() <= bound,
            "{}",
            peak_concurrency()
        );
    }
}
