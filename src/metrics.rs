//! Prometheus metrics: reconciles, errors by reason, AWS calls by operation
//! and outcome, and how long reconciles take.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
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
struct CallLabels {
    operation: String,
    outcome: String,
}

pub struct Metrics {
    registry: Registry,
    reconciles: Family<OutcomeLabel, Counter>,
    errors: Family<ReasonLabel, Counter>,
    aws_calls: Family<CallLabels, Counter>,
    reconcile_seconds: Histogram,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("identity_center_operator");
        let reconciles = Family::<OutcomeLabel, Counter>::default();
        let errors = Family::<ReasonLabel, Counter>::default();
        let aws_calls = Family::<CallLabels, Counter>::default();
        let reconcile_seconds = Histogram::new(exponential_buckets(0.005, 2.0, 14));
        registry.register("reconciles", "Reconciles by outcome", reconciles.clone());
        registry.register("reconcile_errors", "Reconcile errors by condition reason", errors.clone());
        registry.register("aws_calls", "SSO Admin and STS calls by operation and outcome", aws_calls.clone());
        registry.register("reconcile_duration_seconds", "Time one reconcile takes", reconcile_seconds.clone());
        Self { registry, reconciles, errors, aws_calls, reconcile_seconds }
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

    pub fn aws_call(&self, operation: &str, outcome: &str) {
        self.aws_calls.get_or_create(&CallLabels { operation: operation.into(), outcome: outcome.into() }).inc();
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
    use super::Metrics;

    #[test]
    fn renders_counters_with_their_labels() {
        let metrics = Metrics::default();
        metrics.reconciled("ready", 0.02);
        metrics.error("Throttled");
        metrics.aws_call("CreateInstance", "success");
        let text = metrics.render();
        for line in [
            r#"identity_center_operator_reconciles_total{outcome="ready"} 1"#,
            r#"identity_center_operator_reconcile_errors_total{reason="Throttled"} 1"#,
            r#"identity_center_operator_aws_calls_total{operation="CreateInstance",outcome="success"} 1"#,
            "identity_center_operator_reconcile_duration_seconds_count 1",
        ] {
            assert!(text.contains(line), "missing {line} in\n{text}");
        }
    }
}
