//! IAM policy documents, built and serialized once per stage and role set. The document a
//! genuine token gets depends only on its roles and on the stage it calls; with many rules it
//! names many routes, and building and writing it would be most of each answer's work (README,
//! Performance).

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerPolicy;
use serde::{Serialize, Serializer};
use serde_json::value::RawValue;

use crate::policy::PolicyBuilder;

/// How many documents one instance keeps: one for each role set and stage it answers for.
/// Roles come from signed tokens and stages from API Gateway, so few ever exist; past this
/// many, the oldest is dropped and built again when needed.
pub const MAX_DOCUMENTS: usize = 64;

/// A policy document ready for the wire: cloning it copies a pointer.
#[derive(Debug, Clone)]
pub enum Document {
    /// Denies everything (a request with nothing to allow).
    DenyAll,
    /// A document serialized once.
    Serialized(Arc<RawValue>),
}

impl Document {
    /// `policy`, serialized; one that cannot be written denies everything.
    pub fn of(policy: &ApiGatewayCustomAuthorizerPolicy) -> Self {
        match serde_json::value::to_raw_value(policy) {
            Ok(raw) => Self::Serialized(Arc::from(raw)),
            Err(_) => Self::DenyAll,
        }
    }
}

impl Serialize for Document {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            Self::DenyAll => PolicyBuilder::new().document().serialize(serializer),
            Self::Serialized(raw) => raw.serialize(serializer),
        }
    }
}

impl PartialEq for Document {
    fn eq(&self, other: &Self) -> bool {
        match (self, other) {
            (Self::DenyAll, Self::DenyAll) => true,
            (Self::Serialized(a), Self::Serialized(b)) => a.get() == b.get(),
            _ => false,
        }
    }
}

impl Eq for Document {}

/// One kept document and what it was built for.
#[derive(Debug)]
struct Entry {
    stage: String,
    roles: Vec<String>,
    document: Document,
}

/// The documents already built, by stage (the ARN prefix of its routes) and role list.
#[derive(Debug, Default)]
pub struct Documents {
    kept: Mutex<VecDeque<Entry>>,
}

impl Documents {
    /// The document for a token with `roles` on the stage whose route ARNs start with `stage`:
    /// the kept one, or the one `build` makes (then kept).
    pub fn get_or_build(
        &self,
        stage: &str,
        roles: &[String],
        build: impl FnOnce() -> Document,
    ) -> Document {
        let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(entry) = kept.iter().find(|e| e.stage == stage && e.roles == roles) {
            return entry.document.clone();
        }
        let document = build();
        if kept.len() >= MAX_DOCUMENTS {
            kept.pop_front();
        }
        kept.push_back(Entry {
            stage: stage.to_owned(),
            roles: roles.to_vec(),
            document: document.clone(),
        });
        document
    }

    /// How many documents are kept.
    pub fn len(&self) -> usize {
        self.kept.lock().unwrap_or_else(|e| e.into_inner()).len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn roles(r: &[&str]) -> Vec<String> {
        r.iter().map(|s| s.to_string()).collect()
    }

    fn allowing(resource: &str) -> Document {
        Document::of(&PolicyBuilder::new().allow(resource).document())
    }

    #[test]
    fn a_serialized_document_writes_the_policy_it_was_made_of() {
        let policy = PolicyBuilder::new().allow("arn:a/s/GET/x").document();
        assert_eq!(
            serde_json::to_value(Document::of(&policy)).unwrap(),
            serde_json::to_value(&policy).unwrap()
        );
    }

    #[test]
    fn deny_all_writes_an_explicit_deny_of_everything() {
        assert_eq!(
            serde_json::to_value(Document::DenyAll).unwrap(),
            json!({"Version": "2012-10-17", "Statement": [
                {"Action": ["execute-api:Invoke"], "Effect": "Deny", "Resource": ["*"]}
            ]})
        );
    }

    #[test]
    fn a_document_is_built_once_per_stage_and_role_list() {
        let documents = Documents::default();
        let mut builds = 0;
        for _ in 0..3 {
            documents.get_or_build("s1/", &roles(&["reader"]), || {
                builds += 1;
                allowing("s1/GET/x")
            });
        }
        assert_eq!((builds, documents.len()), (1, 1));
    }

    #[test]
    fn another_stage_or_role_list_gets_its_own_document() {
        let documents = Documents::default();
        let get = |stage: &str, r: &[&str]| {
            let tag = format!("{stage}{}", r.join(","));
            documents.get_or_build(stage, &roles(r), || allowing(&tag))
        };
        let reader = get("s1/", &["reader"]);
        assert_eq!(get("s2/", &["reader"]), allowing("s2/reader"));
        assert_eq!(
            get("s1/", &["reader", "admin"]),
            allowing("s1/reader,admin")
        );
        assert_eq!(get("s1/", &[]), allowing("s1/"));
        assert_eq!(get("s1/", &["reader"]), reader);
        assert_eq!(documents.len(), 4);
    }

    #[test]
    fn past_the_bound_the_oldest_document_is_dropped() {
        let documents = Documents::default();
        for i in 0..MAX_DOCUMENTS + 10 {
            documents.get_or_build(&format!("s{i}/"), &[], || Document::DenyAll);
        }
        assert_eq!(documents.len(), MAX_DOCUMENTS);
        let mut rebuilt = false;
        documents.get_or_build("s0/", &[], || {
            rebuilt = true;
            Document::DenyAll
        });
        assert!(rebuilt, "the oldest entry was dropped");
    }
}
