use std::os::unix::fs::PermissionsExt as _;

use super::*;

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0";

#[test]
fn kinds_follow_the_mime_type() {
    assert_eq!(kind_of("image/png"), "image");
    assert_eq!(kind_of("Video/MP4"), "video");
    assert_eq!(kind_of("application/pdf"), "file");
    assert_eq!(kind_of(""), "file");
}

#[test]
fn keys_are_32_hex_characters_and_compare_exactly() {
    let k = new_access_key();
    assert_eq!(k.len(), 32);
    assert!(k.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_ne!(k, new_access_key());
    assert!(key_matches(&k, &k));
    assert!(!key_matches(&k[..31], &k));
    assert!(!key_matches("", &k));
}

#[test]
fn sniffing_believes_the_bytes_and_never_serves_markup() {
    let png = sniff(PNG);
    assert_eq!(
        (png.content_type.as_str(), png.image),
        ("image/png", Some("image/png"))
    );
    let html = sniff(b"<!DOCTYPE html><html><script>alert(1)</script></html>");
    assert_eq!(html.content_type, "text/plain;charset=utf-8");
    assert!(html.text);
    let svg = sniff(b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"></svg>");
    assert_eq!(svg.content_type, "text/plain;charset=utf-8");
    assert_eq!(svg.image, None);
    let pdf = sniff(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n");
    assert_eq!(
        (pdf.content_type.as_str(), pdf.text),
        ("application/pdf", false)
    );
    let unknown = sniff(b"\x00\x01\x02\x03");
    assert_eq!(unknown.content_type, "application/octet-stream");
    assert!(sniff("grüße\n".as_bytes()).text);
}

#[test]
fn disposition_is_inline_only_for_images_and_text_and_quotes_nothing_raw() {
    assert_eq!(
        disposition("image/png", "shot.png"),
        "inline; filename=\"shot.png\"; filename*=UTF-8''shot.png"
    );
    let d = disposition("application/pdf", "a\"b\r\n;ü.pdf");
    assert_eq!(
        d,
        "attachment; filename=\"a_b____.pdf\"; filename*=UTF-8''a%22b%0D%0A%3B%C3%BC.pdf"
    );
}

#[test]
fn ids_that_are_not_ours_name_no_path() {
    let files = AttachmentFiles::new(Path::new("/data"));
    for bad in ["", "..", "../x", "a/b", "att_1/..", "a b", "a\0b"] {
        assert!(files.path("s", bad).is_none(), "{bad:?}");
    }
    let p = files.path("../../etc", "att_1").unwrap();
    assert!(p.starts_with("/data/attachments/"), "{p:?}");
    assert_eq!(
        p.components().count(),
        "/data/attachments/x/att_1".split('/').count()
    );
}

#[tokio::test]
async fn an_accepted_upload_is_private_and_goes_with_its_session() {
    let dir = tempfile::tempdir().unwrap();
    let files = AttachmentFiles::new(dir.path());
    let mut up = files.receive("s1").await.unwrap();
    up.write(PNG).await.unwrap();
    up.write(b"rest").await.unwrap();
    assert_eq!(up.size(), PNG.len() as u64 + 4);
    assert_eq!(sniff(up.head()).image, Some("image/png"));
    let path = files.path("s1", "att_1").unwrap();
    up.keep(path.clone()).await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap().len(), PNG.len() + 4);
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&path), 0o600);
    assert_eq!(mode(path.parent().unwrap()), 0o700);
    assert_eq!(mode(dir.path().join("attachments").as_path()), 0o700);

    // A dropped upload leaves nothing behind.
    let mut dropped = files.receive("s1").await.unwrap();
    dropped.write(b"x").await.unwrap();
    drop(dropped);
    assert_eq!(
        std::fs::read_dir(path.parent().unwrap()).unwrap().count(),
        1
    );

    files.remove_session("s1").await.unwrap();
    assert!(!path.exists());
    files.remove_session("s1").await.unwrap();
}

#[tokio::test]
async fn the_sweep_removes_orphaned_folders_and_unfinished_uploads_only() {
    let dir = tempfile::tempdir().unwrap();
    let files = AttachmentFiles::new(dir.path());
    for sid in ["kept", "gone"] {
        let mut up = files.receive(sid).await.unwrap();
        up.write(b"x").await.unwrap();
        up.keep(files.path(sid, "att_1").unwrap()).await.unwrap();
    }
    let unfinished = files.receive("kept").await.unwrap();
    std::mem::forget(unfinished);
    assert_eq!(files.sweep(&["kept".to_owned()]).await.unwrap(), 2);
    assert!(files.path("kept", "att_1").unwrap().exists());
    assert!(!files.path("gone", "att_1").unwrap().exists());
    let left = std::fs::read_dir(files.path("kept", "att_1").unwrap().parent().unwrap())
        .unwrap()
        .count();
    assert_eq!(left, 1);
}
