//! What an authorizer's IAM answer is made of: `methodArn` parsing, the IAM policy document
//! builder and the context passed to the backend.

use std::borrow::Cow;
use std::collections::BTreeMap;

use aws_lambda_events::apigw::ApiGatewayCustomAuthorizerPolicy;
use aws_lambda_events::iam::{IamPolicyEffect, IamPolicyStatement};
use serde::{Deserialize, Serialize};

/// IAM policy language version for every document built here.
pub const POLICY_VERSION: &str = "2012-10-17";
/// The one action API Gateway authorizer policies grant or deny.
pub const INVOKE_ACTION: &str = "execute-api:Invoke";

/// Why a `methodArn` could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq, Clone, Copy)]
pub enum ArnError {
    /// The value does not have the `arn:partition:service:region:account:resource` shape.
    #[error(
        "not an ARN: expected arn:{{partition}}:execute-api:{{region}}:{{account}}:{{apiId}}/{{stage}}/{{verb}}/{{resource}}"
    )]
    NotAnArn,
    /// The service is not `execute-api`.
    #[error("not an API Gateway execute-api ARN")]
    NotExecuteApi,
    /// A required part is empty or missing.
    #[error("the methodArn has no {0}")]
    MissingPart(&'static str),
    /// The value holds whitespace or control characters.
    #[error("the methodArn holds whitespace or control characters")]
    BadCharacters,
}

/// A parsed API Gateway `methodArn`:
/// `arn:{partition}:execute-api:{region}:{account}:{api_id}/{stage}/{verb}/{resource...}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MethodArn<'a> {
    /// `aws`, `aws-cn`, `aws-us-gov`, ...
    pub partition: &'a str,
    /// Region, such as `eu-west-1`.
    pub region: &'a str,
    /// AWS account id.
    pub account: &'a str,
    /// REST API id.
    pub api_id: &'a str,
    /// Stage name.
    pub stage: &'a str,
    /// HTTP verb (`GET`, ...), or `*`.
    pub verb: &'a str,
    /// Resource path without its leading slash; empty for the root resource.
    pub resource: &'a str,
}

impl<'a> MethodArn<'a> {
    /// Parses a `methodArn`, keeping the partition so that China and GovCloud work.
    pub fn parse(arn: &'a str) -> Result<Self, ArnError> {
        if arn
            .bytes()
            .any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
        {
            return Err(ArnError::BadCharacters);
        }
        let mut parts = arn.splitn(6, ':');
        let mut next = || parts.next().ok_or(ArnError::NotAnArn);
        let (scheme, partition, service, region, account, path) =
            (next()?, next()?, next()?, next()?, next()?, next()?);
        if scheme != "arn" {
            return Err(ArnError::NotAnArn);
        }
        if service != "execute-api" {
            return Err(ArnError::NotExecuteApi);
        }
        let mut path = path.splitn(4, '/');
        let mut take = |what: &'static str| match path.next() {
            Some(p) if !p.is_empty() => Ok(p),
            _ => Err(ArnError::MissingPart(what)),
        };
        let (api_id, stage, verb) = (take("API id")?, take("stage")?, take("HTTP verb")?);
        // An HTTP API's `$default` route has no path: `{api}/{stage}/$default`.
        let resource = match path.next() {
            Some(resource) => resource,
            None if verb == "$default" => "",
            None => return Err(ArnError::MissingPart("resource path")),
        };
        for (part, what) in [
            (partition, "partition"),
            (region, "region"),
            (account, "account"),
        ] {
            if part.is_empty() {
                return Err(ArnError::MissingPart(what));
            }
        }
        Ok(Self {
            partition,
            region,
            account,
            api_id,
            stage,
            verb,
            resource,
        })
    }

    /// The ARN of `verb` on `path` (no leading slash) in this stage; `*` wildcards are allowed.
    pub fn route(&self, verb: &str, path: &str) -> String {
        self.stage_arn(&[verb, "/", path])
    }

    /// What every route ARN of this stage starts with:
    /// `arn:{partition}:execute-api:{region}:{account}:{api_id}/{stage}/`.
    pub fn stage_prefix(&self) -> String {
        self.stage_arn(&[])
    }

    /// The stage's prefix and `tail`, in one allocation: this runs on every authorized request.
    fn stage_arn(&self, tail: &[&str]) -> String {
        let head = [
            "arn:",
            self.partition,
            ":execute-api:",
            self.region,
            ":",
            self.account,
            ":",
            self.api_id,
            "/",
            self.stage,
            "/",
        ];
        let parts = head.iter().chain(tail);
        let mut arn = String::with_capacity(parts.clone().map(|p| p.len()).sum());
        for part in parts {
            arn.push_str(part);
        }
        arn
    }
}

/// A value API Gateway accepts in an authorizer's `context`: a string, a number or a boolean.
///
/// Objects, arrays and null cannot be built, so a response that API Gateway would refuse
/// with a 500 cannot be written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ContextValue {
    /// A string.
    String(String),
    /// A finite number.
    Number(serde_json::Number),
    /// A boolean.
    Bool(bool),
}

impl From<&str> for ContextValue {
    fn from(v: &str) -> Self {
        Self::String(v.to_owned())
    }
}
impl From<String> for ContextValue {
    fn from(v: String) -> Self {
        Self::String(v)
    }
}
impl From<bool> for ContextValue {
    fn from(v: bool) -> Self {
        Self::Bool(v)
    }
}
impl From<i64> for ContextValue {
    fn from(v: i64) -> Self {
        Self::Number(v.into())
    }
}
impl From<u64> for ContextValue {
    fn from(v: u64) -> Self {
        Self::Number(v.into())
    }
}
impl From<i32> for ContextValue {
    fn from(v: i32) -> Self {
        Self::Number(v.into())
    }
}

/// The `context` map of an authorizer response: keys to strings, numbers or booleans only.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct AuthorizerContext(BTreeMap<Cow<'static, str>, ContextValue>);

impl AuthorizerContext {
    /// Sets `key` to `value`, replacing any earlier value.
    pub fn insert(&mut self, key: impl Into<Cow<'static, str>>, value: impl Into<ContextValue>) {
        self.0.insert(key.into(), value.into());
    }

    /// The value under `key`.
    pub fn get(&self, key: &str) -> Option<&ContextValue> {
        self.0.get(key)
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The entries, in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &ContextValue)> {
        self.0.iter().map(|(k, v)| (k.as_ref(), v))
    }
}

/// One policy statement: Allow or Deny `execute-api:Invoke` on its resources.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Statement {
    effect: IamPolicyEffect,
    resources: Vec<String>,
}

impl Statement {
    fn into_iam(self) -> IamPolicyStatement {
        // IamPolicyStatement::default() is an Allow: the effect is always set explicitly.
        let mut s = IamPolicyStatement::default();
        s.effect = self.effect;
        s.action = vec![INVOKE_ACTION.to_owned()];
        s.resource = self.resources;
        s
    }
}

/// Builds an IAM policy document for an authorizer's answer. Deny by default: with no
/// statement added, the document is an explicit Deny of everything, never an Allow.
#[derive(Debug, Clone, Default)]
pub struct PolicyBuilder {
    statements: Vec<Statement>,
}

impl PolicyBuilder {
    /// A builder with no statement yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Allows `resource` (a method ARN, wildcards allowed).
    pub fn allow(self, resource: impl Into<String>) -> Self {
        self.statement(IamPolicyEffect::Allow, vec![resource.into()])
    }

    /// Denies `resource` explicitly. An explicit Deny wins over any Allow.
    pub fn deny(self, resource: impl Into<String>) -> Self {
        self.statement(IamPolicyEffect::Deny, vec![resource.into()])
    }

    /// Allows every one of `resources` in one statement; none, no statement.
    pub fn allow_all(self, resources: Vec<String>) -> Self {
        self.statement(IamPolicyEffect::Allow, resources)
    }

    /// Denies every one of `resources` explicitly in one statement; none, no statement.
    pub fn deny_all(self, resources: Vec<String>) -> Self {
        self.statement(IamPolicyEffect::Deny, resources)
    }

    fn statement(mut self, effect: IamPolicyEffect, resources: Vec<String>) -> Self {
        if !resources.is_empty() {
            self.statements.push(Statement { effect, resources });
        }
        self
    }

    /// The policy document. With no statements it denies everything.
    pub fn document(self) -> ApiGatewayCustomAuthorizerPolicy {
        let mut statements = self.statements;
        if statements.is_empty() {
            statements.push(Statement {
                effect: IamPolicyEffect::Deny,
                resources: vec!["*".to_owned()],
            });
        }
        let mut policy = ApiGatewayCustomAuthorizerPolicy::default();
        policy.version = Some(POLICY_VERSION.to_owned());
        policy.statement = statements.into_iter().map(Statement::into_iam).collect();
        policy
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const ARN: &str = "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/GET/users/42";

    #[test]
    fn parses_method_arns_in_every_partition() {
        let arn = MethodArn::parse(ARN).unwrap();
        assert_eq!(
            arn,
            MethodArn {
                partition: "aws",
                region: "eu-west-1",
                account: "123456789012",
                api_id: "abc123",
                stage: "prod",
                verb: "GET",
                resource: "users/42",
            }
        );
        assert_eq!(
            arn.stage_prefix(),
            "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/"
        );
        assert_eq!(
            arn.route("POST", "orders"),
            "arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/POST/orders"
        );

        let cn =
            MethodArn::parse("arn:aws-cn:execute-api:cn-north-1:123456789012:a/dev/GET/").unwrap();
        assert_eq!((cn.partition, cn.resource), ("aws-cn", ""));
        assert_eq!(
            cn.route("*", "*"),
            "arn:aws-cn:execute-api:cn-north-1:123456789012:a/dev/*/*"
        );
        let gov =
            MethodArn::parse("arn:aws-us-gov:execute-api:us-gov-west-1:1:a/s/*/a/b:c").unwrap();
        assert_eq!(
            (gov.partition, gov.verb, gov.resource),
            ("aws-us-gov", "*", "a/b:c")
        );
    }

    #[test]
    fn reads_http_api_route_arns() {
        let base = "arn:aws:execute-api:us-east-1:123456789012:abcdef123/$default";
        for (arn, verb, resource) in [
            (format!("{base}/GET/hello"), "GET", "hello"),
            (format!("{base}/ANY/{{proxy+}}"), "ANY", "{proxy+}"),
            (format!("{base}/$default"), "$default", ""),
        ] {
            let parsed = MethodArn::parse(&arn).unwrap();
            assert_eq!(
                (parsed.stage, parsed.verb, parsed.resource),
                ("$default", verb, resource)
            );
            assert_eq!(parsed.stage_prefix(), format!("{base}/"));
        }
        // Only the `$default` route goes without a path.
        assert_eq!(
            MethodArn::parse(&format!("{base}/GET")),
            Err(ArnError::MissingPart("resource path"))
        );
    }

    #[test]
    fn refuses_malformed_method_arns_with_the_reason() {
        let cases: &[(&str, ArnError)] = &[
            ("", ArnError::NotAnArn),
            ("arn:aws:execute-api:eu-west-1:123", ArnError::NotAnArn),
            ("urn:aws:execute-api:r:1:a/s/GET/x", ArnError::NotAnArn),
            ("arn:aws:lambda:r:1:function:f", ArnError::NotExecuteApi),
            (
                "arn::execute-api:r:1:a/s/GET/x",
                ArnError::MissingPart("partition"),
            ),
            (
                "arn:aws:execute-api::1:a/s/GET/x",
                ArnError::MissingPart("region"),
            ),
            (
                "arn:aws:execute-api:r::a/s/GET/x",
                ArnError::MissingPart("account"),
            ),
            (
                "arn:aws:execute-api:r:1:/s/GET/x",
                ArnError::MissingPart("API id"),
            ),
            (
                "arn:aws:execute-api:r:1:a//GET/x",
                ArnError::MissingPart("stage"),
            ),
            (
                "arn:aws:execute-api:r:1:a/s",
                ArnError::MissingPart("HTTP verb"),
            ),
            (
                "arn:aws:execute-api:r:1:a/s/GET",
                ArnError::MissingPart("resource path"),
            ),
            (
                "arn:aws:execute-api:r:1:a/s/GET/x y",
                ArnError::BadCharacters,
            ),
            (
                "arn:aws:execute-api:r:1:a/s/GET/x\n",
                ArnError::BadCharacters,
            ),
        ];
        for (arn, want) in cases {
            assert_eq!(MethodArn::parse(arn), Err(*want), "{arn:?}");
        }
    }

    #[test]
    fn builds_the_documented_policy_document() {
        let arn = MethodArn::parse(ARN).unwrap();
        let document = PolicyBuilder::new().allow(arn.route("*", "*")).document();
        assert_eq!(
            serde_json::to_value(&document).unwrap(),
            json!({
                "Version": "2012-10-17",
                "Statement": [{
                    "Action": ["execute-api:Invoke"],
                    "Effect": "Allow",
                    "Resource": ["arn:aws:execute-api:eu-west-1:123456789012:abc123/prod/*/*"]
                }]
            })
        );
    }

    #[test]
    fn an_empty_builder_denies_everything() {
        let v = serde_json::to_value(PolicyBuilder::new().document()).unwrap();
        assert_eq!(
            v["Statement"],
            json!([{"Action": ["execute-api:Invoke"], "Effect": "Deny", "Resource": ["*"]}])
        );
        assert!(!v.to_string().contains("Allow"));
    }

    #[test]
    fn deny_is_explicit_and_kept_in_order() {
        let v = serde_json::to_value(
            PolicyBuilder::new()
                .deny("arn:aws:execute-api:r:1:a/s/DELETE/*")
                .allow("arn:aws:execute-api:r:1:a/s/GET/*")
                .document(),
        )
        .unwrap();
        let statements = &v["Statement"];
        assert_eq!(statements[0]["Effect"], "Deny");
        assert_eq!(statements[1]["Effect"], "Allow");
        assert_eq!(
            statements[1]["Resource"],
            json!(["arn:aws:execute-api:r:1:a/s/GET/*"])
        );
        assert!(statements[0].get("Condition").is_none());
    }

    #[test]
    fn context_values_are_only_scalars() {
        let mut c = AuthorizerContext::default();
        c.insert("a", "x");
        c.insert("a", "y");
        assert_eq!(c.get("a"), Some(&ContextValue::from("y")));
        // Reading back an object or array fails: the type holds scalars only.
        assert!(serde_json::from_str::<AuthorizerContext>(r#"{"a":{"b":1}}"#).is_err());
        assert!(serde_json::from_str::<AuthorizerContext>(r#"{"a":[1]}"#).is_err());
        assert!(serde_json::from_str::<AuthorizerContext>(r#"{"a":null}"#).is_err());
    }
}
