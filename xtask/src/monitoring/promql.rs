//! A small PromQL reader for the checks: the vector selectors of an expression (metric name
//! and matchers) and the Grafana variables in it. Not a parser: it skips strings, label lists,
//! ranges, numbers, keywords and function names, which is all the checks need; promtool parses
//! every expression for real (alerts.yml as it is, the dashboards' targets as recording rules).

use std::collections::BTreeSet;

/// PromQL words that are not metric names: aggregators, set and comparison modifiers, literals.
pub(super) const KEYWORDS: &[&str] = &[
    "sum",
    "min",
    "max",
    "avg",
    "group",
    "stddev",
    "stdvar",
    "count",
    "count_values",
    "bottomk",
    "topk",
    "quantile",
    "limitk",
    "limit_ratio",
    "and",
    "or",
    "unless",
    "atan2",
    "bool",
    "offset",
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "inf",
    "nan",
];

/// Keywords followed by a parenthesised list of label names.
pub(super) const LABEL_LIST_KEYWORDS: &[&str] = &[
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
];

pub(super) fn is_ident_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_' || c == ':'
}

pub(super) fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_' || c == ':'
}

/// Index just past the string literal starting at `start`.
pub(super) fn skip_string(chars: &[char], start: usize) -> usize {
    let quote = chars[start];
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' if quote != '`' => i += 2,
            c if c == quote => return i + 1,
            _ => i += 1,
        }
    }
    i
}

/// Index just past the group opened at `start` (`{…}`, `[…]`, `(…)`), strings skipped whole.
pub(super) fn skip_group(chars: &[char], start: usize) -> usize {
    let (open, close) = match chars[start] {
        '{' => ('{', '}'),
        '[' => ('[', ']'),
        _ => ('(', ')'),
    };
    let mut depth = 0_usize;
    let mut i = start;
    while i < chars.len() {
        match chars[i] {
            '"' | '\'' | '`' => {
                i = skip_string(chars, i);
                continue;
            }
            c if c == open => depth += 1,
            c if c == close => {
                depth -= 1;
                if depth == 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    i
}

/// A vector selector of an expression: the metric name and the text between its braces.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Selector {
    pub(super) name: String,
    pub(super) matchers: Option<String>,
}

/// The vector selectors of a PromQL expression (Grafana variables such as `$instance` and
/// `$__rate_interval` allowed). Label lists, ranges, functions, keywords, strings and numbers
/// are not selectors.
pub(super) fn selectors(expr: &str) -> Vec<Selector> {
    let chars: Vec<char> = expr.chars().collect();
    let mut found = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if matches!(c, '"' | '\'' | '`') {
            i = skip_string(&chars, i);
        } else if matches!(c, '{' | '[') {
            i = skip_group(&chars, i);
        } else if c == '#' {
            while i < chars.len() && chars[i] != '\n' {
                i += 1;
            }
        } else if let Some((_, end)) = variable_at(&chars, i) {
            i = end;
        } else if c.is_ascii_digit()
            || (c == '.' && chars.get(i + 1).is_some_and(char::is_ascii_digit))
        {
            // Numbers, durations (`5m`), exponents (`1e9`), hexadecimal.
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || chars[i] == '.') {
                i += 1;
            }
        } else if is_ident_start(c) {
            let start = i;
            while i < chars.len() && is_ident(chars[i]) {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let mut next = i;
            while next < chars.len() && chars[next].is_whitespace() {
                next += 1;
            }
            let lower = word.to_ascii_lowercase();
            match chars.get(next) {
                Some('(') if LABEL_LIST_KEYWORDS.contains(&lower.as_str()) => {
                    i = skip_group(&chars, next);
                }
                // A function or an aggregator: its arguments are scanned next.
                Some('(') => {}
                _ if KEYWORDS.contains(&lower.as_str()) => {}
                Some('{') => {
                    let end = skip_group(&chars, next);
                    let inner = chars[next + 1..end.saturating_sub(1).max(next + 1)]
                        .iter()
                        .collect();
                    found.push(Selector {
                        name: word,
                        matchers: Some(inner),
                    });
                    i = end;
                }
                _ => found.push(Selector {
                    name: word,
                    matchers: None,
                }),
            }
        } else {
            i += 1;
        }
    }
    found
}

/// The metric names a PromQL expression selects.
pub(super) fn metric_names(expr: &str) -> BTreeSet<String> {
    selectors(expr).into_iter().map(|s| s.name).collect()
}

/// The Grafana variable reference at `chars[i]` (`$name`, `${name}`, `${name:format}`): its
/// name and the index just past it.
pub(super) fn variable_at(chars: &[char], i: usize) -> Option<(String, usize)> {
    if chars.get(i) != Some(&'$') {
        return None;
    }
    if chars.get(i + 1) == Some(&'{') {
        let close = i + 2 + chars.get(i + 2..)?.iter().position(|&c| c == '}')?;
        let inner: String = chars[i + 2..close].iter().collect();
        let name = inner.split(':').next().unwrap_or_default();
        return (!name.is_empty()).then(|| (name.to_owned(), close + 1));
    }
    let end = chars[i + 1..]
        .iter()
        .position(|c| !(c.is_ascii_alphanumeric() || *c == '_'))
        .map_or(chars.len(), |p| i + 1 + p);
    (end > i + 1).then(|| (chars[i + 1..end].iter().collect(), end))
}

/// The names of the Grafana variables a text references.
pub(super) fn variables(text: &str) -> BTreeSet<String> {
    let chars: Vec<char> = text.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    while i < chars.len() {
        if let Some((name, end)) = variable_at(&chars, i) {
            names.insert(name);
            i = end;
        } else {
            i += 1;
        }
    }
    names
}

/// `text` with its Grafana variables replaced by `values`; an unknown variable is an error.
pub(super) fn substitute(text: &str, values: &[(&str, &str)]) -> Result<String, String> {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::new();
    let mut i = 0;
    while i < chars.len() {
        if let Some((name, end)) = variable_at(&chars, i) {
            let (_, value) = values
                .iter()
                .find(|(n, _)| *n == name)
                .ok_or_else(|| format!("unknown variable ${name}"))?;
            out.push_str(value);
            i = end;
        } else {
            out.push(chars[i]);
            i += 1;
        }
    }
    Ok(out)
}

/// A selector's matchers (`label op "value"`, comma separated) as (label, op, raw value); `None`
/// when the text is not a plain list of matchers.
pub(super) fn matchers(text: &str) -> Option<Vec<(String, String, String)>> {
    let chars: Vec<char> = text.chars().collect();
    let skip_ws = |mut i: usize| {
        while i < chars.len() && chars[i].is_whitespace() {
            i += 1;
        }
        i
    };
    let mut out = Vec::new();
    let mut i = skip_ws(0);
    while i < chars.len() {
        let start = i;
        while i < chars.len() && is_ident(chars[i]) && chars[i] != ':' {
            i += 1;
        }
        if i == start {
            return None;
        }
        let label: String = chars[start..i].iter().collect();
        i = skip_ws(i);
        let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
        let op = ["=~", "!~", "!=", "="]
            .into_iter()
            .find(|op| rest.starts_with(op))?;
        i = skip_ws(i + op.len());
        if !matches!(chars.get(i), Some('"' | '\'' | '`')) {
            return None;
        }
        let end = skip_string(&chars, i);
        if end > chars.len() {
            return None;
        }
        let value: String = chars[i + 1..end - 1].iter().collect();
        out.push((label, op.to_owned(), value));
        i = skip_ws(end);
        match chars.get(i) {
            Some(',') => i = skip_ws(i + 1),
            None => {}
            Some(_) => return None,
        }
    }
    Some(out)
}

/// What keeps one dashboard target from being scoped: every selector needs a `job` matcher on
/// `$job` and an `instance` matcher on `$instance` (`=` or `=~`), so that another service in
/// the same Prometheus is never counted.
pub(super) fn scoping_problems(expr: &str) -> Vec<String> {
    let mut problems = Vec::new();
    for selector in selectors(expr) {
        let name = &selector.name;
        let Some(text) = selector.matchers.as_deref() else {
            problems.push(format!(
                "`{name}` has no matchers: does not filter on $job nor $instance"
            ));
            continue;
        };
        let Some(list) = matchers(text) else {
            problems.push(format!("`{name}`: cannot read the matchers {{{text}}}"));
            continue;
        };
        for var in ["job", "instance"] {
            let scoped = list.iter().any(|(label, op, value)| {
                label == var && (op == "=" || op == "=~") && variables(value).contains(var)
            });
            if !scoped {
                problems.push(format!(
                    "`{name}` does not filter on ${var} (add {var}=~\"${var}\")"
                ));
            }
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(expr: &str) -> Vec<String> {
        metric_names(expr).into_iter().collect()
    }

    #[test]
    fn metric_names_skip_functions_keywords_labels_ranges_and_variables() {
        assert_eq!(
            names(
                r#"histogram_quantile(0.99, sum by (endpoint, le) (rate(http_request_duration_seconds_bucket{instance=~"$instance",endpoint="/api/v1/interventions/{id}"}[$__rate_interval])))"#
            ),
            ["http_request_duration_seconds_bucket"]
        );
        assert_eq!(
            names(
                "sum by (job) (increase(a_total[1h])) < 1\n  and on (job)\nsum without (instance) (up{job=\"erp\"}) > 1e9 offset 5m"
            ),
            ["a_total", "up"]
        );
        assert_eq!(
            names("time() - process_start_time_seconds{instance=~\"${instance}\"}"),
            ["process_start_time_seconds"]
        );
        assert_eq!(names("sum(rate(x[5m])) BY (le)"), ["x"]);
    }

    #[test]
    fn selectors_carry_their_matchers() {
        assert_eq!(
            selectors(r#"sum(rate(a{job=~"$job", x="}"}[5m])) / on (pod) group_left () b"#),
            vec![
                Selector {
                    name: "a".into(),
                    matchers: Some(r#"job=~"$job", x="}""#.into())
                },
                Selector {
                    name: "b".into(),
                    matchers: None
                },
            ]
        );
    }

    #[test]
    fn matchers_are_read_or_refused() {
        assert_eq!(
            matchers(r#" job=~"$job",instance = "a,b" , le!="+Inf", "#),
            Some(vec![
                ("job".into(), "=~".into(), "$job".into()),
                ("instance".into(), "=".into(), "a,b".into()),
                ("le".into(), "!=".into(), "+Inf".into()),
            ])
        );
        assert_eq!(matchers(""), Some(vec![]));
        assert_eq!(matchers(r#"job=~$job"#), None);
        assert_eq!(matchers(r#"job "erp""#), None);
        assert_eq!(matchers(r#"job="a" instance="b""#), None);
    }

    #[test]
    fn a_target_is_scoped_only_when_every_selector_filters_on_job_and_instance() {
        let ok = [
            r#"sum(up{job=~"$job",instance=~"$instance"})"#,
            r#"a{instance=~"${instance}",job="${job}"} / b{job=~"$job",instance=~"${instance:regex}"}"#,
        ];
        for expr in ok {
            assert_eq!(scoping_problems(expr), Vec::<String>::new(), "{expr}");
        }
        let broken = [
            (
                r#"sum(up{instance=~"$instance"})"#,
                "`up` does not filter on $job",
            ),
            (
                r#"a{job=~"$job",instance=~"$instance"} / b{instance=~"$instance"}"#,
                "`b` does not filter on $job",
            ),
            (
                r#"up{job!~"$job",instance=~"$instance"}"#,
                "`up` does not filter on $job",
            ),
            (
                r#"up{job=~"erp",instance=~"$instance"}"#,
                "`up` does not filter on $job",
            ),
            (
                r#"up{job=~"$job",pod=~"$instance"}"#,
                "`up` does not filter on $instance",
            ),
            ("sum(up)", "`up` has no matchers"),
        ];
        for (expr, problem) in broken {
            let problems = scoping_problems(expr);
            assert!(
                problems.iter().any(|p| p.contains(problem)),
                "{expr}: {problems:?}"
            );
        }
    }

    #[test]
    fn variables_are_substituted_and_unknown_ones_refused() {
        let values = [
            ("job", "erp"),
            ("instance", ".*"),
            ("__rate_interval", "5m"),
        ];
        assert_eq!(
            substitute(
                r#"rate(x{job=~"$job",instance=~"${instance:regex}",p=~".*/x$"}[$__rate_interval])"#,
                &values
            ),
            Ok(r#"rate(x{job=~"erp",instance=~".*",p=~".*/x$"}[5m])"#.to_owned())
        );
        assert_eq!(
            substitute("x{a=\"$nope\"}", &values),
            Err("unknown variable $nope".to_owned())
        );
        assert_eq!(
            variables("$job ${instance} ${a:csv} $ $1x"),
            ["1x", "a", "instance", "job"]
                .into_iter()
                .map(str::to_owned)
                .collect()
        );
    }
}
