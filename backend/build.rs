//! Rebuild when a migration is added: `embed_migrations!` reads the folders at compile time and
//! cargo does not otherwise notice a new one.

fn main() {
    println!("cargo:rerun-if-changed=../migrations");
}
