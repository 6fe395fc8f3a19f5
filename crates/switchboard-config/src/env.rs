//! `${VAR}` expansion.
//!
//! Every string value may hold `${VAR}` (must be set) or `${VAR:-default}`. `$$` is a
//! literal `$`. A missing variable inside `[providers.NAME]` switches that provider off
//! (unless it says `required = true`); anywhere else it is an error.

use std::collections::BTreeMap;
use std::path::Path;

use crate::error::ConfigError;

/// Expands variables in place. Returns the providers switched off, with the reason.
pub fn expand(
    file: &Path,
    table: &mut toml::Table,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut disabled = BTreeMap::new();
    for (section, value) in table.iter_mut() {
        if section == "providers"
            && let toml::Value::Table(providers) = value
        {
            for (name, provider) in providers.iter_mut() {
                let mut missing = Vec::new();
                let key = format!("providers.{name}");
                walk(file, &key, provider, env, &mut missing)?;
                let required = provider
                    .get("required")
                    .and_then(toml::Value::as_bool)
                    .unwrap_or(false);
                if let Some((at, var)) = missing.first() {
                    if required {
                        return Err(ConfigError::new(
                            file,
                            at,
                            format!("environment variable {var} is not set"),
                        ));
                    }
                    disabled.insert(name.clone(), format!("{var} is not set"));
                }
            }
            continue;
        }
        let mut missing = Vec::new();
        walk(file, section, value, env, &mut missing)?;
        if let Some((at, var)) = missing.first() {
            return Err(ConfigError::new(
                file,
                at,
                format!("environment variable {var} is not set"),
            ));
        }
    }
    Ok(disabled)
}

fn walk(
    file: &Path,
    key: &str,
    value: &mut toml::Value,
    env: &dyn Fn(&str) -> Option<String>,
    missing: &mut Vec<(String, String)>,
) -> Result<(), ConfigError> {
    match value {
        toml::Value::String(s) if s.contains('$') => match substitute(s, env) {
            Ok(Ok(out)) => *s = out,
            Ok(Err(var)) => missing.push((key.to_owned(), var)),
            Err(why) => return Err(ConfigError::new(file, key, why)),
        },
        toml::Value::Array(items) => {
            for (i, item) in items.iter_mut().enumerate() {
                walk(file, &format!("{key}[{i}]"), item, env, missing)?;
            }
        }
        toml::Value::Table(t) => {
            for (k, v) in t.iter_mut() {
                walk(file, &format!("{key}.{k}"), v, env, missing)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Replaces every `${...}` in `s`. Outer `Err` is a syntax error; inner `Err` names the
/// first unset variable.
fn substitute(
    s: &str,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Result<String, String>, String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix('$') {
            out.push('$');
            rest = after;
            continue;
        }
        let Some(body) = rest.strip_prefix('{') else {
            out.push('$');
            continue;
        };
        let end = body
            .find('}')
            .ok_or_else(|| format!("unclosed `${{` in `{s}`"))?;
        let expr = &body[..end];
        rest = &body[end + 1..];
        let (var, default) = match expr.split_once(":-") {
            Some((v, d)) => (v, Some(d)),
            None => (expr, None),
        };
        if var.is_empty() || !var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
            return Err(format!("`${{{expr}}}` is not a valid variable name"));
        }
        match (env(var).filter(|v| !v.is_empty()), default) {
            (Some(v), _) => out.push_str(&v),
            (None, Some(d)) => out.push_str(d),
            (None, None) => return Ok(Err(var.to_owned())),
        }
    }
    out.push_str(rest);
    Ok(Ok(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(var: &str) -> Option<String> {
        (var == "SET").then(|| "value".to_owned())
    }

    #[test]
    fn variables_defaults_and_escapes_expand() {
        assert_eq!(substitute("a${SET}b", &env), Ok(Ok("avalueb".into())));
        assert_eq!(substitute("${UNSET:-d}", &env), Ok(Ok("d".into())));
        assert_eq!(substitute("$$5 $x", &env), Ok(Ok("$5 $x".into())));
        assert_eq!(substitute("${UNSET}", &env), Ok(Err("UNSET".into())));
        assert!(substitute("${OPEN", &env).is_err());
        assert!(substitute("${a-b}", &env).is_err());
    }
}
