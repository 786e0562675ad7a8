//! A problem found in a data file (catalogue or config), reported as `path:line: field: reason`.

use std::fmt;

/// One thing wrong with a data file. Loading collects every problem before reporting, so a
/// clinician sees all of them at once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub path: String,
    pub line: usize,
    pub field: String,
    pub reason: String,
}

impl Problem {
    /// A problem at `line` of `path`.
    pub fn new(path: &str, line: usize, field: impl Into<String>, reason: impl Into<String>) -> Self {
        Self { path: path.to_string(), line, field: field.into(), reason: reason.into() }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}: {}", self.path, self.line, self.field, self.reason)
    }
}

/// Every problem found in one pass over the files; never empty.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Problems(pub Vec<Problem>);

impl fmt::Display for Problems {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, problem) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{problem}")?;
        }
        Ok(())
    }
}

/// Turns byte offsets of a file into 1-based line numbers.
pub struct LineIndex {
    line_starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(contents: &str) -> Self {
        let mut line_starts = vec![0];
        line_starts.extend(contents.match_indices('\n').map(|(i, _)| i + 1));
        Self { line_starts }
    }

    /// The 1-based line that holds byte `offset`.
    pub fn line_of(&self, offset: usize) -> usize {
        match self.line_starts.binary_search(&offset) {
            Ok(i) => i + 1,
            Err(i) => i,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_one_based() {
        let index = LineIndex::new("a\nbc\n\nd");
        assert_eq!(index.line_of(0), 1);
        assert_eq!(index.line_of(2), 2);
        assert_eq!(index.line_of(3), 2);
        assert_eq!(index.line_of(5), 3);
        assert_eq!(index.line_of(6), 4);
    }

    #[test]
    fn display_is_path_line_field_reason() {
        let p = Problem::new("intents/x.toml", 3, "patterns[0]", "bad regex");
        assert_eq!(p.to_string(), "intents/x.toml:3: patterns[0]: bad regex");
    }
}
