//! The policy language as AWS spells it: documents, statements, principals
//! and condition blocks. Unknown fields are refused, so that a typo (or an
//! element the emulator does not evaluate) fails loudly at load instead of
//! silently widening or narrowing access.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The policy language version that has policy variables; older documents
/// read `${...}` literally.
pub const VERSION_WITH_VARIABLES: &str = "2012-10-17";

/// An IAM policy document: an identity policy or a role's trust policy.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PolicyDocument {
    #[serde(rename = "Version", default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(rename = "Id", default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "Statement")]
    pub statement: OneOrMany<Statement>,
}

impl PolicyDocument {
    pub(crate) fn has_variables(&self) -> bool {
        self.version.as_deref() == Some(VERSION_WITH_VARIABLES)
    }
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Statement {
    #[serde(rename = "Sid", default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(rename = "Effect")]
    pub effect: Effect,
    /// Trust policies only: who may act. Identity policies have none.
    #[serde(rename = "Principal", default, skip_serializing_if = "Option::is_none")]
    pub principal: Option<Principals>,
    #[serde(rename = "NotPrincipal", default, skip_serializing_if = "Option::is_none")]
    pub not_principal: Option<Principals>,
    #[serde(rename = "Action", default, skip_serializing_if = "Option::is_none")]
    pub action: Option<OneOrMany<String>>,
    #[serde(rename = "NotAction", default, skip_serializing_if = "Option::is_none")]
    pub not_action: Option<OneOrMany<String>>,
    #[serde(rename = "Resource", default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<OneOrMany<String>>,
    #[serde(rename = "NotResource", default, skip_serializing_if = "Option::is_none")]
    pub not_resource: Option<OneOrMany<String>>,
    #[serde(rename = "Condition", default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<ConditionBlock>,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// `"Principal": "*"` or `"Principal": {"AWS": [...], "Service": ...}`.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum Principals {
    /// Only `*` (anyone) is meaningful here.
    Anyone(String),
    /// Principal type (`AWS`, `Service`, `Federated`, `CanonicalUser`) -> identifiers.
    ByType(BTreeMap<String, OneOrMany<String>>),
}

/// Operator (`StringEquals`, `ForAnyValue:StringLike`, ...) -> condition key -> the values to compare with.
pub type ConditionBlock = BTreeMap<String, BTreeMap<String, OneOrMany<ConditionValue>>>;

/// IAM accepts strings, numbers and booleans as condition values and compares their text.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum ConditionValue {
    Text(String),
    Flag(bool),
    Number(serde_json::Number),
}

impl ConditionValue {
    pub(crate) fn text(&self) -> String {
        match self {
            Self::Text(text) => text.clone(),
            Self::Flag(flag) => flag.to_string(),
            Self::Number(number) => number.to_string(),
        }
    }
}

/// IAM accepts a single value or a list wherever a list is allowed.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum OneOrMany<T> {
    One(T),
    Many(Vec<T>),
}

impl<T> Default for OneOrMany<T> {
    fn default() -> Self {
        Self::Many(Vec::new())
    }
}

impl<T> OneOrMany<T> {
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        match self {
            Self::One(one) => std::slice::from_ref(one).iter(),
            Self::Many(many) => many.iter(),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn real_documents_load_and_typos_are_refused() {
        let trust: PolicyDocument = serde_json::from_value(json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"AWS": ["arn:aws:iam::111122223333:role/operator", "444455556666"]},
                "Action": ["sts:AssumeRole", "sts:TagSession"],
                "Condition": {"StringEquals": {"sts:ExternalId": "x", "aws:RequestTag/team": ["a", "b"]}, "Null": {"k": false}},
            }],
        }))
        .unwrap();
        let statement = trust.statement.iter().next().unwrap();
        assert!(matches!(&statement.principal, Some(Principals::ByType(types)) if types["AWS"].iter().count() == 2));
        assert!(trust.has_variables());
        let anyone: Statement =
            serde_json::from_value(json!({"Effect": "Deny", "Principal": "*", "NotAction": "sts:*"})).unwrap();
        assert_eq!(anyone.principal, Some(Principals::Anyone("*".into())));
        for typo in [
            json!({"Statement": {"Effect": "Allow", "Actions": "sso:*"}}),
            json!({"Statement": {"Effect": "allow", "Action": "sso:*"}}),
            json!({"Statement": [], "Versoin": "2012-10-17"}),
        ] {
            assert!(serde_json::from_value::<PolicyDocument>(typo.clone()).is_err(), "{typo}");
        }
    }
}
