//! Fault injection: a service-wide token bucket and per-rule probabilities.

use std::time::{Duration, Instant};

use rand::Rng;
use rand::rngs::StdRng;

use super::config::{FaultRule, Faults};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    Throttle,
    ServerError,
    Drop,
}

/// What to do to one call.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Injection {
    pub before: Duration,
    pub after: Duration,
    pub fault: Option<Fault>,
}

pub struct FaultState {
    faults: Faults,
    tokens: f64,
    refilled: Instant,
}

impl FaultState {
    pub fn new(faults: Faults) -> Self {
        let tokens = faults.rate_limit.as_ref().map_or(0.0, |r| r.burst);
        Self { faults, tokens, refilled: Instant::now() }
    }

    pub fn faults(&self) -> &Faults {
        &self.faults
    }

    pub fn replace(&mut self, faults: Faults) {
        *self = Self::new(faults);
    }

    /// The delays to add and the fault to answer with, for one call.
    pub fn roll(&mut self, rng: &mut StdRng, operation: &str, account: &str) -> Injection {
        if let Some(limit) = &self.faults.rate_limit {
            let now = Instant::now();
            let refill = now.duration_since(self.refilled).as_secs_f64() * limit.per_second;
            self.tokens = (self.tokens + refill).min(limit.burst);
            self.refilled = now;
            if self.tokens < 1.0 {
                return Injection { fault: Some(Fault::Throttle), ..Injection::default() };
            }
            self.tokens -= 1.0;
        }
        let applies = |rule: &&FaultRule| {
            rule.operation.as_deref().is_none_or(|op| op == operation)
                && rule.account.as_deref().is_none_or(|a| a == account)
        };
        let mut injection = Injection::default();
        for rule in self.faults.rules.iter().filter(applies) {
            injection.before += Duration::from_millis(rule.latency_ms);
            injection.after += Duration::from_millis(rule.delay_answer_ms);
            let faults =
                [(rule.drop, Fault::Drop), (rule.throttle, Fault::Throttle), (rule.server_error, Fault::ServerError)];
            for (probability, fault) in faults {
                if injection.fault.is_none() && probability > 0.0 && rng.random::<f64>() < probability {
                    injection.fault = Some(fault);
                }
            }
        }
        injection
    }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;

    use super::*;
    use crate::config::RateLimit;

    #[test]
    fn the_bucket_refuses_past_its_burst() {
        let mut state =
            FaultState::new(Faults { rate_limit: Some(RateLimit { per_second: 0.001, burst: 3.0 }), rules: vec![] });
        let mut rng = StdRng::seed_from_u64(1);
        let faults: Vec<_> = (0..5).map(|_| state.roll(&mut rng, "DescribeInstance", "1").fault).collect();
        assert_eq!(faults, [None, None, None, Some(Fault::Throttle), Some(Fault::Throttle)]);
    }

    #[test]
    fn rules_match_by_operation_and_account() {
        let rule = FaultRule {
            operation: Some("CreateInstance".into()),
            account: Some("111".into()),
            server_error: 1.0,
            latency_ms: 5,
            ..Default::default()
        };
        let mut state = FaultState::new(Faults { rate_limit: None, rules: vec![rule] });
        let mut rng = StdRng::seed_from_u64(1);
        let hit = state.roll(&mut rng, "CreateInstance", "111");
        assert_eq!((hit.before, hit.fault), (Duration::from_millis(5), Some(Fault::ServerError)));
        assert_eq!(state.roll(&mut rng, "CreateInstance", "222"), Injection::default());
        assert_eq!(state.roll(&mut rng, "DescribeInstance", "111"), Injection::default());
    }

    #[test]
    fn probabilities_are_honoured_roughly() {
        let rule = FaultRule { throttle: 0.3, ..Default::default() };
        let mut state = FaultState::new(Faults { rate_limit: None, rules: vec![rule] });
        let mut rng = StdRng::seed_from_u64(7);
        let throttled = (0..10_000).filter(|_| state.roll(&mut rng, "X", "1").fault == Some(Fault::Throttle)).count();
        assert!((2_700..3_300).contains(&throttled), "{throttled} of 10000");
    }
}
