//! When a video was made, from its QuickTime/MP4 boxes: Apple's
//! `com.apple.quicktime.creationdate` (local time with its offset, in `moov/meta`'s
//! Keys and ItemList) first, then the movie header's creation time (`moov/mvhd`, UTC).
//! Every box is bounds-checked; nonsense yields nothing.

use super::container::VideoCreated;

const APPLE_CREATION_DATE: &[u8] = b"com.apple.quicktime.creationdate";

/// The creation time a video states, if any.
pub fn created(bytes: &[u8]) -> Option<VideoCreated> {
    let moov = child(bytes, b"moov")?;
    apple_creation_date(moov).or_else(|| mvhd_creation(moov))
}

/// The boxes directly inside `b`: (type, content).
fn boxes(mut b: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    std::iter::from_fn(move || {
        let size = u32::from_be_bytes(b.get(..4)?.try_into().ok()?) as u64;
        let kind = b.get(4..8)?;
        let (header, size) = match size {
            0 => (8, b.len() as u64),
            1 => (16, u64::from_be_bytes(b.get(8..16)?.try_into().ok()?)),
            n => (8, n),
        };
        let size = usize::try_from(size).ok()?;
        if size < header || size > b.len() {
            return None;
        }
        let content = &b[header..size];
        b = &b[size..];
        Some((kind, content))
    })
}

fn child<'a>(b: &'a [u8], kind: &[u8; 4]) -> Option<&'a [u8]> {
    boxes(b).find(|(k, _)| k == kind).map(|(_, c)| c)
}

/// `mvhd` creation time; 0 (unset, as many encoders leave it) is no date.
fn mvhd_creation(moov: &[u8]) -> Option<VideoCreated> {
    let mvhd = child(moov, b"mvhd")?;
    let seconds = match mvhd.first()? {
        0 => u64::from(u32::from_be_bytes(mvhd.get(4..8)?.try_into().ok()?)),
        1 => u64::from_be_bytes(mvhd.get(4..12)?.try_into().ok()?),
        _ => return None,
    };
    (seconds != 0).then_some(VideoCreated::Since1904(seconds))
}

/// The value of the `com.apple.quicktime.creationdate` key in `moov/meta`.
fn apple_creation_date(moov: &[u8]) -> Option<VideoCreated> {
    let meta = child(moov, b"meta")?;
    // QuickTime's `meta` has no version and flags; MP4's has: tell by what follows.
    let meta = if meta.get(4..8) == Some(b"hdlr") {
        meta
    } else {
        meta.get(4..)?
    };
    let keys = child(meta, b"keys")?;
    let count = u32::from_be_bytes(keys.get(4..8)?.try_into().ok()?);
    let mut index = None;
    let mut at = 8usize;
    for n in 1..=count.min(4096) {
        let size = u32::from_be_bytes(keys.get(at..at + 4)?.try_into().ok()?) as usize;
        if size < 8 {
            return None;
        }
        if keys.get(at + 8..at + size)? == APPLE_CREATION_DATE {
            index = Some(n);
            break;
        }
        at += size;
    }
    let index = index?.to_be_bytes();
    let item = boxes(child(meta, b"ilst")?).find(|(k, _)| *k == index)?.1;
    let data = child(item, b"data")?;
    // Type 1 is UTF-8; then 4 bytes of locale.
    if data.get(..4)? != [0, 0, 0, 1] {
        return None;
    }
    let text = std::str::from_utf8(data.get(8..)?).ok()?;
    Some(VideoCreated::Text(text.trim().to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bx(kind: &[u8], content: &[u8]) -> Vec<u8> {
        [&((content.len() + 8) as u32).to_be_bytes(), kind, content].concat()
    }

    fn mvhd(seconds: u32) -> Vec<u8> {
        let mut c = vec![0u8; 100];
        c[4..8].copy_from_slice(&seconds.to_be_bytes());
        bx(b"mvhd", &c)
    }

    #[test]
    fn the_movie_header_gives_a_utc_time() {
        let file = [
            bx(b"ftyp", b"qt  \0\0\0\0"),
            bx(b"moov", &mvhd(3_700_000_000)),
        ]
        .concat();
        assert_eq!(created(&file), Some(VideoCreated::Since1904(3_700_000_000)));
        let unset = [bx(b"ftyp", b"isom"), bx(b"moov", &mvhd(0))].concat();
        assert_eq!(created(&unset), None);
    }

    #[test]
    fn apples_creation_date_wins_over_the_movie_header() {
        let key = bx(b"mdta", APPLE_CREATION_DATE);
        let keys = bx(
            b"keys",
            &[&[0u8; 4][..], &1u32.to_be_bytes(), &key].concat(),
        );
        let value = bx(
            b"data",
            &[&[0, 0, 0, 1, 0, 0, 0, 0][..], b"2021-05-06T07:08:09+0200"].concat(),
        );
        let ilst = bx(b"ilst", &bx(&1u32.to_be_bytes(), &value));
        let meta = bx(b"meta", &[bx(b"hdlr", &[0u8; 24]), keys, ilst].concat());
        let moov = bx(b"moov", &[mvhd(3_700_000_000), meta].concat());
        let file = [bx(b"ftyp", b"qt  "), moov].concat();
        assert_eq!(
            created(&file),
            Some(VideoCreated::Text("2021-05-06T07:08:09+0200".into()))
        );
    }

    #[test]
    fn truncated_and_looping_sizes_yield_nothing() {
        let file = [bx(b"ftyp", b"qt  "), bx(b"moov", &mvhd(5))].concat();
        for cut in 0..file.len() {
            let _ = created(&file[..cut]);
        }
        assert_eq!(created(&[0, 0, 0, 4, b'm', b'o', b'o', b'v']), None);
    }
}
