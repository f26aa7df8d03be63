//! Prometheus metrics, in the OpenMetrics text format: reconciles, errors by
//! reason, AWS calls by operation and outcome with their latency, objects by
//! state and reason, reconciles in flight, and leadership.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabel {
    outcome: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ReasonLabel {
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OperationLabel {
    operation: String,
}

/// An object's last reported outcome: ready, progressing, retrying or stalled, and its reason.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ObjectLabels {
    state: String,
    reason: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct CallLabels {
    operation: String,
    outcome: String,
}

pub struct Metrics {
    registry: Registry,
    reconciles: Family<OutcomeLabel, Counter>,
    errors: Family<ReasonLabel, Counter>,
    aws_calls: Family<CallLabels, Counter>,
    aws_call_seconds: Family<OperationLabel, Histogram>,
    reconcile_seconds: Histogram,
    objects: Family<ObjectLabels, Gauge>,
    /// What each object (by UID) counts as in `objects`.
    object_states: Mutex<HashMap<String, ObjectLabels>>,
    in_flight: Gauge,
    leader: Gauge,
}

/// Counts one reconcile in flight while it lives.
pub struct InFlight<'a>(&'a Gauge);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.dec();
    }
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("identity_center_operator");
        let reconciles = Family::<OutcomeLabel, Counter>::default();
        let errors = Family::<ReasonLabel, Counter>::default();
        let aws_calls = Family::<CallLabels, Counter>::default();
        let aws_call_seconds = Family::<OperationLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.005, 2.0, 14))
        });
        let reconcile_seconds = Histogram::new(exponential_buckets(0.005, 2.0, 14));
        let objects = Family::<ObjectLabels, Gauge>::default();
        let (in_flight, leader) = (Gauge::default(), Gauge::default());
        registry.register("reconciles", "Reconciles by outcome", reconciles.clone());
        registry.register("reconcile_errors", "Reconcile errors by condition reason", errors.clone());
        registry.register("aws_calls", "SSO Admin and STS calls by operation and outcome", aws_calls.clone());
        registry.register(
            "aws_call_duration_seconds",
            "Time one AWS call takes, by operation",
            aws_call_seconds.clone(),
        );
        registry.register("reconcile_duration_seconds", "Time one reconcile takes", reconcile_seconds.clone());
        registry.register("objects", "IdentityCenterInstances by last reported state and reason", objects.clone());
        registry.register("reconciles_in_flight", "Reconciles running now", in_flight.clone());
        registry.register(
            "leader",
            "1 while this replica may write (it holds the lease, or runs alone)",
            leader.clone(),
        );
        Self {
            registry,
            reconciles,
            errors,
            aws_calls,
            aws_call_seconds,
            reconcile_seconds,
            objects,
            object_states: Mutex::default(),
            in_flight,
            leader,
        }
    }
}

impl Metrics {
    pub fn reconciled(&self, outcome: &str, seconds: f64) {
        self.reconciles.get_or_create(&OutcomeLabel { outcome: outcome.into() }).inc();
        self.reconcile_seconds.observe(seconds);
    }

    pub fn error(&self, reason: &str) {
        self.errors.get_or_create(&ReasonLabel { reason: reason.into() }).inc();
    }

    pub fn aws_call(&self, operation: &str, outcome: &str, took: Duration) {
        self.aws_calls.get_or_create(&CallLabels { operation: operation.into(), outcome: outcome.into() }).inc();
        self.aws_call_seconds
            .get_or_create(&OperationLabel { operation: operation.into() })
            .observe(took.as_secs_f64());
    }

    /// A reconcile starts; it counts as in flight until the guard is dropped.
    pub fn reconcile_started(&self) -> InFlight<'_> {
        self.in_flight.inc();
        InFlight(&self.in_flight)
    }

    /// The object with `uid` now reports `state` for `reason`.
    pub fn object_state(&self, uid: &str, state: &str, reason: &str) {
        let labels = ObjectLabels { state: state.into(), reason: reason.into() };
        let mut states = self.object_states.lock().expect("never poisoned");
        match states.insert(uid.to_string(), labels.clone()) {
            Some(previous) if previous == labels => return,
            Some(previous) => {
                self.objects.get_or_create(&previous).dec();
            }
            None => {}
        }
        self.objects.get_or_create(&labels).inc();
    }

    /// The object with `uid` is gone from the cluster.
    pub fn object_gone(&self, uid: &str) {
        let mut states = self.object_states.lock().expect("never poisoned");
        if let Some(previous) = states.remove(uid) {
            self.objects.get_or_create(&previous).dec();
        }
        crate::tables::shrink_when_sparse(&mut states);
    }

    pub fn set_leader(&self, leader: bool) {
        self.leader.set(i64::from(leader));
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry).expect("writing to a String cannot fail");
        out
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::Metrics;

    #[test]
    fn renders_counters_with_their_labels() {
        let metrics = Metrics::default();
        metrics.reconciled("ready", 0.02);
        metrics.error("Throttled");
        metrics.aws_call("CreateInstance", "success", Duration::from_millis(30));
        metrics.object_state("uid-1", "stalled", "NotPermitted");
        metrics.object_state("uid-2", "stalled", "NotPermitted");
        metrics.object_state("uid-2", "ready", "InstanceActive");
        metrics.object_state("uid-3", "ready", "InstanceActive");
        metrics.object_gone("uid-3");
        metrics.set_leader(true);
        let in_flight = metrics.reconcile_started();
        let text = metrics.render();
        drop(in_flight);
        for line in [
            r#"identity_center_operator_reconciles_total{outcome="ready"} 1"#,
            r#"identity_center_operator_reconcile_errors_total{reason="Throttled"} 1"#,
            r#"identity_center_operator_aws_calls_total{operation="CreateInstance",outcome="success"} 1"#,
            "identity_center_operator_reconcile_duration_seconds_count 1",
            r#"identity_center_operator_aws_call_duration_seconds_count{operation="CreateInstance"} 1"#,
            r#"identity_center_operator_objects{state="stalled",reason="NotPermitted"} 1"#,
            r#"identity_center_operator_objects{state="ready",reason="InstanceActive"} 1"#,
            "identity_center_operator_reconciles_in_flight 1",
            "identity_center_operator_leader 1",
            "# EOF",
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
    }
}
