//! `cargo xtask structure`.

use crate::TaskResult;

pub(crate) fn check() -> TaskResult {
    Ok(())
}
