//! A Kubernetes API server stand-in on tower-test: answers each request the
//! way the real one would for one object, and records method, path and body.

use std::sync::{Arc, Mutex};

use http::{Request, Response, StatusCode};
use kube::client::Body;
use serde_json::Value;

use super::Journal;

/// A request the operator sent.
#[derive(Clone, Debug)]
pub struct Sent {
    pub method: String,
    pub path: String,
    pub query: String,
    pub content_type: String,
    pub body: Value,
}

#[derive(Clone, Default)]
pub struct Cluster {
    /// What a GET of the object answers (the "fresh" read).
    pub fresh: Arc<Mutex<Value>>,
    pub sent: Arc<Mutex<Vec<Sent>>>,
}

impl Cluster {
    pub fn sent(&self) -> Vec<Sent> {
        self.sent.lock().unwrap().clone()
    }

    /// Status patches, in order.
    pub fn status_writes(&self) -> Vec<Value> {
        self.sent()
            .into_iter()
            .filter(|s| s.method == "PATCH" && s.path.ends_with("/status"))
            .map(|s| s.body["status"].clone())
            .collect()
    }

    /// (type, reason) of each event published, in order.
    pub fn events(&self) -> Vec<(String, String)> {
        let events = self.sent().into_iter().filter(|s| s.path.contains("/events"));
        events.map(|s| (s.body["type"].as_str().unwrap().into(), s.body["reason"].as_str().unwrap().into())).collect()
    }
}

fn short(method: &str, path: &str) -> String {
    let what = if path.contains("/events") {
        "event"
    } else if path.ends_with("/status") {
        "status"
    } else if path.contains("/configmaps") {
        "configmap"
    } else {
        "object"
    };
    format!("k8s {method} {what}")
}

/// Serves `cluster` to a kube client until the client is dropped.
pub fn client(cluster: Cluster, journal: Journal) -> kube::Client {
    let (service, mut handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    tokio::spawn(async move {
        while let Some((request, respond)) = handle.next_request().await {
            let (parts, body) = request.into_parts();
            let bytes = body.collect_bytes().await.unwrap();
            let body: Value = if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap() };
            let (method, path) = (parts.method.to_string(), parts.uri.path().to_string());
            let content_type =
                parts.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
            journal.push(short(&method, &path));
            let answer = match (method.as_str(), &path) {
                ("GET", _) => cluster.fresh.lock().unwrap().clone(),
                ("POST", p) if p.contains("/events") => body.clone(),
                ("PATCH", p) if p.contains("/configmaps") => body.clone(),
                ("PATCH", p) if p.ends_with("/status") => {
                    let mut current = cluster.fresh.lock().unwrap();
                    match (current["status"].as_object_mut(), body["status"].as_object()) {
                        (Some(status), Some(patch)) if content_type == "application/merge-patch+json" => {
                            status.extend(patch.clone());
                        }
                        _ => current["status"] = body["status"].clone(),
                    }
                    current.clone()
                }
                ("PATCH", _) => {
                    let mut current = cluster.fresh.lock().unwrap();
                    current["metadata"]["finalizers"] = body["metadata"]["finalizers"].clone();
                    current.clone()
                }
                other => panic!("unexpected request {other:?}"),
            };
            let sent = Sent { method, path, query: parts.uri.query().unwrap_or_default().into(), content_type, body };
            cluster.sent.lock().unwrap().push(sent);
            let response =
                Response::builder().status(StatusCode::OK).body(Body::from(serde_json::to_vec(&answer).unwrap()));
            respond.send_response(response.unwrap());
        }
    });
    kube::Client::new(service, "default")
}
