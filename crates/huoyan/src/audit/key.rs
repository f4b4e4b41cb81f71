//! Where the audit key comes from. It must live outside the database (whoever can write the
//! database must not be able to read it there), so it is a file of its own, readable by its
//! owner only, or an environment variable filled from a secret store.
//!
//! In order: `--audit-key FILE` or `HUOYAN_AUDIT_KEY_FILE`; `HUOYAN_AUDIT_KEY` (the key itself);
//! `audit_key` in the TOML file; `$XDG_CONFIG_HOME/huoyan/audit.key` (`~/.config/…` without it).
//! The commands that write create a missing key file; verification never does, since a new key
//! can only fail it.

use std::io::Write;
use std::path::{Path, PathBuf};

use huoyan_core::audit::seal::{AuditKey, KEY_BYTES};

/// Why the key is wanted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Writing: a missing key file is created.
    Write,
    /// Verifying: the key must exist already.
    Verify,
}

/// Where the key was found, for messages.
#[derive(Debug, Clone)]
pub enum Source {
    File(PathBuf),
    Environment,
}

impl std::fmt::Display for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Source::File(p) => write!(f, "{}", p.display()),
            Source::Environment => f.write_str("HUOYAN_AUDIT_KEY"),
        }
    }
}

const HOW: &str = "give the key the server writes with: --audit-key FILE, HUOYAN_AUDIT_KEY_FILE or HUOYAN_AUDIT_KEY";

/// The default key file: `$XDG_CONFIG_HOME/huoyan/audit.key`, else `$HOME/.config/huoyan/audit.key`.
pub fn default_path() -> Option<PathBuf> {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty());
    let config = var("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .filter(|p| p.is_absolute())
        .or_else(|| var("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(config.join("huoyan").join("audit.key"))
}

/// Finds the key: `file` (the flag or HUOYAN_AUDIT_KEY_FILE), else HUOYAN_AUDIT_KEY, else
/// `configured` (the TOML file's), else the default path.
pub fn load(
    file: Option<&Path>,
    configured: Option<&Path>,
    purpose: Purpose,
) -> anyhow::Result<(AuditKey, Source)> {
    if file.is_none()
        && let Some(text) = std::env::var_os("HUOYAN_AUDIT_KEY")
    {
        let key = AuditKey::parse(&text.to_string_lossy())
            .map_err(|e| anyhow::anyhow!("HUOYAN_AUDIT_KEY: {e}"))?;
        return Ok((key, Source::Environment));
    }
    let path = match file.or(configured) {
        Some(p) => p.to_path_buf(),
        None => default_path().ok_or_else(|| {
            anyhow::anyhow!("no audit key: HOME is not set, so there is no default key file; {HOW}")
        })?,
    };
    let key = match std::fs::read_to_string(&path) {
        Ok(text) => {
            warn_if_shared(&path);
            AuditKey::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && purpose == Purpose::Write => {
            create(&path)?
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => anyhow::bail!(
            "no audit key at {}: {HOW} (a new key cannot verify a trail sealed with another)",
            path.display()
        ),
        Err(e) => anyhow::bail!("cannot read the audit key {}: {e}", path.display()),
    };
    Ok((key, Source::File(path)))
}

/// Makes a new random key in a file only its owner may read (in a directory only its owner may
/// enter, when the directory is new).
fn create(path: &Path) -> anyhow::Result<AuditKey> {
    let mut bytes = [0u8; KEY_BYTES];
    rand::fill(&mut bytes);
    let key = AuditKey::from_bytes(bytes);
    let fail =
        |e: std::io::Error| anyhow::anyhow!("cannot create the audit key {}: {e}", path.display());
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        let mut builder = std::fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(dir).map_err(fail)?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = match options.open(path) {
        Ok(f) => f,
        // Another command made it meanwhile: use theirs.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            let text = std::fs::read_to_string(path).map_err(fail)?;
            return AuditKey::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()));
        }
        Err(e) => return Err(fail(e)),
    };
    writeln!(file, "{}", key.to_text()).map_err(fail)?;
    file.sync_all().map_err(fail)?;
    eprintln!(
        "created a new audit key (id {}) in {}: keep a copy apart from the database; without it the audit trail cannot be verified",
        key.id(),
        path.display()
    );
    Ok(key)
}

fn warn_if_shared(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                tracing::warn!(
                    path = %path.display(),
                    mode = format!("{mode:o}"),
                    "the audit key is readable by others than its owner; chmod 600 it"
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}
