//! A Kubernetes API server stand-in on tower-test: answers each request the
//! way the real one would for one object, and records method, path and body.

use std::sync::{Arc, Mutex};

use http::{Request, Response, StatusCode};
use kube::client::Body;
use serde_json::{Value, json};

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

/// A request to refuse once: (method, what `short` calls it, HTTP status).
type Refusal = (&'static str, &'static str, u16);

#[derive(Clone, Default)]
pub struct Cluster {
    /// What a GET of the object answers (the "fresh" read).
    pub fresh: Arc<Mutex<Value>>,
    pub sent: Arc<Mutex<Vec<Sent>>>,
    /// The export ConfigMap the operator made, once it has.
    pub config_map: Arc<Mutex<Option<Value>>>,
    refusals: Arc<Mutex<Vec<Refusal>>>,
}

impl Cluster {
    /// The next `method` request to `what` (object, status, event, configmap)
    /// is answered with `code`, as the API server would refuse it.
    pub fn refuse_next(&self, method: &'static str, what: &'static str, code: u16) {
        self.refusals.lock().unwrap().push((method, what, code));
    }

    fn take_refusal(&self, method: &str, path: &str) -> Option<u16> {
        let mut refusals = self.refusals.lock().unwrap();
        let wanted = short(method, path);
        let index = refusals.iter().position(|(m, what, _)| format!("k8s {m} {what}") == wanted)?;
        Some(refusals.remove(index).2)
    }

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
    /// (action, reason) of each event published, in order.
    pub fn event_actions(&self) -> Vec<(String, String)> {
        let events = self.sent().into_iter().filter(|s| s.path.contains("/events"));
        events.map(|s| (s.body["action"].as_str().unwrap().into(), s.body["reason"].as_str().unwrap().into())).collect()
    }

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

/// A Status as the API server words a refusal with `code`.
fn refusal(code: u16) -> Value {
    let (reason, message) = match code {
        404 => ("NotFound", "configmaps \"sso-ids\" not found"),
        409 => ("Conflict", "Operation cannot be fulfilled: the object has been modified"),
        422 => ("Invalid", "IdentityCenterInstance.identitycenter.dev \"platform\" is invalid"),
        _ => ("InternalError", "Internal error occurred: etcdserver: request timed out"),
    };
    json!({"kind": "Status", "apiVersion": "v1", "status": "Failure", "message": message, "reason": reason, "code": code})
}

/// What the API server answers; a write whose resourceVersion precondition
/// is not the stored object's is refused with 409, as the API server does.
/// Every accepted write of the object gives it a new resourceVersion.
fn answer(cluster: &Cluster, sent: &Sent) -> Result<Value, Value> {
    let writes_object = sent.method == "PATCH" && !sent.path.contains("/configmaps");
    let mut current = cluster.fresh.lock().unwrap();
    if writes_object {
        let expected = &sent.body["metadata"]["resourceVersion"];
        if !expected.is_null() && *expected != current["metadata"]["resourceVersion"] {
            return Err(refusal(409));
        }
        let version: u64 = current["metadata"]["resourceVersion"].as_str().and_then(|v| v.parse().ok()).unwrap_or(0);
        current["metadata"]["resourceVersion"] = json!((version + 1).to_string());
    }
    Ok(match (sent.method.as_str(), sent.path.as_str()) {
        ("GET", _) => current.clone(),
        ("POST", p) if p.contains("/events") => sent.body.clone(),
        // An export ConfigMap: the update of one made for the object, else its creation.
        ("PATCH", p) if p.contains("/configmaps") => match cluster.config_map.lock().unwrap().clone() {
            Some(made) => made,
            None => return Err(refusal(404)),
        },
        ("POST", p) if p.contains("/configmaps") => {
            *cluster.config_map.lock().unwrap() = Some(sent.body.clone());
            sent.body.clone()
        }
        ("PATCH", p) if p.ends_with("/status") => {
            match (current["status"].as_object_mut(), sent.body["status"].as_object()) {
                (Some(status), Some(patch)) if sent.content_type == "application/merge-patch+json" => {
                    status.extend(patch.clone());
                }
                _ => current["status"] = sent.body["status"].clone(),
            }
            current.clone()
        }
        // A merge patch of the metadata: finalizers replaced, annotations merged.
        ("PATCH", _) => {
            let patch = &sent.body["metadata"];
            if !patch["finalizers"].is_null() {
                current["metadata"]["finalizers"] = patch["finalizers"].clone();
            }
            if let Some(annotations) = patch["annotations"].as_object() {
                let mut merged = current["metadata"]["annotations"].as_object().cloned().unwrap_or_default();
                merged.extend(annotations.clone());
                current["metadata"]["annotations"] = json!(merged);
            }
            current.clone()
        }
        other => panic!("unexpected request {other:?}"),
    })
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
            let query = parts.uri.query().unwrap_or_default().to_string();
            let sent = Sent { method: method.clone(), path: path.clone(), query, content_type, body };
            let refused = cluster.take_refusal(&method, &path).map(|code| Err(refusal(code)));
            let (status, answer) = match refused.unwrap_or_else(|| answer(&cluster, &sent)) {
                Ok(answer) => {
                    journal.push(short(&method, &path));
                    cluster.sent.lock().unwrap().push(sent);
                    (StatusCode::OK, answer)
                }
                Err(refused) => {
                    let code = refused["code"].as_u64().unwrap_or(500) as u16;
                    journal.push(format!("{} {code}", short(&method, &path)));
                    (StatusCode::from_u16(code).unwrap(), refused)
                }
            };
            let response = Response::builder().status(status).body(Body::from(serde_json::to_vec(&answer).unwrap()));
            respond.send_response(response.unwrap());
        }
    });
    kube::Client::new(service, "default")
}
