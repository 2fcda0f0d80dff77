//! Rebuilds the crate when a migration changes, since both sets are embedded in the binary.

fn main() {
    println!("cargo:rerun-if-changed=../../migrations");
}
