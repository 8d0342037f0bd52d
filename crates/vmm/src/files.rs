//! Host files in and out of a guest.
//!
//! In: `vessel run --volume HOST_DIR:GUEST_DIR` directories are packed into
//! one cpio archive in the SVR4 "newc" format (the Linux initramfs format),
//! which the VMM hands to the guest as its initial files
//! (`BootInfo::initial_files`); the guest kernel unpacks it into its root
//! file system at boot.
//!
//! Out: for each `--copy-out GUEST_PATH:HOST_PATH` the guest hands back,
//! through the `CopyOut` hypercall, either a file's bytes or a newc archive
//! of a directory's contents. [`CopyOutStore`] collects the chunks while
//! the guest runs (in memory, so the confined vCPU thread needs no file
//! system calls); [`write_copy_outs`] writes complete transfers into the
//! host paths once the guest has ended. Everything the guest sends is
//! untrusted: archive names are checked (relative, no `..`), nothing is
//! written through a symbolic link, and the total held is bounded.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::{self, OpenOptions};
use std::io::{self, Cursor, Read, Write};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use vessel_abi::hypercall::{COPY_OUT_DIRECTORY, COPY_OUT_LAST, Status};

/// A host directory (or file) copied into the guest at boot.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Volume {
    /// The host directory or file.
    pub host: PathBuf,
    /// Where it appears in the guest: an absolute path.
    pub guest: String,
}

/// A guest path brought back to the host when the guest ends.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CopyOutTarget {
    /// The guest file or directory (absolute).
    pub guest: String,
    /// Where its contents go on the host.
    pub host: PathBuf,
}

/// Why files could not go in or come out.
#[derive(Debug, thiserror::Error)]
pub enum FilesError {
    /// A guest path is not absolute or has `.`/`..` components.
    #[error("{0}: a guest path must be absolute, without `.` or `..` components")]
    BadGuestPath(String),
    /// A host file of a volume could not be read.
    #[error("--volume: cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// A host file of a volume cannot be represented in the guest.
    #[error("--volume: {path}: {what}")]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// Why.
        what: &'static str,
    },
    /// Writing a copied-out file failed.
    #[error("--copy-out: cannot write {path}: {source}")]
    Write {
        /// The host path.
        path: PathBuf,
        /// What failed.
        source: io::Error,
    },
    /// The guest's archive for a copy-out was malformed or unsafe.
    #[error("--copy-out {guest}: the guest sent a bad archive: {what}")]
    BadArchive {
        /// The guest path of the copy-out.
        guest: String,
        /// What was wrong.
        what: String,
    },
}

/// Checks that `path` is an absolute guest path in normal form; returns it
/// without the leading slash (`""` for the root).
fn guest_relative(path: &str) -> Result<&str, FilesError> {
    let relative = path
        .strip_prefix('/')
        .ok_or_else(|| FilesError::BadGuestPath(path.to_string()))?
        .trim_end_matches('/');
    let bad = |c: &str| c.is_empty() || c == "." || c == "..";
    if !relative.is_empty() && relative.split('/').any(bad) {
        return Err(FilesError::BadGuestPath(path.to_string()));
    }
    Ok(relative)
}

/// Checks a `--copy-out` guest path (as [`pack_volumes`] checks volumes).
pub fn check_guest_path(path: &str) -> Result<(), FilesError> {
    guest_relative(path).map(drop)
}

/// Packs the volumes into one newc archive: each volume's guest directory
/// (its parents are the guest's to create) and everything under the host
/// directory, in sorted order, with modes, owners and modification times.
/// Directories, regular files and symbolic links are supported; sockets,
/// devices and FIFOs are refused, as are files of 4 GiB or more (the
/// format's limit).
pub fn pack_volumes(volumes: &[Volume]) -> Result<Vec<u8>, FilesError> {
    let mut packer = Packer::default();
    for volume in volumes {
        let name = guest_relative(&volume.guest)?;
        packer.add_tree(&volume.host, name)?;
    }
    cpio::newc::trailer(packer.out).map_err(|source| FilesError::Read {
        path: PathBuf::from("<archive>"),
        source,
    })
}

/// Builds the archive.
#[derive(Default)]
struct Packer {
    out: Vec<u8>,
    next_ino: u32,
}

impl Packer {
    /// Adds `path` as `name` and, for a directory, its contents below it.
    fn add_tree(&mut self, path: &Path, name: &str) -> Result<(), FilesError> {
        let read_error = |source| FilesError::Read {
            path: path.to_path_buf(),
            source,
        };
        let meta = fs::symlink_metadata(path).map_err(read_error)?;
        self.add_entry(path, name, &meta)?;
        if meta.is_dir() {
            let mut children: Vec<_> = fs::read_dir(path)
                .map_err(read_error)?
                .collect::<Result<_, _>>()
                .map_err(read_error)?;
            children.sort_by_key(|entry| entry.file_name());
            for child in children {
                let Some(child_name) = child.file_name().to_str().map(str::to_owned) else {
                    return Err(FilesError::Unsupported {
                        path: child.path(),
                        what: "the file name is not UTF-8",
                    });
                };
                let child_guest = if name.is_empty() {
                    child_name
                } else {
                    format!("{name}/{child_name}")
                };
                self.add_tree(&child.path(), &child_guest)?;
            }
        }
        Ok(())
    }

    /// Adds one entry (the root of the guest tree has the name `.`).
    fn add_entry(
        &mut self,
        path: &Path,
        name: &str,
        meta: &fs::Metadata,
    ) -> Result<(), FilesError> {
        let read_error = |source| FilesError::Read {
            path: path.to_path_buf(),
            source,
        };
        let data = if meta.is_file() {
            if meta.len() > u64::from(u32::MAX) {
                return Err(FilesError::Unsupported {
                    path: path.to_path_buf(),
                    what: "files of 4 GiB or more do not fit the cpio newc format",
                });
            }
            fs::read(path).map_err(read_error)?
        } else if meta.file_type().is_symlink() {
            let target = fs::read_link(path).map_err(read_error)?;
            target.into_os_string().into_encoded_bytes()
        } else if meta.is_dir() {
            Vec::new()
        } else {
            return Err(FilesError::Unsupported {
                path: path.to_path_buf(),
                what: "only directories, regular files and symbolic links can be copied in",
            });
        };
        self.next_ino += 1;
        let name = if name.is_empty() { "." } else { name };
        let entry = cpio::newc::Builder::new(name)
            .ino(self.next_ino)
            .mode(meta.mode())
            .uid(meta.uid())
            .gid(meta.gid())
            .nlink(if meta.is_dir() { 2 } else { 1 })
            .mtime(u32::try_from(meta.mtime()).unwrap_or(0));
        let out = std::mem::take(&mut self.out);
        let mut writer = entry.write(out, data.len() as u32);
        writer.write_all(&data).map_err(read_error)?;
        self.out = writer.finish().map_err(read_error)?;
        Ok(())
    }
}

/// One complete copy-out transfer from the guest.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Transfer {
    /// A directory archive (else a file's bytes).
    pub directory: bool,
    /// The bytes.
    pub data: Vec<u8>,
}

/// Collects the guest's copy-out chunks while it runs.
#[derive(Debug, Default)]
pub struct CopyOutStore {
    /// Per slot: the last complete transfer.
    complete: Vec<Option<Transfer>>,
    /// Per slot: the transfer being received.
    pending: Vec<Option<Transfer>>,
    /// Most bytes held at once (complete and pending together).
    limit: u64,
    held: u64,
}

impl CopyOutStore {
    /// A store for `slots` copy-out targets holding at most `limit` bytes.
    pub fn new(slots: usize, limit: u64) -> Self {
        Self {
            complete: vec![None; slots],
            pending: vec![None; slots],
            limit,
            held: 0,
        }
    }

    /// Appends one chunk to slot `slot`; a chunk with [`COPY_OUT_LAST`]
    /// completes the transfer (replacing an earlier one).
    pub fn append(&mut self, slot: u32, flags: u32, chunk: &[u8]) -> Result<(), Status> {
        let slot = slot as usize;
        if slot >= self.pending.len() || flags & !(COPY_OUT_DIRECTORY | COPY_OUT_LAST) != 0 {
            return Err(Status::BadArgument);
        }
        let directory = flags & COPY_OUT_DIRECTORY != 0;
        if self.held + chunk.len() as u64 > self.limit {
            return Err(Status::BadLength);
        }
        let pending = self.pending[slot].get_or_insert_with(|| Transfer {
            directory,
            data: Vec::new(),
        });
        if pending.directory != directory {
            return Err(Status::BadArgument);
        }
        pending.data.extend_from_slice(chunk);
        self.held += chunk.len() as u64;
        if flags & COPY_OUT_LAST != 0 {
            let done = self.pending[slot].take();
            if let Some(old) = std::mem::replace(&mut self.complete[slot], done) {
                self.held -= old.data.len() as u64;
            }
        }
        Ok(())
    }

    /// The complete transfers, by slot.
    pub fn into_transfers(self) -> Vec<Option<Transfer>> {
        self.complete
    }
}

/// Writes each complete transfer into its target's host path: a file's
/// bytes into the file, a directory archive unpacked into the directory
/// (created if missing). Returns the guest paths that sent nothing.
pub fn write_copy_outs(
    targets: &[CopyOutTarget],
    transfers: Vec<Option<Transfer>>,
) -> Result<Vec<String>, FilesError> {
    let mut missing = Vec::new();
    for (target, transfer) in targets.iter().zip(transfers) {
        match transfer {
            None => missing.push(target.guest.clone()),
            Some(Transfer {
                directory: false,
                data,
            }) => write_file(&target.host, &data, None)?,
            Some(Transfer {
                directory: true,
                data,
            }) => unpack(target, &data)?,
        }
    }
    Ok(missing)
}

/// Writes `data` to `path`, replacing a file or symbolic link there
/// (never writing through one), with permission bits `mode` if given.
fn write_file(path: &Path, data: &[u8], mode: Option<u32>) -> Result<(), FilesError> {
    let write_error = |source| FilesError::Write {
        path: path.to_path_buf(),
        source,
    };
    if fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink()) {
        fs::remove_file(path).map_err(write_error)?;
    }
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .custom_flags(libc::O_NOFOLLOW)
        .open(path)
        .map_err(write_error)?;
    file.write_all(data).map_err(write_error)?;
    if let Some(mode) = mode {
        file.set_permissions(fs::Permissions::from_mode(mode & 0o777))
            .map_err(write_error)?;
    }
    Ok(())
}

/// `S_IFMT` and the file types of a cpio mode.
const S_IFMT: u32 = 0o170_000;
const S_IFDIR: u32 = 0o040_000;
const S_IFREG: u32 = 0o100_000;
const S_IFLNK: u32 = 0o120_000;

/// Unpacks a guest directory archive into `target.host`.
fn unpack(target: &CopyOutTarget, archive: &[u8]) -> Result<(), FilesError> {
    let bad = |what: String| FilesError::BadArchive {
        guest: target.guest.clone(),
        what,
    };
    let root = &target.host;
    fs::create_dir_all(root).map_err(|source| FilesError::Write {
        path: root.clone(),
        source,
    })?;
    // Hard links: newc stores the data with the last name of an inode.
    let mut earlier_names: HashMap<u32, Vec<PathBuf>> = HashMap::new();
    let mut input = Cursor::new(archive);
    loop {
        let mut reader = cpio::newc::Reader::new(input).map_err(|e| bad(e.to_string()))?;
        let entry = reader.entry().clone();
        if entry.is_trailer() {
            return Ok(());
        }
        let relative = archive_name(entry.name()).map_err(bad)?;
        let mut data = Vec::new();
        reader
            .by_ref()
            .read_to_end(&mut data)
            .map_err(|e| bad(format!("{}: {e}", entry.name())))?;
        input = reader.finish().map_err(|e| bad(e.to_string()))?;
        let Some(relative) = relative else {
            continue; // "." is the directory itself
        };
        ensure_no_symlink_parents(root, &relative).map_err(bad)?;
        let path = root.join(&relative);
        let write_error = |source| FilesError::Write {
            path: path.clone(),
            source,
        };
        match entry.mode() & S_IFMT {
            S_IFDIR => match fs::symlink_metadata(&path) {
                Ok(meta) if meta.is_dir() => {}
                Ok(_) => {
                    return Err(bad(format!(
                        "{}: not a directory on the host",
                        entry.name()
                    )));
                }
                Err(_) => fs::create_dir(&path).map_err(write_error)?,
            },
            S_IFREG if entry.nlink() > 1 && data.is_empty() => {
                earlier_names.entry(entry.ino()).or_default().push(path);
            }
            S_IFREG => {
                write_file(&path, &data, Some(entry.mode()))?;
                for name in earlier_names.remove(&entry.ino()).unwrap_or_default() {
                    if fs::symlink_metadata(&name).is_ok() {
                        fs::remove_file(&name).map_err(|source| FilesError::Write {
                            path: name.clone(),
                            source,
                        })?;
                    }
                    fs::hard_link(&path, &name).map_err(|source| FilesError::Write {
                        path: name.clone(),
                        source,
                    })?;
                }
            }
            S_IFLNK => {
                if fs::symlink_metadata(&path).is_ok() {
                    fs::remove_file(&path).map_err(write_error)?;
                }
                let target = OsString::from_vec(data);
                std::os::unix::fs::symlink(target, &path).map_err(write_error)?;
            }
            _ => return Err(bad(format!("{}: unsupported file type", entry.name()))),
        }
    }
}

/// The host-relative path of an archive entry: `None` for `.`; an error
/// for absolute names, `..` components or an empty name.
fn archive_name(name: &str) -> Result<Option<PathBuf>, String> {
    let trimmed = name.trim_start_matches("./");
    if trimmed == "." || trimmed.is_empty() && name.starts_with('.') {
        return Ok(None);
    }
    let path = Path::new(trimmed);
    let mut relative = PathBuf::new();
    for component in path.components() {
        match component {
            Component::Normal(part) => relative.push(part),
            Component::CurDir => {}
            _ => return Err(format!("{name}: names must be relative, without `..`")),
        }
    }
    if relative.as_os_str().is_empty() {
        return Err(format!("{name:?}: empty name"));
    }
    Ok(Some(relative))
}

/// Fails if a directory on the way from `root` to `relative` is a
/// symbolic link on the host (writing there could leave `root`).
fn ensure_no_symlink_parents(root: &Path, relative: &Path) -> Result<(), String> {
    let mut at = root.to_path_buf();
    if let Some(parent) = relative.parent() {
        for part in parent.components() {
            at.push(part);
            match fs::symlink_metadata(&at) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    return Err(format!(
                        "{}: goes through a symbolic link",
                        relative.display()
                    ));
                }
                Ok(meta) if !meta.is_dir() => {
                    return Err(format!(
                        "{}: a parent is not a directory",
                        relative.display()
                    ));
                }
                Ok(_) => {}
                Err(_) => fs::create_dir(&at).map_err(|e| format!("{}: {e}", at.display()))?,
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An archive with the given `(name, mode, data)` entries.
    fn archive(entries: &[(&str, u32, &[u8])]) -> Vec<u8> {
        let mut out = Vec::new();
        for (ino, (name, mode, data)) in entries.iter().enumerate() {
            let mut writer = cpio::newc::Builder::new(name)
                .ino(ino as u32 + 1)
                .mode(*mode)
                .nlink(1)
                .write(out, data.len() as u32);
            writer.write_all(data).unwrap();
            out = writer.finish().unwrap();
        }
        cpio::newc::trailer(out).unwrap()
    }

    fn target(host: &Path) -> CopyOutTarget {
        CopyOutTarget {
            guest: "/out".into(),
            host: host.to_path_buf(),
        }
    }

    #[test]
    fn guest_paths_must_be_absolute_and_normal() {
        assert_eq!(guest_relative("/").unwrap(), "");
        assert_eq!(guest_relative("/data/in/").unwrap(), "data/in");
        for bad in ["data", "/a/../b", "/a/./b", "//a", "/a//b"] {
            assert!(guest_relative(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_volume_round_trips_through_a_directory_copy_out() {
        let src = tempfile::tempdir().unwrap();
        fs::create_dir(src.path().join("sub")).unwrap();
        fs::write(src.path().join("sub/a.txt"), b"alpha").unwrap();
        fs::write(src.path().join("top"), vec![7u8; 70_000]).unwrap();
        fs::set_permissions(src.path().join("top"), fs::Permissions::from_mode(0o751)).unwrap();
        std::os::unix::fs::symlink("sub/a.txt", src.path().join("link")).unwrap();
        let packed = pack_volumes(&[Volume {
            host: src.path().to_path_buf(),
            guest: "/".into(),
        }])
        .unwrap();

        let dst = tempfile::tempdir().unwrap();
        let out = dst.path().join("out");
        let mut store = CopyOutStore::new(1, 1 << 20);
        for (i, chunk) in packed.chunks(4096).enumerate() {
            let last = (i + 1) * 4096 >= packed.len();
            let flags = COPY_OUT_DIRECTORY | if last { COPY_OUT_LAST } else { 0 };
            store.append(0, flags, chunk).unwrap();
        }
        let missing = write_copy_outs(&[target(&out)], store.into_transfers()).unwrap();
        assert!(missing.is_empty());
        assert_eq!(fs::read(out.join("sub/a.txt")).unwrap(), b"alpha");
        assert_eq!(fs::read(out.join("top")).unwrap(), vec![7u8; 70_000]);
        let mode = fs::metadata(out.join("top")).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o751);
        assert_eq!(
            fs::read_link(out.join("link")).unwrap(),
            Path::new("sub/a.txt")
        );
    }

    #[test]
    fn volumes_refuse_special_files() {
        let src = tempfile::tempdir().unwrap();
        let socket = src.path().join("sock");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        let error = pack_volumes(&[Volume {
            host: src.path().to_path_buf(),
            guest: "/data".into(),
        }])
        .unwrap_err();
        assert!(error.to_string().contains("only directories"), "{error}");
    }

    #[test]
    fn archives_cannot_escape_the_target() {
        for name in ["../escape", "/etc/passwd", "a/../../escape"] {
            let dst = tempfile::tempdir().unwrap();
            let out = dst.path().join("out");
            let transfer = Transfer {
                directory: true,
                data: archive(&[(name, S_IFREG | 0o644, b"x")]),
            };
            let error = write_copy_outs(&[target(&out)], vec![Some(transfer)]).unwrap_err();
            assert!(
                error.to_string().contains("names must be relative"),
                "{error}"
            );
            assert!(!dst.path().join("escape").exists());
        }
    }

    #[test]
    fn archives_cannot_write_through_symlinks() {
        let dst = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let out = dst.path().join("out");
        let link_target = outside.path().to_str().unwrap().as_bytes();
        let transfer = Transfer {
            directory: true,
            data: archive(&[
                ("evil", S_IFLNK | 0o777, link_target),
                ("evil/file", S_IFREG | 0o644, b"x"),
            ]),
        };
        let error = write_copy_outs(&[target(&out)], vec![Some(transfer)]).unwrap_err();
        assert!(error.to_string().contains("symbolic link"), "{error}");
        assert!(!outside.path().join("file").exists());
    }

    #[test]
    fn a_file_copy_out_replaces_a_symlink_instead_of_following_it() {
        let dst = tempfile::tempdir().unwrap();
        let victim = dst.path().join("victim");
        fs::write(&victim, b"keep").unwrap();
        let host = dst.path().join("result");
        std::os::unix::fs::symlink(&victim, &host).unwrap();
        let transfer = Transfer {
            directory: false,
            data: b"new".to_vec(),
        };
        write_copy_outs(&[target(&host)], vec![Some(transfer)]).unwrap();
        assert_eq!(fs::read(&victim).unwrap(), b"keep");
        assert_eq!(fs::read(&host).unwrap(), b"new");
    }

    #[test]
    fn the_store_checks_slots_flags_and_its_limit() {
        let mut store = CopyOutStore::new(2, 10);
        assert_eq!(
            store.append(2, COPY_OUT_LAST, b"x"),
            Err(Status::BadArgument)
        );
        assert_eq!(store.append(0, 8, b"x"), Err(Status::BadArgument));
        store.append(0, 0, b"12345").unwrap();
        assert_eq!(
            store.append(0, COPY_OUT_DIRECTORY, b"x"),
            Err(Status::BadArgument),
            "a transfer keeps its kind"
        );
        assert_eq!(store.append(1, 0, b"123456"), Err(Status::BadLength));
        store.append(0, COPY_OUT_LAST, b"678").unwrap();
        // Sending a slot again replaces it once complete.
        store.append(0, COPY_OUT_LAST, b"ab").unwrap();
        let transfers = store.into_transfers();
        assert_eq!(transfers[0].as_ref().unwrap().data, b"ab");
        assert!(transfers[1].is_none(), "incomplete transfers are dropped");
    }
}
