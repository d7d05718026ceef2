//! Unit tests of the path guard: every way out of the workspace, system folders, secrets.

use super::*;
use std::os::unix::fs::symlink;

fn setup() -> (tempfile::TempDir, PathBuf, WorkspaceRoots) {
    let dir = tempfile::tempdir().unwrap();
    let base = resolve(dir.path());
    let ws = base.join("ws");
    fs::create_dir_all(ws.join("src")).unwrap();
    fs::create_dir_all(base.join("ws-sibling")).unwrap();
    fs::create_dir_all(base.join("outside")).unwrap();
    let roots = WorkspaceRoots::new(&ws, &[] as &[PathBuf]);
    (dir, base, roots)
}

#[test]
fn a_relative_path_lands_in_the_workspace() {
    let (_d, base, roots) = setup();
    let at = locate("src/main.rs", roots.primary(), &roots);
    assert_eq!(at.real, base.join("ws/src/main.rs"));
    assert!(at.inside);
}

#[test]
fn dot_dot_out_of_the_workspace_is_outside() {
    let (_d, base, roots) = setup();
    let at = locate("src/../../outside/x", roots.primary(), &roots);
    assert_eq!(at.real, base.join("outside/x"));
    assert!(!at.inside);
}

#[test]
fn an_absolute_path_elsewhere_is_outside() {
    let (_d, base, roots) = setup();
    let given = base.join("outside/secret.txt");
    let at = locate(given.to_str().unwrap(), roots.primary(), &roots);
    assert!(!at.inside);
}

#[test]
fn a_sibling_with_the_workspace_name_as_prefix_is_outside() {
    let (_d, base, roots) = setup();
    let given = base.join("ws-sibling/x");
    assert!(!locate(given.to_str().unwrap(), roots.primary(), &roots).inside);
}

#[test]
fn a_symlink_inside_that_points_out_is_outside() {
    let (_d, base, roots) = setup();
    symlink(base.join("outside"), base.join("ws/link")).unwrap();
    let at = locate("link/file.txt", roots.primary(), &roots);
    assert_eq!(at.real, base.join("outside/file.txt"));
    assert!(!at.inside);
}

#[test]
fn a_new_file_under_a_symlinked_dir_is_judged_by_the_link_target() {
    let (_d, base, roots) = setup();
    symlink(base.join("outside"), base.join("ws/out")).unwrap();
    let at = locate("out/not/yet/there.txt", roots.primary(), &roots);
    assert_eq!(at.real, base.join("outside/not/yet/there.txt"));
    assert!(!at.inside);
}

#[test]
fn a_dangling_symlink_is_judged_by_where_it_would_write() {
    let (_d, base, roots) = setup();
    symlink(base.join("outside/new.txt"), base.join("ws/dangling")).unwrap();
    let at = locate("dangling", roots.primary(), &roots);
    assert_eq!(at.real, base.join("outside/new.txt"));
    assert!(!at.inside);
}

#[test]
fn dot_dot_after_a_symlink_follows_the_real_parent() {
    let (_d, base, roots) = setup();
    fs::create_dir_all(base.join("outside/deep")).unwrap();
    symlink(base.join("outside/deep"), base.join("ws/deep")).unwrap();
    let at = locate("deep/../x", roots.primary(), &roots);
    assert_eq!(at.real, base.join("outside/x"));
    assert!(!at.inside);
}

#[test]
fn a_symlink_that_stays_inside_is_inside() {
    let (_d, base, roots) = setup();
    symlink(base.join("ws/src"), base.join("ws/alias")).unwrap();
    let at = locate("alias/lib.rs", roots.primary(), &roots);
    assert_eq!(at.real, base.join("ws/src/lib.rs"));
    assert!(at.inside);
}

#[test]
fn a_symlink_loop_does_not_hang() {
    let (_d, base, roots) = setup();
    symlink(base.join("ws/b"), base.join("ws/a")).unwrap();
    symlink(base.join("ws/a"), base.join("ws/b")).unwrap();
    let at = locate("a/x", roots.primary(), &roots);
    assert!(at.real.starts_with(&base));
}

#[test]
fn additional_paths_count_as_inside() {
    let (_d, base, _) = setup();
    let roots = WorkspaceRoots::new(base.join("ws"), &[base.join("outside")]);
    let given = base.join("outside/x");
    assert!(locate(given.to_str().unwrap(), roots.primary(), &roots).inside);
}

#[test]
fn system_directories_are_flagged_unless_inside_the_workspace() {
    let (_d, _, roots) = setup();
    assert!(locate("/etc/passwd", roots.primary(), &roots).system);
    assert!(locate("/usr/../etc/hosts", roots.primary(), &roots).system);
    assert!(!locate("/etcetera/x", roots.primary(), &roots).system);
    let root_ws = WorkspaceRoots::new("/root/project", &[] as &[PathBuf]);
    assert!(!locate("/root/project/a", root_ws.primary(), &root_ws).system);
    assert!(locate("/root/.bashrc", root_ws.primary(), &root_ws).system);
}

#[test]
fn sensitive_names_are_flagged_from_the_given_text_or_the_link_target() {
    let (_d, base, roots) = setup();
    assert!(locate(".env", roots.primary(), &roots).sensitive);
    assert!(locate("config/Credentials.json", roots.primary(), &roots).sensitive);
    assert!(!locate("src/main.rs", roots.primary(), &roots).sensitive);
    fs::write(base.join("ws/.env"), "K=v").unwrap();
    symlink(base.join("ws/.env"), base.join("ws/notes.txt")).unwrap();
    assert!(locate("notes.txt", roots.primary(), &roots).sensitive);
}

#[test]
fn tilde_is_the_home_folder() {
    let (_d, _, roots) = setup();
    let home = std::env::home_dir().unwrap();
    assert_eq!(
        locate("~/x", roots.primary(), &roots).lexical,
        expand("x", &home)
    );
}

#[test]
fn a_workspace_whose_own_path_looks_secret_does_not_make_every_file_sensitive() {
    let dir = tempfile::tempdir().unwrap();
    let ws = resolve(dir.path()).join("password-manager");
    fs::create_dir_all(&ws).unwrap();
    let roots = WorkspaceRoots::new(&ws, &[] as &[PathBuf]);
    assert!(!locate("src/main.rs", roots.primary(), &roots).sensitive);
    assert!(locate("src/.env", roots.primary(), &roots).sensitive);
    assert!(locate("/home/u/.ssh", roots.primary(), &roots).sensitive);
}
