use super::*;

/// Occlum's own `etc/template/Occlum.json`.
const OCCLUM_TEMPLATE: &str = r#"{
    "resource_limits": {
        "kernel_space_heap_size": "32MB",
        "kernel_space_stack_size": "1MB",
        "user_space_size": "300MB",
        "max_num_of_threads": 32
    },
    "process": {
        "default_stack_size": "4MB",
        "default_heap_size": "32MB",
        "default_mmap_size": "100MB"
    },
    "entry_points": [
        "/bin"
    ],
    "env": {
        "default": [
            "OCCLUM=yes"
        ],
        "untrusted": [
            "EXAMPLE"
        ]
    },
    "metadata": {
        "product_id": 0,
        "version_number": 0,
        "debuggable": true,
        "enable_kss": false,
        "family_id": {
            "high": "0x0",
            "low": "0x0"
        },
        "ext_prod_id": {
            "high": "0x0",
            "low": "0x0"
        }
    },
    "feature": {
        "amx": 0,
        "pkru": 0,
        "io_uring": 0,
        "enable_edmm": false,
        "enable_posix_shm": false
    },
    "mount": [
        {
            "target": "/",
            "type": "unionfs",
            "options": {
                "layers": [
                    {
                        "target": "/",
                        "type": "sefs",
                        "source": "./build/mount/__ROOT",
                        "options": {
                            "MAC": ""
                        }
                    },
                    {
                        "target": "/",
                        "type": "sefs",
                        "source": "./run/mount/__ROOT"
                    }
                ]
            }
        },
        {
            "target": "/host",
            "type": "hostfs",
            "source": "."
        },
        {
            "target": "/proc",
            "type": "procfs"
        },
        {
            "target": "/dev",
            "type": "devfs"
        }
    ]
}
"#;

/// A config using every optional field Occlum knows, including EDMM add-ons
/// and the legacy `metadata.pkru`.
const OCCLUM_FULL: &str = r#"{
    "resource_limits": {
        "kernel_space_stack_size": "1MB",
        "kernel_space_heap_size": "4MB",
        "kernel_space_heap_max_size": "40MB",
        "user_space_size": "1MB",
        "user_space_max_size": "600MB",
        "init_num_of_threads": 2,
        "max_num_of_threads": 64
    },
    "process": {
        "default_stack_size": "4MB",
        "default_heap_size": "8MB",
        "default_mmap_size": "100MB"
    },
    "entry_points": ["/bin", "/usr/local/bin"],
    "env": { "default": ["OCCLUM=yes", "EMPTY="], "untrusted": ["EXAMPLE", "PATH"] },
    "metadata": {
        "product_id": 7,
        "version_number": 3,
        "debuggable": false,
        "disable_log": true,
        "enable_kss": true,
        "family_id": { "high": "0x1234567812345678", "low": "0XABCDEF" },
        "ext_prod_id": { "high": "ff", "low": "0x1" },
        "pkru": 2,
        "amx": 0
    },
    "feature": { "amx": 1, "pkru": 1, "io_uring": 2, "enable_edmm": true, "enable_posix_shm": true },
    "mount": [
        { "target": "/", "type": "unionfs", "options": { "layers": [
            { "target": "/", "type": "sefs", "source": "./build/mount/__ROOT",
              "options": { "MAC": "", "integrity_only": true } },
            { "target": "/", "type": "sefs", "source": "./run/mount/__ROOT",
              "options": { "autokey_policy": 1, "cache_size": "1MB" } }
        ] } },
        { "target": "/host", "type": "hostfs", "source": "." },
        { "target": "/tmp", "type": "ramfs" },
        { "target": "/sefs/tmp", "type": "sefs", "options": { "temporary": true } },
        { "target": "/proc", "type": "procfs" },
        { "target": "/dev", "type": "devfs" }
    ]
}"#;

fn err(text: &str) -> ConfigError {
    match Config::from_json_str(text) {
        Ok(c) => panic!("expected an error, got {c:?}"),
        Err(e) => e,
    }
}

/// Expects an error naming `field` whose Display contains `needle` and is one line.
fn expect_field_err(text: &str, field: &str, needle: &str) -> ConfigError {
    let e = err(text);
    let shown = e.to_string();
    assert_eq!(e.field(), Some(field), "{shown}");
    assert!(shown.starts_with("Occlum.json: "), "{shown}");
    assert!(shown.contains(&format!("`{field}`")), "{shown}");
    assert!(
        shown.contains(needle),
        "{shown:?} should contain {needle:?}"
    );
    assert!(!shown.contains('\n'), "{shown:?}");
    e
}

/// `base` (Occlum's template) with `pointer` set to `value`.
fn with(pointer: &str, value: serde_json::Value) -> String {
    let mut v: serde_json::Value = serde_json::from_str(OCCLUM_TEMPLATE).unwrap();
    *v.pointer_mut(pointer)
        .unwrap_or_else(|| panic!("no {pointer}")) = value;
    v.to_string()
}

/// The default config with `edit` applied, validated.
fn validated(edit: impl FnOnce(&mut Config)) -> Result<(), ConfigError> {
    let mut c = Config::default();
    edit(&mut c);
    c.validate()
}

fn expect_invalid(edit: impl FnOnce(&mut Config), field: &str, needle: &str) {
    let e = validated(edit).expect_err("expected a validation error");
    let shown = e.to_string();
    assert_eq!(e.kind(), ConfigErrorKind::Validation, "{shown}");
    assert_eq!(e.field(), Some(field), "{shown}");
    assert!(
        shown.starts_with(&format!("Occlum.json: field `{field}`: ")),
        "{shown}"
    );
    assert!(
        shown.contains(needle),
        "{shown:?} should contain {needle:?}"
    );
    assert!(shown.contains("expected"), "{shown}");
}

#[test]
fn defaults_equal_occlums() {
    let c = Config::default();
    let rl = &c.resource_limits;
    assert_eq!(rl.kernel_space_heap_size, ByteSize::mb(32));
    assert_eq!(rl.kernel_space_heap_max_size, None);
    assert_eq!(rl.kernel_space_stack_size, ByteSize::mb(1));
    assert_eq!(rl.user_space_size, ByteSize::mb(300));
    assert_eq!(rl.user_space_max_size, None);
    assert_eq!(rl.init_num_of_threads, None);
    assert_eq!(rl.max_num_of_threads, 32);
    assert_eq!(c.process.default_stack_size, ByteSize::mb(4));
    assert_eq!(c.process.default_heap_size, ByteSize::mb(32));
    assert_eq!(c.process.default_mmap_size, ByteSize::mb(100));
    assert_eq!(c.entry_points, ["/bin"]);
    assert_eq!(c.env.default, ["OCCLUM=yes"]);
    assert_eq!(c.env.untrusted, ["EXAMPLE"]);
    assert_eq!(c.metadata.product_id, 0);
    assert_eq!(c.metadata.version_number, 0);
    assert!(c.metadata.debuggable);
    assert!(!c.metadata.enable_kss);
    assert_eq!(c.metadata.family_id, MetaId { high: 0, low: 0 });
    assert_eq!(c.feature, Feature::default());
    assert!(!c.metadata.log_disabled());

    // Everything except our extra /tmp ramfs is exactly Occlum's template.
    let occlum = Config::from_json_str(OCCLUM_TEMPLATE).unwrap();
    let mut ours = Config::default();
    assert_eq!(
        ours.mount.pop(),
        Some(MountConfig::new("/tmp", FsType::RamFs))
    );
    assert_eq!(ours, occlum);
}

#[test]
fn empty_object_gives_defaults() {
    assert_eq!(Config::from_json_str("{}").unwrap(), Config::default());
    // Omitted fields inside a section also take the defaults.
    let c = Config::from_json_str(r#"{"resource_limits": {"user_space_size": "1GB"}}"#).unwrap();
    assert_eq!(c.resource_limits.user_space_size, ByteSize::gb(1));
    assert_eq!(c.resource_limits.max_num_of_threads, 32);
    assert_eq!(c.process, ProcessConfig::default());
}

#[test]
fn template_round_trips() {
    let text = default_template();
    assert_eq!(text, Config::template().to_json_pretty());
    assert!(text.contains("\"user_space_max_size\": \"16GB\""), "{text}");
    assert!(text.ends_with("}\n"));
    assert!(
        text.contains("\n    \"resource_limits\": {\n        \"kernel_space_heap_size\": \"32MB\"")
    );
    let parsed = Config::from_json_str(&text).unwrap();
    assert_eq!(parsed, Config::template());
    assert_eq!(parsed.to_json_pretty(), text);

    // The template holds the adapted mount list.
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let mounts = v["mount"].as_array().unwrap();
    let targets: Vec<&str> = mounts
        .iter()
        .map(|m| m["target"].as_str().unwrap())
        .collect();
    assert_eq!(targets, ["/", "/host", "/proc", "/dev", "/tmp"]);
    let layers = &mounts[0]["options"]["layers"];
    assert_eq!(layers[0]["source"], "./build/mount/__ROOT");
    assert_eq!(layers[0]["options"]["MAC"], "");
    assert_eq!(layers[1]["source"], "./run/mount/__ROOT");
    assert!(layers[1].get("options").is_none());
    assert_eq!(mounts[4]["type"], "ramfs");
    assert_eq!(v["metadata"]["family_id"]["high"], "0x0");
    assert_eq!(v["feature"]["enable_edmm"], false);
}

#[test]
fn occlum_template_parses() {
    let c = Config::from_json_str(OCCLUM_TEMPLATE).unwrap();
    assert_eq!(c.mount.len(), 4);
    assert_eq!(c.mount[0].fs_type, FsType::UnionFs);
    let layers = c.mount[0].options.layers.as_ref().unwrap();
    assert_eq!(layers[0].options.mac.as_deref(), Some(""));
    assert_eq!(c.mount[1].source.as_deref(), Some("."));
    // And it re-serializes to the same JSON value.
    let again: serde_json::Value = serde_json::from_str(&c.to_json_pretty()).unwrap();
    let orig: serde_json::Value = serde_json::from_str(OCCLUM_TEMPLATE).unwrap();
    assert_eq!(again, orig);
}

#[test]
fn occlum_template_without_feature_parses() {
    let mut v: serde_json::Value = serde_json::from_str(OCCLUM_TEMPLATE).unwrap();
    v.as_object_mut().unwrap().remove("feature");
    let c = Config::from_json_str(&v.to_string()).unwrap();
    assert_eq!(c.feature, Feature::default());
}

#[test]
fn every_occlum_field_parses() {
    let c = Config::from_json_str(OCCLUM_FULL).unwrap();
    let rl = &c.resource_limits;
    assert_eq!(rl.kernel_space_heap_max_size, Some(ByteSize::mb(40)));
    assert_eq!(rl.user_space_max_size, Some(ByteSize::mb(600)));
    assert_eq!(rl.init_num_of_threads, Some(2));
    assert_eq!(rl.effective_user_space_max(), ByteSize::mb(600));
    assert_eq!(rl.effective_kernel_heap_max(), ByteSize::mb(40));
    assert_eq!(c.metadata.family_id.high, 0x1234_5678_1234_5678);
    assert_eq!(c.metadata.family_id.low, 0xab_cdef);
    assert_eq!(c.metadata.ext_prod_id.high, 0xff);
    assert_eq!(c.metadata.pkru, Some(2));
    assert!(c.metadata.log_disabled());
    assert!(c.feature.enable_edmm && c.feature.enable_posix_shm);
    assert_eq!(c.feature.io_uring, 2);
    let layers = c.mount[0].options.layers.as_ref().unwrap();
    assert!(layers[0].options.integrity_only);
    assert_eq!(layers[1].options.cache_size, Some(ByteSize::mb(1)));
    assert!(c.mount[3].options.temporary);
    // Round trip through our serializer.
    assert_eq!(Config::from_json_str(&c.to_json_pretty()).unwrap(), c);
}

#[test]
fn bad_size_names_field() {
    let e = expect_field_err(
        &with("/resource_limits/user_space_size", "12XB".into()),
        "resource_limits.user_space_size",
        "invalid size \"12XB\", expected a number with unit B, KB, MB or GB (e.g. \"300MB\")",
    );
    assert_eq!(e.kind(), ConfigErrorKind::InvalidValue);
    assert_eq!(
        e.to_string(),
        "Occlum.json: field `resource_limits.user_space_size`: invalid size \"12XB\", expected a number with unit B, KB, MB or GB (e.g. \"300MB\")"
    );
    assert!(e.line().is_some());

    expect_field_err(
        &with("/process/default_heap_size", "99999999999999GB".into()),
        "process.default_heap_size",
        "too large",
    );
    expect_field_err(
        &with("/resource_limits/kernel_space_heap_size", 32.into()),
        "resource_limits.kernel_space_heap_size",
        "invalid type: integer `32`, expected a size string",
    );
}

#[test]
fn wrong_type_names_field() {
    let e = expect_field_err(
        &with("/resource_limits/max_num_of_threads", "a".into()),
        "resource_limits.max_num_of_threads",
        "invalid type: string \"a\", expected u32",
    );
    assert_eq!(
        e.to_string(),
        "Occlum.json: field `resource_limits.max_num_of_threads`: invalid type: string \"a\", expected u32"
    );
    expect_field_err(
        &with("/metadata/debuggable", "yes".into()),
        "metadata.debuggable",
        "expected a boolean",
    );
    expect_field_err(
        &with("/entry_points/0", 5.into()),
        "entry_points[0]",
        "invalid type: integer `5`",
    );
    expect_field_err(
        &with("/metadata/family_id/high", "0xZZ".into()),
        "metadata.family_id.high",
        "expected a 64-bit hex string",
    );
    for text in ["[1, 2]", "null", " \"x\""] {
        let e = err(text);
        assert_eq!(e.field(), None);
        assert_eq!(e.kind(), ConfigErrorKind::InvalidValue);
        assert!(
            e.to_string()
                .starts_with("Occlum.json: top level: invalid type: "),
            "{e}"
        );
        assert!(e.to_string().ends_with("expected a JSON object"), "{e}");
    }
    for (pointer, field) in [
        ("/process", "process"),
        ("/metadata/family_id", "metadata.family_id"),
        ("/mount/1", "mount[1]"),
        ("/mount/0/options", "mount[0].options"),
    ] {
        expect_field_err(
            &with(pointer, serde_json::json!([])),
            field,
            "invalid type: sequence, expected a JSON object",
        );
    }
    assert_eq!(err("{\"process\"").kind(), ConfigErrorKind::Syntax);
    assert_eq!(err("").kind(), ConfigErrorKind::Syntax);
}

#[test]
fn unknown_fields_are_rejected() {
    let e = err(&OCCLUM_TEMPLATE.replacen("resource_limits", "resource_limit", 1));
    assert_eq!(e.kind(), ConfigErrorKind::UnknownField);
    assert_eq!(e.field(), Some("resource_limit"));
    let shown = e.to_string();
    assert!(
        shown.starts_with(
            "Occlum.json: unknown field `resource_limit` at top level, expected one of `resource_limits`, `process`,"
        ),
        "{shown}"
    );

    let e = err(r#"{"resource_limits": {"user_space": "1MB"}}"#);
    assert_eq!(e.field(), Some("resource_limits.user_space"));
    assert!(
        e.to_string().starts_with(
            "Occlum.json: unknown field `user_space` in `resource_limits`, expected one of"
        ),
        "{e}"
    );

    let e = err(
        r#"{"mount": [{"target": "/", "type": "ramfs"}, {"target": "/x", "type": "ramfs", "options": {"mac": ""}}]}"#,
    );
    assert_eq!(e.field(), Some("mount[1].options.mac"));
    assert!(e.to_string().contains("in `mount[1].options`"), "{e}");
}

#[test]
fn unknown_fs_type_names_field() {
    let text = with("/mount/2/type", "ext2".into());
    let e = expect_field_err(
        &text,
        "mount[2].type",
        "unsupported file system type \"ext2\"",
    );
    assert!(
        e.to_string()
            .contains("expected one of `unionfs`, `sefs`, `hostfs`, `ramfs`, `devfs`, `procfs`"),
        "{e}"
    );
    expect_field_err(
        &with("/mount/0/options/layers/1/type", "zfs".into()),
        "mount[0].options.layers[1].type",
        "\"zfs\"",
    );
}

#[test]
fn missing_mount_keys_name_field() {
    let e = err(r#"{"mount": [{"target": "/", "type": "ramfs"}, {"target": "/x"}]}"#);
    assert_eq!(e.kind(), ConfigErrorKind::MissingField);
    assert_eq!(e.field(), Some("mount[1].type"));
    assert_eq!(
        e.to_string(),
        "Occlum.json: field `mount[1].type`: missing required field"
    );
}

#[test]
fn syntax_error_names_line_and_column() {
    let e = err("{\n  \"process\": {\n    \"default_stack_size\" \"4MB\"\n  }\n}");
    assert_eq!(e.kind(), ConfigErrorKind::Syntax);
    assert_eq!(e.field(), None);
    assert_eq!(e.line(), Some(3));
    let shown = e.to_string();
    assert!(shown.starts_with("Occlum.json: line 3 column "), "{shown}");
    assert!(shown.contains("expected `:`"), "{shown}");

    let e = err("{\"process\": {");
    assert_eq!(e.kind(), ConfigErrorKind::Syntax);
    assert!(e.to_string().contains("EOF"), "{e}");

    let e = err("{} x");
    assert_eq!(e.kind(), ConfigErrorKind::Syntax);
    assert!(e.to_string().contains("trailing characters"), "{e}");
}

#[test]
fn load_names_the_file() {
    let dir = std::env::temp_dir().join(format!("occlum-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("Occlum.json");

    std::fs::write(&path, default_template()).unwrap();
    assert_eq!(Config::load(&path).unwrap(), Config::template());

    std::fs::write(
        &path,
        with("/resource_limits/user_space_size", "12XB".into()),
    )
    .unwrap();
    let e = Config::load(&path).unwrap_err();
    let shown = e.to_string();
    assert!(
        shown.starts_with(&format!(
            "{}: field `resource_limits.user_space_size`: invalid size",
            path.display()
        )),
        "{shown}"
    );
    assert_eq!(e.file(), path.display().to_string());

    std::fs::write(&path, with("/entry_points/0", "bin".into())).unwrap();
    let e = Config::load(&path).unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&format!("{}: field `entry_points[0]`", path.display())),
        "{e}"
    );

    let missing = dir.join("nope.json");
    let e = Config::load(&missing).unwrap_err();
    assert_eq!(e.kind(), ConfigErrorKind::Io);
    assert!(e
        .to_string()
        .starts_with(&format!("{}: cannot read file:", missing.display())));
    assert!(std::error::Error::source(&e).is_some());

    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn named_parse_uses_given_name() {
    let e = Config::from_json_str_named("{", "/x/My.json").unwrap_err();
    assert!(
        e.to_string().starts_with("/x/My.json: line 1 column 1"),
        "{e}"
    );
}

#[test]
fn resource_limit_rules() {
    expect_invalid(
        |c| c.resource_limits.user_space_size = ByteSize::kb(512),
        "resource_limits.user_space_size",
        "512KB is too small, expected at least 1MB",
    );
    // Rounded up to a page before the check.
    validated(|c| {
        c.resource_limits.user_space_size = ByteSize(ByteSize::mb(1).0 - 100);
        c.resource_limits.user_space_max_size = Some(ByteSize::mb(300));
    })
    .unwrap();
    expect_invalid(
        |c| c.resource_limits.user_space_max_size = Some(ByteSize::mb(100)),
        "resource_limits.user_space_max_size",
        "expected at least 300MB",
    );
    expect_invalid(
        |c| c.resource_limits.kernel_space_stack_size = ByteSize::kb(32),
        "resource_limits.kernel_space_stack_size",
        "expected at least 64KB",
    );
    validated(|c| c.resource_limits.kernel_space_stack_size = ByteSize::kb(64)).unwrap();
    expect_invalid(
        |c| c.resource_limits.kernel_space_heap_size = ByteSize(0),
        "resource_limits.kernel_space_heap_size",
        "size is 0B",
    );
    expect_invalid(
        |c| c.resource_limits.kernel_space_heap_max_size = Some(ByteSize::mb(1)),
        "resource_limits.kernel_space_heap_max_size",
        "expected at least 32MB",
    );
    expect_invalid(
        |c| c.resource_limits.kernel_space_heap_size = ByteSize::gb(999_999),
        "resource_limits.kernel_space_heap_size",
        "more than an x86-64 process can address",
    );
    expect_invalid(
        |c| c.resource_limits.user_space_max_size = Some(ByteSize(u64::MAX)),
        "resource_limits.user_space_max_size",
        "more than an x86-64 process can address",
    );
    for n in [0, 4097] {
        expect_invalid(
            |c| c.resource_limits.max_num_of_threads = n,
            "resource_limits.max_num_of_threads",
            &format!("{n} is out of range, expected 1 to 4096"),
        );
    }
    validated(|c| c.resource_limits.max_num_of_threads = 4096).unwrap();
    validated(|c| c.resource_limits.max_num_of_threads = 1).unwrap();
    expect_invalid(
        |c| c.resource_limits.init_num_of_threads = Some(33),
        "resource_limits.init_num_of_threads",
        "expected 1 to max_num_of_threads (32)",
    );
}

#[test]
fn process_rules() {
    for (field, edit) in [
        (
            "process.default_stack_size",
            (|c: &mut Config| c.process.default_stack_size = ByteSize(0)) as fn(&mut Config),
        ),
        ("process.default_heap_size", |c| {
            c.process.default_heap_size = ByteSize(0)
        }),
        ("process.default_mmap_size", |c| {
            c.process.default_mmap_size = ByteSize(0)
        }),
    ] {
        expect_invalid(edit, field, "size is 0B, expected a positive size");
    }
    expect_invalid(
        |c| c.process.default_mmap_size = ByteSize::mb(265),
        "process",
        "(4MB + 32MB + 265MB = 301MB) exceeds the user space (300MB), expected at most 300MB",
    );
    validated(|c| c.process.default_mmap_size = ByteSize::mb(264)).unwrap();
    expect_invalid(
        |c| c.process.default_stack_size = ByteSize(1),
        "process.default_stack_size",
        "1B is too small, expected at least 64KB",
    );
    validated(|c| c.process.default_stack_size = ByteSize::kb(64)).unwrap();
    // Overflowing sums are rejected, not wrapped.
    expect_invalid(
        |c| c.process.default_mmap_size = ByteSize(u64::MAX),
        "process",
        "more than 2^64 bytes",
    );
    // With EDMM the limit is user_space_max_size.
    validated(|c| {
        c.resource_limits.user_space_size = ByteSize::mb(1);
        c.resource_limits.user_space_max_size = Some(ByteSize::mb(600));
    })
    .unwrap();
    // Also checked when parsing.
    let e = err(&with("/process/default_mmap_size", "1GB".into()));
    assert_eq!(e.field(), Some("process"));
    assert_eq!(e.kind(), ConfigErrorKind::Validation);
}

#[test]
fn entry_point_rules() {
    expect_invalid(
        |c| c.entry_points.push("usr/bin".into()),
        "entry_points[1]",
        "\"usr/bin\" is not an absolute path",
    );
    expect_invalid(
        |c| c.entry_points[0] = "/b\0in".into(),
        "entry_points[0]",
        "NUL",
    );
}

#[test]
fn env_rules() {
    expect_invalid(
        |c| c.env.default.push("FOO".into()),
        "env.default[1]",
        "\"FOO\" has no '=', expected NAME=value",
    );
    expect_invalid(
        |c| c.env.default.push("=bar".into()),
        "env.default[1]",
        "empty NAME",
    );
    validated(|c| c.env.default.push("A=b=c".into())).unwrap();
    validated(|c| c.env.default.push("A=".into())).unwrap();
    expect_invalid(
        |c| c.env.untrusted.push("A=b".into()),
        "env.untrusted[1]",
        "expected a bare NAME without '='",
    );
    expect_invalid(
        |c| c.env.untrusted.push(String::new()),
        "env.untrusted[1]",
        "\"\" is not a variable name",
    );
}

#[test]
fn feature_rules() {
    expect_invalid(|c| c.feature.pkru = 3, "feature.pkru", "3 is out of range");
    expect_invalid(
        |c| c.metadata.pkru = Some(9),
        "metadata.pkru",
        "9 is out of range",
    );
}

#[test]
fn mount_rules() {
    expect_invalid(
        |c| c.mount[1].target = "host".into(),
        "mount[1].target",
        "\"host\" is not an absolute path",
    );
    expect_invalid(
        |c| c.mount.push(MountConfig::new("/tmp/", FsType::RamFs)),
        "mount[5].target",
        "\"/tmp/\" is already the target of mount[4], expected unique targets",
    );
    expect_invalid(
        |c| c.mount.push(MountConfig::new("/", FsType::RamFs)),
        "mount[5].target",
        "already the target of mount[0]",
    );
    expect_invalid(
        |c| {
            c.mount.remove(0);
        },
        "mount",
        "no entry has target \"/\", expected exactly one root mount",
    );
    expect_invalid(
        |c| c.mount[1].source = None,
        "mount[1].source",
        "missing for hostfs",
    );
    // The root's own encrypted layer mounted again, with the source spelled
    // otherwise: refused (it would wait forever for its own lock).
    expect_invalid(
        |c| {
            c.mount
                .push(MountConfig::new("/data", FsType::Sefs).with_source("run/mount/__ROOT/"))
        },
        "mount[5].source",
        "\"run/mount/__ROOT\" is already the encrypted file system of mount[0].options.layers[1]",
    );
    expect_invalid(
        |c| {
            c.mount.push(MountConfig::new("/a", FsType::Sefs));
            c.mount.push(MountConfig::new("/b", FsType::Sefs));
        },
        "mount[6].source",
        "already the encrypted file system of mount[5]",
    );
    expect_invalid(
        |c| c.mount[0].options.layers = None,
        "mount[0].options.layers",
        "missing for unionfs",
    );
    expect_invalid(
        |c| c.mount[0].options.layers = Some(Vec::new()),
        "mount[0].options.layers",
        "list is empty",
    );
    expect_invalid(
        |c| c.mount[4].options.layers = Some(Vec::new()),
        "mount[4].options.layers",
        "given for ramfs, expected layers only on unionfs",
    );
    expect_invalid(
        |c| c.mount[0].options.layers.as_mut().unwrap()[1].target = "rel".into(),
        "mount[0].options.layers[1].target",
        "not an absolute path",
    );
    expect_invalid(
        |c| c.mount[0].options.layers.as_mut().unwrap()[1] = MountConfig::new("/", FsType::HostFs),
        "mount[0].options.layers[1].source",
        "missing for hostfs",
    );
    expect_invalid(
        |c| {
            c.mount[0].options.layers.as_mut().unwrap()[1]
                .options
                .cache_size = Some(ByteSize::kb(100))
        },
        "mount[0].options.layers[1].options.cache_size",
        "100KB is too small, expected at least 192KB",
    );
    expect_invalid(
        |c| {
            c.mount[0].options.layers.as_mut().unwrap()[1]
                .options
                .cache_size = Some(ByteSize(ByteSize::mb(1).0 + 1))
        },
        "mount[0].options.layers[1].options.cache_size",
        "expected a multiple of 4KB",
    );
    // Also checked when parsing, with the JSON path.
    let e = err(&with("/mount/1/target", "/proc".into()));
    assert_eq!(e.field(), Some("mount[2].target"));
}

#[test]
fn messages_stay_on_one_line() {
    let e = err("{\"mount\": [{\"target\": \"/\", \"type\": \"ramfs\", \"x\\ny\": 1}]}");
    let shown = e.to_string();
    assert!(!shown.contains('\n'), "{shown:?}");
    assert!(shown.contains("x\\ny"), "{shown}");
}

#[test]
fn sgx_ids_must_fit_16_bits() {
    expect_invalid(
        |c| c.metadata.product_id = 65536,
        "metadata.product_id",
        "expected 0 to 65535",
    );
    expect_invalid(
        |c| c.metadata.version_number = 70000,
        "metadata.version_number",
        "16-bit",
    );
    assert!(validated(|c| c.metadata.version_number = 65535).is_ok());
}

#[test]
fn kms_settings_are_checked() {
    let kms = |edit: fn(&mut crate::KmsConfig)| {
        move |c: &mut Config| {
            let mut k = crate::KmsConfig {
                address: "127.0.0.1:4433".into(),
                server_key_sha256: "ab".repeat(32),
                root_key: Some("root".into()),
                files: vec!["db".into()],
                env: [("TOKEN".to_string(), "api".to_string())].into(),
            };
            edit(&mut k);
            c.kms = Some(k);
        }
    };
    assert!(validated(kms(|_| {})).is_ok());
    expect_invalid(
        kms(|k| k.address = "4433".into()),
        "kms.address",
        "HOST:PORT",
    );
    expect_invalid(
        kms(|k| k.address = "h:0".into()),
        "kms.address",
        "HOST:PORT",
    );
    expect_invalid(
        kms(|k| k.server_key_sha256 = "abc".into()),
        "kms.server_key_sha256",
        "64 hex",
    );
    expect_invalid(
        kms(|k| k.files = vec!["../x".into()]),
        "kms.files[0]",
        "not a secret name",
    );
    expect_invalid(
        kms(|k| k.root_key = Some(String::new())),
        "kms.root_key",
        "not a secret name",
    );
    let parsed = Config::from_json_str(
        r#"{"kms": {"address": "h:1", "server_key_sha256": "00", "bogus": 1}}"#,
    );
    assert!(parsed.unwrap_err().to_string().contains("bogus"));
}
