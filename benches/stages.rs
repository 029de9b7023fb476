//! Criterion benches of each stage on one photo-like 12 MP JPEG:
//! `cargo bench --bench stages` (libjpeg-turbo has SIMD when nasm was installed at build time).

use std::hint::black_box;

use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use pixpipe::{
    DecodeMode, Filter, Pixels, TransformSettings, decode_jpeg, encode_jpeg, md5_hex, probe_bytes,
    resize, transform,
};

fn settings(decode: DecodeMode) -> TransformSettings {
    TransformSettings::jpeg(1600, 85, Filter::Lanczos3, decode)
}

fn stages(c: &mut Criterion) {
    let src = pixpipe::generated_jpeg(4000, 3000, 1);
    let mut g = c.benchmark_group("decode");
    g.sample_size(10);
    g.bench_function("full", |b| {
        b.iter(|| decode_jpeg(black_box(&src), 4000, 3000, false).unwrap())
    });
    g.bench_function("scaled_to_1600", |b| {
        b.iter(|| decode_jpeg(black_box(&src), 1600, 1200, true).unwrap())
    });
    g.finish();

    let half = decode_jpeg(&src, 2000, 1500, true).unwrap();
    let mut g = c.benchmark_group("resize_2000_to_1600");
    g.sample_size(10);
    for filter in [
        Filter::Nearest,
        Filter::Bilinear,
        Filter::CatmullRom,
        Filter::Lanczos3,
    ] {
        g.bench_function(filter.name(), |b| {
            b.iter_batched(
                || Pixels {
                    data: half.data.clone(),
                    ..half
                },
                |p| resize(p, 1600, 1200, filter).unwrap(),
                BatchSize::LargeInput,
            )
        });
    }
    g.finish();

    let small = resize(
        Pixels {
            data: half.data.clone(),
            ..half
        },
        1600,
        1200,
        Filter::Lanczos3,
    )
    .unwrap();
    let mut g = c.benchmark_group("encode");
    g.sample_size(10);
    g.bench_function("jpeg_1600x1200_q85", |b| {
        b.iter(|| {
            encode_jpeg(
                black_box(&small),
                &pixpipe::Extras::plain(85),
                &mut Vec::new(),
            )
            .unwrap()
        })
    });
    g.finish();

    let mut g = c.benchmark_group("hash");
    g.throughput(Throughput::Bytes(src.len() as u64));
    g.bench_function("md5", |b| b.iter(|| md5_hex(black_box(&src))));
    g.bench_function("blake3", |b| b.iter(|| blake3::hash(black_box(&src))));
    g.finish();

    let mut g = c.benchmark_group("end_to_end");
    g.sample_size(10);
    for mode in [DecodeMode::Scaled, DecodeMode::Full] {
        let s = settings(mode);
        g.bench_function(mode.name(), |b| {
            b.iter(|| {
                let p = probe_bytes("bench.jpg".into(), src.clone()).unwrap();
                transform(&p, &s).unwrap()
            })
        });
    }
    g.finish();
}

criterion_group!(benches, stages);
criterion_main!(benches);
