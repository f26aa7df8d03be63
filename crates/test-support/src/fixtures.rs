//! Objects as a user writes them.

use serde_json::{Value, json};

/// An IdentityCenterInstance manifest; `namespace` None leaves it to the client.
pub fn instance(name: &str, namespace: Option<&str>, spec: Value) -> Value {
    let mut metadata = json!({"name": name});
    if let Some(namespace) = namespace {
        metadata["namespace"] = json!(namespace);
    }
    json!({"apiVersion": "identitycenter.dev/v1alpha1", "kind": "IdentityCenterInstance", "metadata": metadata, "spec": spec})
}
