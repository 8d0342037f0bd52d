//! Files under vessel-linux: Debian's unmodified `busybox-static` working
//! on a tree copied in with `--volume`, each script run natively on the
//! host (in a fresh copy of the same tree) and under Vessel, comparing
//! output and exit status; and results brought back with `--copy-out`.
//!
//! Scripts print nothing that legitimately differs between the two runs
//! (absolute paths, times, directory sizes, readdir order).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How a run ended and what it printed on standard output.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    status: Option<i32>,
    stdout: String,
}

fn busybox() -> PathBuf {
    let path = PathBuf::from("/bin/busybox");
    assert!(path.is_file(), "Debian's busybox-static must be installed");
    path
}

/// A fresh, empty directory; each call gets its own (tests run in
/// parallel).
fn fresh_dir(name: &str) -> PathBuf {
    static NEXT: AtomicUsize = AtomicUsize::new(0);
    let unique = format!("{name}-{}", NEXT.fetch_add(1, Ordering::Relaxed));
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(unique);
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// A fresh directory holding the test tree: text files, a subdirectory,
/// a symbolic link.
fn tree(name: &str) -> PathBuf {
    let root = fresh_dir(name);
    fs::create_dir_all(root.join("docs/deep")).unwrap();
    fs::write(root.join("fruits.txt"), "pear\napple\nfig\napple\nkiwi\n").unwrap();
    fs::write(
        root.join("docs/readme.md"),
        "# Vessel\nfast microVMs\nsafe Rust\n",
    )
    .unwrap();
    fs::write(
        root.join("docs/deep/numbers"),
        (1..=100).map(|n| format!("{n}\n")).collect::<String>(),
    )
    .unwrap();
    fs::write(
        root.join("table.csv"),
        "name,qty\nbolt,4\nnut,10\nwasher,7\n",
    )
    .unwrap();
    std::os::unix::fs::symlink("fruits.txt", root.join("link")).unwrap();
    root
}

/// Links to `/bin/busybox` for the applets busybox runs as programs found
/// on `PATH` (`tar -z` runs `gzip`), as `busybox --install -s` makes them;
/// the host has the real programs in its `/bin`.
fn applet_links() -> PathBuf {
    let dir = fresh_dir("applets");
    for applet in ["gzip", "gunzip"] {
        std::os::unix::fs::symlink("/bin/busybox", dir.join(applet)).unwrap();
    }
    dir
}

fn outcome(output: &std::process::Output) -> Outcome {
    use std::os::unix::process::ExitStatusExt;
    Outcome {
        status: output
            .status
            .code()
            .or_else(|| output.status.signal().map(|s| 128 + s)),
        stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
    }
}

/// Runs `script` with busybox sh in a copy of the tree, natively and under
/// Vessel (the tree at `/work`), and checks both agree; returns the output.
fn same_script(script: &str) -> Outcome {
    let native_tree = tree("native-tree");
    let native = Command::new(busybox())
        .args(["sh", "-c", script])
        .current_dir(&native_tree)
        .env_clear()
        .env("PATH", "/bin")
        .output()
        .unwrap();
    let (native, guest) = (outcome(&native), vessel_script(script));
    assert_eq!(guest, native, "script: {script}");
    guest
}

/// Runs `script` with busybox sh under Vessel only, in a copy of the tree
/// at `/work`.
fn vessel_script(script: &str) -> Outcome {
    let guest_tree = tree("guest-tree");
    let volume = format!("{}:/work", guest_tree.display());
    let applets = format!("{}:/bin", applet_links().display());
    let guest = Command::new(env!("CARGO_BIN_EXE_vessel"))
        .args(["run", "--volume", &volume, "--volume", &applets])
        .args(["-e", "PATH=/bin"])
        .arg(busybox())
        .args(["--", "sh", "-c", &format!("cd /work && {script}")])
        .output()
        .unwrap();
    eprintln!("vessel stderr: {}", String::from_utf8_lossy(&guest.stderr));
    outcome(&guest)
}

#[test]
fn busybox_reads_and_lists_the_volume() {
    for script in [
        "cat fruits.txt docs/readme.md",
        "ls; ls -a docs; ls -1 docs/deep",
        "head -n 2 fruits.txt; tail -n 3 docs/deep/numbers",
        "sort fruits.txt | uniq -c",
        "wc -l fruits.txt docs/deep/numbers",
        "cut -d, -f2 table.csv | tail -n +2 | awk '{ s += $1 } END { print s }'",
        "tr a-z A-Z < docs/readme.md",
        "sed -n '/apple/=' fruits.txt",
        "grep -r Rust . | sort",
        "find . | sort",
        "find . -type f -name '*.txt' | sort",
        "stat -c '%n %s %a %F %h' fruits.txt docs/deep/numbers; stat -c '%n %a %F %h' docs",
        "readlink link; cat link; test -L link && echo is a link",
        "md5sum fruits.txt table.csv; sha256sum docs/readme.md",
        "ls no-such-file; echo status $?",
        "cat docs; echo status $?",
        "du -s fruits.txt docs/deep/numbers",
        "cd docs && pwd | sed 's|.*/||' && cd .. && cd deep 2>/dev/null; echo $?",
    ] {
        same_script(script);
    }
}

#[test]
fn busybox_jobs_and_signals() {
    for script in [
        "sleep 5 & kill $!; wait $!; echo $?",
        "trap 'echo got' USR1; kill -USR1 $$; echo after",
        "sleep 1 & sleep 1 & wait; echo done",
        "sleep 30 & sleep 0.1; kill -STOP $!; sleep 0.1; kill -CONT $!; kill -TERM $!; wait $!; echo $?",
        "trap 'echo child ended' CHLD; sleep 0.2 & wait; echo waited",
        "(trap 'echo term in subshell; exit 3' TERM; kill -TERM $(sh -c 'echo $PPID'); sleep 5); echo $?",
        "kill -9 $$; echo not reached",
        "kill -l 15; kill -0 $$ && echo alive; kill -s USR2 999999; echo $?",
    ] {
        same_script(script);
    }
}

#[test]
fn busybox_changes_the_tree() {
    for script in [
        "mkdir -p new/a/b && echo hi > new/a/b/f && cat new/a/b/f && find new | sort",
        "cp -r docs copy && diff -r docs copy && echo same",
        "mv fruits.txt moved.txt && ls && cat moved.txt | wc -l",
        "rm -r docs && ls",
        "ln -s docs/readme.md l2 && cat l2 && ln table.csv hard && stat -c '%h' table.csv",
        "touch empty && stat -c '%s' empty && chmod 640 empty && stat -c '%a' empty",
        "echo one > f; echo two >> f; cat f; : > f; wc -c f",
        "printf 'a\\nb\\n' | xargs -n 1 echo item",
        "ls docs | xargs -I{} echo entry {}",
        "mkdir d && rmdir d && ls d; echo $?",
        "rmdir docs; echo $?",
        "tar cf t.tar docs && mkdir x && cd x && tar xf ../t.tar && find . | sort && diff -r docs ../docs && echo tar ok",
        "gzip -c table.csv > t.gz && gunzip -c t.gz | diff - table.csv && echo gzip ok",
        "tar czf /tmp/a.tgz docs fruits.txt && mkdir y && tar xzf /tmp/a.tgz -C y && md5sum y/fruits.txt y/docs/readme.md | sed 's| .*/| |'",
        "exec 3> out && echo via fd 3 >&3 && exec 3>&- && cat out",
        "echo x > /dev/null && cat /dev/null && head -c 4 /dev/zero | wc -c",
    ] {
        same_script(script);
    }
}

#[test]
fn busybox_makes_and_uses_named_pipes() {
    for script in [
        "mkfifo fifo && stat -c '%F %a %s' fifo && ls -l fifo | cut -c 1 && test -p fifo && echo is a FIFO",
        "mkfifo fifo; cat fifo & echo hi > fifo; wait; echo done",
        "mkfifo fifo; (echo one; echo two) > fifo & while read l; do echo got $l; done < fifo; wait",
        "mknod p p && stat -c %F p && mkfifo p; echo $?",
        "mkfifo f; exec 3<>f; echo kept >&3; read l <&3; echo $l; rm f; ls",
    ] {
        same_script(script);
    }
}

#[test]
fn busybox_reads_proc_as_on_linux() {
    for script in [
        "cat /proc/self/status | grep -c Name",
        "sed -n 1p /proc/self/status | cut -f1; awk '{ print NF }' /proc/self/stat",
        "test -d /proc/self && test -L /proc/self && test -f /proc/meminfo && echo shapes",
        "head -c 14 /proc/version; echo; grep -c '^MemTotal:' /proc/meminfo",
        "wc -w < /proc/loadavg; wc -w < /proc/uptime",
        "stat -c '%F %a' /proc /proc/self/status /proc/self; stat -L -c '%F' /proc/self",
        "ls /proc/self/ | grep -c -e '^cmdline$' -e '^stat$' -e '^status$' -e '^fd$' -e '^exe$'",
        "cd /proc && pwd && cd self/fd && pwd && test -e 0 && echo has 0",
        "mkdir /proc/x; echo $?; rm /proc/meminfo; echo $?; echo x > /proc/meminfo; echo $?",
        "readlink /proc/self/fd/0 > /dev/null && echo fd 0 is a link",
    ] {
        same_script(script);
    }
}

/// Lines of `text` split into whitespace-separated fields.
fn fields(text: &str) -> Vec<Vec<&str>> {
    text.lines()
        .map(|l| l.split_whitespace().collect())
        .collect()
}

#[test]
fn busybox_ps_free_uptime_mount_and_top_see_the_guest() {
    // ps: the shell (pid 1, its command line) and ps, forked by it.
    let out = vessel_script("ps; true");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["PID", "USER", "COMMAND"]
    );
    assert!(
        lines[1].starts_with("    1 0        /bin/busybox sh -c cd /work && ps"),
        "{}",
        out.stdout
    );
    assert!(
        lines[2].starts_with("    2 0        {ps} /bin/busybox sh -c"),
        "{}",
        out.stdout
    );
    let out = vessel_script("ps -o pid,ppid,pgid,stat,comm; true");
    let rows = fields(&out.stdout);
    assert!(
        rows.contains(&vec!["1", "0", "1", "S", "busybox"]),
        "{}",
        out.stdout
    );
    assert!(
        rows.contains(&vec!["2", "1", "1", "R", "ps"]),
        "{}",
        out.stdout
    );

    // free: RAM in KiB, no swap.
    let out = vessel_script("free");
    let rows = fields(&out.stdout);
    assert_eq!(rows[1][0], "Mem:", "{}", out.stdout);
    let total: u64 = rows[1][1].parse().unwrap();
    assert!(total > 16 * 1024, "{}", out.stdout);
    assert_eq!(rows[2], ["Swap:", "0", "0", "0"], "{}", out.stdout);

    let out = vessel_script("uptime");
    assert!(out.stdout.contains(" up "), "{}", out.stdout);
    assert!(
        out.stdout.ends_with("load average: 0.00, 0.00, 0.00\n"),
        "{}",
        out.stdout
    );

    let out = vessel_script("mount");
    assert_eq!(
        out.stdout,
        "tmpfs on / type tmpfs (rw,relatime)\nproc on /proc type proc (rw,relatime)\n"
    );
    let out = vessel_script("top -bn1 | head -4");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert!(
        lines[0].starts_with("Mem: ") && lines[0].contains("K used"),
        "{}",
        out.stdout
    );
    assert!(lines[1].starts_with("CPU: "), "{}", out.stdout);
    assert!(
        lines[2].starts_with("Load average: 0.00 0.00 0.00 "),
        "{}",
        out.stdout
    );
    assert!(lines[3].contains("PID  PPID USER"), "{}", out.stdout);
}

#[test]
fn proc_links_mounts_and_names_under_vessel() {
    let out = vessel_script(
        "readlink /proc/self/exe; readlink /proc/self/cwd; exec 3< fruits.txt; readlink /proc/self/fd/3; ls /proc/self/fd",
    );
    assert_eq!(
        out.stdout,
        "/bin/busybox\n/work\n/work/fruits.txt\n0\n1\n2\n3\n4\n"
    );
    // A second /proc stacks on the first, as on Linux.
    let out = vessel_script(
        "mount -t proc proc /proc; echo $?; mount -t tmpfs tmpfs /tmp; echo $?; \
         mkdir -p /mnt/p && mount -t proc proc /mnt/p && cat /mnt/p/mounts && umount /mnt/p \
         && ls /mnt/p | wc -l; umount / 2>/dev/null; echo $?",
    );
    assert_eq!(
        out.stdout,
        "0\n0\ntmpfs / tmpfs rw,relatime 0 0\nproc /proc proc rw,relatime 0 0\n\
         proc /proc proc rw,relatime 0 0\ntmpfs /tmp tmpfs rw,relatime 0 0\n\
         proc /mnt/p proc rw,relatime 0 0\n0\n1\n"
    );
    let out = vessel_script(
        "echo renamed > /proc/self/comm; cat /proc/$$/comm; grep -c '\\[stack\\]' /proc/self/maps",
    );
    assert_eq!(out.stdout, "renamed\n1\n");
}

/// Mounting a tmpfs (expectations written out: a native run would need
/// root and would mount on the host).
#[test]
fn busybox_mounts_and_unmounts_a_tmpfs_under_vessel() {
    // A new, empty file system over what was there, which comes back
    // unchanged; its own device; names do not cross (mv copies, ln
    // fails); ".." leads out; in use it cannot go.
    let out = vessel_script(
        "mkdir /mnt && echo hidden > /mnt/old && cd /mnt && mount -t tmpfs none /mnt \
         && ls -A /mnt | wc -l && ls && cd / && stat -c '%a %F' /mnt \
         && echo data > /mnt/f && grep /mnt /proc/mounts && stat -f -c %t /mnt \
         && [ $(stat -c %d /mnt/f) = $(stat -c %d /mnt) ] \
         && [ $(stat -c %d /mnt/f) != $(stat -c %d /) ] && echo own device; \
         ln /mnt/f /f 2>&1; mv /mnt/f /f && cat /f && ls -A /mnt | wc -l; \
         cd -P /mnt/.. && pwd && ls -d /mnt/../tmp && cd /mnt && umount /mnt 2>&1; \
         cd / && umount /mnt && cat /mnt/old && grep -c /mnt /proc/mounts",
    );
    assert_eq!(
        out.stdout,
        "0\nold\n1777 directory\nnone /mnt tmpfs rw,relatime 0 0\n1021994\nown device\n\
         ln: /f: Invalid cross-device link\ndata\n0\n/\n/mnt/../tmp\n\
         umount: can't unmount /mnt: Device or resource busy\nhidden\n0\n",
        "{out:?}"
    );
    assert_eq!(out.status, Some(1), "{out:?}"); // grep -c found nothing

    // Options and flags: limits (ENOSPC), the root's mode and owner,
    // noexec, ro; a lazy unmount leaves open files usable; mounts stack;
    // what is not implemented is refused.
    let out = vessel_script(
        "mkdir /mnt && mount -t tmpfs -o size=8k,nr_inodes=3,mode=700,uid=5 tmp /mnt \
         && grep /mnt /proc/mounts && stat -c '%a %u' /mnt && stat -f -c '%b %f %c %d' /mnt; \
         cat /dev/zero > /mnt/big; stat -c %s /mnt/big; touch /mnt/a /mnt/b 2>&1; \
         exec 3< /mnt/big; umount /mnt 2>&1; umount -l /mnt && wc -c <&3 && ls -A /mnt; \
         mount -t tmpfs -o noexec,nosuid none /mnt && grep /mnt /proc/mounts \
         && printf '#!/bin/busybox sh\\necho ran\\n' > /mnt/s && chmod +x /mnt/s; \
         /mnt/s 2>&1; cp /mnt/s /s && /s; umount /mnt; \
         mount -r -t tmpfs none /mnt && touch /mnt/x 2>&1; grep /mnt /proc/mounts; umount /mnt; \
         mount -t tmpfs one /mnt && echo 1 > /mnt/f && mount -t tmpfs two /mnt \
         && ls -A /mnt | wc -l && umount /mnt && cat /mnt/f && umount /mnt && ls -A /mnt; \
         mount -t tmpfs -o bogus none /mnt 2>&1; mount -t tmpfs -o size=1x none /mnt 2>&1; \
         mount -t ext4 none /mnt 2>&1; grep -c /mnt /proc/mounts",
    );
    assert_eq!(
        out.stdout,
        "tmp /mnt tmpfs rw,relatime,size=8k,nr_inodes=3,mode=700,uid=5 0 0\n700 5\n2 2 3 2\n\
         8192\ntouch: /mnt/b: No space left on device\n\
         umount: can't unmount /mnt: Device or resource busy\n8192\n\
         none /mnt tmpfs rw,nosuid,noexec,relatime 0 0\n\
         sh: /mnt/s: Permission denied\nran\n\
         touch: /mnt/x: Read-only file system\nnone /mnt tmpfs ro,relatime 0 0\n\
         0\n1\n\
         mount: mounting none on /mnt failed: Invalid argument\n\
         mount: mounting none on /mnt failed: Invalid argument\n\
         mount: mounting none on /mnt failed: No such device\n0\n",
        "{out:?}"
    );
}

#[test]
fn results_come_back_with_copy_out() {
    let input = tree("copy-in");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join("copy-out");
    let _ = fs::remove_dir_all(&out);
    let single = Path::new(env!("CARGO_TARGET_TMPDIR")).join("copy-out-file");
    let _ = fs::remove_file(&single);
    let output = Command::new(env!("CARGO_BIN_EXE_vessel"))
        .arg("run")
        .args(["--volume", &format!("{}:/in", input.display())])
        .args(["--copy-out", &format!("/out:{}", out.display())])
        .args(["--copy-out", &format!("/in/table.csv:{}", single.display())])
        .arg(busybox())
        .args([
            "--",
            "sh",
            "-c",
            "mkdir -p /out/sub && sort /in/fruits.txt > /out/sorted && echo made > /out/sub/note \
             && ln -s sorted /out/link && echo bolt,99 >> /in/table.csv",
        ])
        .output()
        .unwrap();
    assert_eq!(
        output.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert_eq!(
        fs::read_to_string(out.join("sorted")).unwrap(),
        "apple\napple\nfig\nkiwi\npear\n"
    );
    assert_eq!(fs::read_to_string(out.join("sub/note")).unwrap(), "made\n");
    assert_eq!(
        fs::read_link(out.join("link")).unwrap(),
        Path::new("sorted")
    );
    assert_eq!(
        fs::read_to_string(&single).unwrap(),
        "name,qty\nbolt,4\nnut,10\nwasher,7\nbolt,99\n"
    );
    // The host's copy of the volume is untouched: the guest worked on its
    // own copy, in memory.
    assert!(
        !fs::read_to_string(input.join("table.csv"))
            .unwrap()
            .contains("99")
    );
}

#[test]
fn bad_volume_and_copy_out_arguments_are_refused() {
    for (args, message) in [
        (
            &["--volume", "no-colon"][..],
            "expected HOST_DIR:/GUEST_DIR",
        ),
        (&["--volume", "/tmp:/a/../b"], "without `.` or `..`"),
        (
            &["--copy-out", "relative:/tmp/x"],
            "expected /GUEST_PATH:HOST_PATH",
        ),
        (
            &["--volume", "/definitely/missing:/x"],
            "cannot read /definitely/missing",
        ),
    ] {
        let output = Command::new(env!("CARGO_BIN_EXE_vessel"))
            .arg("run")
            .args(args)
            .arg(busybox())
            .arg("true")
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(125), "{args:?}: {stderr}");
        assert!(stderr.contains(message), "{args:?}: {stderr}");
    }
}
