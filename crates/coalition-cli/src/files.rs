//! Reading and writing the files the commands work on: size-limited reads, files that must not be
//! overwritten, secret files, and atomic replacement.

use std::fs::{self, File, OpenOptions};
use std::io::{Read, Write};
use std::path::Path;

use anyhow::{Context, Result, bail};

/// Largest text file (genesis, key, body, note) the commands read whole.
pub const TEXT_FILE_BYTES_MAX: u64 = 1024 * 1024;

/// Reads a UTF-8 text file of at most [`TEXT_FILE_BYTES_MAX`] bytes.
pub fn read_text(path: &Path) -> Result<String> {
    let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut text = String::new();
    file.take(TEXT_FILE_BYTES_MAX + 1)
        .read_to_string(&mut text)
        .with_context(|| format!("cannot read {} as UTF-8 text", path.display()))?;
    if text.len() as u64 > TEXT_FILE_BYTES_MAX {
        bail!("{} is larger than {} bytes", path.display(), TEXT_FILE_BYTES_MAX);
    }
    Ok(text)
}

/// Creates `path` with `contents`, refusing to replace an existing file. `secret` files are
/// readable by their owner only.
pub fn create_new(path: &Path, contents: &str, secret: bool) -> Result<()> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    if secret {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    #[cfg(not(unix))]
    let _ = secret;
    let mut file = options.open(path).map_err(|error| {
        if error.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!("{} already exists; refusing to overwrite it", path.display())
        } else {
            anyhow::Error::new(error).context(format!("cannot create {}", path.display()))
        }
    })?;
    file.write_all(contents.as_bytes())?;
    file.sync_all().with_context(|| format!("cannot sync {}", path.display()))?;
    Ok(())
}

/// Replaces `path` with `contents` so a crash leaves either the old or the new file, never half.
pub fn replace_atomically(path: &Path, contents: &str) -> Result<()> {
    let directory = path.parent().filter(|parent| !parent.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let file_name = path.file_name().context("path has no file name")?;
    let temporary = directory.join(format!(".{}.tmp", file_name.to_string_lossy()));
    {
        let mut file = File::create(&temporary).with_context(|| format!("cannot create {}", temporary.display()))?;
        file.write_all(contents.as_bytes())?;
        file.sync_all()?;
    }
    fs::rename(&temporary, path).with_context(|| format!("cannot replace {}", path.display()))?;
    if let Ok(directory) = File::open(directory) {
        // Persist the rename itself; not every platform can sync a directory, so this is best effort.
        let _ = directory.sync_all();
    }
    Ok(())
}

/// Appends `contents` to `path` (creating it) and waits until it is on disk.
pub fn append_durably(path: &Path, contents: &str) -> Result<()> {
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)
        .with_context(|| format!("cannot open {} for appending", path.display()))?;
    file.write_all(contents.as_bytes())?;
    file.sync_data().with_context(|| format!("cannot sync {}", path.display()))?;
    Ok(())
}

/// A value given on the command line either literally or as `@PATH` to read from a file.
pub fn literal_or_file(value: &str) -> Result<String> {
    match value.strip_prefix('@') {
        Some(path) => read_text(Path::new(path)),
        None => Ok(value.to_owned()),
    }
}
