//! The error a source parser returns when a whole file cannot be read: not the
//! expected format at all, empty, in an unsupported encoding, or with a header that
//! lacks a column the mapping needs. Row-level problems are [`crate::candidate::RowError`]s.

/// A file-level parse error. The caller prefixes the file name.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{}{reason}", field.as_ref().map(|f| format!("field '{f}': ")).unwrap_or_default())]
pub struct FileError {
    /// The field (column or JSON member) at fault, if one is.
    pub field: Option<String>,
    /// What is wrong, naming the offending value and, where possible, the fix.
    pub reason: String,
}

impl FileError {
    /// An error about the file as a whole.
    pub fn file(reason: impl Into<String>) -> FileError {
        FileError {
            field: None,
            reason: reason.into(),
        }
    }

    /// An error about one field (column or member).
    pub fn field(field: impl Into<String>, reason: impl Into<String>) -> FileError {
        FileError {
            field: Some(field.into()),
            reason: reason.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::FileError;

    #[test]
    fn display_names_the_field_when_there_is_one() {
        assert_eq!(
            FileError::file("file is empty").to_string(),
            "file is empty"
        );
        assert_eq!(
            FileError::field("x", "column is missing").to_string(),
            "field 'x': column is missing"
        );
    }
}
