//! The alerts and the dashboard the chart ships use only series the operator exports.

use std::collections::BTreeSet;

use identity_center_operator::metrics::Metrics;
use regex::Regex;

const CHART: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/charts/identity-center-operator/files");

/// Every sample name /metrics can carry: each declared family with the
/// suffixes its type gives it.
fn exported() -> BTreeSet<String> {
    // A family shows in /metrics once it has a sample: give each one.
    let metrics = Metrics::default();
    metrics.reconciled("ready", 0.1);
    metrics.error("Throttled");
    metrics.aws_call("DescribeInstance", "success", std::time::Duration::from_millis(20));
    metrics.object_state("uid", "ready", "InstanceActive");
    let declared = metrics.render();
    let mut names = BTreeSet::new();
    for line in declared.lines().filter_map(|l| l.strip_prefix("# TYPE ")) {
        let mut parts = line.split_whitespace();
        let (Some(name), Some(kind)) = (parts.next(), parts.next()) else { continue };
        let suffixes: &[&str] = match kind {
            "counter" => &["_total"],
            "histogram" => &["_bucket", "_count", "_sum"],
            _ => &[""],
        };
        names.extend(suffixes.iter().map(|suffix| format!("{name}{suffix}")));
    }
    names
}

fn used(text: &str) -> BTreeSet<String> {
    let series = Regex::new(r"identity_center_operator_[a-z_]+").unwrap();
    series.find_iter(text).map(|m| m.as_str().to_string()).collect()
}

#[test]
fn alerts_and_dashboard_name_only_exported_series() {
    let exported = exported();
    assert!(exported.contains("identity_center_operator_objects"), "{exported:?}");
    for file in ["prometheus-rules.yaml", "grafana-dashboard.json"] {
        let text = std::fs::read_to_string(format!("{CHART}/{file}")).unwrap();
        let used = used(&text);
        assert!(!used.is_empty(), "{file} queries the operator's series");
        let unknown: Vec<_> = used.difference(&exported).collect();
        assert!(unknown.is_empty(), "{file} queries series /metrics never has: {unknown:?}");
    }
}

#[test]
fn the_dashboard_is_grafana_json_with_a_query_in_every_panel() {
    let text = std::fs::read_to_string(format!("{CHART}/grafana-dashboard.json")).unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&text).expect("valid JSON");
    assert_eq!(dashboard["uid"], "identity-center-operator");
    let panels = dashboard["panels"].as_array().expect("panels");
    assert!(panels.len() >= 8);
    let mut ids = BTreeSet::new();
    for panel in panels {
        assert!(ids.insert(panel["id"].as_u64().unwrap()), "panel ids are unique");
        let targets = panel["targets"].as_array().expect("targets");
        assert!(!targets.is_empty() && targets.iter().all(|t| t["expr"].as_str().is_some_and(|e| !e.is_empty())));
        assert_eq!(panel["datasource"]["uid"], "${datasource}", "{}: uses the dashboard's data source", panel["title"]);
    }
    let titles: Vec<&str> = panels.iter().filter_map(|p| p["title"].as_str()).collect();
    for needed in ["Objects by state", "AWS call latency p99 by operation", "Reconciles in flight", "Leader"] {
        assert!(titles.contains(&needed), "{needed} in {titles:?}");
    }
}
