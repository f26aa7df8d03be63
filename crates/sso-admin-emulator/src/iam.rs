//! IAM-style authorization, when the settings name policies: a policy
//! document per access key or role, and for each operation the actions AWS
//! requires for it. A principal without a policy may do nothing, as in IAM.
//! Resources and conditions are not evaluated: a statement applies to every
//! resource.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Service;

/// `iam` in the settings: principal (an access key id, or a role ARN for the
/// sessions AssumeRole issues) -> its identity policy.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IamConfig {
    pub policies: BTreeMap<String, PolicyDocument>,
}

/// An IAM policy document, as AWS spells it.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
pub struct PolicyDocument {
    #[serde(rename = "Version", default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    #[serde(rename = "Statement")]
    pub statement: OneOrMany<Statement>,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct Statement {
    #[serde(rename = "Sid", default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    #[serde(rename = "Effect")]
    pub effect: Effect,
    #[serde(rename = "Action")]
    pub action: OneOrMany<String>,
    #[serde(rename = "Resource", default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<OneOrMany<String>>,
    /// Kept so that real policy files load; not evaluated.
    #[serde(rename = "Condition", default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<Value>,
}

#[derive(Clone, Copy, Debug, Serialize, Deserialize, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
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
    fn iter(&self) -> impl Iterator<Item = &T> {
        match self {
            Self::One(one) => std::slice::from_ref(one).iter(),
            Self::Many(many) => many.iter(),
        }
    }
}

/// The actions an operation needs, as AWS's CloudFormation handler for
/// AWS::SSO::Instance declares them (creating an instance creates its
/// identity store and Identity Center's service-linked role; tags on create
/// need the tagging action).
pub(crate) fn required_actions(service: Service, operation: &str, params: &Value) -> Vec<&'static str> {
    match (service, operation) {
        (Service::Sts, "AssumeRole") => vec!["sts:AssumeRole"],
        (Service::Sts, _) => vec![],
        (Service::Sso, "CreateInstance") => {
            let mut actions =
                vec!["sso:CreateInstance", "iam:CreateServiceLinkedRole", "identitystore:CreateIdentityStore"];
            if params["Tags"].as_array().is_some_and(|tags| !tags.is_empty()) {
                actions.push("sso:TagResource");
            }
            actions
        }
        (Service::Sso, "DeleteInstance") => vec!["sso:DeleteInstance", "identitystore:DeleteIdentityStore"],
        (Service::Sso, "DescribeInstance") => vec!["sso:DescribeInstance"],
        (Service::Sso, "ListInstances") => vec!["sso:ListInstances"],
        (Service::Sso, "UpdateInstance") => vec!["sso:UpdateInstance"],
        (Service::Sso, "TagResource") => vec!["sso:TagResource"],
        (Service::Sso, "UntagResource") => vec!["sso:UntagResource"],
        (Service::Sso, "ListTagsForResource") => vec!["sso:ListTagsForResource"],
        (Service::Sso, "AddRegion") => vec!["sso:AddRegion"],
        (Service::Sso, "RemoveRegion") => vec!["sso:RemoveRegion"],
        (Service::Sso, "DescribeRegion") => vec!["sso:DescribeRegion"],
        (Service::Sso, "ListRegions") => vec!["sso:ListRegions"],
        (Service::Sso, _) => vec![],
    }
}

/// IAM action matching: case-insensitive, `*` for any run of characters, `?` for one.
fn matches(pattern: &str, action: &str) -> bool {
    fn go(p: &[u8], a: &[u8]) -> bool {
        match (p.first(), a.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], a) || (!a.is_empty() && go(p, &a[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &a[1..]),
            (Some(x), Some(y)) if x.eq_ignore_ascii_case(y) => go(&p[1..], &a[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), action.as_bytes())
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Allowed,
    /// A statement denies it.
    ExplicitDeny,
    /// No statement allows it.
    ImplicitDeny,
}

pub(crate) fn evaluate(policy: Option<&PolicyDocument>, action: &str) -> Verdict {
    let Some(policy) = policy else { return Verdict::ImplicitDeny };
    let applying = || policy.statement.iter().filter(|s| s.action.iter().any(|p| matches(p, action)));
    if applying().any(|s| s.effect == Effect::Deny) {
        Verdict::ExplicitDeny
    } else if applying().any(|s| s.effect == Effect::Allow) {
        Verdict::Allowed
    } else {
        Verdict::ImplicitDeny
    }
}

/// AWS's wording of a refusal.
pub(crate) fn denial(principal_arn: &str, action: &str, verdict: &Verdict) -> String {
    let why = match verdict {
        Verdict::ExplicitDeny => "with an explicit deny in an identity-based policy".to_string(),
        _ => format!("because no identity-based policy allows the {action} action"),
    };
    format!("User: {principal_arn} is not authorized to perform: {action} on resource: * {why}")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn policy(value: Value) -> PolicyDocument {
        serde_json::from_value(value).unwrap()
    }

    #[test]
    fn deny_wins_then_allow_then_nothing() {
        let document = policy(json!({
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["sso:*", "identitystore:CreateIdentityStore"], "Resource": "*"},
                {"Effect": "Deny", "Action": "sso:Delete*", "Resource": "*"},
            ],
        }));
        let cases = [
            ("sso:CreateInstance", Verdict::Allowed),
            ("SSO:describeinstance", Verdict::Allowed),
            ("sso:DeleteInstance", Verdict::ExplicitDeny),
            ("identitystore:CreateIdentityStore", Verdict::Allowed),
            ("identitystore:DeleteIdentityStore", Verdict::ImplicitDeny),
            ("iam:CreateServiceLinkedRole", Verdict::ImplicitDeny),
        ];
        for (action, want) in cases {
            assert_eq!(evaluate(Some(&document), action), want, "{action}");
        }
        assert_eq!(evaluate(None, "sso:ListInstances"), Verdict::ImplicitDeny, "no policy, no access");
        let single = policy(json!({"Statement": {"Effect": "Allow", "Action": "sso:List?nstances"}}));
        assert_eq!(evaluate(Some(&single), "sso:ListInstances"), Verdict::Allowed);
    }

    #[test]
    fn create_needs_the_identity_store_and_the_service_linked_role_and_tagging_when_tagged() {
        let untagged = required_actions(Service::Sso, "CreateInstance", &json!({"ClientToken": "t"}));
        assert_eq!(
            untagged,
            ["sso:CreateInstance", "iam:CreateServiceLinkedRole", "identitystore:CreateIdentityStore"]
        );
        let tagged = required_actions(Service::Sso, "CreateInstance", &json!({"Tags": [{"Key": "a", "Value": "b"}]}));
        assert!(tagged.contains(&"sso:TagResource"));
        assert_eq!(
            required_actions(Service::Sso, "DeleteInstance", &Value::Null),
            ["sso:DeleteInstance", "identitystore:DeleteIdentityStore"]
        );
        assert!(required_actions(Service::Sts, "GetCallerIdentity", &Value::Null).is_empty(), "always allowed");
    }
}
