//! Flow control for AWS calls: a token bucket for all calls and one per
//! account. IAM Identity Center allows an account 20 calls a second across
//! its APIs; a ThrottlingException halves that account's rate, which then
//! climbs back with every call that goes through.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tokio::time::Instant;

use crate::tables::shrink_when_sparse;

use super::{Around, Call, CallKind, ErrorKind, RoleRef, SsoError, Target};

/// A sustained rate and the burst allowed above it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct RateLimits {
    /// All calls of the operator together.
    pub global: Rate,
    /// The calls into one account (IAM Identity Center's quota is per account).
    pub per_account: Rate,
}

impl Default for RateLimits {
    fn default() -> Self {
        Self { global: Rate { per_second: 500.0, burst: 100.0 }, per_account: Rate { per_second: 20.0, burst: 20.0 } }
    }
}

/// After a throttle, the rate never drops below this share of its ceiling.
const FLOOR_SHARE: f64 = 0.05;
/// Each call that goes through gives back this share of the ceiling.
const RECOVERY_SHARE: f64 = 0.01;

/// A token bucket whose rate adapts to throttling. Reservations may run the
/// tokens negative: the caller waits until its token would have arrived, so
/// waiters are served in order without polling.
#[derive(Clone, Debug)]
pub struct Bucket {
    ceiling: Rate,
    rate: f64,
    tokens: f64,
    updated: Instant,
}

impl Bucket {
    pub fn new(ceiling: Rate, now: Instant) -> Self {
        Self { ceiling, rate: ceiling.per_second, tokens: ceiling.burst, updated: now }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.updated).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.ceiling.burst);
        self.updated = self.updated.max(now);
    }

    /// Takes a token; returns how long to wait before using it.
    pub fn reserve(&mut self, now: Instant) -> Duration {
        self.refill(now);
        self.tokens -= 1.0;
        if self.tokens >= 0.0 { Duration::ZERO } else { Duration::from_secs_f64(-self.tokens / self.rate) }
    }

    /// Returns a reserved token that will not be used.
    pub fn give_back(&mut self) {
        self.tokens = (self.tokens + 1.0).min(self.ceiling.burst);
    }

    pub fn throttled(&mut self, now: Instant) {
        self.refill(now);
        self.rate = (self.rate / 2.0).max(self.ceiling.per_second * FLOOR_SHARE);
    }

    pub fn succeeded(&mut self) {
        self.rate = (self.rate + self.ceiling.per_second * RECOVERY_SHARE).min(self.ceiling.per_second);
    }

    #[cfg(test)]
    fn rate(&self) -> f64 {
        self.rate
    }

    /// Full and at its ceiling: the same as a new bucket, so it need not be kept.
    fn at_rest(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= self.ceiling.burst && self.rate >= self.ceiling.per_second
    }
}

/// A read waits for its token in its reconcile's slot at most this long.
pub const LONGEST_WAIT_IN_A_SLOT: Duration = Duration::from_millis(250);

fn rate_limited(account: &str, wait: Duration) -> String {
    let account = if account == OPERATOR_ACCOUNT { "the operator's own account" } else { account };
    format!("{account} is at its call rate; the next call fits in {:.1} s", wait.as_secs_f64())
}

/// The operator's own account, for the per-account bucket of calls without a role.
const OPERATOR_ACCOUNT: &str = "";
const SWEEP_EVERY: Duration = Duration::from_secs(60);

struct Buckets {
    global: Bucket,
    accounts: HashMap<String, Bucket>,
    swept: Instant,
}

impl Buckets {
    /// Drops the buckets that are as good as new.
    fn sweep(&mut self, now: Instant) {
        self.swept = now;
        self.accounts.retain(|_, bucket| !bucket.at_rest(now));
        shrink_when_sparse(&mut self.accounts);
    }
}

/// Around each call: it waits for its tokens.
pub struct RateLimiter {
    limits: RateLimits,
    buckets: Mutex<Buckets>,
}

fn account_key(target: &Target) -> &str {
    target.principal.role_account().unwrap_or(OPERATOR_ACCOUNT)
}

impl RateLimiter {
    pub fn new(limits: RateLimits) -> Self {
        let now = Instant::now();
        let buckets = Buckets { global: Bucket::new(limits.global, now), accounts: HashMap::new(), swept: now };
        Self { limits, buckets: Mutex::new(buckets) }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Buckets> {
        self.buckets.lock().expect("never poisoned")
    }

    /// Runs `call` once its tokens are there. A read that would wait longer
    /// than [`LONGEST_WAIT_IN_A_SLOT`] gives its tokens back and returns
    /// `RateLimited` instead, so that its reconcile is requeued and frees its
    /// slot for other objects; a write, which its reconcile has already
    /// prepared with reads, waits.
    async fn limit<T>(
        &self,
        target: &Target,
        kind: CallKind,
        call: impl Future<Output = Result<T, SsoError>>,
    ) -> Result<T, SsoError> {
        let account = account_key(target);
        let wait = {
            let now = Instant::now();
            let mut buckets = self.lock();
            if now.duration_since(buckets.swept) >= SWEEP_EVERY {
                buckets.sweep(now);
            }
            let global = buckets.global.reserve(now);
            let per_account = self.limits.per_account;
            let bucket = buckets.accounts.entry(account.to_string()).or_insert_with(|| Bucket::new(per_account, now));
            let wait = global.max(bucket.reserve(now));
            if kind == CallKind::Read && wait > LONGEST_WAIT_IN_A_SLOT {
                bucket.give_back();
                buckets.global.give_back();
                return Err(SsoError::new("RateLimit", ErrorKind::RateLimited(wait), rate_limited(account, wait)));
            }
            wait
        };
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
        let result = call.await;
        let mut buckets = self.lock();
        if let Some(bucket) = buckets.accounts.get_mut(account) {
            match &result {
                Err(error) if error.kind == ErrorKind::Throttling => bucket.throttled(Instant::now()),
                _ => bucket.succeeded(),
            }
        }
        result
    }

    /// The current rate of an account's bucket (its ceiling when it has none).
    #[cfg(test)]
    fn account_rate(&self, account: &str) -> f64 {
        self.lock().accounts.get(account).map_or(self.limits.per_account.per_second, Bucket::rate)
    }
}

#[async_trait]
impl Around for RateLimiter {
    async fn around<T: Send>(
        &self,
        call: Call<'_>,
        inner: impl Future<Output = Result<T, SsoError>> + Send,
    ) -> Result<T, SsoError> {
        self.limit(call.target, call.kind, inner).await
    }

    fn role_forgotten(&self, _: &RoleRef) {
        // Objects are going away: a good moment to drop the buckets of idle accounts.
        let (now, mut buckets) = (Instant::now(), self.lock());
        if now.duration_since(buckets.swept) >= Duration::from_secs(1) {
            buckets.sweep(now);
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::Ordering;

    use super::*;
    use crate::sso::stub::StubPort;
    use crate::sso::{Principal, SsoAdmin, Wrapped};

    const TEN: Rate = Rate { per_second: 10.0, burst: 2.0 };

    /// A port that answers DescribeInstance with ThrottlingException for one account.
    fn throttling_one_account() -> StubPort {
        let describe = |target: &Target| {
            Err(match account_key(target) {
                "111111111111" => SsoError::new("DescribeInstance", ErrorKind::Throttling, "Rate exceeded"),
                _ => SsoError::new("DescribeInstance", ErrorKind::AccessDenied, "gone"),
            })
        };
        StubPort { describe, ..Default::default() }
    }

    fn in_account(account: &str) -> Target {
        let role_arn = format!("arn:aws:iam::{account}:role/admin");
        Target::new("eu-west-1", Principal::Role(RoleRef::new(role_arn, None)))
    }

    #[tokio::test(start_paused = true)]
    async fn a_throttled_account_slows_down_and_other_accounts_do_not() {
        let limits = RateLimits {
            global: Rate { per_second: 1000.0, burst: 1000.0 },
            per_account: Rate { per_second: 20.0, burst: 20.0 },
        };
        let port = Wrapped::new(throttling_one_account(), RateLimiter::new(limits));
        for _ in 0..3 {
            let throttled = port.describe_instance(&in_account("111111111111"), "arn").await.unwrap_err();
            assert_eq!(throttled.kind, ErrorKind::Throttling, "the answer still reaches the caller");
        }
        assert_eq!(port.around().account_rate("111111111111"), 2.5, "halved three times");
        port.describe_instance(&in_account("222222222222"), "arn").await.unwrap_err();
        assert_eq!(port.around().account_rate("222222222222"), 20.0, "another account keeps its rate");

        // Past its burst, a still throttled account is down to its floor of
        // one call a second: reads come back to be requeued instead of waiting.
        let mut deferred = 0;
        for _ in 0..20 {
            match port.describe_instance(&in_account("111111111111"), "arn").await.unwrap_err().kind {
                ErrorKind::RateLimited(wait) => {
                    assert!(wait > LONGEST_WAIT_IN_A_SLOT && wait <= Duration::from_secs(2), "{wait:?}");
                    deferred += 1;
                    tokio::time::advance(wait).await;
                }
                other => assert_eq!(other, ErrorKind::Throttling),
            }
        }
        assert!(deferred > 0, "some reads were sent back to be requeued");
        assert_eq!(port.inner().describes.load(Ordering::SeqCst), 24 - deferred, "a requeued read reached nothing");
    }

    #[tokio::test(start_paused = true)]
    async fn a_write_waits_for_its_token_instead_of_being_requeued() {
        let limits = RateLimits {
            global: Rate { per_second: 1000.0, burst: 1000.0 },
            per_account: Rate { per_second: 1.0, burst: 1.0 },
        };
        let port = Wrapped::new(throttling_one_account(), RateLimiter::new(limits));
        let started = tokio::time::Instant::now();
        for _ in 0..3 {
            port.delete_instance(&in_account("111111111111"), "arn").await.unwrap();
        }
        assert!(started.elapsed() >= Duration::from_secs(2), "spaced at a second: {:?}", started.elapsed());
    }

    #[test]
    fn a_bucket_lets_its_burst_through_then_spaces_calls_at_its_rate() {
        let start = Instant::now();
        let mut bucket = Bucket::new(TEN, start);
        let waits: Vec<Duration> = (0..5).map(|_| bucket.reserve(start)).collect();
        let ms: Vec<u128> = waits.iter().map(Duration::as_millis).collect();
        assert_eq!(ms, [0, 0, 100, 200, 300]);
        let later = start + Duration::from_secs(10);
        assert_eq!(bucket.reserve(later), Duration::ZERO, "refilled after a quiet spell");
    }

    #[test]
    fn throttling_halves_the_rate_down_to_a_floor_and_successes_bring_it_back() {
        let start = Instant::now();
        let mut bucket = Bucket::new(TEN, start);
        let mut rates = Vec::new();
        for _ in 0..6 {
            bucket.throttled(start);
            rates.push(bucket.rate());
        }
        assert_eq!(rates, [5.0, 2.5, 1.25, 0.625, 0.5, 0.5]);
        for _ in 0..200 {
            bucket.succeeded();
        }
        assert_eq!(bucket.rate(), 10.0, "recovered to the ceiling, never above");
    }

    #[test]
    fn a_rested_bucket_is_indistinguishable_from_a_new_one() {
        let start = Instant::now();
        let mut bucket = Bucket::new(TEN, start);
        bucket.reserve(start);
        assert!(!bucket.at_rest(start));
        assert!(bucket.at_rest(start + Duration::from_secs(1)));
    }
}
