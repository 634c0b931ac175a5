//! [`ConfigError`]: one-line, field-naming errors.

use serde_json::error::Category;

/// The file name used when a config is parsed from a string.
pub const DEFAULT_FILE_NAME: &str = "Occlum.json";

/// What went wrong, broadly.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ConfigErrorKind {
    /// The file could not be read.
    Io,
    /// Malformed JSON (or truncated input).
    Syntax,
    /// A key not in the schema.
    UnknownField,
    /// A required key (`target` or `type` of a mount) is absent.
    MissingField,
    /// Wrong JSON type, bad size string, unknown file system type, etc.
    InvalidValue,
    /// Well-formed but rejected by [`Config::validate`](crate::Config::validate).
    Validation,
}

/// An error loading or validating `Occlum.json`.
///
/// `Display` is one line, one of:
///
/// ```text
/// <file>: field `<dotted.path>`: <problem>, expected <what>
/// <file>: unknown field `<name>` at top level, expected one of `resource_limits`, ...
/// <file>: unknown field `<name>` in `<dotted.path>`, expected one of ...
/// <file>: line <L> column <C>: <json syntax error>
/// <file>: top level: invalid type: ..., expected a JSON object
/// <file>: cannot read file: <io error>
/// ```
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct ConfigError(Box<Inner>);

#[derive(Debug, thiserror::Error)]
#[error("{file}: {detail}")]
struct Inner {
    file: String,
    kind: ConfigErrorKind,
    field: Option<String>,
    message: String,
    position: Option<(usize, usize)>,
    detail: String,
    #[source]
    source: Option<std::io::Error>,
}

impl ConfigError {
    /// The file name shown in the message (`"Occlum.json"` for strings).
    pub fn file(&self) -> &str {
        &self.0.file
    }

    /// The kind of error.
    pub fn kind(&self) -> ConfigErrorKind {
        self.0.kind
    }

    /// Dotted path of the offending field, e.g. `"mount[2].type"` or
    /// `"resource_limits.user_space_size"`; for an unknown field, the path of
    /// that field. `None` for syntax/IO errors and top-level type errors.
    pub fn field(&self) -> Option<&str> {
        self.0.field.as_deref()
    }

    /// The problem alone, without the file and field prefix.
    pub fn message(&self) -> &str {
        &self.0.message
    }

    /// 1-based line of a parse error, if known.
    pub fn line(&self) -> Option<usize> {
        self.0.position.map(|p| p.0)
    }

    /// 1-based column of a parse error, if known.
    pub fn column(&self) -> Option<usize> {
        self.0.position.map(|p| p.1)
    }

    fn build(
        file: &str,
        kind: ConfigErrorKind,
        field: Option<String>,
        message: String,
        detail: String,
    ) -> Self {
        ConfigError(Box::new(Inner {
            file: one_line(file),
            kind,
            field: field.map(|f| one_line(&f)),
            message: one_line(&message),
            position: None,
            detail: one_line(&detail),
            source: None,
        }))
    }

    /// A validation error about `field`: `message` should read
    /// "<problem>, expected <what>".
    pub(crate) fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let field = field.into();
        let message = message.into();
        let detail = format!("field `{field}`: {message}");
        Self::build(
            DEFAULT_FILE_NAME,
            ConfigErrorKind::Validation,
            Some(field),
            message,
            detail,
        )
    }

    /// The file could not be read.
    pub(crate) fn io(file: &str, err: std::io::Error) -> Self {
        let message = format!("cannot read file: {err}");
        let mut e = Self::build(file, ConfigErrorKind::Io, None, message.clone(), message);
        e.0.source = Some(err);
        e
    }

    /// Replaces the file name shown in the message.
    pub(crate) fn with_file(mut self, file: &str) -> Self {
        self.0.file = one_line(file);
        self
    }

    /// Converts a path-tracked serde_json error.
    pub(crate) fn from_serde(
        file: &str,
        err: serde_path_to_error::Error<serde_json::Error>,
    ) -> Self {
        let path = err.path().to_string();
        Self::from_json(file, Some(path), err.into_inner())
    }

    /// Converts a serde_json error found at `path` (`None` = top level).
    pub(crate) fn from_json(file: &str, path: Option<String>, inner: serde_json::Error) -> Self {
        let position = (inner.line(), inner.column());
        let mut message = inner.to_string();
        if inner.line() != 0 {
            let suffix = format!(" at line {} column {}", inner.line(), inner.column());
            if let Some(stripped) = message.strip_suffix(&suffix) {
                message = stripped.to_string();
            }
        }
        // serde_path_to_error prints the root as ".".
        let path = path.filter(|p| p != "." && !p.is_empty());
        let join = |name: &str| match &path {
            Some(p) => format!("{p}.{name}"),
            None => name.to_string(),
        };

        let mut e = match inner.classify() {
            Category::Syntax | Category::Eof => {
                let detail = format!("line {} column {}: {message}", position.0, position.1);
                Self::build(file, ConfigErrorKind::Syntax, None, message, detail)
            }
            Category::Io => {
                let detail = message.clone();
                Self::build(file, ConfigErrorKind::Io, None, message, detail)
            }
            Category::Data => {
                if let Some((name, rest)) = split_backticked(&message, "unknown field `") {
                    // serde_path_to_error's path ends with the unknown key itself.
                    let parent = match &path {
                        Some(p) if p == name => None,
                        Some(p) => match p.strip_suffix(name).and_then(|q| q.strip_suffix('.')) {
                            Some(q) => Some(q.to_string()),
                            None => Some(p.clone()),
                        },
                        None => None,
                    };
                    let place = match &parent {
                        Some(p) => format!("in `{p}`"),
                        None => "at top level".to_string(),
                    };
                    let field = match &parent {
                        Some(p) => format!("{p}.{name}"),
                        None => name.to_string(),
                    };
                    let rest = rest.replace("there are no fields", "expected no fields");
                    let detail = format!("unknown field `{name}` {place}{rest}");
                    let message = format!("unknown field `{name}`{rest}");
                    Self::build(
                        file,
                        ConfigErrorKind::UnknownField,
                        Some(field),
                        message,
                        detail,
                    )
                } else if let Some((name, _)) = split_backticked(&message, "missing field `") {
                    let field = join(name);
                    let message = "missing required field".to_string();
                    let detail = format!("field `{field}`: {message}");
                    Self::build(
                        file,
                        ConfigErrorKind::MissingField,
                        Some(field),
                        message,
                        detail,
                    )
                } else if let Some(field) = path {
                    let detail = format!("field `{field}`: {message}");
                    Self::build(
                        file,
                        ConfigErrorKind::InvalidValue,
                        Some(field),
                        message,
                        detail,
                    )
                } else {
                    let detail = format!("top level: {message}");
                    Self::build(file, ConfigErrorKind::InvalidValue, None, message, detail)
                }
            }
        };
        if position.0 != 0 {
            e.0.position = Some(position);
        }
        e
    }
}

/// Splits "`prefix`NAME`REST" into (NAME, REST).
fn split_backticked<'a>(message: &'a str, prefix: &str) -> Option<(&'a str, &'a str)> {
    let after = message.strip_prefix(prefix)?;
    let end = after.find('`')?;
    Some((&after[..end], &after[end + 1..]))
}

/// Escapes control characters so the message stays on one line.
fn one_line(s: &str) -> String {
    if !s.chars().any(char::is_control) {
        return s.to_string();
    }
    s.chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}
