//! Who a trust policy's `Principal` names. A role session is named by its
//! role's ARN or its own session ARN; anyone in an account by
//! `arn:aws:iam::<account>:root` or the bare account id; everyone by `*`.
//! Only `AWS` principals can call this emulator, so `Service`, `Federated`
//! and `CanonicalUser` entries never match.

use super::Principal;
use super::policy::Principals;

fn names(identifier: &str, caller: &Principal) -> bool {
    identifier == "*"
        || identifier == caller.account
        || identifier == format!("arn:aws:iam::{}:root", caller.account)
        || identifier == caller.arn
        || caller.role_arn.as_deref() == Some(identifier)
}

pub(crate) fn principal_matches(principals: &Principals, caller: &Principal) -> bool {
    match principals {
        Principals::Anyone(text) => text == "*",
        Principals::ByType(types) => types.get("AWS").is_some_and(|ids| ids.iter().any(|id| names(id, caller))),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::super::conditions::RequestContext;
    use super::super::{Access, PolicyDocument, Verdict, assume_role_actions, context, evaluate};
    use super::*;
    use crate::sts::input::AssumeRoleInput;

    const OPERATOR_ROLE: &str = "arn:aws:iam::111122223333:role/identity-center-operator";
    const ROLE: &str = "arn:aws:iam::444455556666:role/identity-center-admin";

    fn operator() -> Principal {
        Principal {
            arn: "arn:aws:sts::111122223333:assumed-role/identity-center-operator/AKIA111122223333OPRB".into(),
            account: "111122223333".into(),
            role_arn: Some(OPERATOR_ROLE.into()),
            tags: Vec::new(),
            policy_keys: vec![OPERATOR_ROLE.into()],
        }
    }

    fn stranger() -> Principal {
        Principal {
            arn: "arn:aws:iam::999999999999:user/emulator".into(),
            account: "999999999999".into(),
            role_arn: None,
            tags: Vec::new(),
            policy_keys: Vec::new(),
        }
    }

    /// deploy/iam/account-role-trust-policy.json's shape, for the role of namespace team-a, trusting `actions`.
    fn team_a_trust_for(actions: Value) -> Value {
        json!({
            "Version": "2012-10-17",
            "Statement": [{
                "Effect": "Allow",
                "Principal": {"AWS": OPERATOR_ROLE},
                "Action": actions,
                "Condition": {"StringEquals": {
                    "sts:ExternalId": "ext-123",
                    "aws:RequestTag/kubernetes-namespace": "team-a",
                }},
            }],
        })
    }

    fn document(value: Value) -> PolicyDocument {
        serde_json::from_value(value).unwrap()
    }

    fn team_a_trust() -> PolicyDocument {
        document(team_a_trust_for(json!(["sts:AssumeRole", "sts:TagSession"])))
    }

    fn request(namespace: Option<&str>, external_id: &str) -> AssumeRoleInput {
        let mut params = vec![
            ("RoleArn".to_string(), ROLE.to_string()),
            ("RoleSessionName".to_string(), format!("ico-{}-platform", namespace.unwrap_or("none"))),
            ("ExternalId".to_string(), external_id.to_string()),
        ];
        if let Some(namespace) = namespace {
            params.extend([
                ("Tags.member.1.Key".into(), "kubernetes-namespace".into()),
                ("Tags.member.1.Value".into(), namespace.into()),
                ("Tags.member.2.Key".into(), "kubernetes-name".into()),
                ("Tags.member.2.Value".into(), "platform".into()),
            ]);
        }
        AssumeRoleInput::read(&params.into_iter().collect())
    }

    /// The first action the trust policy refuses, if any.
    fn refused(trust: &PolicyDocument, caller: &Principal, input: &AssumeRoleInput) -> Option<&'static str> {
        let request = context::assume_role(caller, &Default::default(), "eu-west-1", input);
        assume_role_actions(input).into_iter().find(|action| {
            let access = Access { action, resource: Some(ROLE), context: &request };
            evaluate(Some(trust), Some(caller), &access) != Verdict::Allowed
        })
    }

    #[test]
    fn a_tenant_role_admits_only_its_own_namespace() {
        let without_tag_session = document(team_a_trust_for(json!("sts:AssumeRole")));
        let mut deny_team_b = team_a_trust_for(json!(["sts:AssumeRole", "sts:TagSession"]));
        deny_team_b["Statement"].as_array_mut().unwrap().push(json!({
            "Effect": "Deny",
            "Principal": "*",
            "Action": "sts:*",
            "Condition": {"StringEquals": {"aws:RequestTag/kubernetes-namespace": "team-b"}},
        }));
        let deny_team_b = document(deny_team_b);
        let cases: Vec<(&str, PolicyDocument, Principal, AssumeRoleInput, Option<&str>)> = vec![
            ("team-a's object", team_a_trust(), operator(), request(Some("team-a"), "ext-123"), None),
            ("team-b's object", team_a_trust(), operator(), request(Some("team-b"), "ext-123"), Some("sts:AssumeRole")),
            ("an untagged request", team_a_trust(), operator(), request(None, "ext-123"), Some("sts:AssumeRole")),
            (
                "the wrong external id",
                team_a_trust(),
                operator(),
                request(Some("team-a"), "other"),
                Some("sts:AssumeRole"),
            ),
            (
                "another principal",
                team_a_trust(),
                stranger(),
                request(Some("team-a"), "ext-123"),
                Some("sts:AssumeRole"),
            ),
            (
                "sts:TagSession not trusted",
                without_tag_session.clone(),
                operator(),
                request(Some("team-a"), "ext-123"),
                Some("sts:TagSession"),
            ),
            (
                "untagged needs no sts:TagSession, but the tag condition still fails",
                without_tag_session,
                operator(),
                request(None, "ext-123"),
                Some("sts:AssumeRole"),
            ),
            (
                "a deny wins",
                deny_team_b.clone(),
                operator(),
                request(Some("team-b"), "ext-123"),
                Some("sts:AssumeRole"),
            ),
            ("a deny that does not apply", deny_team_b, operator(), request(Some("team-a"), "ext-123"), None),
        ];
        for (what, trust, caller, input, want) in cases {
            assert_eq!(refused(&trust, &caller, &input), want, "{what}");
        }
    }

    #[test]
    fn principals_name_a_role_its_sessions_an_account_or_anyone() {
        let cases: Vec<(Value, bool)> = vec![
            (json!({"AWS": OPERATOR_ROLE}), true),
            (json!({"AWS": operator().arn}), true),
            (json!({"AWS": "arn:aws:iam::111122223333:root"}), true),
            (json!({"AWS": ["444455556666", "111122223333"]}), true),
            (json!({"AWS": "*"}), true),
            (json!("*"), true),
            (json!({"AWS": "arn:aws:iam::111122223333:role/other"}), false),
            (json!({"AWS": "arn:aws:iam::111122223333:role/identity-center-*"}), false),
            (json!({"AWS": "222222222222"}), false),
            (json!({"Service": "sso.amazonaws.com"}), false),
            (json!("arn:aws:iam::111122223333:root"), false),
        ];
        for (principal, want) in cases {
            let principals: Principals = serde_json::from_value(principal.clone()).unwrap();
            assert_eq!(principal_matches(&principals, &operator()), want, "{principal}");
        }
    }

    #[test]
    fn a_trust_statement_needs_a_principal() {
        let no_principal = document(json!({"Statement": {"Effect": "Allow", "Action": "sts:AssumeRole"}}));
        let request = RequestContext::default();
        let access = Access { action: "sts:AssumeRole", resource: Some(ROLE), context: &request };
        assert_eq!(evaluate(Some(&no_principal), Some(&operator()), &access), Verdict::ImplicitDeny);
        let not_principal = document(json!({"Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"},
            {"Effect": "Deny", "NotPrincipal": {"AWS": OPERATOR_ROLE}, "Action": "sts:AssumeRole"},
        ]}));
        assert_eq!(evaluate(Some(&not_principal), Some(&operator()), &access), Verdict::Allowed);
        assert_eq!(evaluate(Some(&not_principal), Some(&stranger()), &access), Verdict::ExplicitDeny);
    }
}
