//! The leaf of the transform: pixels in memory and the ways a transform fails.
//! Every codec and every geometry step speaks these types, and imports nothing else.

/// Why an image could not be transformed.
#[derive(Debug, thiserror::Error)]
pub enum TransformError {
    #[error("image is {width}x{height} ({mp} MP), over limits.max_megapixels ({limit} MP)")]
    TooLarge {
        width: u32,
        height: u32,
        mp: u64,
        limit: u64,
    },
    #[error("cannot decode {format}: {message}")]
    Decode {
        format: &'static str,
        message: String,
    },
    #[error("cannot resize: {0}")]
    Resize(String),
    #[error("cannot encode {format}: {message}")]
    Encode {
        format: &'static str,
        message: String,
    },
}

/// Pixels in memory: 3 (RGB) or 4 (RGBA) bytes each, rows packed.
pub struct Pixels {
    pub width: u32,
    pub height: u32,
    pub channels: u8,
    pub data: Vec<u8>,
}
