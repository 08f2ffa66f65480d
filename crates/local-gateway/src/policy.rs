//! Evaluating an authorizer's IAM policy for one request, as API Gateway does: an explicit
//! Deny wins, then an Allow, and no matching statement is a deny.

use routerules::wildcard_match;
use serde_json::Value;

/// The decision for one route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// An Allow statement matches and no Deny does.
    Allow,
    /// A Deny statement matches.
    ExplicitDeny,
    /// No statement matches.
    ImplicitDeny,
}

fn strings(v: &Value) -> Vec<&str> {
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(a) => a.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Evaluates `policy_document` for invoking `resource_arn`. Conditions are not evaluated
/// locally: a statement with a Condition counts as matching.
pub fn evaluate(policy_document: &Value, resource_arn: &str) -> Decision {
    let statements = match policy_document.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ => Vec::new(),
    };
    let mut allowed = false;
    for s in statements {
        let action = strings(s.get("Action").unwrap_or(&Value::Null))
            .iter()
            .any(|a| wildcard_match(&a.to_ascii_lowercase(), "execute-api:invoke"));
        let resource = strings(s.get("Resource").unwrap_or(&Value::Null))
            .iter()
            .any(|r| wildcard_match(r, resource_arn));
        if !(action && resource) {
            continue;
        }
        match s.get("Effect").and_then(Value::as_str) {
            Some("Deny") => return Decision::ExplicitDeny,
            Some("Allow") => allowed = true,
            _ => {}
        }
    }
    if allowed {
        Decision::Allow
    } else {
        Decision::ImplicitDeny
    }
}

/// Whether every context value is a string, number or boolean: API Gateway answers 500 otherwise.
pub fn context_is_valid(context: Option<&Value>) -> bool {
    match context {
        None | Some(Value::Null) => true,
        Some(Value::Object(map)) => map
            .values()
            .all(|v| matches!(v, Value::String(_) | Value::Number(_) | Value::Bool(_))),
        Some(_) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ARN: &str = "arn:aws:execute-api:us-east-1:123456789012:local/prod/GET/hello";

    #[test]
    fn wildcards_follow_iam() {
        assert!(wildcard_match(
            "arn:aws:execute-api:us-east-1:123456789012:local/prod/*/*",
            ARN
        ));
        assert!(wildcard_match("*", ARN));
        assert!(wildcard_match(
            "arn:aws:execute-api:*:*:local/prod/GET/hell?",
            ARN
        ));
        assert!(!wildcard_match(
            "arn:aws:execute-api:us-east-1:123456789012:local/prod/POST/*",
            ARN
        ));
        assert!(!wildcard_match(
            "arn:aws:execute-api:us-east-1:123456789012:local/dev/*/*",
            ARN
        ));
        assert!(wildcard_match("", ""));
        assert!(!wildcard_match("", "x"));
    }

    #[test]
    fn explicit_deny_wins_then_allow_then_nothing() {
        let allow = json!({"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": ["arn:aws:execute-api:us-east-1:123456789012:local/prod/*/*"]});
        let deny = json!({"Action": ["execute-api:Invoke"], "Effect": "Deny", "Resource": "arn:aws:execute-api:us-east-1:123456789012:local/prod/GET/*"});
        let other = json!({"Action": "execute-api:Invoke", "Effect": "Allow", "Resource": "arn:aws:execute-api:us-east-1:123456789012:local/prod/POST/orders"});
        assert_eq!(
            evaluate(&json!({"Statement": [allow.clone()]}), ARN),
            Decision::Allow
        );
        assert_eq!(
            evaluate(&json!({"Statement": allow.clone()}), ARN),
            Decision::Allow
        );
        assert_eq!(
            evaluate(&json!({"Statement": [allow, deny]}), ARN),
            Decision::ExplicitDeny
        );
        assert_eq!(
            evaluate(&json!({"Statement": [other]}), ARN),
            Decision::ImplicitDeny
        );
        assert_eq!(evaluate(&json!({}), ARN), Decision::ImplicitDeny);
        let wrong_action =
            json!({"Statement": [{"Action": "s3:GetObject", "Effect": "Allow", "Resource": "*"}]});
        assert_eq!(evaluate(&wrong_action, ARN), Decision::ImplicitDeny);
    }

    #[test]
    fn context_values_must_be_scalars() {
        assert!(context_is_valid(None));
        assert!(context_is_valid(Some(
            &json!({"a": "x", "b": 1, "c": true})
        )));
        assert!(!context_is_valid(Some(&json!({"a": {"b": 1}}))));
        assert!(!context_is_valid(Some(&json!({"a": [1]}))));
        assert!(!context_is_valid(Some(&json!({"a": null}))));
        assert!(!context_is_valid(Some(&json!("x"))));
    }
}
