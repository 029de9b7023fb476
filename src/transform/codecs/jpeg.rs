//! JPEG decoding with shrink-on-load, and encoding.
//!
//! The default build is pure Rust (jpeg-decoder, jpeg-encoder). With the
//! `mozjpeg` cargo feature, libjpeg-turbo's SIMD code (via mozjpeg, which needs
//! `nasm` to build) does both, and shrinks by any n/8 instead of 1/2, 1/4, 1/8.

use std::io::Cursor;

use super::{DecodeRequest, Decoder};
use crate::media::{MediaFormat, jpeg_scan_offset};
use crate::transform::pixels::{Pixels, TransformError};

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

/// Whether an end-of-image marker follows the first scan. Entropy-coded data cannot
/// contain 0xFF 0xD9 (0xFF is always stuffed), so its absence means the file was cut.
pub fn is_complete(bytes: &[u8]) -> bool {
    let Some(sos) = jpeg_scan_offset(bytes) else {
        return false;
    };
    bytes[sos..].windows(2).any(|w| w == [0xFF, 0xD9])
}

/// JPEG, shrunk in the DCT domain while decoding.
pub struct Jpeg;

impl Decoder for Jpeg {
    fn reads(&self, format: MediaFormat) -> bool {
        format == MediaFormat::Jpeg
    }

    fn decode(&self, bytes: &[u8], req: &DecodeRequest) -> Result<Pixels, TransformError> {
        decode(
            bytes,
            req.want_width,
            req.want_height,
            req.scaled,
            req.max_pixels,
        )
    }
}

/// Decodes to RGB, shrinking in the DCT domain (when `scaled`) to the smallest size
/// that is still at least `want_w`×`want_h`.
pub fn decode(
    bytes: &[u8],
    want_w: u32,
    want_h: u32,
    scaled: bool,
    max_pixels: u64,
) -> Result<Pixels, TransformError> {
    if !is_complete(bytes) {
        // Decoders paint the missing part grey; a half-grey photo must not be published.
        return Err(decode_error(
            "truncated file: the image data ends before its end marker",
        ));
    }
    #[cfg(feature = "mozjpeg")]
    if let Some(result) = turbo::decode(bytes, want_w, want_h, scaled) {
        return result;
    }
    decode_pure(bytes, want_w, want_h, scaled, max_pixels)
}

fn decode_pure(
    bytes: &[u8],
    want_w: u32,
    want_h: u32,
    scaled: bool,
    max_pixels: u64,
) -> Result<Pixels, TransformError> {
    let err = |e: jpeg_decoder::Error| decode_error(e.to_string());
    let mut dec = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    dec.set_max_decoding_buffer_size(
        usize::try_from(max_pixels.saturating_mul(4)).unwrap_or(usize::MAX),
    );
    dec.read_info().map_err(err)?;
    if scaled {
        let clamp = |v: u32| v.clamp(1, u32::from(u16::MAX)) as u16;
        dec.scale(clamp(want_w), clamp(want_h)).map_err(err)?;
    }
    let data = dec.decode().map_err(err)?;
    let info = dec.info().ok_or_else(|| decode_error("no frame header"))?;
    let (width, height) = (u32::from(info.width), u32::from(info.height));
    let px = width as usize * height as usize;
    let rgb = match info.pixel_format {
        jpeg_decoder::PixelFormat::RGB24 => data,
        jpeg_decoder::PixelFormat::L8 => data.iter().flat_map(|&l| [l, l, l]).collect(),
        jpeg_decoder::PixelFormat::L16 => data
            .chunks_exact(2)
            .flat_map(|c| [c[0], c[0], c[0]])
            .collect(),
        jpeg_decoder::PixelFormat::CMYK32 => data
            .chunks_exact(4)
            .flat_map(|c| {
                let k = u16::from(c[3]);
                let f = |v: u8| ((u16::from(v) * k + 127) / 255) as u8;
                [f(c[0]), f(c[1]), f(c[2])]
            })
            .collect(),
    };
    if rgb.len() != px * 3 {
        return Err(decode_error("decoder returned a short image"));
    }
    Ok(Pixels {
        width,
        height,
        channels: 3,
        data: rgb,
    })
}

/// Encodes RGB or RGBA pixels (4:2:0) with the EXIF (a TIFF block) and ICC profile given.
pub fn encode(
    p: &Pixels,
    quality: u8,
    exif: Option<&[u8]>,
    icc: Option<&[u8]>,
    notes: &mut Vec<String>,
) -> Result<Vec<u8>, TransformError> {
    if p.width > 65535 || p.height > 65535 {
        return Err(encode_error(format!(
            "{}x{} is larger than JPEG allows (65535)",
            p.width, p.height
        )));
    }
    #[cfg(feature = "mozjpeg")]
    {
        turbo::encode(p, quality, exif, icc, notes)
    }
    #[cfg(not(feature = "mozjpeg"))]
    {
        encode_pure(p, quality, exif, icc, notes)
    }
}

#[cfg_attr(feature = "mozjpeg", allow(dead_code))]
fn encode_pure(
    p: &Pixels,
    quality: u8,
    exif: Option<&[u8]>,
    icc: Option<&[u8]>,
    notes: &mut Vec<String>,
) -> Result<Vec<u8>, TransformError> {
    let err = |e: jpeg_encoder::EncodingError| encode_error(e.to_string());
    let mut out = Vec::with_capacity(p.data.len() / 8);
    let mut enc = jpeg_encoder::Encoder::new(&mut out, quality);
    enc.set_sampling_factor(jpeg_encoder::SamplingFactor::F_2_2);
    if let Some(exif) = exif {
        enc.add_exif_metadata(exif).map_err(err)?;
    }
    if let Some(icc) = icc
        && let Err(e) = enc.add_icc_profile(icc)
    {
        notes.push(format!("ICC profile dropped: {e}"));
    }
    let color = if p.channels == 4 {
        jpeg_encoder::ColorType::Rgba
    } else {
        jpeg_encoder::ColorType::Rgb
    };
    enc.encode(&p.data, p.width as u16, p.height as u16, color)
        .map_err(err)?;
    Ok(out)
}

#[cfg(feature = "mozjpeg")]
mod turbo {
    use std::panic::{AssertUnwindSafe, catch_unwind};

    use mozjpeg::{ColorSpace, Compress, Decompress, Marker};

    use super::{decode_error, encode_error};
    use crate::transform::pixels::{Pixels, TransformError};

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

    /// The smallest n in 1..=8 such that scaling by n/8 keeps at least `want` pixels.
    pub fn scale_numerator(have: u32, want: u32) -> u8 {
        (1..=8u8)
            .find(|n| (u64::from(have) * u64::from(*n)).div_ceil(8) >= u64::from(want))
            .unwrap_or(8)
    }

    /// `None` when this decoder does not handle the file (CMYK): the pure-Rust one does.
    pub fn decode(
        bytes: &[u8],
        want_w: u32,
        want_h: u32,
        scaled: bool,
    ) -> Option<Result<Pixels, TransformError>> {
        let result = guarded(|| {
            let mut d = Decompress::new_mem(bytes)?;
            if matches!(d.color_space(), ColorSpace::JCS_CMYK | ColorSpace::JCS_YCCK) {
                return Ok(None);
            }
            if scaled {
                let (w, h) = (d.width() as u32, d.height() as u32);
                let n = scale_numerator(w, want_w).max(scale_numerator(h, want_h));
                d.scale(n);
            }
            let mut started = d.rgb()?;
            let (width, height) = (started.width() as u32, started.height() as u32);
            let data: Vec<u8> = started.read_scanlines::<u8>()?;
            started.finish()?;
            Ok(Some(Pixels {
                width,
                height,
                channels: 3,
                data,
            }))
        });
        match result {
            Ok(Some(p)) if p.data.len() == p.width as usize * p.height as usize * 3 => Some(Ok(p)),
            Ok(Some(_)) => Some(Err(decode_error("decoder returned a short image"))),
            Ok(None) => None,
            Err(LibjpegError(message)) => Some(Err(decode_error(
                message.trim_start_matches("libjpeg fatal error: "),
            ))),
        }
    }

    pub fn encode(
        p: &Pixels,
        quality: u8,
        exif: Option<&[u8]>,
        icc: Option<&[u8]>,
        notes: &mut Vec<String>,
    ) -> Result<Vec<u8>, TransformError> {
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
            if let Some(icc) = icc.filter(|i| i.len() <= 16 * 65519) {
                started.write_icc_profile(icc);
            }
            started.write_scanlines(data)?;
            started.finish()
        })
        .map_err(|LibjpegError(message)| encode_error(message))
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn scale_keeps_at_least_the_target() {
            assert_eq!(super::scale_numerator(4000, 1600), 4);
            assert_eq!(super::scale_numerator(6000, 1600), 3);
            assert_eq!(super::scale_numerator(1600, 1600), 8);
            assert_eq!(super::scale_numerator(100, 1600), 8);
            assert_eq!(super::scale_numerator(30000, 1), 1);
        }
    }
}
