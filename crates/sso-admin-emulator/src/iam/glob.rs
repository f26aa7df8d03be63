//! IAM's wildcards: `*` matches any run of characters (none included), `?`
//! exactly one. A pattern is a token list rather than a string so that text
//! a policy variable put in stays literal: a tag value of `*` must not widen
//! a pattern.

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Token {
    Char(char),
    AnyRun,
    AnyOne,
}

/// Reads `*` and `?` as wildcards, everything else literally.
pub(crate) fn pattern(text: &str) -> Vec<Token> {
    text.chars()
        .map(|c| match c {
            '*' => Token::AnyRun,
            '?' => Token::AnyOne,
            c => Token::Char(c),
        })
        .collect()
}

/// Every character literal: for the equality operators, and for text from policy variables.
pub(crate) fn literal(text: &str) -> impl Iterator<Item = Token> + '_ {
    text.chars().map(Token::Char)
}

fn same(a: char, b: char, ignore_case: bool) -> bool {
    a == b || (ignore_case && a.to_lowercase().eq(b.to_lowercase()))
}

/// Greedy matching that remembers the last `*` to retry from: at most
/// pattern x text steps, never the exponential blow-up of naive recursion.
pub(crate) fn matches(pattern: &[Token], text: &str, ignore_case: bool) -> bool {
    let text: Vec<char> = text.chars().collect();
    let (mut p, mut t) = (0, 0);
    let mut retry: Option<(usize, usize)> = None;
    while t < text.len() {
        match pattern.get(p) {
            Some(Token::AnyRun) => {
                retry = Some((p, t));
                p += 1;
            }
            Some(Token::AnyOne) => (p, t) = (p + 1, t + 1),
            Some(Token::Char(c)) if same(*c, text[t], ignore_case) => (p, t) = (p + 1, t + 1),
            _ => match retry {
                Some((star, from)) => {
                    retry = Some((star, from + 1));
                    (p, t) = (star + 1, from + 1);
                }
                None => return false,
            },
        }
    }
    pattern[p..].iter().all(|token| *token == Token::AnyRun)
}

/// Action names (`sso:Describe*`) compare case-insensitively.
pub(crate) fn action_matches(pattern_text: &str, action: &str) -> bool {
    matches(&pattern(pattern_text), action, true)
}

/// `ArnLike` / `ArnEquals`: each of the six colon-separated parts is matched
/// on its own, so a wildcard never reaches into the next part (the last
/// part, the resource, keeps any colons of its own).
pub(crate) fn arn_matches(pattern: &[Token], arn: &str) -> bool {
    let arn_parts: Vec<&str> = arn.splitn(6, ':').collect();
    let mut pattern_parts: Vec<&[Token]> = Vec::with_capacity(6);
    let mut rest = pattern;
    while pattern_parts.len() < 5 {
        let Some(colon) = rest.iter().position(|token| *token == Token::Char(':')) else { break };
        pattern_parts.push(&rest[..colon]);
        rest = &rest[colon + 1..];
    }
    pattern_parts.push(rest);
    arn_parts.len() == 6
        && pattern_parts.len() == 6
        && pattern_parts.iter().zip(&arn_parts).all(|(part, text)| matches(part, text, false))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_runs_and_single_characters() {
        let cases = [
            ("sso:*", "sso:CreateInstance", true),
            ("sso:Describe*", "sso:ListInstances", false),
            ("sso:List?nstances", "sso:ListInstances", true),
            ("sso:List?nstances", "sso:Listnstances", false),
            ("*", "", true),
            ("a*b*c", "aXXbYYc", true),
            ("a*b*c", "aXXbYY", false),
            ("team-*", "team-", true),
            ("**?", "x", true),
        ];
        for (pattern_text, text, want) in cases {
            assert_eq!(matches(&pattern(pattern_text), text, false), want, "{pattern_text} ~ {text}");
        }
        assert!(action_matches("SSO:describeinstance", "sso:DescribeInstance"), "actions ignore case");
        assert!(!matches(&pattern("Team-A"), "team-a", false), "values do not");
        let long = "a".repeat(2000);
        assert!(!matches(&pattern(&"*a".repeat(50)), &format!("{long}b"), false), "no exponential backtracking");
    }

    #[test]
    fn arn_wildcards_stay_within_their_part() {
        let role = "arn:aws:iam::111122223333:role/identity-center-admin";
        let cases = [
            ("arn:aws:iam::*:role/identity-center-admin", role, true),
            ("arn:aws:iam::111122223333:role/*", role, true),
            ("arn:aws:iam::????????????:role/identity-center-*", role, true),
            ("arn:aws:iam::*:role/other", role, false),
            ("arn:aws:iam::*", role, false),
            ("arn:*:iam::*:role/*", "arn:aws:iam::111122223333:role/a:b", true),
            ("arn:aws:iam::*:role/identity-center-admin", "not-an-arn", false),
        ];
        for (pattern_text, arn, want) in cases {
            assert_eq!(arn_matches(&pattern(pattern_text), arn), want, "{pattern_text} ~ {arn}");
        }
    }
}
