//! The call log: every request the emulator answered, for tests to assert on.

use std::collections::{BTreeMap, VecDeque};

use serde::{Deserialize, Serialize};
use serde_json::Value;

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Call {
    pub seq: u64,
    /// `sso`, `sts` or `organizations`.
    pub service: String,
    pub operation: String,
    /// The access key the request was signed with: tells apart callers in one account.
    pub access_key: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub request: Value,
    /// `ok`, an error code, or `dropped`.
    pub outcome: String,
    pub status: u16,
    /// For AssumeRole, granted or not: the session it asked for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub assume_role: Option<AssumeRoleRecord>,
}

/// What an AssumeRole call asked for, read from its query parameters.
#[derive(Clone, Debug, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AssumeRoleRecord {
    pub role_arn: Option<String>,
    pub role_session_name: Option<String>,
    /// Session tags, key -> value (complete pairs only).
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_identity: Option<String>,
}

pub struct CallLog {
    calls: VecDeque<Call>,
    next: u64,
    limit: usize,
}

impl CallLog {
    pub fn new(limit: usize) -> Self {
        Self { calls: VecDeque::new(), next: 1, limit: limit.max(1) }
    }

    pub fn push(&mut self, mut call: Call) {
        call.seq = self.next;
        self.next += 1;
        if self.calls.len() == self.limit {
            self.calls.pop_front();
        }
        self.calls.push_back(call);
    }

    pub fn all(&self) -> Vec<Call> {
        self.calls.iter().cloned().collect()
    }

    pub fn clear(&mut self) {
        self.calls.clear();
    }
}
