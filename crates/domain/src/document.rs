//! Documents (D9, DATA.md §3.11, API.md §3.9): the entity, its filters, and the pure rules of
//! an upload — filename sanitising, the extension / declared type / content signature
//! allow-list.

use crate::clock::Timestamp;
use crate::ids::UserId;
use crate::intervention::InterventionId;

pub use crate::ids::DocumentId;

/// The only encryption-at-rest marker (`Chiffrement`, DATA.md §1).
pub const CHIFFREMENT_FERNET: &str = "fernet";
/// Longest sanitised file name, in characters.
pub const MAX_FILENAME_CHARS: usize = 200;
/// Longest description, in characters.
pub const MAX_DESCRIPTION_CHARS: usize = 1000;
/// How many leading bytes the signature check needs.
pub const SIGNATURE_BYTES: usize = 12;

/// A stored document (its blob lives in the document vault under `nom_stockage`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    /// Id.
    pub id: DocumentId,
    /// The intervention it belongs to.
    pub intervention_id: InterventionId,
    /// Sanitised original name (JSON `filename`).
    pub nom_fichier: String,
    /// Lowercase extension from the allow-list.
    pub extension: String,
    /// Canonical type of the extension.
    pub mime_type: String,
    /// Plaintext size in bytes (> 0).
    pub taille: i64,
    /// Lowercase hex SHA-256 of the plaintext.
    pub sha256: String,
    /// Random `<32 hex>.enc` name in the blob store.
    pub nom_stockage: String,
    /// Id of the Fernet key that encrypted the blob.
    pub cle_id: String,
    /// ≤ 1000 characters.
    pub description: Option<String>,
    /// Who uploaded it.
    pub uploaded_by_id: Option<UserId>,
    /// Upload time.
    pub date_upload: Timestamp,
}

/// A document to insert: every field but the id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDocument {
    /// The intervention.
    pub intervention_id: InterventionId,
    /// Sanitised name.
    pub nom_fichier: String,
    /// Extension.
    pub extension: String,
    /// Canonical type.
    pub mime_type: String,
    /// Plaintext size.
    pub taille: i64,
    /// Plaintext SHA-256 (hex).
    pub sha256: String,
    /// Blob name.
    pub nom_stockage: String,
    /// Encrypting key id.
    pub cle_id: String,
    /// Description.
    pub description: Option<String>,
    /// Uploader.
    pub uploaded_by_id: Option<UserId>,
    /// Upload time.
    pub date_upload: Timestamp,
}

/// Filters of `GET /documents` (and the per-intervention lists). Ids ≤ 0 match nothing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocumentFilter {
    /// `intervention_id`.
    pub intervention_id: Option<i64>,
    /// `uploaded_by_id`.
    pub uploaded_by_id: Option<i64>,
    /// `mime_type`, exact (lowercased).
    pub mime_type: Option<String>,
}

/// Sanitises a client-supplied file name (API.md §3.9): keep the part after the last `/` or
/// `\`; drop control characters and `<>:"|?*`; trim spaces and dots at both ends; shorten to
/// 200 characters keeping the extension.
#[must_use]
pub fn sanitize_filename(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && !matches!(c, '<' | '>' | ':' | '"' | '|' | '?' | '*'))
        .collect();
    let trimmed = cleaned.trim_matches(|c: char| c == ' ' || c == '.' || c.is_whitespace());
    let len = trimmed.chars().count();
    if len <= MAX_FILENAME_CHARS {
        return trimmed.to_owned();
    }
    match trimmed.rfind('.') {
        Some(dot) if dot > 0 && trimmed[dot..].chars().count() < MAX_FILENAME_CHARS => {
            let ext = &trimmed[dot..];
            let keep = MAX_FILENAME_CHARS - ext.chars().count();
            let stem: String = trimmed[..dot].chars().take(keep).collect();
            format!("{}{ext}", stem.trim_end_matches([' ', '.']))
        }
        _ => trimmed.chars().take(MAX_FILENAME_CHARS).collect(),
    }
}

/// The extension of a sanitised name: the text after the last `.`, lowercased. `None` when
/// there is no dot, nothing after it, or the name starts with its only dot (`.env`).
#[must_use]
pub fn extension_of(name: &str) -> Option<String> {
    let dot = name.rfind('.')?;
    if dot == 0 {
        return None;
    }
    let ext = &name[dot + 1..];
    (!ext.is_empty()).then(|| ext.to_lowercase())
}

/// How a file type's content must start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signature {
    /// No check (text formats).
    None,
    /// Starts with one of these byte strings.
    Prefix(&'static [&'static [u8]]),
    /// `RIFF` + 4 size bytes + `WEBP`.
    Webp,
}

impl Signature {
    /// Whether `head` (the first bytes of the content) carries the signature.
    #[must_use]
    pub fn matches(self, head: &[u8]) -> bool {
        match self {
            Self::None => true,
            Self::Prefix(options) => options.iter().any(|p| head.starts_with(p)),
            Self::Webp => head.len() >= 12 && head.starts_with(b"RIFF") && &head[8..12] == b"WEBP",
        }
    }
}

/// One allowed file type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileType {
    /// Lowercase extension.
    pub extension: &'static str,
    /// Canonical type, the stored `mime_type`.
    pub canonical: &'static str,
    /// Declared types accepted besides the canonical one.
    pub synonyms: &'static [&'static str],
    /// Content signature.
    pub signature: Signature,
}

const OLE: Signature = Signature::Prefix(&[b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1"]);
const ZIP: Signature = Signature::Prefix(&[b"PK\x03\x04"]);

/// The default allow-list of API.md §3.9.
pub const DEFAULT_FILE_TYPES: [FileType; 14] = [
    FileType {
        extension: "pdf",
        canonical: "application/pdf",
        synonyms: &[],
        signature: Signature::Prefix(&[b"%PDF-"]),
    },
    FileType {
        extension: "png",
        canonical: "image/png",
        synonyms: &[],
        signature: Signature::Prefix(&[b"\x89PNG\r\n\x1A\n"]),
    },
    FileType {
        extension: "jpg",
        canonical: "image/jpeg",
        synonyms: &["image/jpg", "image/pjpeg"],
        signature: Signature::Prefix(&[b"\xFF\xD8\xFF"]),
    },
    FileType {
        extension: "jpeg",
        canonical: "image/jpeg",
        synonyms: &["image/jpg", "image/pjpeg"],
        signature: Signature::Prefix(&[b"\xFF\xD8\xFF"]),
    },
    FileType {
        extension: "gif",
        canonical: "image/gif",
        synonyms: &[],
        signature: Signature::Prefix(&[b"GIF87a", b"GIF89a"]),
    },
    FileType {
        extension: "webp",
        canonical: "image/webp",
        synonyms: &[],
        signature: Signature::Webp,
    },
    FileType {
        extension: "txt",
        canonical: "text/plain",
        synonyms: &[],
        signature: Signature::None,
    },
    FileType {
        extension: "csv",
        canonical: "text/csv",
        synonyms: &["application/csv", "text/x-csv", "application/vnd.ms-excel"],
        signature: Signature::None,
    },
    FileType {
        extension: "doc",
        canonical: "application/msword",
        synonyms: &[],
        signature: OLE,
    },
    FileType {
        extension: "xls",
        canonical: "application/vnd.ms-excel",
        synonyms: &[],
        signature: OLE,
    },
    FileType {
        extension: "docx",
        canonical: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
        synonyms: &[],
        signature: ZIP,
    },
    FileType {
        extension: "xlsx",
        canonical: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        synonyms: &[],
        signature: ZIP,
    },
    FileType {
        extension: "odt",
        canonical: "application/vnd.oasis.opendocument.text",
        synonyms: &[],
        signature: ZIP,
    },
    FileType {
        extension: "ods",
        canonical: "application/vnd.oasis.opendocument.spreadsheet",
        synonyms: &[],
        signature: ZIP,
    },
];

/// The configured allow-list: the default table, or a subset of its extensions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AllowList {
    types: Vec<FileType>,
}

impl Default for AllowList {
    fn default() -> Self {
        Self {
            types: DEFAULT_FILE_TYPES.to_vec(),
        }
    }
}

impl AllowList {
    /// Only the listed extensions (case-insensitive) of the default table.
    ///
    /// # Errors
    /// The first extension the default table does not know (no type or signature for it).
    pub fn only(extensions: &[String]) -> Result<Self, String> {
        let mut types = Vec::new();
        for e in extensions {
            let wanted = e.trim().trim_start_matches('.').to_lowercase();
            let t = DEFAULT_FILE_TYPES
                .iter()
                .find(|t| t.extension == wanted)
                .ok_or_else(|| e.clone())?;
            if !types.contains(t) {
                types.push(*t);
            }
        }
        Ok(Self { types })
    }

    /// The type of an extension, if allowed.
    #[must_use]
    pub fn find(&self, extension: &str) -> Option<&FileType> {
        self.types.iter().find(|t| t.extension == extension)
    }

    /// The allowed extensions, in table order.
    #[must_use]
    pub fn extensions(&self) -> Vec<&'static str> {
        self.types.iter().map(|t| t.extension).collect()
    }
}

impl FileType {
    /// Whether the part's declared `Content-Type` is acceptable: absent, empty,
    /// `application/octet-stream`, the canonical type or a synonym (parameters ignored).
    #[must_use]
    pub fn accepts_declared(&self, declared: Option<&str>) -> bool {
        let Some(declared) = declared else {
            return true;
        };
        let essence = declared
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        essence.is_empty()
            || essence == "application/octet-stream"
            || essence == self.canonical
            || self.synonyms.contains(&essence.as_str())
    }
}

/// Why an uploaded file is refused, in the order of API.md §3.9.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileRefusal {
    /// 400 "Le fichier doit avoir une extension valide".
    NoExtension,
    /// 415 "Type de fichier non autorisé" (extension, declared type or signature).
    TypeNotAllowed,
    /// 422 "Le fichier est vide".
    Empty,
}

/// What an accepted file is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AcceptedFile {
    /// Sanitised name.
    pub nom_fichier: String,
    /// Lowercase extension.
    pub extension: String,
    /// Canonical type.
    pub mime_type: &'static str,
}

/// Checks a received file: name (already sanitised by the caller or not), declared type, size
/// and first bytes.
///
/// # Errors
/// The first [`FileRefusal`] in contract order; an empty file of an allowed type is `Empty`
/// (its signature cannot be checked).
pub fn check_file(
    allow: &AllowList,
    raw_name: &str,
    declared: Option<&str>,
    size: u64,
    head: &[u8],
) -> Result<AcceptedFile, FileRefusal> {
    let nom_fichier = sanitize_filename(raw_name);
    let extension = extension_of(&nom_fichier).ok_or(FileRefusal::NoExtension)?;
    let t = allow.find(&extension).ok_or(FileRefusal::TypeNotAllowed)?;
    if !t.accepts_declared(declared) {
        return Err(FileRefusal::TypeNotAllowed);
    }
    if size == 0 {
        return Err(FileRefusal::Empty);
    }
    if !t.signature.matches(head) {
        return Err(FileRefusal::TypeNotAllowed);
    }
    Ok(AcceptedFile {
        nom_fichier,
        extension,
        mime_type: t.canonical,
    })
}

/// Whether `name` is a blob name the vault could have produced: 32 lowercase hex + `.enc`.
#[must_use]
pub fn is_blob_name(name: &str) -> bool {
    name.strip_suffix(".enc").is_some_and(|stem| {
        stem.len() == 32
            && stem
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filenames_are_sanitised_as_the_contract_says() {
        let cases = [
            ("rapport.pdf", "rapport.pdf"),
            ("C:\\Users\\x\\rapport final.pdf", "rapport final.pdf"),
            ("../../etc/passwd.txt", "passwd.txt"),
            ("a<b>c:d\"e|f?g*h.png", "abcdefgh.png"),
            ("  ..photo.jpg.. ", "photo.jpg"),
            ("tab\there\u{0}.txt", "tabhere.txt"),
            ("dir/", ""),
            ("Équipe été.PDF", "Équipe été.PDF"),
        ];
        for (raw, expected) in cases {
            assert_eq!(sanitize_filename(raw), expected, "{raw:?}");
        }
    }

    #[test]
    fn long_names_are_shortened_keeping_the_extension() {
        let long = format!("{}.pdf", "é".repeat(300));
        let s = sanitize_filename(&long);
        assert_eq!(s.chars().count(), MAX_FILENAME_CHARS);
        assert!(s.ends_with(".pdf"));
        let no_ext = "x".repeat(250);
        assert_eq!(
            sanitize_filename(&no_ext).chars().count(),
            MAX_FILENAME_CHARS
        );
    }

    #[test]
    fn extensions_are_the_lowercased_text_after_the_last_dot() {
        let cases = [
            ("a.PDF", Some("pdf")),
            ("archive.tar.gz", Some("gz")),
            ("noext", None),
            (".env", None),
            ("", None),
            ("x.", None),
        ];
        for (name, expected) in cases {
            assert_eq!(extension_of(name).as_deref(), expected, "{name:?}");
        }
    }

    #[test]
    fn every_default_type_checks_declared_type_and_signature() {
        let allow = AllowList::default();
        let pdf = b"%PDF-1.7\n";
        let png = b"\x89PNG\r\n\x1A\n....";
        let jpg = b"\xFF\xD8\xFF\xE0";
        let webp = b"RIFF\x10\x00\x00\x00WEBPVP8 ";
        let ole = b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1";
        let zip = b"PK\x03\x04rest";
        type Case<'a> = (
            &'a str,
            Option<&'a str>,
            &'a [u8],
            Result<&'a str, FileRefusal>,
        );
        let cases: [Case<'_>; 22] = [
            ("a.pdf", Some("application/pdf"), pdf, Ok("application/pdf")),
            ("a.pdf", None, pdf, Ok("application/pdf")),
            (
                "a.pdf",
                Some("application/octet-stream"),
                pdf,
                Ok("application/pdf"),
            ),
            (
                "a.pdf",
                Some("image/png"),
                pdf,
                Err(FileRefusal::TypeNotAllowed),
            ),
            (
                "a.pdf",
                Some("application/pdf"),
                png,
                Err(FileRefusal::TypeNotAllowed),
            ),
            ("a.png", Some("image/png"), png, Ok("image/png")),
            ("a.JPG", Some("image/pjpeg"), jpg, Ok("image/jpeg")),
            ("a.jpeg", Some("IMAGE/JPG; q=1"), jpg, Ok("image/jpeg")),
            ("a.gif", None, b"GIF89a..", Ok("image/gif")),
            ("a.gif", None, b"GIF88a..", Err(FileRefusal::TypeNotAllowed)),
            ("a.webp", None, webp, Ok("image/webp")),
            (
                "a.webp",
                None,
                b"RIFF\x10\x00\x00\x00WAVE",
                Err(FileRefusal::TypeNotAllowed),
            ),
            (
                "a.txt",
                Some("text/plain; charset=utf-8"),
                b"hello",
                Ok("text/plain"),
            ),
            (
                "a.csv",
                Some("application/vnd.ms-excel"),
                b"a;b",
                Ok("text/csv"),
            ),
            ("a.doc", None, ole, Ok("application/msword")),
            ("a.xls", None, ole, Ok("application/vnd.ms-excel")),
            ("a.docx", None, zip, Ok(DEFAULT_FILE_TYPES[10].canonical)),
            (
                "a.ods",
                None,
                zip,
                Ok("application/vnd.oasis.opendocument.spreadsheet"),
            ),
            ("a.exe", None, b"MZ", Err(FileRefusal::TypeNotAllowed)),
            ("noext", None, b"x", Err(FileRefusal::NoExtension)),
            ("a.txt", None, b"", Err(FileRefusal::Empty)),
            ("a.pdf", None, b"", Err(FileRefusal::Empty)),
        ];
        for (name, declared, head, expected) in cases {
            let got =
                check_file(&allow, name, declared, head.len() as u64, head).map(|a| a.mime_type);
            assert_eq!(got, expected, "{name} {declared:?}");
        }
    }

    #[test]
    fn the_allow_list_can_be_restricted_to_known_extensions() {
        let only = AllowList::only(&["PDF".into(), ".txt".into()]).unwrap();
        assert_eq!(only.extensions(), vec!["pdf", "txt"]);
        assert!(only.find("png").is_none());
        assert_eq!(AllowList::only(&["exe".into()]), Err("exe".into()));
    }

    #[test]
    fn blob_names_are_32_hex_and_enc() {
        assert!(is_blob_name("0123456789abcdef0123456789abcdef.enc"));
        assert!(!is_blob_name("0123456789abcdef0123456789abcdeF.enc"));
        assert!(!is_blob_name("../0123456789abcdef0123456789abcd.enc"));
        assert!(!is_blob_name("0123456789abcdef0123456789abcdef.tmp"));
    }
}
