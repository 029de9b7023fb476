//! The first directory (IFD0) of a TIFF structure, read by hand and bounds-checked
//! at every step: the few tags pixpipe needs beside kamadak-exif (what a RAW is,
//! where a TIFF keeps its XMP and IPTC). Nonsense yields nothing, never a panic.

/// IFD0 of a TIFF structure ("II*\0" or "MM\0*" first).
pub struct Ifd0<'a> {
    b: &'a [u8],
    le: bool,
    start: usize,
    count: usize,
}

/// One 12-byte directory entry.
pub struct Entry<'a> {
    b: &'a [u8],
    le: bool,
    at: usize,
    pub tag: u16,
    pub typ: u16,
    pub count: usize,
}

/// More entries than this is no directory a camera or scanner wrote.
const MAX_ENTRIES: usize = 1024;

pub(super) fn u16_at(b: &[u8], le: bool, i: usize) -> Option<u16> {
    let s: [u8; 2] = b.get(i..i.checked_add(2)?)?.try_into().ok()?;
    Some(if le {
        u16::from_le_bytes(s)
    } else {
        u16::from_be_bytes(s)
    })
}

pub(super) fn u32_at(b: &[u8], le: bool, i: usize) -> Option<u32> {
    let s: [u8; 4] = b.get(i..i.checked_add(4)?)?.try_into().ok()?;
    Some(if le {
        u32::from_le_bytes(s)
    } else {
        u32::from_be_bytes(s)
    })
}

impl<'a> Ifd0<'a> {
    pub fn read(b: &'a [u8]) -> Option<Ifd0<'a>> {
        let le = match b.get(..4)? {
            b"II*\0" => true,
            b"MM\0*" => false,
            _ => return None,
        };
        let start = u32_at(b, le, 4)? as usize;
        let count = usize::from(u16_at(b, le, start)?).min(MAX_ENTRIES);
        Some(Ifd0 {
            b,
            le,
            start,
            count,
        })
    }

    /// The entries that lie within the bytes, in order.
    pub fn entries(&self) -> impl Iterator<Item = Entry<'a>> + '_ {
        (0..self.count).map_while(|n| {
            let at = self.start + 2 + n * 12;
            Some(Entry {
                b: self.b,
                le: self.le,
                at,
                tag: u16_at(self.b, self.le, at)?,
                typ: u16_at(self.b, self.le, at + 2)?,
                count: u32_at(self.b, self.le, at + 4)? as usize,
            })
        })
    }

    /// The value bytes of the first entry of `tag`.
    pub fn value(&self, tag: u16) -> Option<&'a [u8]> {
        self.entries().find(|e| e.tag == tag)?.value()
    }
}

impl<'a> Entry<'a> {
    /// The value's bytes, inline or at their offset; `None` for types of no fixed size
    /// and for values past the end.
    pub fn value(&self) -> Option<&'a [u8]> {
        let unit = match self.typ {
            1 | 2 | 6 | 7 => 1,
            3 | 8 => 2,
            4 | 9 => 4,
            _ => return None,
        };
        let len = self.count.checked_mul(unit)?;
        let at = if len <= 4 {
            self.at + 8
        } else {
            u32_at(self.b, self.le, self.at + 8)? as usize
        };
        self.b.get(at..at.checked_add(len)?)
    }

    /// A SHORT or LONG value held inline.
    pub fn uint(&self) -> Option<u32> {
        if self.typ == 3 {
            u16_at(self.b, self.le, self.at + 8).map(u32::from)
        } else {
            u32_at(self.b, self.le, self.at + 8)
        }
    }
}
