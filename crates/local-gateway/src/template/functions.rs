//! Each function's binary and environment.

use std::collections::BTreeMap;

use serde_norway::Value;

use super::error::{TemplateError, unsupported};
use super::intrinsics::{Resolved, Resolver, entries, get};

/// A function.
#[derive(Debug, Clone)]
pub struct FunctionDef {
    /// The workspace binary (`Metadata.BuildProperties.Binary`).
    pub binary: String,
    /// Environment variables, resolved for local use.
    pub env: BTreeMap<String, String>,
    /// Variables that name a Secrets Manager secret: locally the key comes from `JWT_SECRET`.
    pub secret_vars: Vec<String>,
}

/// Function `id`'s binary and environment (globals first, then its own).
pub(super) fn function(
    r: &Resolver,
    id: &str,
    res: &Value,
    doc: &Value,
) -> Result<FunctionDef, TemplateError> {
    let binary = get(res, &["Metadata", "BuildProperties", "Binary"])
        .and_then(Value::as_str)
        .ok_or_else(|| unsupported(format!("{id}: no Metadata.BuildProperties.Binary")))?
        .to_owned();
    let mut env = BTreeMap::new();
    let mut secret_vars = Vec::new();
    let globals = entries(doc, &["Globals", "Function", "Environment", "Variables"]);
    let own = entries(res, &["Properties", "Environment", "Variables"]);
    for (k, v) in globals.chain(own) {
        let k = k.as_str().unwrap_or_default().to_owned();
        match r.resolve(v) {
            Resolved::Text(t) => {
                env.insert(k, t);
            }
            Resolved::Secret => secret_vars.push(k),
            Resolved::Unknown => {
                return Err(unsupported(format!(
                    "{id}: environment variable {k} cannot be resolved locally"
                )));
            }
        }
    }
    Ok(FunctionDef {
        binary,
        env,
        secret_vars,
    })
}
