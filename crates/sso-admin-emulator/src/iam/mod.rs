//! IAM-style authorization, when the settings have an `iam` section.
//!
//! - Identity policies (`policies`): per access key or role, the actions AWS
//!   requires for each operation must be allowed; nothing is allowed without
//!   a policy, as in IAM.
//! - Trust policies (`trustPolicies`): per role, who may AssumeRole it, tag
//!   the session and set its source identity. A role without one is trusted
//!   as before (only `denyAssumeRole` and `externalIds` apply).
//!
//! Statements are decided as IAM decides them: Action/NotAction,
//! Resource/NotResource (for the STS actions, whose resource is the role;
//! SSO Admin resources are not modelled, so any Resource applies to them),
//! Principal/NotPrincipal in trust policies, and Condition. An explicit Deny
//! wins, then an Allow, else the implicit deny. A condition the emulator
//! cannot decide fails closed: the Allow does not apply, the Deny does.

mod conditions;
pub(crate) mod context;
mod glob;
mod policy;
mod trust;

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

pub(crate) use conditions::RequestContext;
use conditions::Truth;
pub(crate) use glob::action_matches;
pub use policy::{ConditionBlock, ConditionValue, Effect, OneOrMany, PolicyDocument, Principals, Statement};

use super::Service;
use crate::sts::input::AssumeRoleInput;

/// `iam` in the settings.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct IamConfig {
    /// Identity policies: principal (an access key id, a role ARN for the
    /// sessions AssumeRole issues, or the ARN `principals` gives a key) ->
    /// its policy. Absent: identity policies are not checked at all.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub policies: Option<BTreeMap<String, PolicyDocument>>,
    /// Role ARN -> its trust policy.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub trust_policies: BTreeMap<String, PolicyDocument>,
    /// Access key id -> the IAM ARN it signs as: a user, or a role whose
    /// session the key stands for (what IRSA or EKS Pod Identity give a pod).
    /// Unlisted keys are `arn:aws:iam::<account>:user/emulator`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub principals: BTreeMap<String, String>,
}

/// Who is calling, as IAM sees it.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Principal {
    /// As AWS names the caller in errors and GetCallerIdentity: a user or an assumed-role session.
    pub arn: String,
    pub account: String,
    /// For a role session, its role: what trust policies and `aws:PrincipalArn` name.
    pub role_arn: Option<String>,
    /// A session's tags, `aws:PrincipalTag/<key>`.
    pub tags: Vec<(String, String)>,
    /// Where its identity policy may be found in `policies`, first match wins.
    pub policy_keys: Vec<String>,
}

/// The actions an operation needs, as AWS's CloudFormation handler for
/// AWS::SSO::Instance declares them (creating an instance creates its
/// identity store and Identity Center's service-linked role; tags on create
/// need the tagging action).
pub(crate) fn required_actions(service: Service, operation: &str, params: &Value) -> Vec<&'static str> {
    match (service, operation) {
        (Service::Sts, "AssumeRole") => {
            let params = serde_json::from_value(params.clone()).unwrap_or_default();
            assume_role_actions(&AssumeRoleInput::read(&params))
        }
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
        (Service::Sso, "CreateInstanceAccessControlAttributeConfiguration") => {
            vec!["sso:CreateInstanceAccessControlAttributeConfiguration"]
        }
        (Service::Sso, "DescribeInstanceAccessControlAttributeConfiguration") => {
            vec!["sso:DescribeInstanceAccessControlAttributeConfiguration"]
        }
        (Service::Sso, "UpdateInstanceAccessControlAttributeConfiguration") => {
            vec!["sso:UpdateInstanceAccessControlAttributeConfiguration"]
        }
        (Service::Sso, "DeleteInstanceAccessControlAttributeConfiguration") => {
            vec!["sso:DeleteInstanceAccessControlAttributeConfiguration"]
        }
        (Service::Sso, _) => vec![],
        (Service::Organizations, operation) => crate::organizations::action(operation).into_iter().collect(),
    }
}

/// AssumeRole needs `sts:TagSession` to pass session tags and
/// `sts:SetSourceIdentity` to set a source identity, from the identity
/// policy and from the role's trust policy alike.
pub(crate) fn assume_role_actions(input: &AssumeRoleInput) -> Vec<&'static str> {
    let mut actions = vec!["sts:AssumeRole"];
    if input.passes_tags() {
        actions.push("sts:TagSession");
    }
    if input.source_identity.is_some() {
        actions.push("sts:SetSourceIdentity");
    }
    actions
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    Allowed,
    /// A statement denies it.
    ExplicitDeny,
    /// No statement allows it.
    ImplicitDeny,
}

/// One action on one resource, in a request's context.
pub(crate) struct Access<'a> {
    pub action: &'a str,
    /// None where resources are not modelled: Resource then is not evaluated.
    pub resource: Option<&'a str>,
    pub context: &'a RequestContext,
}

fn any_action(patterns: &OneOrMany<String>, action: &str) -> bool {
    patterns.iter().any(|pattern| glob::action_matches(pattern, action))
}

fn any_resource(patterns: &OneOrMany<String>, resource: &str, access: &Access, variables: bool) -> Truth {
    let mut truth = Truth::False;
    for pattern in patterns.iter() {
        match conditions::resource_matches(pattern, resource, access.context, variables) {
            Truth::True => return Truth::True,
            Truth::Unknown => truth = Truth::Unknown,
            Truth::False => {}
        }
    }
    truth
}

fn not(truth: Truth) -> Truth {
    match truth {
        Truth::True => Truth::False,
        Truth::False => Truth::True,
        Truth::Unknown => Truth::Unknown,
    }
}

/// Whether a statement covers this access. `principal` is Some for a trust
/// policy, whose statements name a principal and no resource.
fn covers(statement: &Statement, variables: bool, principal: Option<&Principal>, access: &Access) -> Truth {
    let action = match (&statement.action, &statement.not_action) {
        (Some(actions), None) => any_action(actions, access.action),
        (None, Some(actions)) => !any_action(actions, access.action),
        _ => false,
    };
    if !action {
        return Truth::False;
    }
    let principal_truth = match principal {
        None => true,
        Some(caller) => match (&statement.principal, &statement.not_principal) {
            (Some(named), None) => trust::principal_matches(named, caller),
            (None, Some(named)) => !trust::principal_matches(named, caller),
            _ => false,
        },
    };
    if !principal_truth {
        return Truth::False;
    }
    let resource_truth = match (access.resource, principal, &statement.resource, &statement.not_resource) {
        // Unmodelled resources: any Resource element applies, as `*` would.
        (None, ..) => Truth::True,
        (Some(_), Some(_), None, None) => Truth::True,
        (Some(resource), _, Some(resources), None) => any_resource(resources, resource, access, variables),
        (Some(resource), _, None, Some(resources)) => not(any_resource(resources, resource, access, variables)),
        _ => Truth::False,
    };
    let condition = statement
        .condition
        .as_ref()
        .map_or(Truth::True, |block| conditions::evaluate(block, access.context, variables));
    resource_truth.and(condition)
}

pub(crate) fn evaluate(policy: Option<&PolicyDocument>, principal: Option<&Principal>, access: &Access) -> Verdict {
    let Some(policy) = policy else { return Verdict::ImplicitDeny };
    let variables = policy.has_variables();
    let decided: Vec<(Effect, Truth)> =
        policy.statement.iter().map(|s| (s.effect, covers(s, variables, principal, access))).collect();
    // Fail closed: a Deny that might apply does, an Allow must surely apply.
    if decided.iter().any(|(effect, truth)| *effect == Effect::Deny && *truth != Truth::False) {
        Verdict::ExplicitDeny
    } else if decided.iter().any(|(effect, truth)| *effect == Effect::Allow && *truth == Truth::True) {
        Verdict::Allowed
    } else {
        Verdict::ImplicitDeny
    }
}

/// AWS's wording of an identity-policy refusal.
pub(crate) fn denial(principal_arn: &str, action: &str, resource: Option<&str>, verdict: &Verdict) -> String {
    let why = match verdict {
        Verdict::ExplicitDeny => "with an explicit deny in an identity-based policy".to_string(),
        _ => format!("because no identity-based policy allows the {action} action"),
    };
    let resource = resource.unwrap_or("*");
    format!("User: {principal_arn} is not authorized to perform: {action} on resource: {resource} {why}")
}

/// Every action must be allowed by the caller's identity policy; the refusal's message otherwise.
pub(crate) fn check_identity(
    config: &IamConfig,
    principal: &Principal,
    actions: &[&str],
    resource: Option<&str>,
    context: &RequestContext,
) -> Result<(), String> {
    let Some(policies) = &config.policies else { return Ok(()) };
    let policy = principal.policy_keys.iter().find_map(|key| policies.get(key));
    for action in actions {
        let context = context::for_action(context, action);
        let verdict = evaluate(policy, None, &Access { action, resource, context: &context });
        if verdict != Verdict::Allowed {
            return Err(denial(&principal.arn, action, resource, &verdict));
        }
    }
    Ok(())
}

/// Every action must be allowed by the role's trust policy, if it has one;
/// AWS's refusal message otherwise (it names no reason for trust refusals).
pub(crate) fn check_trust(
    config: &IamConfig,
    principal: &Principal,
    actions: &[&str],
    role_arn: &str,
    context: &RequestContext,
) -> Result<(), String> {
    let Some(trust) = config.trust_policies.get(role_arn) else { return Ok(()) };
    for action in actions {
        let verdict = evaluate(Some(trust), Some(principal), &Access { action, resource: Some(role_arn), context });
        if verdict != Verdict::Allowed {
            return Err(format!(
                "User: {} is not authorized to perform: {action} on resource: {role_arn}",
                principal.arn
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn policy(value: Value) -> PolicyDocument {
        serde_json::from_value(value).unwrap()
    }

    fn decide(document: &PolicyDocument, action: &str, resource: Option<&str>) -> Verdict {
        let context = RequestContext::default();
        evaluate(Some(document), None, &Access { action, resource, context: &context })
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
            assert_eq!(decide(&document, action, None), want, "{action}");
        }
        let context = RequestContext::default();
        let access = Access { action: "sso:ListInstances", resource: None, context: &context };
        assert_eq!(evaluate(None, None, &access), Verdict::ImplicitDeny, "no policy, no access");
        let single = policy(json!({"Statement": {"Effect": "Allow", "Action": "sso:List?nstances"}}));
        assert_eq!(decide(&single, "sso:ListInstances", None), Verdict::Allowed);
        let not_action = policy(json!({"Statement": {"Effect": "Allow", "NotAction": "sso:Delete*", "Resource": "*"}}));
        assert_eq!(decide(&not_action, "sso:ListInstances", None), Verdict::Allowed);
        assert_eq!(decide(&not_action, "sso:DeleteInstance", None), Verdict::ImplicitDeny);
    }

    #[test]
    fn role_resources_take_wildcards_and_sso_resources_are_not_modelled() {
        let document = policy(json!({
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Action": ["sts:AssumeRole", "sts:TagSession"], "Resource": "arn:aws:iam::*:role/identity-center-admin"},
                {"Effect": "Allow", "Action": "sts:SetSourceIdentity", "NotResource": "arn:aws:iam::999999999999:role/*"},
                {"Effect": "Allow", "Action": "sso:*", "Resource": "arn:aws:sso:::instance/ssoins-1111111111111111"},
            ],
        }));
        let admin = "arn:aws:iam::444455556666:role/identity-center-admin";
        let cases = [
            ("sts:AssumeRole", Some(admin), Verdict::Allowed),
            ("sts:TagSession", Some(admin), Verdict::Allowed),
            ("sts:AssumeRole", Some("arn:aws:iam::444455556666:role/identity-center-admin-2"), Verdict::ImplicitDeny),
            ("sts:AssumeRole", Some("arn:aws:iam::444455556666:role/Identity-Center-Admin"), Verdict::ImplicitDeny),
            ("sts:SetSourceIdentity", Some(admin), Verdict::Allowed),
            ("sts:SetSourceIdentity", Some("arn:aws:iam::999999999999:role/x"), Verdict::ImplicitDeny),
            ("sso:ListInstances", None, Verdict::Allowed),
        ];
        for (action, resource, want) in cases {
            assert_eq!(decide(&document, action, resource), want, "{action} on {resource:?}");
        }
    }

    #[test]
    fn an_undecidable_condition_never_allows_and_always_denies() {
        let document = policy(json!({
            "Statement": [
                {"Effect": "Allow", "Action": "sso:*", "Resource": "*", "Condition": {"StringNotEquals": {"aws:SourceVpc": "vpc-1"}}},
                {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"},
                {"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}},
            ],
        }));
        assert_eq!(decide(&document, "sso:ListInstances", None), Verdict::ImplicitDeny);
        assert_eq!(decide(&document, "sts:AssumeRole", Some("arn:aws:iam::1:role/r")), Verdict::ExplicitDeny);
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
        let assume = |params: Value| required_actions(Service::Sts, "AssumeRole", &params);
        assert_eq!(assume(json!({"RoleArn": "r", "RoleSessionName": "s"})), ["sts:AssumeRole"]);
        assert_eq!(
            assume(json!({"Tags.member.1.Key": "k", "Tags.member.1.Value": "v", "SourceIdentity": "ico"})),
            ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]
        );
    }

    #[test]
    fn the_service_linked_role_condition_holds_for_identity_center_only() {
        let document = policy(json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow", "Action": "iam:CreateServiceLinkedRole", "Resource": "*",
                "Condition": {"StringEquals": {"iam:AWSServiceName": "sso.amazonaws.com"}},
            }],
        }));
        let principal = Principal {
            arn: "arn:aws:iam::111122223333:user/emulator".into(),
            account: "111122223333".into(),
            role_arn: None,
            tags: Vec::new(),
            policy_keys: vec!["AKIA111122223333TEST".into()],
        };
        let config = IamConfig {
            policies: Some([("AKIA111122223333TEST".to_string(), document)].into()),
            ..IamConfig::default()
        };
        let request = context::own_account(&principal, &Default::default(), "eu-west-1", "CreateInstance", &json!({}));
        assert_eq!(check_identity(&config, &principal, &["iam:CreateServiceLinkedRole"], None, &request), Ok(()));
        let refused = check_identity(&config, &principal, &["iam:CreateRole"], None, &request).unwrap_err();
        assert_eq!(
            refused,
            "User: arn:aws:iam::111122223333:user/emulator is not authorized to perform: iam:CreateRole on resource: * because no identity-based policy allows the iam:CreateRole action"
        );
    }
}
