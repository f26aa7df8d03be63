//! Hand-written schema parts that derive cannot express: map key rules and
//! the list-map semantics of conditions.

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};

/// AWS TagKey: 1-128 characters of this class, and not in the reserved `aws:` namespace.
pub const TAG_KEY_PATTERN: &str = r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]+$";
/// AWS TagValue: 0-256 characters of the same class.
pub const TAG_VALUE_PATTERN: &str = r"^[\p{L}\p{Z}\p{N}_.:/=+\-@]*$";
/// AWS allows 75; the operator adds its ownership tags (`controller::ownership`).
pub const MAX_TAGS: u32 = 75 - 4;

pub fn tags(_: &mut SchemaGenerator) -> Schema {
    tags_with_values(TAG_VALUE_PATTERN)
}

/// Tag values of an instance set's template: AWS's, plus the placeholders
/// that each child renders.
pub fn template_tags(_: &mut SchemaGenerator) -> Schema {
    tags_with_values(r"^([\p{L}\p{Z}\p{N}_.:/=+\-@]|\{accountId\}|\{accountName\})*$")
}

fn tags_with_values(value_pattern: &str) -> Schema {
    json_schema!({
        "type": "object",
        "maxProperties": MAX_TAGS,
        "additionalProperties": {
            "type": "string",
            "maxLength": 256,
            "pattern": value_pattern,
        },
        "x-kubernetes-validations": [
            {
                "rule": "self.all(k, k.size() >= 1 && k.size() <= 128)",
                "message": "tag keys must be 1 to 128 characters",
            },
            {
                "rule": format!("self.all(k, k.matches('{}'))", TAG_KEY_PATTERN.replace('\\', "\\\\")),
                "message": "tag keys may contain only letters, digits, spaces and _.:/=+-@",
            },
            {
                "rule": "self.all(k, !k.startsWith('aws:'))",
                "message": "tag keys must not start with 'aws:', which AWS reserves",
            },
            {
                "rule": "self.all(k, !k.startsWith('identitycenter.dev/'))",
                "message": "tag keys must not start with 'identitycenter.dev/': the operator's ownership tags use it",
            },
        ],
    })
}

/// The schema of `T` without its value constraints (patterns, lengths,
/// counts), for status fields that hold what AWS reported: a value AWS
/// accepts must never make the operator's status write fail.
pub fn unvalidated<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    let mut value = serde_json::Value::from(T::json_schema(generator));
    strip_constraints(&mut value);
    Schema::try_from(value).expect("a schema without constraints is still a schema")
}

fn strip_constraints(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(fields) => {
            for constraint in ["pattern", "minLength", "maxLength", "minItems", "maxItems", "x-kubernetes-validations"]
            {
                fields.remove(constraint);
            }
            fields.values_mut().for_each(strip_constraints);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_constraints),
        _ => {}
    }
}

pub fn conditions(generator: &mut SchemaGenerator) -> Schema {
    let item = k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition::json_schema(generator);
    json_schema!({
        "type": "array",
        "items": item,
        "x-kubernetes-list-type": "map",
        "x-kubernetes-list-map-keys": ["type"],
    })
}
