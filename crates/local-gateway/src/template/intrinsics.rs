//! CloudFormation's intrinsic functions as the local gateway evaluates them (`Ref`, `Fn::If` on
//! `Conditions`, `Fn::Sub`, `Fn::Select`, `Fn::Split`, `AWS::NoValue`), and the parameters they
//! read.

use std::collections::HashMap;

use serde_norway::Value;

use super::error::{TemplateError, unsupported};

/// An intrinsic function in the template, as `(name, argument)`: `!Ref X` or `{Ref: X}`.
pub(super) fn intrinsic(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(t) => Some((
            t.tag.to_string().trim_start_matches('!').to_owned(),
            &t.value,
        )),
        Value::Mapping(m) if m.len() == 1 => {
            let (k, v) = m.iter().next()?;
            let k = k.as_str()?;
            (k == "Ref" || k.starts_with("Fn::"))
                .then(|| (k.trim_start_matches("Fn::").to_owned(), v))
        }
        _ => None,
    }
}

pub(super) struct Resolver<'a> {
    pub(super) parameters: HashMap<String, String>,
    pub(super) resources: &'a serde_norway::Mapping,
    /// The template's `Conditions`.
    pub(super) conditions: Option<&'a Value>,
}

pub(super) enum Resolved {
    Text(String),
    Secret,
    Unknown,
}

impl Resolver<'_> {
    pub(super) fn resource_type(&self, id: &str) -> Option<&str> {
        self.resources.get(id)?.get("Type")?.as_str()
    }

    pub(super) fn resolve(&self, v: &Value) -> Resolved {
        match v {
            Value::String(s) => Resolved::Text(s.clone()),
            Value::Number(n) => Resolved::Text(n.to_string()),
            Value::Bool(b) => Resolved::Text(b.to_string()),
            _ => match intrinsic(v) {
                Some((name, Value::String(target))) if name == "Ref" => {
                    if let Some(p) = self.parameters.get(target) {
                        Resolved::Text(p.clone())
                    } else {
                        match self.resource_type(target) {
                            Some("AWS::SecretsManager::Secret") => Resolved::Secret,
                            // Locally, a table is named after its logical id.
                            Some("AWS::DynamoDB::Table") => Resolved::Text(target.clone()),
                            _ => Resolved::Unknown,
                        }
                    }
                }
                Some((name, Value::Sequence(args))) if name == "If" => match args.as_slice() {
                    [Value::String(cond), yes, no] => match self.condition(cond) {
                        Ok(true) => self.resolve(yes),
                        Ok(false) => self.resolve(no),
                        Err(_) => Resolved::Unknown,
                    },
                    _ => Resolved::Unknown,
                },
                _ => Resolved::Unknown,
            },
        }
    }

    /// `v` with the intrinsics a local reading needs evaluated: `Ref` (parameters,
    /// `AWS::NoValue`), `Fn::If` on the template's conditions, `Fn::Sub`, `Fn::Select` and
    /// `Fn::Split`. `None` for `AWS::NoValue`: the value is left out, as CloudFormation does.
    pub(super) fn eval(&self, v: &Value) -> Result<Option<Value>, TemplateError> {
        let Some((name, arg)) = intrinsic(v) else {
            return Ok(Some(match v {
                Value::Sequence(items) => Value::Sequence(
                    items
                        .iter()
                        .map(|i| self.eval(i))
                        .filter_map(Result::transpose)
                        .collect::<Result<_, _>>()?,
                ),
                Value::Mapping(m) => {
                    let mut out = serde_norway::Mapping::new();
                    for (k, v) in m {
                        if let Some(v) = self.eval(v)? {
                            out.insert(k.clone(), v);
                        }
                    }
                    Value::Mapping(out)
                }
                other => other.clone(),
            }));
        };
        let args = arg.as_sequence().map(Vec::as_slice).unwrap_or_default();
        let text = |v: &Value| -> Result<String, TemplateError> {
            match self.eval(v)? {
                Some(Value::String(s)) => Ok(s),
                Some(Value::Number(n)) => Ok(n.to_string()),
                other => Err(unsupported(format!("{name}: {other:?} is not a string"))),
            }
        };
        match (name.as_str(), args) {
            ("Ref", _) if arg.as_str() == Some("AWS::NoValue") => Ok(None),
            ("Ref", _) => self.text(v, "Ref").map(|t| Some(Value::String(t))),
            ("If", [cond, yes, no]) => {
                let cond = cond
                    .as_str()
                    .ok_or_else(|| unsupported("Fn::If: the condition is not a name"))?;
                self.eval(if self.condition(cond)? { yes } else { no })
            }
            ("Split", [sep, value]) => {
                let (sep, value) = (text(sep)?, text(value)?);
                Ok(Some(Value::Sequence(
                    value.split(sep.as_str()).map(Value::from).collect(),
                )))
            }
            ("Select", [index, list]) => {
                let index: usize = text(index)?
                    .parse()
                    .map_err(|_| unsupported("Fn::Select: the index is not a number"))?;
                match self.eval(list)? {
                    Some(Value::Sequence(items)) => items
                        .get(index)
                        .cloned()
                        .map(Some)
                        .ok_or_else(|| unsupported("Fn::Select: index out of range")),
                    _ => Err(unsupported("Fn::Select: not a list")),
                }
            }
            ("Sub", _) => {
                let (template, vars) = match (arg, args) {
                    (Value::String(t), _) => (t.clone(), None),
                    (_, [Value::String(t), vars]) => (t.clone(), Some(vars)),
                    _ => return Err(unsupported("Fn::Sub: neither a string nor [string, map]")),
                };
                let mut out = String::new();
                let mut rest = template.as_str();
                while let Some(start) = rest.find("${") {
                    let end = rest[start..]
                        .find('}')
                        .ok_or_else(|| unsupported("Fn::Sub: unclosed ${"))?;
                    let var = &rest[start + 2..start + end];
                    let value = match vars.and_then(|m| m.get(var)) {
                        Some(v) => text(v)?,
                        None => self.parameters.get(var).cloned().ok_or_else(|| {
                            unsupported(format!("Fn::Sub: ${{{var}}} cannot be resolved locally"))
                        })?,
                    };
                    out.push_str(&rest[..start]);
                    out.push_str(&value);
                    rest = &rest[start + end + 1..];
                }
                out.push_str(rest);
                Ok(Some(Value::String(out)))
            }
            _ => Err(unsupported(format!(
                "Fn::{name} cannot be evaluated locally"
            ))),
        }
    }

    /// Condition `name` of the template's `Conditions` (`Fn::Equals`, `Fn::Not`, `Fn::And`,
    /// `Fn::Or`, `Condition`).
    pub(super) fn condition(&self, name: &str) -> Result<bool, TemplateError> {
        let spec = self
            .conditions
            .and_then(|c| c.get(name))
            .ok_or_else(|| unsupported(format!("condition {name} is not defined")))?;
        self.truth(spec)
    }

    pub(super) fn truth(&self, spec: &Value) -> Result<bool, TemplateError> {
        let (name, arg) =
            intrinsic(spec).ok_or_else(|| unsupported(format!("condition {spec:?}")))?;
        let args = arg.as_sequence().map(Vec::as_slice).unwrap_or_default();
        match (name.as_str(), args) {
            ("Equals", [a, b]) => Ok(self.eval(a)? == self.eval(b)?),
            ("Not", [a]) => Ok(!self.truth(a)?),
            ("And", items) => items
                .iter()
                .try_fold(true, |acc, i| Ok(acc && self.truth(i)?)),
            ("Or", items) => items
                .iter()
                .try_fold(false, |acc, i| Ok(acc || self.truth(i)?)),
            ("Condition", _) => self.condition(arg.as_str().unwrap_or_default()),
            _ => Err(unsupported(format!("condition function {name}"))),
        }
    }

    /// `v` evaluated, as text with API Gateway's static-value quotes stripped; `None` when left out.
    pub(super) fn quoted(&self, v: Option<&Value>) -> Result<Option<String>, TemplateError> {
        match v.map(|v| self.eval(v)).transpose()?.flatten() {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.trim_matches('\'').to_owned())),
            Some(Value::Number(n)) => Ok(Some(n.to_string())),
            Some(other) => Err(unsupported(format!("{other:?} is not a header value"))),
        }
    }

    pub(super) fn text(&self, v: &Value, what: &str) -> Result<String, TemplateError> {
        match self.resolve(v) {
            Resolved::Text(t) => Ok(t),
            _ => Err(unsupported(format!("{what}: cannot resolve {v:?} locally"))),
        }
    }
}

pub(super) fn get<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |v, k| v.get(*k))
}

/// The entries of the mapping at `path`; none when it is absent or not a mapping.
pub(super) fn entries<'a>(
    v: &'a Value,
    path: &[&str],
) -> impl Iterator<Item = (&'a Value, &'a Value)> {
    get(v, path)
        .and_then(Value::as_mapping)
        .into_iter()
        .flatten()
}

/// The pseudo parameter `AWS::StackName`.
const STACK_NAME: &str = "AWS::StackName";

/// What `AWS::StackName` is locally.
pub const LOCAL_STACK_NAME: &str = "lambda-auth-local";

/// The template's parameters: each one's default, or the override given for it. An override
/// for a parameter the template does not have is an error, as in `sam deploy`.
pub(super) fn parameters(
    doc: &Value,
    overrides: &HashMap<String, String>,
) -> Result<HashMap<String, String>, TemplateError> {
    // The pseudo parameter a local stack needs: its name (a deployed one's is the stack's).
    let mut parameters = HashMap::from([(STACK_NAME.to_owned(), LOCAL_STACK_NAME.to_owned())]);
    for (name, spec) in entries(doc, &["Parameters"]) {
        let Some(name) = name.as_str() else { continue };
        let default = match spec.get("Default") {
            Some(Value::String(s)) => Some(s.clone()),
            Some(Value::Number(n)) => Some(n.to_string()),
            Some(Value::Bool(b)) => Some(b.to_string()),
            _ => None,
        };
        if let Some(v) = overrides.get(name).cloned().or(default) {
            parameters.insert(name.to_owned(), v);
        }
    }
    if let Some(name) = overrides.keys().find(|n| !parameters.contains_key(*n)) {
        return Err(unsupported(format!(
            "parameter override {name}: the template has no such parameter"
        )));
    }
    Ok(parameters)
}
