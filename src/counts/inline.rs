//! The functions inlined at an instruction, from the binary's DWARF debug info (the bench
//! profile keeps it: `[profile.bench] debug = true`). The engine's per-tick body is inlined into
//! one symbol, so without this a profile could only say that symbol grew.

use std::collections::{HashMap, HashSet};

use super::profile::Inlines;

/// Reads the debug info of the objects it is allowed to, once each, and caches answers.
pub struct DebugInfo {
    allowed: HashSet<String>,
    loaders: HashMap<String, Option<addr2line::Loader>>,
    cache: HashMap<(String, u64), Vec<String>>,
}

impl DebugInfo {
    /// Resolves inlined frames in `objects` (the bench binaries); other objects (libc, the
    /// loader) get none.
    pub fn new(objects: impl IntoIterator<Item = String>) -> Self {
        Self {
            allowed: objects.into_iter().collect(),
            loaders: HashMap::new(),
            cache: HashMap::new(),
        }
    }
}

/// A Rust symbol without its hash, as callgrind shows the containing function.
pub fn demangle(raw: &str) -> String {
    match rustc_demangle::try_demangle(raw) {
        Ok(d) => format!("{d:#}"),
        Err(_) => raw.to_string(),
    }
}

impl Inlines for DebugInfo {
    fn inlined(&mut self, object: &str, address: u64) -> Vec<String> {
        if !self.allowed.contains(object) {
            return Vec::new();
        }
        let key = (object.to_string(), address);
        if let Some(hit) = self.cache.get(&key) {
            return hit.clone();
        }
        let loader = self
            .loaders
            .entry(object.to_string())
            .or_insert_with(|| addr2line::Loader::new(object).ok());
        let mut names = Vec::new();
        if let Some(loader) = loader {
            if let Ok(mut frames) = loader.find_frames(address) {
                while let Ok(Some(frame)) = frames.next() {
                    let name = frame
                        .function
                        .as_ref()
                        .and_then(|f| f.raw_name().ok())
                        .map(|n| demangle(&n))
                        .unwrap_or_else(|| "??".into());
                    names.push(name);
                }
            }
        }
        // Innermost first, the containing function last: drop it, outermost first.
        names.pop();
        names.reverse();
        self.cache.insert(key, names.clone());
        names
    }
}
