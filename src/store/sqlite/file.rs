//! The SQLite store's file: created with mode 0600 before SQLite opens it, and an existing
//! file (or its `-wal`, `-shm`, `-journal` siblings) that group or others can access is
//! tightened to 0600 with a warning.

use std::path::{Path, PathBuf};

use crate::store::StoreError;

/// Creates `path` with mode 0600 if missing; tightens an existing file (and SQLite's sibling
/// files) that group or others can access.
pub(super) fn create_private_file(path: &Path) -> Result<(), StoreError> {
    let io = |action, source| StoreError::Io { action, path: path.to_path_buf(), source };
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    match options.open(path) {
        Ok(_) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            #[cfg(unix)]
            for suffix in ["", "-wal", "-shm", "-journal"] {
                use std::os::unix::fs::PermissionsExt;
                let mut file = path.as_os_str().to_owned();
                file.push(suffix);
                let file = PathBuf::from(file);
                let meta = match std::fs::metadata(&file) {
                    Ok(meta) => meta,
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound && !suffix.is_empty() => {
                        continue;
                    }
                    Err(e) => {
                        return Err(StoreError::Io { action: "inspect", path: file, source: e });
                    }
                };
                let mode = meta.permissions().mode() & 0o777;
                if mode & 0o077 != 0 {
                    tracing::warn!(path = %file.display(), mode = format!("{mode:o}"), "token store file was accessible to other users; tightening it to 0600");
                    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).map_err(|e| {
                        StoreError::Io { action: "restrict to mode 0600", path: file.clone(), source: e }
                    })?;
                }
            }
            Ok(())
        }
        Err(e) => Err(io("create", e)),
    }
}
