//! One account's child, rendered from the set's template: its name, its
//! spec, and the digest that tells which template wrote it.

use std::collections::BTreeMap;

use crate::api::{
    ACCOUNT_ID, ACCOUNT_NAME, Credentials, IdentityCenterInstanceSet, IdentityCenterInstanceSetSpec,
    IdentityCenterInstanceSpec,
};
use crate::sso::Account;

/// The child object of `account` in set `set`: `<set>-<account ID>`, at most 63 characters.
pub fn child_name(set: &str, account_id: &str) -> String {
    format!("{set}-{account_id}")
}

/// Why an account's child cannot be rendered; the account counts as failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    #[error(
        "the template's name renders as {0:?} for this account, which is not a valid instance name (1 to 32 \
         characters of letters, digits and _+=,.@-); use {{accountId}} instead of {{accountName}} in the name"
    )]
    Name(String),
    #[error(
        "tag {key:?} renders as {value:?} for this account, which is not a valid tag value (at most 256 letters, \
         digits, spaces and _.:/=+-@)"
    )]
    TagValue { key: String, value: String },
}

fn fill(text: &str, account: &Account) -> String {
    text.replace(ACCOUNT_ID, &account.id).replace(ACCOUNT_NAME, &account.name)
}

fn valid_name(name: &str) -> bool {
    (1..=32).contains(&name.chars().count()) && name.chars().all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
}

fn valid_tag_value(value: &str) -> bool {
    value.chars().count() <= 256
        && value.chars().all(|c| c.is_alphanumeric() || c.is_whitespace() || "_.:/=+-@".contains(c))
}

/// The child spec of `account`: the template with the placeholders filled
/// in, acting through the account's role.
pub fn render(
    spec: &IdentityCenterInstanceSetSpec,
    account: &Account,
) -> Result<IdentityCenterInstanceSpec, RenderError> {
    let template = &spec.template;
    let name = template.name.as_deref().map(|name| fill(name, account));
    if let Some(name) = name.as_ref().filter(|name| !valid_name(name)) {
        return Err(RenderError::Name(name.clone()));
    }
    let mut tags = BTreeMap::new();
    for (key, value) in &template.tags {
        let value = fill(value, account);
        if !valid_tag_value(&value) {
            return Err(RenderError::TagValue { key: key.clone(), value });
        }
        tags.insert(key.clone(), value);
    }
    let credentials = Credentials {
        role_arn: spec.account_credentials.role_arn_template.replace(ACCOUNT_ID, &account.id),
        external_id: spec.account_credentials.external_id.clone(),
    };
    Ok(IdentityCenterInstanceSpec {
        name,
        region: template.region.clone(),
        tags,
        deletion_policy: template.deletion_policy,
        management_policy: template.management_policy,
        credentials: Some(credentials),
        export_to: template.export_to.as_ref().map(|export| export.render(&account.id)),
        permission_sets_enabled: template.permission_sets_enabled,
        network: template.network.clone(),
        access_control_attributes: template.access_control_attributes.clone(),
        ..IdentityCenterInstanceSpec::default()
    })
}

/// A digest of what every child is written from (the template and the
/// account role), stable across builds of the operator: a child whose
/// annotation holds another was written from an older template.
pub fn template_hash(set: &IdentityCenterInstanceSet) -> String {
    let written_from = serde_json::json!({
        "template": set.spec.template,
        "accountCredentials": set.spec.account_credentials,
    });
    // FNV-1a, 64 bits, over the JSON (serde_json sorts no keys, but the
    // struct order is fixed, and maps are BTreeMaps).
    let digest = written_from
        .to_string()
        .bytes()
        .fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| (hash ^ u64::from(byte)).wrapping_mul(0x0000_0100_0000_01b3));
    format!("{digest:016x}")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::sso::AccountState;

    fn set(template: serde_json::Value) -> IdentityCenterInstanceSet {
        serde_json::from_value(json!({
            "apiVersion": "identitycenter.dev/v1alpha1", "kind": "IdentityCenterInstanceSet",
            "metadata": {"name": "sandboxes", "namespace": "identity"},
            "spec": {
                "organization": {"organizationalUnits": ["ou-abcd-11111111"]},
                "accountCredentials": {"roleArnTemplate": "arn:aws:iam::{accountId}:role/identity-center-admin"},
                "template": template,
            },
        }))
        .unwrap()
    }

    fn account(name: &str) -> Account {
        Account { id: "123456789012".into(), name: name.into(), state: AccountState::Active }
    }

    #[test]
    fn a_child_renders_the_account_into_name_tags_role_and_export() {
        let set = set(json!({
            "name": "sandbox-{accountId}",
            "region": "eu-west-1",
            "tags": {"account": "{accountName}", "id": "{accountId}", "team": "platform"},
            "deletionPolicy": "Delete",
            "exportTo": {"configMapName": "sso-{accountId}"},
        }));
        let spec = render(&set.spec, &account("Team Sandbox")).unwrap();
        assert_eq!(spec.name.as_deref(), Some("sandbox-123456789012"));
        assert_eq!(spec.region.as_deref(), Some("eu-west-1"));
        let tags: Vec<(&str, &str)> = spec.tags.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        assert_eq!(tags, [("account", "Team Sandbox"), ("id", "123456789012"), ("team", "platform")]);
        let role = spec.credentials.unwrap().role_arn;
        assert_eq!(role, "arn:aws:iam::123456789012:role/identity-center-admin");
        assert_eq!(spec.export_to.unwrap().config_map_name, "sso-123456789012");
        assert_eq!(spec.deletion_policy, crate::api::DeletionPolicy::Delete);
    }

    #[test]
    fn an_account_whose_name_renders_badly_fails_with_the_reason() {
        let cases = [
            ("{accountName}", "Team Sandbox", Some("not a valid instance name")),
            ("{accountName}", "team-sandbox", None),
            ("sso-{accountName}", &"x".repeat(29), Some("not a valid instance name")),
            ("sso-{accountId}", "anything at all", None),
        ];
        for (template, account_name, want) in cases {
            let got = render(&set(json!({"name": template})).spec, &account(account_name));
            match (want, got) {
                (None, Ok(_)) => {}
                (Some(part), Err(error)) => assert!(error.to_string().contains(part), "{error}"),
                (want, got) => panic!("{template} / {account_name}: want {want:?}, got {got:?}"),
            }
        }
        let tag = render(&set(json!({"tags": {"owner": "{accountName}"}})).spec, &account("Team <Sandbox>"));
        assert!(matches!(tag, Err(RenderError::TagValue { .. })), "{tag:?}");
    }

    #[test]
    fn the_digest_follows_the_template_and_the_role_only() {
        let base = set(json!({"name": "sandbox-{accountId}"}));
        let mut other_template = base.clone();
        other_template.spec.template.tags.insert("team".into(), "a".into());
        let mut other_role = base.clone();
        other_role.spec.account_credentials.external_id = Some("ext-1".into());
        let mut other_pace = base.clone();
        other_pace.spec.rollout.max_concurrent = 50;
        assert_eq!(template_hash(&base), template_hash(&base.clone()));
        assert_ne!(template_hash(&base), template_hash(&other_template));
        assert_ne!(template_hash(&base), template_hash(&other_role));
        assert_eq!(template_hash(&base), template_hash(&other_pace), "the pace is not part of what a child is");
        assert_eq!(template_hash(&base).len(), 16);
    }
}
