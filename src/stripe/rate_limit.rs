//! A token bucket per Stripe account, shared by every task in the process, so that one
//! merchant's traffic stays under Stripe's limit and never starves another's.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

#[derive(Debug)]
pub struct TokenBucket {
    rate: f64,
    state: Mutex<(f64, Instant)>,
}

impl TokenBucket {
    /// `rate` requests per second, with a burst of one second's worth.
    pub fn new(rate: f64) -> TokenBucket {
        TokenBucket {
            rate,
            state: Mutex::new((rate, Instant::now())),
        }
    }

    /// Takes a token if one is there; otherwise says how long until one will be. Jobs use this
    /// to step aside (and free their worker) instead of waiting in line.
    pub fn try_acquire(&self) -> Result<(), Duration> {
        let mut state = self.state.lock().expect("bucket lock");
        let now = Instant::now();
        let tokens =
            (state.0 + now.duration_since(state.1).as_secs_f64() * self.rate).min(self.rate);
        if tokens >= 1.0 {
            *state = (tokens - 1.0, now);
            Ok(())
        } else {
            *state = (tokens, now);
            Err(Duration::from_secs_f64((1.0 - tokens) / self.rate))
        }
    }

    /// Waits until a request may be sent.
    pub async fn acquire(&self) {
        loop {
            let wait = {
                let mut state = self.state.lock().expect("bucket lock");
                let now = Instant::now();
                let tokens = (state.0 + now.duration_since(state.1).as_secs_f64() * self.rate)
                    .min(self.rate);
                if tokens >= 1.0 {
                    *state = (tokens - 1.0, now);
                    return;
                }
                *state = (tokens, now);
                Duration::from_secs_f64((1.0 - tokens) / self.rate)
            };
            tokio::time::sleep(wait).await;
        }
    }
}

/// Stripe's default limits per account: test mode 25 requests/s, live mode 100/s.
pub const TEST_MODE_RATE: f64 = 25.0;
pub const LIVE_MODE_RATE: f64 = 100.0;

/// The buckets of a process, one per Stripe account (or key), with a rate per mode.
#[derive(Debug, Clone)]
pub struct RateLimiters {
    buckets: Arc<Mutex<HashMap<String, Arc<TokenBucket>>>>,
    test_rate: f64,
    live_rate: f64,
}

impl Default for RateLimiters {
    fn default() -> Self {
        RateLimiters::new(TEST_MODE_RATE, LIVE_MODE_RATE)
    }
}

impl RateLimiters {
    pub fn new(test_rate: f64, live_rate: f64) -> Self {
        RateLimiters {
            buckets: Arc::default(),
            test_rate,
            live_rate,
        }
    }

    /// The bucket for the account a key acts on, at the rate of the key's mode.
    pub fn for_key(&self, account: &str, key: &str) -> Arc<TokenBucket> {
        let live = key.starts_with("sk_live_") || key.starts_with("rk_live_");
        self.for_account(account, if live { self.live_rate } else { self.test_rate })
    }

    pub fn for_account(&self, account: &str, rate: f64) -> Arc<TokenBucket> {
        self.buckets
            .lock()
            .expect("limiter lock")
            .entry(account.to_string())
            .or_insert_with(|| Arc::new(TokenBucket::new(rate)))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_bucket_holds_the_rate() {
        let bucket = TokenBucket::new(50.0);
        let start = Instant::now();
        for _ in 0..100 {
            bucket.acquire().await;
        }
        // 50 at once (the burst), then 50 more at 50/s: about one second.
        let took = start.elapsed().as_secs_f64();
        assert!((0.9..1.5).contains(&took), "{took}");
    }

    #[test]
    fn live_keys_get_the_live_rate() {
        let limiters = RateLimiters::new(25.0, 100.0);
        assert_eq!(limiters.for_key("acct_l", "rk_live_abc").rate, 100.0);
        assert_eq!(limiters.for_key("acct_t", "sk_test_abc").rate, 25.0);
    }

    #[test]
    fn accounts_share_one_bucket_each() {
        let limiters = RateLimiters::default();
        let a = limiters.for_account("acct_a", 25.0);
        assert!(Arc::ptr_eq(&a, &limiters.for_account("acct_a", 25.0)));
        assert!(!Arc::ptr_eq(&a, &limiters.for_account("acct_b", 25.0)));
    }
}
