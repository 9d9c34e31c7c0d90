//! FastAPI/pydantic-style validation: lax integer parsing and the 422 issue list.

use std::collections::HashMap;

use serde_json::{Value, json};

use crate::ionet::errors::IonetError;

/// One entry of a 422 `detail` list: where, what and why.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Issue {
    loc: Vec<Value>,
    msg: String,
    kind: &'static str,
}

impl Issue {
    pub(crate) fn missing(loc: &[&str]) -> Self {
        Self::new(loc, "missing", "Field required".to_owned())
    }

    pub(crate) fn invalid(loc: &[&str], kind: &'static str, msg: impl Into<String>) -> Self {
        Self::new(loc, kind, msg.into())
    }

    /// The whole body is not JSON.
    pub(crate) fn json_invalid() -> Self {
        Self {
            loc: vec![json!("body"), json!(0)],
            msg: "JSON decode error".to_owned(),
            kind: "json_invalid",
        }
    }

    pub(crate) fn into_json(self) -> Value {
        json!({"type": self.kind, "loc": self.loc, "msg": self.msg})
    }

    fn new(loc: &[&str], kind: &'static str, msg: String) -> Self {
        Self {
            loc: loc.iter().map(|part| json!(part)).collect(),
            msg,
            kind,
        }
    }
}

/// Collects issues while fields are read, so one 422 reports all of them as FastAPI does.
#[derive(Debug, Default)]
pub(crate) struct Issues(Vec<Issue>);

impl Issues {
    pub(crate) fn push(&mut self, issue: Issue) {
        self.0.push(issue);
    }

    /// Returns an integer in `min..=max` parsed the lax pydantic way, or records why not.
    /// `None` in, with no default, is a missing field.
    pub(crate) fn int(&mut self, value: Option<&Value>, loc: &[&str], min: i64, max: i64) -> Option<i64> {
        let Some(value) = value.filter(|value| !value.is_null()) else {
            self.push(Issue::missing(loc));
            return None;
        };
        let parsed = match value {
            Value::Number(number) => number.as_i64().or_else(|| {
                number
                    .as_f64()
                    .filter(|float| float.fract() == 0.0)
                    .map(|float| float as i64)
            }),
            Value::String(text) => match text.trim().parse() {
                Ok(parsed) => Some(parsed),
                Err(_) => {
                    let msg = "Input should be a valid integer, unable to parse string as an integer";
                    self.push(Issue::invalid(loc, "int_parsing", msg));
                    return None;
                }
            },
            _ => None,
        };
        let Some(parsed) = parsed else {
            self.push(Issue::invalid(loc, "int_type", "Input should be a valid integer"));
            return None;
        };
        if parsed < min {
            self.push(Issue::invalid(
                loc,
                "greater_than_equal",
                format!("Input should be greater than or equal to {min}"),
            ));
            return None;
        }
        if parsed > max {
            self.push(Issue::invalid(
                loc,
                "less_than_equal",
                format!("Input should be less than or equal to {max}"),
            ));
            return None;
        }
        Some(parsed)
    }

    /// Returns a required integer query parameter.
    pub(crate) fn query_int(
        &mut self,
        params: &HashMap<String, String>,
        name: &str,
        min: i64,
        max: i64,
    ) -> Option<i64> {
        let value = params.get(name).map(|raw| Value::String(raw.clone()));
        self.int(value.as_ref(), &["query", name], min, max)
    }

    /// Returns an optional integer query parameter, or its default.
    pub(crate) fn query_int_or(
        &mut self,
        params: &HashMap<String, String>,
        name: &str,
        default: i64,
        range: (i64, i64),
    ) -> Option<i64> {
        if params.contains_key(name) {
            self.query_int(params, name, range.0, range.1)
        } else {
            Some(default)
        }
    }

    /// Fails with a 422 if any issue was recorded.
    pub(crate) fn finish(self) -> Result<(), IonetError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(IonetError::validation(self.0))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_parse_laxly_from_strings_and_whole_floats() {
        let mut issues = Issues::default();
        assert_eq!(issues.int(Some(&json!("8")), &["body", "x"], 1, 8), Some(8));
        assert_eq!(issues.int(Some(&json!(2.0)), &["body", "x"], 1, 8), Some(2));
        assert!(issues.finish().is_ok());
    }

    #[test]
    fn every_problem_is_reported() {
        let mut issues = Issues::default();
        issues.int(None, &["body", "a"], 1, 8);
        issues.int(Some(&json!("x")), &["body", "b"], 1, 8);
        issues.int(Some(&json!(true)), &["body", "c"], 1, 8);
        issues.int(Some(&json!(9)), &["body", "d"], 1, 8);
        let kinds: Vec<&str> = issues.0.iter().map(|issue| issue.kind).collect();
        assert_eq!(
            kinds,
            vec!["missing", "int_parsing", "int_type", "less_than_equal"]
        );
    }
}
