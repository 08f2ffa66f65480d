//! Why a template cannot be served.

/// Why the template cannot be served.
#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    /// The file cannot be read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The template's path.
        path: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The YAML does not parse.
    #[error("template is not valid YAML: {0}")]
    Yaml(#[from] serde_norway::Error),
    /// Something the gateway needs is missing or of a shape it does not support.
    #[error("template: {0}")]
    Unsupported(String),
    /// A validation expression is not a valid regular expression.
    #[error("authorizer {name}: ValidationExpression does not compile: {source}")]
    Regex {
        /// The authorizer.
        name: String,
        /// The regex error.
        source: regex::Error,
    },
}

pub(super) fn unsupported(msg: impl Into<String>) -> TemplateError {
    TemplateError::Unsupported(msg.into())
}
