//! Resolving `(env)"NAME"` settings when a pipeline runs. Validation never
//! calls this: it is the only place environment values are read, and errors
//! name the variable, never its value.

use rollcall_model::Setting;

/// A setting whose environment variable is not usable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, miette::Diagnostic)]
pub enum EnvError {
    /// The variable is not set (or is empty).
    #[error("environment variable {name} is not set (needed for {what})")]
    #[diagnostic(
        code("rollcall::env::missing"),
        help("export {name} in the environment of the job that runs rollcall")
    )]
    Missing {
        /// Variable name.
        name: String,
        /// What the setting is for, e.g. `the s3 source's bucket`.
        what: String,
    },
    /// The variable holds bytes that are not UTF-8.
    #[error("environment variable {name} is not valid UTF-8 (needed for {what})")]
    #[diagnostic(code("rollcall::env::not-utf8"), help("set {name} to UTF-8 text"))]
    NotUtf8 {
        /// Variable name.
        name: String,
        /// What the setting is for.
        what: String,
    },
    /// A switch variable holds something other than true or false.
    #[error("environment variable {name} must be true or false")]
    #[diagnostic(
        code("rollcall::env::not-bool"),
        help("set {name} to one of true, false, 1, 0, yes, no, or unset it")
    )]
    NotBool {
        /// Variable name.
        name: String,
    },
}

/// The value of a setting: the literal, or the environment variable's value.
/// `what` says what the setting is for, for the error message.
pub fn resolve(setting: &Setting, what: &str) -> Result<String, EnvError> {
    match setting {
        Setting::Literal(value) => Ok(value.clone()),
        Setting::Env(name) => match std::env::var(name) {
            Ok(value) if !value.is_empty() => Ok(value),
            Ok(_) | Err(std::env::VarError::NotPresent) => Err(EnvError::Missing {
                name: name.clone(),
                what: what.to_owned(),
            }),
            Err(std::env::VarError::NotUnicode(_)) => Err(EnvError::NotUtf8 {
                name: name.clone(),
                what: what.to_owned(),
            }),
        },
    }
}

/// Like [`resolve`], for optional settings.
pub fn resolve_opt(setting: Option<&Setting>, what: &str) -> Result<Option<String>, EnvError> {
    setting.map(|s| resolve(s, what)).transpose()
}

/// A switch read from the environment: `None` when unset or empty.
/// The value is never echoed in the error, like every other setting.
pub fn flag(name: &str) -> Result<Option<bool>, EnvError> {
    let value = match std::env::var(name) {
        Ok(value) => value,
        Err(std::env::VarError::NotPresent) => return Ok(None),
        Err(std::env::VarError::NotUnicode(_)) => {
            return Err(EnvError::NotBool {
                name: name.to_owned(),
            });
        }
    };
    match value.trim().to_ascii_lowercase().as_str() {
        "" => Ok(None),
        "true" | "1" | "yes" | "on" => Ok(Some(true)),
        "false" | "0" | "no" | "off" => Ok(Some(false)),
        _ => Err(EnvError::NotBool {
            name: name.to_owned(),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_are_returned_and_missing_variables_are_named_without_values() {
        assert_eq!(resolve(&Setting::Literal("x".into()), "test").unwrap(), "x");
        let err = resolve(
            &Setting::Env("ROLLCALL_TEST_SURELY_UNSET_VARIABLE".into()),
            "the s3 source's bucket",
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "environment variable ROLLCALL_TEST_SURELY_UNSET_VARIABLE is not set (needed for the s3 source's bucket)"
        );
    }
}
