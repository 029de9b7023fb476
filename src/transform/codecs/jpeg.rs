//! JPEG through libjpeg-turbo (the `mozjpeg` crate, with its SIMD code when
//! `nasm` was there at build time): decoding shrunk by any n/8 in the DCT domain,
//! and encoding with the EXIF and ICC profile given.
//!
//! One codec on purpose: the pure-Rust decoder it replaced was about as fast as
//! libjpeg-turbo's plain C code and 1.6× slower than its SIMD code, so keeping both
//! would only double the paths to test.

use std::panic::{AssertUnwindSafe, catch_unwind};

use mozjpeg::{ColorSpace, Compress, Decompress, Marker};

use super::Extras;
use super::{DecodeRequest, Decoder};
use crate::media::{Codec, jpeg_scan_offset};
use crate::transform::pixels::{Pixels, TransformError};

/// Whether libjpeg-turbo was built with its SIMD code (found by `build.rs`).
pub const SIMD: bool = matches!(env!("PIXPIPE_JPEG_SIMD").as_bytes(), b"on");

fn decode_error(message: impl Into<String>) -> TransformError {
    TransformError::Decode {
        format: "jpeg",
        message: message.into(),
    }
}

fn encode_error(message: impl Into<String>) -> TransformError {
    TransformError::Encode {
        format: "jpeg",
        message: message.into(),
    }
}

/// What libjpeg said when it gave up.
struct LibjpegError(String);

/// libjpeg reports errors by unwinding; this turns them back into values.
fn guarded<T>(f: impl FnOnce() -> std::io::Result<T>) -> Result<T, LibjpegError> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(LibjpegError(e.to_string())),
        Err(panic) => Err(LibjpegError(
            panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_else(|| "libjpeg error".into()),
        )),
    }
}

/// Whether an end-of-image marker follows the first scan. Entropy-coded data cannot
/// contain 0xFF 0xD9 (0xFF is always stuffed), so its absence means the file was cut.
/// The search runs from the end, where the marker is, instead of over megabytes of scan.
pub fn is_complete(bytes: &[u8]) -> bool {
    let Some(sos) = jpeg_scan_offset(bytes) else {
        return false;
    };
    bytes[sos..].windows(2).rev().any(|w| w == [0xFF, 0xD9])
}

/// JPEG, shrunk in the DCT domain while decoding.
pub struct Jpeg;

impl Decoder for Jpeg {
    fn reads(&self, codec: Codec) -> bool {
        codec == Codec::Libjpeg
    }

    fn decode(
        &self,
        bytes: &[u8],
        _: Codec,
        req: &DecodeRequest,
    ) -> Result<Pixels, TransformError> {
        decode(bytes, req.want_width, req.want_height, req.scaled)
    }
}

/// The smallest n in 1..=8 such that scaling by n/8 keeps at least `want` pixels.
fn scale_numerator(have: u32, want: u32) -> u8 {
    (1..=8u8)
        .find(|n| (u64::from(have) * u64::from(*n)).div_ceil(8) >= u64::from(want))
        .unwrap_or(8)
}

/// Decodes to RGB, shrinking in the DCT domain (when `scaled`) to the smallest size
/// that is still at least `want_w`×`want_h`. The caller has checked the pixel budget
/// against the header's size.
pub fn decode(
    bytes: &[u8],
    want_w: u32,
    want_h: u32,
    scaled: bool,
) -> Result<Pixels, TransformError> {
    if !is_complete(bytes) {
        // Decoders paint the missing part grey; a half-grey photo must not be published.
        return Err(decode_error(
            "truncated file: the image data ends before its end marker",
        ));
    }
    let result = guarded(|| {
        let mut d = Decompress::new_mem(bytes)?;
        let cmyk = matches!(d.color_space(), ColorSpace::JCS_CMYK | ColorSpace::JCS_YCCK);
        if scaled {
            let (w, h) = (d.width() as u32, d.height() as u32);
            d.scale(scale_numerator(w, want_w).max(scale_numerator(h, want_h)));
        }
        let mut started = if cmyk {
            d.to_colorspace(ColorSpace::JCS_CMYK)?
        } else {
            d.rgb()?
        };
        let (width, height) = (started.width() as u32, started.height() as u32);
        let data: Vec<u8> = started.read_scanlines::<u8>()?;
        started.finish()?;
        let data = if cmyk { cmyk_to_rgb(&data) } else { data };
        Ok(Pixels {
            width,
            height,
            channels: 3,
            data,
        })
    });
    match result {
        Ok(p) if p.data.len() == p.width as usize * p.height as usize * 3 => Ok(p),
        Ok(_) => Err(decode_error("decoder returned a short image")),
        Err(LibjpegError(message)) => Err(decode_error(
            message.trim_start_matches("libjpeg fatal error: "),
        )),
    }
}

/// CMYK as Adobe writes it in JPEGs (inverted), to RGB without a colour profile.
fn cmyk_to_rgb(cmyk: &[u8]) -> Vec<u8> {
    cmyk.chunks_exact(4)
        .flat_map(|c| {
            let k = u16::from(c[3]);
            let f = |v: u8| ((u16::from(v) * k + 127) / 255) as u8;
            [f(c[0]), f(c[1]), f(c[2])]
        })
        .collect()
}

/// Encodes RGB or RGBA pixels (4:2:0) with the metadata in `extras`: EXIF and XMP in
/// APP1, the ICC profile in APP2, IPTC in APP13, in the order readers expect them.
pub fn encode(
    p: &Pixels,
    extras: &Extras<'_>,
    notes: &mut Vec<String>,
) -> Result<Vec<u8>, TransformError> {
    let (quality, exif, icc) = (extras.quality, extras.exif, extras.icc);
    if p.width > 65535 || p.height > 65535 {
        return Err(encode_error(format!(
            "{}x{} is larger than JPEG allows (65535)",
            p.width, p.height
        )));
    }
    let rgb;
    let data = if p.channels == 4 {
        rgb = p
            .data
            .chunks_exact(4)
            .flat_map(|c| [c[0], c[1], c[2]])
            .collect::<Vec<u8>>();
        &rgb[..]
    } else {
        &p.data[..]
    };
    if icc.is_some_and(|i| i.len() > 16 * 65519) {
        notes.push("ICC profile dropped: too large".into());
    }
    let xmp = extras.xmp.and_then(|x| xmp_segment(x, notes));
    let iptc = extras.iptc.and_then(|x| iptc_segment(x, notes));
    guarded(|| {
        let mut c = Compress::new(ColorSpace::JCS_RGB);
        c.set_fastest_defaults();
        c.set_size(p.width as usize, p.height as usize);
        c.set_quality(f32::from(quality));
        c.set_chroma_sampling_pixel_sizes((2, 2), (2, 2));
        let mut started = c.start_compress(Vec::with_capacity(data.len() / 8))?;
        if let Some(exif) = exif {
            let mut app1 = b"Exif\0\0".to_vec();
            app1.extend_from_slice(exif);
            if app1.len() <= 65533 {
                started.write_marker(Marker::APP(1), &app1);
            }
        }
        if let Some(xmp) = &xmp {
            started.write_marker(Marker::APP(1), xmp);
        }
        if let Some(icc) = icc.filter(|i| i.len() <= 16 * 65519) {
            started.write_icc_profile(icc);
        }
        if let Some(iptc) = &iptc {
            started.write_marker(Marker::APP(13), iptc);
        }
        started.write_scanlines(data)?;
        started.finish()
    })
    .map_err(|LibjpegError(message)| encode_error(message))
}

/// A segment holds at most this many bytes after its length.
const SEGMENT_MAX: usize = 65533;

/// The largest XMP packet one APP1 segment holds (after its namespace header).
pub const XMP_MAX: usize = SEGMENT_MAX - XMP_HEADER.len();
const XMP_HEADER: &[u8] = b"http://ns.adobe.com/xap/1.0/\0";

/// The APP1 payload of an XMP packet; a packet too large for one segment is left out
/// (ExtendedXMP, which splits it, is not written) and said in the notes.
fn xmp_segment(packet: &[u8], notes: &mut Vec<String>) -> Option<Vec<u8>> {
    let payload = [XMP_HEADER, packet].concat();
    one_segment(payload, "XMP", packet.len(), notes)
}

/// The APP13 payload holding IPTC-IIM records: Photoshop's resource 0x0404, unnamed.
fn iptc_segment(records: &[u8], notes: &mut Vec<String>) -> Option<Vec<u8>> {
    let mut payload = b"Photoshop 3.0\0".to_vec();
    payload.extend_from_slice(b"8BIM\x04\x04\0\0");
    payload.extend_from_slice(&u32::try_from(records.len()).ok()?.to_be_bytes());
    payload.extend_from_slice(records);
    if records.len() % 2 == 1 {
        payload.push(0);
    }
    one_segment(payload, "IPTC", records.len(), notes)
}

/// `payload` if it fits one segment; else nothing, and a note saying what was left out.
fn one_segment(
    payload: Vec<u8>,
    what: &str,
    len: usize,
    notes: &mut Vec<String>,
) -> Option<Vec<u8>> {
    if payload.len() > SEGMENT_MAX {
        notes.push(format!(
            "{what} not copied: {len} bytes, over one JPEG segment"
        ));
        return None;
    }
    Some(payload)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scale_keeps_at_least_the_target() {
        assert_eq!(scale_numerator(4000, 1600), 4);
        assert_eq!(scale_numerator(6000, 1600), 3);
        assert_eq!(scale_numerator(1600, 1600), 8);
        assert_eq!(scale_numerator(100, 1600), 8);
        assert_eq!(scale_numerator(30000, 1), 1);
    }

    #[test]
    fn cmyk_is_read_as_inverted_adobe_cmyk() {
        // White (no ink), pure "cyan" (inverted: c=0), and black (k=0).
        assert_eq!(
            cmyk_to_rgb(&[255, 255, 255, 255, 0, 255, 255, 255, 255, 255, 255, 0]),
            vec![255, 255, 255, 0, 255, 255, 0, 0, 0]
        );
    }
}
