//! Condition blocks, decided against a request context as IAM does: every
//! operator and every key in a block must hold; any one policy value may
//! match. A key the request does not carry makes the positive operators
//! false and the negated ones true (`...IfExists` makes it true, `Null`
//! tests for it). A key this emulator does not model, an operator it does
//! not implement, or a shape IAM refuses gives `Truth::Unknown`: callers
//! fail closed on it (an Allow does not apply, a Deny does), so nothing is
//! allowed that AWS might refuse.

use std::collections::BTreeMap;

use super::glob::{self, Token};
use super::policy::{ConditionBlock, ConditionValue, OneOrMany};

/// Three-valued: `Unknown` is "the emulator cannot decide this".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Truth {
    True,
    False,
    Unknown,
}

impl Truth {
    fn of(holds: bool) -> Self {
        if holds { Self::True } else { Self::False }
    }

    /// Kleene conjunction: one false part decides, else one unknown part leaves it open.
    pub(crate) fn and(self, other: Self) -> Self {
        match (self, other) {
            (Self::False, _) | (_, Self::False) => Self::False,
            (Self::Unknown, _) | (_, Self::Unknown) => Self::Unknown,
            _ => Self::True,
        }
    }
}

/// The keys whose values this emulator supplies, lower-cased (IAM key names
/// ignore case). A key outside them is unknown, never merely absent.
const MODELLED_KEYS: [&str; 12] = [
    "aws:principalaccount",
    "aws:principalarn",
    "aws:principalorgid",
    "aws:resourceaccount",
    "aws:resourceorgid",
    "aws:requestedregion",
    "aws:tagkeys",
    "sts:rolesessionname",
    "sts:externalid",
    "sts:sourceidentity",
    "sts:transitivetagkeys",
    "iam:awsservicename",
];
const MODELLED_PREFIXES: [&str; 2] = ["aws:requesttag/", "aws:principaltag/"];
/// Keys that hold a set of values: only the set operators may test them.
const MULTIVALUED_KEYS: [&str; 2] = ["aws:tagkeys", "sts:transitivetagkeys"];

fn modelled(key: &str) -> bool {
    MODELLED_KEYS.contains(&key) || MODELLED_PREFIXES.iter().any(|prefix| key.starts_with(prefix))
}

/// What a request tells IAM: condition key -> its values.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct RequestContext {
    values: BTreeMap<String, Vec<String>>,
}

enum Lookup<'a> {
    Absent,
    Single(&'a str),
    Multi(&'a [String]),
    Unmodelled,
}

impl RequestContext {
    pub(crate) fn set(&mut self, key: &str, value: impl Into<String>) {
        self.values.insert(key.to_lowercase(), vec![value.into()]);
    }

    /// A multivalued key; an empty set is the same as an absent key.
    pub(crate) fn set_all(&mut self, key: &str, values: Vec<String>) {
        if !values.is_empty() {
            self.values.insert(key.to_lowercase(), values);
        }
    }

    /// `aws:RequestTag/<key>` and friends: tag keys ignore case, as in STS.
    pub(crate) fn set_tag(&mut self, prefix: &str, tag_key: &str, value: &str) {
        self.values.insert(format!("{prefix}/{tag_key}").to_lowercase(), vec![value.to_string()]);
    }

    fn lookup(&self, key: &str) -> Lookup<'_> {
        let key = key.to_lowercase();
        if !modelled(&key) {
            return Lookup::Unmodelled;
        }
        match self.values.get(&key) {
            None => Lookup::Absent,
            Some(values) if MULTIVALUED_KEYS.contains(&key.as_str()) => Lookup::Multi(values),
            Some(values) => values.first().map_or(Lookup::Absent, |value| Lookup::Single(value)),
        }
    }
}

/// Resolving a policy value's `${...}` variables.
enum Resolved {
    Tokens(Vec<Token>),
    /// A modelled key the request does not carry: AWS treats the statement
    /// as not matching.
    Missing,
    Unknown,
}

/// Expands `${key}`, `${key, 'default'}` and the escapes `${*}`, `${?}`,
/// `${$}` (literal characters) when the document's version has variables;
/// wildcards are read from the policy text only, never from a value.
fn resolve(text: &str, context: &RequestContext, variables: bool, wildcards: bool) -> Resolved {
    let policy_text = |text: &str| if wildcards { glob::pattern(text) } else { glob::literal(text).collect() };
    if !variables {
        return Resolved::Tokens(policy_text(text));
    }
    let mut tokens = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        tokens.extend(policy_text(&rest[..start]));
        let Some(length) = rest[start..].find('}') else {
            tokens.extend(policy_text(&rest[start..]));
            return Resolved::Tokens(tokens);
        };
        let inner = &rest[start + 2..start + length];
        rest = &rest[start + length + 1..];
        match inner {
            "*" | "?" | "$" => tokens.extend(glob::literal(inner)),
            _ => {
                let (key, default) = match inner.split_once(',') {
                    Some((key, default)) => (key.trim(), Some(default.trim().trim_matches('\''))),
                    None => (inner.trim(), None),
                };
                match (context.lookup(key), default) {
                    (Lookup::Single(value), _) => tokens.extend(glob::literal(value)),
                    (Lookup::Absent, Some(default)) => tokens.extend(glob::literal(default)),
                    (Lookup::Absent, None) => return Resolved::Missing,
                    // IAM refuses multivalued keys as variables.
                    (Lookup::Multi(_) | Lookup::Unmodelled, _) => return Resolved::Unknown,
                }
            }
        }
    }
    tokens.extend(policy_text(rest));
    Resolved::Tokens(tokens)
}

/// A `Resource` entry against the request's resource: one case-sensitive
/// glob over the whole ARN (IAM lets a `*` that ends a part run past its colon).
pub(crate) fn resource_matches(pattern_text: &str, resource: &str, context: &RequestContext, variables: bool) -> Truth {
    match resolve(pattern_text, context, variables, true) {
        Resolved::Tokens(tokens) => Truth::of(glob::matches(&tokens, resource, false)),
        Resolved::Missing => Truth::False,
        Resolved::Unknown => Truth::Unknown,
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Comparison {
    Equals,
    EqualsIgnoreCase,
    Like,
    Arn,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum SetQualifier {
    ForAnyValue,
    ForAllValues,
}

struct Operator {
    set: Option<SetQualifier>,
    comparison: Comparison,
    negated: bool,
    if_exists: bool,
}

/// `ForAnyValue:StringNotLikeIfExists` -> its parts; None for an operator not implemented here.
fn parse_operator(name: &str) -> Option<Operator> {
    let (set, rest) = match name.split_once(':') {
        Some(("ForAnyValue", rest)) => (Some(SetQualifier::ForAnyValue), rest),
        Some(("ForAllValues", rest)) => (Some(SetQualifier::ForAllValues), rest),
        Some(_) => return None,
        None => (None, name),
    };
    let (base, if_exists) = match rest.strip_suffix("IfExists") {
        Some(base) => (base, true),
        None => (rest, false),
    };
    let (comparison, negated) = match base {
        "StringEquals" => (Comparison::Equals, false),
        "StringNotEquals" => (Comparison::Equals, true),
        "StringEqualsIgnoreCase" => (Comparison::EqualsIgnoreCase, false),
        "StringNotEqualsIgnoreCase" => (Comparison::EqualsIgnoreCase, true),
        "StringLike" => (Comparison::Like, false),
        "StringNotLike" => (Comparison::Like, true),
        "ArnEquals" | "ArnLike" => (Comparison::Arn, false),
        "ArnNotEquals" | "ArnNotLike" => (Comparison::Arn, true),
        _ => return None,
    };
    Some(Operator { set, comparison, negated, if_exists })
}

/// Whether one request value matches any of the (resolved) policy values.
fn any_matches(comparison: Comparison, patterns: &[Vec<Token>], value: &str) -> bool {
    patterns.iter().any(|pattern| match comparison {
        Comparison::Equals | Comparison::Like => glob::matches(pattern, value, false),
        Comparison::EqualsIgnoreCase => glob::matches(pattern, value, true),
        Comparison::Arn => glob::arn_matches(pattern, value),
    })
}

fn evaluate_key(
    operator: &Operator,
    key: &str,
    values: &OneOrMany<ConditionValue>,
    context: &RequestContext,
    variables: bool,
) -> Truth {
    let request_values: Vec<&str> = match context.lookup(key) {
        Lookup::Unmodelled => return Truth::Unknown,
        // IAM: a multivalued key needs a set operator.
        Lookup::Multi(_) if operator.set.is_none() => return Truth::Unknown,
        Lookup::Multi(values) => values.iter().map(String::as_str).collect(),
        Lookup::Single(value) => vec![value],
        Lookup::Absent => Vec::new(),
    };
    if request_values.is_empty() {
        return Truth::of(match operator.set {
            _ if operator.if_exists => true,
            Some(SetQualifier::ForAllValues) => true,
            Some(SetQualifier::ForAnyValue) => false,
            None => operator.negated,
        });
    }
    let wildcards = matches!(operator.comparison, Comparison::Like | Comparison::Arn);
    let mut patterns = Vec::new();
    for value in values.iter() {
        match resolve(&value.text(), context, variables, wildcards) {
            Resolved::Tokens(tokens) => patterns.push(tokens),
            Resolved::Missing => return Truth::False,
            Resolved::Unknown => return Truth::Unknown,
        }
    }
    let holds = |value: &&str| any_matches(operator.comparison, &patterns, value) != operator.negated;
    Truth::of(match operator.set {
        Some(SetQualifier::ForAllValues) => request_values.iter().all(holds),
        Some(SetQualifier::ForAnyValue) | None => request_values.iter().any(holds),
    })
}

/// `Null`: `true` asks that the key be absent, `false` that it be present.
fn evaluate_null(key: &str, values: &OneOrMany<ConditionValue>, context: &RequestContext) -> Truth {
    let absent = match context.lookup(key) {
        Lookup::Unmodelled => return Truth::Unknown,
        Lookup::Absent => true,
        Lookup::Single(_) | Lookup::Multi(_) => false,
    };
    let mut wanted = Vec::new();
    for value in values.iter() {
        match value.text().to_ascii_lowercase().as_str() {
            "true" => wanted.push(true),
            "false" => wanted.push(false),
            _ => return Truth::Unknown,
        }
    }
    Truth::of(wanted.contains(&absent))
}

/// The whole `Condition` element of a statement.
pub(crate) fn evaluate(block: &ConditionBlock, context: &RequestContext, variables: bool) -> Truth {
    let mut truth = Truth::True;
    for (operator_name, keys) in block {
        for (key, values) in keys {
            let key_truth = if operator_name == "Null" {
                evaluate_null(key, values, context)
            } else {
                match parse_operator(operator_name) {
                    Some(operator) => evaluate_key(&operator, key, values, context, variables),
                    None => Truth::Unknown,
                }
            };
            truth = truth.and(key_truth);
        }
    }
    truth
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    fn block(value: Value) -> ConditionBlock {
        serde_json::from_value(value).unwrap()
    }

    /// A request of the operator for `team-a`'s object, in an organization.
    fn tenant_request() -> RequestContext {
        let mut context = RequestContext::default();
        context.set_tag("aws:RequestTag", "kubernetes-namespace", "team-a");
        context.set_tag("aws:RequestTag", "kubernetes-name", "platform");
        context.set_all("aws:TagKeys", vec!["kubernetes-namespace".into(), "kubernetes-name".into()]);
        context.set("sts:RoleSessionName", "ico-team-a-platform");
        context.set("sts:ExternalId", "ext-123");
        context.set("aws:PrincipalAccount", "111122223333");
        context.set("aws:ResourceAccount", "444455556666");
        context.set("aws:PrincipalOrgID", "o-exampleorgid");
        context.set("aws:ResourceOrgID", "o-exampleorgid");
        context.set("aws:PrincipalArn", "arn:aws:iam::111122223333:role/identity-center-operator");
        context
    }

    #[test]
    fn conditions_decide_as_iam_does() {
        let request = tenant_request();
        let cases: Vec<(&str, Value, Truth)> = vec![
            ("equal tag", json!({"StringEquals": {"aws:RequestTag/kubernetes-namespace": "team-a"}}), Truth::True),
            ("other tag", json!({"StringEquals": {"aws:RequestTag/kubernetes-namespace": "team-b"}}), Truth::False),
            (
                "any listed value",
                json!({"StringEquals": {"aws:RequestTag/kubernetes-namespace": ["team-b", "team-a"]}}),
                Truth::True,
            ),
            ("values are case-sensitive", json!({"StringEquals": {"sts:ExternalId": "EXT-123"}}), Truth::False),
            ("unless told otherwise", json!({"StringEqualsIgnoreCase": {"sts:ExternalId": "EXT-123"}}), Truth::True),
            ("key names are not", json!({"StringEquals": {"STS:EXTERNALID": "ext-123"}}), Truth::True),
            (
                "tag keys are not",
                json!({"StringEquals": {"aws:RequestTag/Kubernetes-Namespace": "team-a"}}),
                Truth::True,
            ),
            ("missing key, positive", json!({"StringEquals": {"sts:SourceIdentity": "x"}}), Truth::False),
            ("missing tag, positive", json!({"StringEquals": {"aws:RequestTag/team": "a"}}), Truth::False),
            ("missing key, negated", json!({"StringNotEquals": {"sts:SourceIdentity": "x"}}), Truth::True),
            ("missing key, IfExists", json!({"StringEqualsIfExists": {"sts:SourceIdentity": "x"}}), Truth::True),
            ("present key, IfExists", json!({"StringEqualsIfExists": {"sts:ExternalId": "x"}}), Truth::False),
            ("not equal", json!({"StringNotEquals": {"aws:RequestTag/kubernetes-namespace": "team-b"}}), Truth::True),
            ("like", json!({"StringLike": {"sts:RoleSessionName": "ico-team-a-*"}}), Truth::True),
            ("like, one character", json!({"StringLike": {"sts:RoleSessionName": "ico-team-?-platform"}}), Truth::True),
            ("like, other", json!({"StringLike": {"sts:RoleSessionName": "ico-team-b-*"}}), Truth::False),
            ("not like", json!({"StringNotLike": {"sts:RoleSessionName": "ico-team-b-*"}}), Truth::True),
            ("equals takes * literally", json!({"StringEquals": {"sts:RoleSessionName": "ico-*"}}), Truth::False),
            (
                "all operators and keys must hold",
                json!({"StringEquals": {"sts:ExternalId": "ext-123", "aws:RequestTag/kubernetes-namespace": "team-b"}}),
                Truth::False,
            ),
            (
                "the organization variable",
                json!({"StringEquals": {"aws:ResourceOrgID": "${aws:PrincipalOrgID}"}}),
                Truth::True,
            ),
            (
                "a variable inside a pattern stays literal",
                json!({"StringLike": {"sts:RoleSessionName": "ico-${aws:RequestTag/kubernetes-namespace}-*"}}),
                Truth::True,
            ),
            (
                "a variable default",
                json!({"StringEquals": {"sts:ExternalId": "${sts:SourceIdentity, 'ext-123'}"}}),
                Truth::True,
            ),
            (
                "a variable without value",
                json!({"StringNotEquals": {"sts:ExternalId": "${sts:SourceIdentity}"}}),
                Truth::False,
            ),
            ("escapes", json!({"StringLike": {"sts:RoleSessionName": "${*}*"}}), Truth::False),
            ("any tag key", json!({"ForAnyValue:StringEquals": {"aws:TagKeys": "kubernetes-name"}}), Truth::True),
            ("all tag keys", json!({"ForAllValues:StringLike": {"aws:TagKeys": "kubernetes-*"}}), Truth::True),
            (
                "not all tag keys",
                json!({"ForAllValues:StringEquals": {"aws:TagKeys": "kubernetes-name"}}),
                Truth::False,
            ),
            (
                "ForAllValues of nothing",
                json!({"ForAllValues:StringEquals": {"sts:TransitiveTagKeys": "x"}}),
                Truth::True,
            ),
            (
                "ForAnyValue of nothing",
                json!({"ForAnyValue:StringEquals": {"sts:TransitiveTagKeys": "x"}}),
                Truth::False,
            ),
            ("null, present", json!({"Null": {"sts:ExternalId": "false"}}), Truth::True),
            ("null, absent", json!({"Null": {"sts:SourceIdentity": true}}), Truth::True),
            ("null, wrong", json!({"Null": {"sts:ExternalId": "true"}}), Truth::False),
            ("arn like", json!({"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/*"}}), Truth::True),
            ("arn not like", json!({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:user/*"}}), Truth::True),
            ("unknown key, positive", json!({"StringEquals": {"aws:SourceVpc": "vpc-1"}}), Truth::Unknown),
            ("unknown key, negated", json!({"StringNotEquals": {"aws:SourceVpc": "vpc-1"}}), Truth::Unknown),
            ("unknown key as a variable", json!({"StringEquals": {"sts:ExternalId": "${aws:userid}"}}), Truth::Unknown),
            ("unknown operator", json!({"DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}), Truth::Unknown),
            (
                "set key without set operator",
                json!({"StringEquals": {"aws:TagKeys": "kubernetes-name"}}),
                Truth::Unknown,
            ),
            (
                "false beats unknown",
                json!({"StringEquals": {"aws:SourceVpc": "vpc-1", "sts:ExternalId": "other"}}),
                Truth::False,
            ),
        ];
        for (what, condition, want) in cases {
            assert_eq!(evaluate(&block(condition), &request, true), want, "{what}");
        }
    }

    #[test]
    fn the_organization_condition_needs_both_accounts_in_the_same_organization() {
        let condition = block(json!({"StringEquals": {"aws:ResourceOrgID": "${aws:PrincipalOrgID}"}}));
        let mut other_org = tenant_request();
        other_org.set("aws:ResourceOrgID", "o-otherorgid1");
        assert_eq!(evaluate(&condition, &other_org, true), Truth::False, "another organization's role");
        let mut no_org = RequestContext::default();
        no_org.set("aws:PrincipalOrgID", "o-exampleorgid");
        assert_eq!(evaluate(&condition, &no_org, true), Truth::False, "a role in no organization");
        let mut caller_in_none = RequestContext::default();
        caller_in_none.set("aws:ResourceOrgID", "o-exampleorgid");
        assert_eq!(evaluate(&condition, &caller_in_none, true), Truth::False, "a caller in no organization");
        assert_eq!(
            evaluate(&condition, &tenant_request(), false),
            Truth::False,
            "2008-10-17 reads variables literally"
        );
    }
}
