//! What a test reads back: every image the host stored ([`StoredImage`]) and every request it saw
//! ([`RequestLog`]), with how it was answered.

/// One upload that the server stored.
#[derive(Clone, Debug)]
pub struct StoredImage {
    /// Public id, as in `/image/<id_encoded>`.
    pub id_encoded: String,
    /// md5 of the file as stored (after the server's processing), i.e. `image.md5` in the answer.
    pub md5: String,
    /// md5 of the bytes exactly as received.
    pub sent_md5: String,
    /// md5 before a server-side resize (`image.source_md5`); `None` without a resize.
    pub source_md5: Option<String>,
    /// The bytes exactly as received (for a URL source: the placeholder PNG).
    pub bytes: Vec<u8>,
    /// The file name as the server saw it (multipart `filename`, path stripped, not percent-decoded).
    pub original_filename: String,
    /// The name the host stored the file under: the original's ASCII letters and digits,
    /// `-.jpg` when it has none.
    pub stored_name: String,
    /// MIME type as stored (from the bytes, not from the part header; BMP is stored as PNG).
    pub mime: String,
    /// Extension as stored (`jpg`, `png`, `mp4`, ...).
    pub extension: String,
    /// The `title` field as the server kept it (dropped if empty or "0", cut to 100 chars).
    pub title: Option<String>,
    /// The `description` field as the server kept it.
    pub description: Option<String>,
    /// The title the image ends up with (`image.title`): the field, else IPTC ObjectName of a JPEG
    /// (non-ASCII removed), else the file name without extension with `-`/`_` runs made spaces.
    pub effective_title: String,
    /// The description the image ends up with: the field, else EXIF ImageDescription (non-ASCII removed).
    pub effective_description: Option<String>,
    /// Tags kept after trimming, deduping and the silent drops.
    pub tags: Vec<String>,
    /// Album id, only if the key owns that album (see [`Server::add_album`]).
    pub album_id: Option<String>,
    /// `category_id` as sent (not validated).
    pub category_id: Option<String>,
    /// `nsfw=1`.
    pub nsfw: bool,
    /// Expiration in seconds after clamping; 0 when no expiration was asked.
    pub expiration_secs: u64,
    /// Stored width and height (after a resize); 0 when unknown (AVIF, video).
    pub width: u32,
    pub height: u32,
    /// The file part had a `video/*` content type.
    pub is_video: bool,
    /// The URL for a URL source.
    pub source_url: Option<String>,
    /// `image.url` as answered.
    pub url: String,
    /// `image.delete_url` as answered.
    pub delete_url: String,
    /// Deleted through its `delete_url` since.
    pub deleted: bool,
    /// Upload time, Unix seconds (`image.date_gmt`; `expiration_date_gmt` counts from it).
    pub uploaded_at: u64,
}

/// A multipart file part as received (content not kept here; see [`StoredImage::bytes`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FilePartLog {
    pub name: String,
    pub filename: String,
    pub content_type: Option<String>,
    pub len: usize,
    /// The raw `Content-Disposition` header of the part, to check how the client encoded names.
    pub content_disposition: String,
}

/// One HTTP request as the server saw it, with how it was answered.
#[derive(Clone, Debug)]
pub struct RequestLog {
    pub method: String,
    /// Path without the query string.
    pub path: String,
    /// Query string without `?`, if the target had one.
    pub query: Option<String>,
    /// Headers, names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// Text form fields (multipart text parts, url-encoded body, and for GET the query), in order.
    pub fields: Vec<(String, String)>,
    /// Multipart file parts (parts with a `filename` parameter).
    pub files: Vec<FilePartLog>,
    /// Body length as read (for `ResetMidBody`: the part read before the reset).
    pub body_len: usize,
    /// HTTP status answered; `None` when nothing was answered (reset, hang, lost answer).
    pub status: Option<u16>,
    /// Chevereto error code, whatever the format (also for txt/redirect, where no JSON is sent).
    pub error_code: Option<u32>,
    /// Chevereto error message.
    pub error_message: Option<String>,
    /// `id_encoded` of the image stored by this request.
    pub stored_id: Option<String>,
}

impl RequestLog {
    /// First header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Last text field with this name (PHP keeps the last one too).
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Whether this is an upload call (`POST /api/1/upload`, no query).
    pub fn is_upload(&self) -> bool {
        self.method == "POST" && self.path == "/api/1/upload" && self.query.is_none()
    }
}
