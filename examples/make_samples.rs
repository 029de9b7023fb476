//! Writes the sample photos that `pipeline.example.yaml` runs on:
//! `cargo run --example make_samples -- samples`.
//!
//! Small photo-like JPEGs with real EXIF titles, dates, keywords and several
//! orientations, plus one file that is not an image, so a first run shows
//! every kind of outcome. The output is deterministic.

// The example uses three of the tests' fixture builders; the others are the tests' alone.
#[allow(dead_code, unused_imports)]
#[path = "../tests/integration/support/fixtures/mod.rs"]
mod fixtures;

use fixtures::{Meta, jpeg_with_meta, photo_like_rgb};

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "samples".into());
    let dir = std::path::Path::new(&dir);
    std::fs::create_dir_all(dir.join("2019-harbour")).expect("create samples folder");
    std::fs::create_dir_all(dir.join("2021-mountains")).expect("create samples folder");
    let photos: Vec<(&str, u32, u32, Meta)> = vec![
        (
            "2019-harbour/IMG_0001.jpg",
            2400,
            1600,
            Meta {
                xp_title: Some("Boats at dusk".into()),
                date_time_original: Some("2019:05:06 19:08:09".into()),
                offset_time_original: Some("+02:00".into()),
                make: Some("PixCam".into()),
                model: Some("PX-100".into()),
                xp_keywords: Some("harbour;boats".into()),
                gps: Some((43.2965, 5.3698)),
                ..Meta::default()
            },
        ),
        (
            "2019-harbour/IMG_0002.jpg",
            1600,
            2400,
            Meta {
                orientation: Some(6),
                xmp_title: Some("Café on the quay".into()),
                xmp_description: Some("Morning coffee by the water".into()),
                date_time_original: Some("2019:05:07 08:30:00".into()),
                ..Meta::default()
            },
        ),
        (
            "2019-harbour/IMG_0003.jpg",
            2400,
            1600,
            Meta {
                orientation: Some(3),
                iptc_object_name: Some("Lighthouse".as_bytes().to_vec()),
                date_time_original: Some("2019:05:07 21:15:42".into()),
                ..Meta::default()
            },
        ),
        (
            "2021-mountains/DSC_4410.jpg",
            2400,
            1800,
            Meta {
                orientation: Some(8),
                image_description: Some("OLYMPUS DIGITAL CAMERA".as_bytes().to_vec()),
                date_time_original: Some("2021:08:14 06:02:11".into()),
                ..Meta::default()
            },
        ),
        (
            "2021-mountains/summit_view-panorama.jpg",
            3600,
            1200,
            Meta {
                image_description: Some("Summit, 東京 friends".as_bytes().to_vec()),
                date_time_original: Some("2021:08:14 11:45:00".into()),
                ..Meta::default()
            },
        ),
    ];
    for (i, (name, w, h, meta)) in photos.iter().enumerate() {
        let rgb = photo_like_rgb(*w, *h, i as u32 + 1);
        std::fs::write(dir.join(name), jpeg_with_meta(*w, *h, &rgb, meta)).expect("write sample");
    }
    std::fs::write(
        dir.join("2021-mountains/notes.txt"),
        "Not a photo: pixpipe reports it as skipped.\n",
    )
    .expect("write sample");
    println!(
        "wrote {} sample files under {}",
        photos.len() + 1,
        dir.display()
    );
}
