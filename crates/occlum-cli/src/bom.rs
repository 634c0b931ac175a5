//! Occlum's `copy_bom` YAML files: `includes`, `excludes` and `targets`,
//! each target with `mkdirs`, `createlinks` and `copy` (`from`, `dirs`,
//! `files`). Unknown keys are errors naming the key and the file.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use yaml_rust2::yaml::Hash;
use yaml_rust2::{Yaml, YamlLoader};

/// A BOM with its includes merged in (included files' targets first).
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Bom {
    /// Names (or `*`/`?` patterns) skipped when copying directories.
    pub excludes: Vec<String>,
    /// What to put where, in order.
    pub targets: Vec<Target>,
}

/// The operations at one directory of the image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// The directory in the image, e.g. `/bin`.
    pub target: String,
    /// The directory of the BOM file that names this target: relative
    /// `from` directories and sources are relative to it.
    pub base: PathBuf,
    /// Directories to create under `target`.
    pub mkdirs: Vec<String>,
    /// Symbolic links to create under `target`.
    pub createlinks: Vec<Link>,
    /// Files and directories to copy into `target`.
    pub copy: Vec<Copy>,
}

/// `ln -s src target/linkname`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// The link's content.
    pub src: String,
    /// The link's name, relative to the target.
    pub linkname: String,
}

/// One `copy` item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Copy {
    /// The host directory the names are relative to.
    pub from: Option<String>,
    /// Directories to copy (with a trailing `/`: only their contents).
    pub dirs: Vec<String>,
    /// Files to copy.
    pub files: Vec<FileEntry>,
}

/// One `files` item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEntry {
    /// The host file.
    pub name: String,
    /// Expected SHA-256 of the file, in hex.
    pub hash: Option<String>,
    /// Whether to copy its shared libraries too (default true).
    pub autodep: bool,
    /// Its name in the target, instead of its own.
    pub rename: Option<String>,
}

/// Reads `path` and, recursively, the files it includes (relative to the
/// including file's directory).
pub fn load(path: &Path) -> Result<Bom> {
    let mut bom = Bom::default();
    load_into(path, &mut bom, &mut Vec::new())?;
    Ok(bom)
}

fn load_into(path: &Path, bom: &mut Bom, stack: &mut Vec<PathBuf>) -> Result<()> {
    let real = std::fs::canonicalize(path)
        .with_context(|| format!("cannot read BOM file {}", path.display()))?;
    if stack.contains(&real) {
        bail!(
            "{}: includes itself (through {})",
            path.display(),
            stack_text(stack)
        );
    }
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read BOM file {}", path.display()))?;
    let file = path.display().to_string();
    let docs =
        YamlLoader::load_from_str(&text).map_err(|e| anyhow!("{file}: invalid YAML: {e}"))?;
    let base = real
        .parent()
        .map_or_else(|| PathBuf::from("/"), Path::to_path_buf);
    let parsed = match docs.first() {
        None | Some(Yaml::Null) => Parsed::default(),
        Some(doc) => parse_doc(
            doc,
            &Ctx {
                file: &file,
                base: &base,
            },
        )?,
    };
    stack.push(real);
    for inc in &parsed.includes {
        load_into(&base.join(inc), bom, stack)?;
    }
    stack.pop();
    bom.excludes.extend(parsed.excludes);
    bom.targets.extend(parsed.targets);
    Ok(())
}

fn stack_text(stack: &[PathBuf]) -> String {
    stack
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(" -> ")
}

#[derive(Default)]
struct Parsed {
    includes: Vec<String>,
    excludes: Vec<String>,
    targets: Vec<Target>,
}

struct Ctx<'a> {
    file: &'a str,
    base: &'a Path,
}

impl Ctx<'_> {
    fn err(&self, at: &str, what: &str) -> anyhow::Error {
        if at.is_empty() {
            anyhow!("{}: {what}", self.file)
        } else {
            anyhow!("{}: `{at}`: {what}", self.file)
        }
    }

    /// `y` as a mapping whose keys are all in `allowed`.
    fn map<'y>(&self, y: &'y Yaml, at: &str, allowed: &[&str]) -> Result<&'y Hash> {
        let Yaml::Hash(h) = y else {
            return Err(self.err(at, "expected a mapping"));
        };
        for key in h.keys() {
            match key.as_str() {
                Some(k) if allowed.contains(&k) => {}
                _ => {
                    let shown = scalar(key).unwrap_or_else(|| format!("{key:?}"));
                    let key_at = if at.is_empty() {
                        shown.clone()
                    } else {
                        format!("{at}.{shown}")
                    };
                    return Err(anyhow!(
                        "{}: unknown key `{key_at}`, expected one of: {}",
                        self.file,
                        allowed.join(", ")
                    ));
                }
            }
        }
        Ok(h)
    }

    fn string(&self, y: &Yaml, at: &str) -> Result<String> {
        scalar(y).ok_or_else(|| self.err(at, "expected a string"))
    }

    fn opt_string(&self, h: &Hash, key: &str, at: &str) -> Result<Option<String>> {
        match get(h, key) {
            None | Some(Yaml::Null) => Ok(None),
            Some(y) => self.string(y, &format!("{at}.{key}")).map(Some),
        }
    }

    /// A list of strings; absent or null is empty.
    fn strings(&self, h: &Hash, key: &str, at: &str) -> Result<Vec<String>> {
        let at = join(at, key);
        self.list(h, key, &at)?
            .iter()
            .enumerate()
            .map(|(i, y)| self.string(y, &format!("{at}[{i}]")))
            .collect()
    }

    fn list<'y>(&self, h: &'y Hash, key: &str, at: &str) -> Result<&'y [Yaml]> {
        match get(h, key) {
            None | Some(Yaml::Null) => Ok(&[]),
            Some(Yaml::Array(a)) => Ok(a),
            Some(_) => Err(self.err(at, "expected a list")),
        }
    }
}

fn join(at: &str, key: &str) -> String {
    if at.is_empty() {
        key.to_string()
    } else {
        format!("{at}.{key}")
    }
}

fn get<'y>(h: &'y Hash, key: &str) -> Option<&'y Yaml> {
    h.get(&Yaml::String(key.to_string()))
}

fn scalar(y: &Yaml) -> Option<String> {
    match y {
        Yaml::String(s) | Yaml::Real(s) => Some(s.clone()),
        Yaml::Integer(i) => Some(i.to_string()),
        Yaml::Boolean(b) => Some(b.to_string()),
        _ => None,
    }
}

fn parse_doc(doc: &Yaml, cx: &Ctx) -> Result<Parsed> {
    let h = cx.map(doc, "", &["includes", "excludes", "targets"])?;
    let targets = cx
        .list(h, "targets", "targets")?
        .iter()
        .enumerate()
        .map(|(i, t)| parse_target(t, &format!("targets[{i}]"), cx))
        .collect::<Result<_>>()?;
    Ok(Parsed {
        includes: cx.strings(h, "includes", "")?,
        excludes: cx.strings(h, "excludes", "")?,
        targets,
    })
}

fn parse_target(y: &Yaml, at: &str, cx: &Ctx) -> Result<Target> {
    let h = cx.map(y, at, &["target", "mkdirs", "createlinks", "copy"])?;
    let target = cx
        .opt_string(h, "target", at)?
        .ok_or_else(|| cx.err(at, "missing `target`, expected the directory in the image"))?;
    let mut createlinks = Vec::new();
    for (i, l) in cx
        .list(h, "createlinks", &join(at, "createlinks"))?
        .iter()
        .enumerate()
    {
        let lat = format!("{at}.createlinks[{i}]");
        let lh = cx.map(l, &lat, &["src", "linkname"])?;
        let need = |k: &str| {
            cx.opt_string(lh, k, &lat)?
                .ok_or_else(|| cx.err(&lat, &format!("missing `{k}`")))
        };
        createlinks.push(Link {
            src: need("src")?,
            linkname: need("linkname")?,
        });
    }
    let mut copy = Vec::new();
    for (i, c) in cx.list(h, "copy", &join(at, "copy"))?.iter().enumerate() {
        copy.push(parse_copy(c, &format!("{at}.copy[{i}]"), cx)?);
    }
    Ok(Target {
        target,
        base: cx.base.to_path_buf(),
        mkdirs: cx.strings(h, "mkdirs", at)?,
        createlinks,
        copy,
    })
}

fn parse_copy(y: &Yaml, at: &str, cx: &Ctx) -> Result<Copy> {
    let h = cx.map(y, at, &["from", "dirs", "files"])?;
    let mut files = Vec::new();
    for (i, f) in cx.list(h, "files", &join(at, "files"))?.iter().enumerate() {
        let fat = format!("{at}.files[{i}]");
        let entry = match f {
            Yaml::Hash(_) => {
                let fh = cx.map(f, &fat, &["name", "hash", "autodep", "rename"])?;
                let autodep = match get(fh, "autodep") {
                    None | Some(Yaml::Null) => true,
                    Some(Yaml::Boolean(b)) => *b,
                    Some(_) => {
                        return Err(cx.err(&format!("{fat}.autodep"), "expected true or false"))
                    }
                };
                FileEntry {
                    name: cx
                        .opt_string(fh, "name", &fat)?
                        .ok_or_else(|| cx.err(&fat, "missing `name`"))?,
                    hash: cx.opt_string(fh, "hash", &fat)?,
                    autodep,
                    rename: cx.opt_string(fh, "rename", &fat)?,
                }
            }
            _ => FileEntry {
                name: cx.string(f, &fat)?,
                hash: None,
                autodep: true,
                rename: None,
            },
        };
        files.push(entry);
    }
    Ok(Copy {
        from: cx.opt_string(h, "from", at)?,
        dirs: cx.strings(h, "dirs", at)?,
        files,
    })
}

/// Whether `name` matches an exclude `pattern` (`*` and `?` wildcards).
pub fn matches(pattern: &str, name: &str) -> bool {
    fn go(p: &[char], n: &[char]) -> bool {
        match p.split_first() {
            None => n.is_empty(),
            Some(('*', rest)) => (0..=n.len()).any(|i| go(rest, &n[i..])),
            Some(('?', rest)) => !n.is_empty() && go(rest, &n[1..]),
            Some((c, rest)) => n.first() == Some(c) && go(rest, &n[1..]),
        }
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    go(&p, &n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_all_fields_and_includes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("base.yaml"),
            "excludes: [.git]\ntargets:\n  - target: /\n    mkdirs: [bin, proc]\n",
        )
        .unwrap();
        let main = dir.path().join("main.yaml");
        std::fs::write(
            &main,
            "includes:\n  - base.yaml\nexcludes:\n  - '*.o'\ntargets:\n  - target: /bin\n    createlinks:\n      - src: ../hello\n        linkname: hello_link\n    copy:\n      - from: src\n        dirs: [d1, d2/]\n        files:\n          - a.txt\n          - name: b.txt\n            hash: AB\n            autodep: false\n            rename: c.txt\n",
        )
        .unwrap();
        let bom = load(&main).unwrap();
        assert_eq!(bom.excludes, vec![".git", "*.o"]);
        assert_eq!(bom.targets.len(), 2);
        assert_eq!(bom.targets[0].mkdirs, vec!["bin", "proc"]);
        let t = &bom.targets[1];
        assert_eq!(t.target, "/bin");
        assert_eq!(
            t.createlinks,
            vec![Link {
                src: "../hello".into(),
                linkname: "hello_link".into()
            }]
        );
        assert_eq!(t.copy[0].from.as_deref(), Some("src"));
        assert_eq!(t.copy[0].dirs, vec!["d1", "d2/"]);
        assert_eq!(
            t.copy[0].files[0],
            FileEntry {
                name: "a.txt".into(),
                hash: None,
                autodep: true,
                rename: None
            }
        );
        assert_eq!(
            t.copy[0].files[1],
            FileEntry {
                name: "b.txt".into(),
                hash: Some("AB".into()),
                autodep: false,
                rename: Some("c.txt".into())
            }
        );
        assert_eq!(t.base, std::fs::canonicalize(dir.path()).unwrap());
    }

    #[test]
    fn unknown_keys_and_bad_values_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("bad.yaml");
        for (text, want) in [
            (
                "targets:\n  - target: /\n    copy:\n      - form: x\n",
                "unknown key `targets[0].copy[0].form`",
            ),
            ("target: /\n", "unknown key `target`"),
            ("targets:\n  - mkdirs: [a]\n", "missing `target`"),
            (
                "targets:\n  - target: /\n    mkdirs: a\n",
                "expected a list",
            ),
            ("targets: [\n", "invalid YAML"),
        ] {
            std::fs::write(&f, text).unwrap();
            let err = load(&f).unwrap_err().to_string();
            assert!(
                err.contains(want) && err.contains("bad.yaml"),
                "{text:?}: {err}"
            );
        }
    }

    #[test]
    fn include_cycles_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.yaml"), "includes: [b.yaml]\n").unwrap();
        std::fs::write(dir.path().join("b.yaml"), "includes: [a.yaml]\n").unwrap();
        let err = load(&dir.path().join("a.yaml")).unwrap_err().to_string();
        assert!(err.contains("includes itself"), "{err}");
    }

    #[test]
    fn exclude_patterns() {
        assert!(matches(".git", ".git"));
        assert!(matches("*.o", "main.o"));
        assert!(matches("a?c", "abc"));
        assert!(!matches("*.o", "main.c"));
    }
}
