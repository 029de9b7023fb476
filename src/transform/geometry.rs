//! Geometry on decoded pixels: the output size, flattening alpha, the resize
//! (fast_image_resize, SIMD) and the EXIF orientation.

use std::cell::RefCell;

use fast_image_resize as fir;

use super::pixels::{Pixels, TransformError};
use crate::config::Filter;

/// The output size for a displayed size: `target` wide, aspect kept, never enlarged unless asked.
pub fn target_size(w: u32, h: u32, target: Option<u32>, upscale: bool) -> (u32, u32) {
    match target {
        Some(t) if t < w || (upscale && t > w) => {
            let th = (u64::from(h) * u64::from(t) + u64::from(w) / 2) / u64::from(w);
            (t, th.clamp(1, u64::from(u32::MAX)) as u32)
        }
        _ => (w, h),
    }
}

/// Lays RGBA pixels on an opaque background (JPEG has no alpha; black would be wrong).
pub fn flatten(p: Pixels, bg: [u8; 3]) -> Pixels {
    let data = p
        .data
        .chunks_exact(4)
        .flat_map(|px| {
            let a = u32::from(px[3]);
            let mix =
                |c: u8, b: u8| ((u32::from(c) * a + u32::from(b) * (255 - a) + 127) / 255) as u8;
            [mix(px[0], bg[0]), mix(px[1], bg[1]), mix(px[2], bg[2])]
        })
        .collect();
    Pixels {
        width: p.width,
        height: p.height,
        channels: 3,
        data,
    }
}

thread_local! {
    /// One resizer per worker thread: its internal buffers are reused across images.
    static RESIZER: RefCell<fir::Resizer> = RefCell::new(fir::Resizer::new());
}

fn fir_filter(f: Filter) -> fir::ResizeAlg {
    use fir::FilterType as F;
    match f {
        Filter::Nearest => fir::ResizeAlg::Nearest,
        Filter::Box => fir::ResizeAlg::Convolution(F::Box),
        Filter::Bilinear => fir::ResizeAlg::Convolution(F::Bilinear),
        Filter::Hamming => fir::ResizeAlg::Convolution(F::Hamming),
        Filter::CatmullRom => fir::ResizeAlg::Convolution(F::CatmullRom),
        Filter::Mitchell => fir::ResizeAlg::Convolution(F::Mitchell),
        Filter::Gaussian => fir::ResizeAlg::Convolution(F::Gaussian),
        Filter::Lanczos3 => fir::ResizeAlg::Convolution(F::Lanczos3),
    }
}

/// Resizes to exactly `w`×`h`; a no-op when the size already matches.
pub fn resize(p: Pixels, w: u32, h: u32, filter: Filter) -> Result<Pixels, TransformError> {
    if p.width == w && p.height == h {
        return Ok(p);
    }
    let pixel_type = if p.channels == 4 {
        fir::PixelType::U8x4
    } else {
        fir::PixelType::U8x3
    };
    let src = fir::images::Image::from_vec_u8(p.width, p.height, p.data, pixel_type)
        .map_err(|e| TransformError::Resize(e.to_string()))?;
    let mut dst = fir::images::Image::new(w, h, pixel_type);
    let options = fir::ResizeOptions::new()
        .resize_alg(fir_filter(filter))
        .use_alpha(p.channels == 4);
    RESIZER
        .with(|r| r.borrow_mut().resize(&src, &mut dst, &options))
        .map_err(|e| TransformError::Resize(e.to_string()))?;
    Ok(Pixels {
        width: w,
        height: h,
        channels: p.channels,
        data: dst.into_vec(),
    })
}

/// Applies an EXIF orientation (1..=8) to the pixels, so viewers need no tag.
pub fn orient(p: Pixels, orientation: u8) -> Pixels {
    if !(2..=8).contains(&orientation) {
        return p;
    }
    let (sw, sh) = (p.width as usize, p.height as usize);
    let (dw, dh) = if orientation >= 5 { (sh, sw) } else { (sw, sh) };
    let c = p.channels as usize;
    let mut data = vec![0u8; dw * dh * c];
    for y in 0..dh {
        for x in 0..dw {
            // The stored pixel that shows at (x, y) on screen.
            let (sx, sy) = match orientation {
                2 => (dw - 1 - x, y),
                3 => (dw - 1 - x, dh - 1 - y),
                4 => (x, dh - 1 - y),
                5 => (y, x),
                6 => (y, dw - 1 - x),
                7 => (dh - 1 - y, dw - 1 - x),
                _ => (dh - 1 - y, x),
            };
            let from = (sy * sw + sx) * c;
            let to = (y * dw + x) * c;
            data[to..to + c].copy_from_slice(&p.data[from..from + c]);
        }
    }
    Pixels {
        width: dw as u32,
        height: dh as u32,
        channels: p.channels,
        data,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_size_keeps_aspect_and_never_enlarges() {
        assert_eq!(target_size(4000, 3000, Some(1600), false), (1600, 1200));
        assert_eq!(target_size(800, 600, Some(1600), false), (800, 600));
        assert_eq!(target_size(800, 600, Some(1600), true), (1600, 1200));
        assert_eq!(target_size(30000, 10, Some(1600), false), (1600, 1));
        assert_eq!(target_size(1, 1, Some(1600), false), (1, 1));
        assert_eq!(target_size(4000, 3000, None, false), (4000, 3000));
    }

    #[test]
    fn flatten_uses_background_not_black() {
        let p = Pixels {
            width: 2,
            height: 1,
            channels: 4,
            data: vec![0, 0, 0, 0, 10, 20, 30, 255],
        };
        let f = flatten(p, [255, 255, 255]);
        assert_eq!(f.data, vec![255, 255, 255, 10, 20, 30]);
    }

    #[test]
    fn orientation_6_rotates_clockwise() {
        // Stored 2x1: [A B]; shown rotated 90° clockwise it is a 1x2 column [A; B].
        let p = Pixels {
            width: 2,
            height: 1,
            channels: 3,
            data: vec![1, 1, 1, 2, 2, 2],
        };
        let o = orient(
            Pixels {
                data: p.data.clone(),
                ..p
            },
            6,
        );
        assert_eq!((o.width, o.height), (1, 2));
        assert_eq!(o.data, vec![1, 1, 1, 2, 2, 2]);
        let o = orient(p, 8);
        assert_eq!(o.data, vec![2, 2, 2, 1, 1, 1]);
    }
}
