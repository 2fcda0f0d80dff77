//! `cargo xtask test` (and the test half of `ci`): the whole suite, SQLite and PostgreSQL,
//! with one closing summary line over every test binary.

use std::process::Command;

use crate::{TaskResult, cargo, python, say, say_plain};

/// The PostgreSQL server the tests use: `--postgres`, else `ERP_TEST_POSTGRES_URL`. Says whether
/// the PostgreSQL suite runs; with `CI=true` a missing server is an error, never a skip.
pub(crate) fn postgres_for_tests(postgres: Option<String>) -> Result<Option<String>, String> {
    let url = postgres
        .or_else(|| std::env::var("ERP_TEST_POSTGRES_URL").ok())
        .filter(|u| !u.trim().is_empty());
    let in_ci = std::env::var("CI").is_ok_and(|v| v == "true" || v == "1");
    match &url {
        Some(url) => say(&format!(
            "PostgreSQL suite: ENABLED against {}",
            redact(url)
        )),
        None if in_ci => {
            return Err(
                "CI=true but no PostgreSQL server: pass --postgres URL or set ERP_TEST_POSTGRES_URL"
                    .into(),
            );
        }
        None => say(
            "PostgreSQL suite: SKIPPED (no --postgres URL and no ERP_TEST_POSTGRES_URL); every skipped test says so",
        ),
    }
    Ok(url)
}

pub(crate) fn test(postgres: Option<String>) -> TaskResult {
    let url = postgres_for_tests(postgres)?;
    let mut cmd = cargo();
    // --all-targets: libraries, binaries and integration tests (there are no doc tests).
    cmd.args(["test", "--workspace", "--all-targets", "--locked"]);
    match &url {
        Some(url) => cmd.env("ERP_TEST_POSTGRES_URL", url),
        None => cmd.env_remove("ERP_TEST_POSTGRES_URL"),
    };
    let moto = python::moto_server()?;
    say(&format!("S3 suite: ENABLED with {}", moto.display()));
    cmd.env(python::MOTO_SERVER_VAR, &moto);
    let totals = run_counting(&mut cmd)?;
    say(&match url {
        Some(_) => "tests passed on SQLite and PostgreSQL, filesystem and S3".to_owned(),
        None => "tests passed on SQLite (PostgreSQL suite skipped), filesystem and S3".to_owned(),
    });
    // One closing line over every test binary, in the plain format CI tools read.
    say_plain(&format!(
        "summary: {} passed, {} failed",
        totals.passed, totals.failed
    ));
    Ok(())
}

#[derive(Debug, Default, PartialEq, Eq)]
struct Totals {
    passed: u64,
    failed: u64,
    ignored: u64,
}

/// Adds the counts of one libtest line `test result: ok. 8 passed; 0 failed; 0 ignored; …`.
fn count_line(totals: &mut Totals, line: &str) {
    let Some(rest) = line.trim().strip_prefix("test result: ") else {
        return;
    };
    for part in rest.split(';') {
        let mut words = part.split_whitespace().rev();
        let (Some(kind), Some(n)) = (words.next(), words.next()) else {
            continue;
        };
        let Ok(n) = n.parse::<u64>() else { continue };
        match kind {
            "passed" => totals.passed += n,
            "failed" => totals.failed += n,
            "ignored" => totals.ignored += n,
            _ => {}
        }
    }
}

/// Runs `cargo test`, echoing its output, and totals the libtest result lines.
fn run_counting(cmd: &mut Command) -> Result<Totals, String> {
    use std::io::{BufRead as _, BufReader};
    say(&format!("test: {cmd:?}"));
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("test: cannot run: {e}"))?;
    let mut totals = Totals::default();
    if let Some(out) = child.stdout.take() {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            say_plain(&line);
            count_line(&mut totals, &line);
        }
    }
    let status = child.wait().map_err(|e| e.to_string())?;
    if !status.success() {
        say_plain(&format!(
            "summary: {} passed, {} failed",
            totals.passed,
            totals.failed.max(1)
        ));
        return Err(format!("test failed ({status})"));
    }
    if totals.ignored > 0 {
        return Err(format!(
            "{} test(s) were skipped as ignored: every test must run",
            totals.ignored
        ));
    }
    if totals.passed == 0 {
        return Err("no test ran".into());
    }
    Ok(totals)
}

fn redact(url: &str) -> String {
    match (url.split_once("://"), url.rsplit_once('@')) {
        (Some((scheme, _)), Some((_, host))) => format!("{scheme}://***@{host}"),
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn libtest_result_lines_are_totalled() {
        let mut t = Totals::default();
        count_line(
            &mut t,
            "test result: ok. 8 passed; 0 failed; 0 ignored; 0 measured; 0 filtered out; finished in 0.00s",
        );
        count_line(
            &mut t,
            "test result: FAILED. 3 passed; 2 failed; 1 ignored; 0 measured; 0 filtered out",
        );
        count_line(&mut t, "running 8 tests");
        assert_eq!(
            t,
            Totals {
                passed: 11,
                failed: 2,
                ignored: 1
            }
        );
    }

    #[test]
    fn urls_are_redacted_in_reports() {
        assert_eq!(
            redact("postgres://postgres:pw@127.0.0.1:5432/test"),
            "postgres://***@127.0.0.1:5432/test"
        );
    }
}
