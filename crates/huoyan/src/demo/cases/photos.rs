//! The demo's photos. A demo has no camera: each photo is a small picture drawn here of a
//! compound's gate — left open, its barrier up and no one on duty, on a report; closed, with a
//! guard beside it, after a fix — at three times of day, so that the case page's before and
//! after can be told apart at a glance. Each picture is made once and stored once; the cases'
//! files share its content.

use std::io::Write;
use std::sync::Arc;

use crate::cases::files::Upload;

const WIDTH: u32 = 160;
const HEIGHT: u32 = 120;
/// Morning, noon and evening skies.
const SKIES: [[u8; 3]; 3] = [[250, 214, 165], [150, 200, 240], [90, 110, 170]];

pub(in crate::demo) struct Photos {
    before: Vec<Arc<[u8]>>,
    after: Vec<Arc<[u8]>>,
}

impl Photos {
    pub(in crate::demo) fn new() -> Photos {
        let draw = |fixed: bool| {
            SKIES
                .iter()
                .map(|sky| Arc::from(png(|x, y| gate(x, y, *sky, fixed))))
                .collect()
        };
        Photos {
            before: draw(false),
            after: draw(true),
        }
    }

    /// The report's photo of case `n`.
    pub(in crate::demo) fn before(&self, n: usize) -> Upload {
        let bytes = self.before[n % self.before.len()].clone();
        Upload::made(&format!("现场-{n:03}.png"), "image/png", bytes)
    }

    /// The photo of the fix of case `n`.
    pub(in crate::demo) fn after(&self, n: usize) -> Upload {
        let bytes = self.after[n % self.after.len()].clone();
        Upload::made(&format!("整改后-{n:03}.png"), "image/png", bytes)
    }
}

/// The colour of pixel (`x`, `y`): sky, road, two gate posts with a barrier (raised and striped
/// red on an open gate, lowered on a closed one), and on a closed gate a guard in green.
fn gate(x: u32, y: u32, sky: [u8; 3], fixed: bool) -> [u8; 3] {
    let (x, y) = (x as i32, y as i32);
    let post = (30..38).contains(&x) || (122..130).contains(&x);
    if post && (40..100).contains(&y) {
        return [60, 60, 64];
    }
    let on_barrier = if fixed {
        (36..124).contains(&x) && (62..68).contains(&y)
    } else {
        // Raised from the left post, at 45°.
        let along = x - 36;
        (0..60).contains(&along) && (y - (64 - along)).abs() < 4
    };
    if on_barrier {
        let stripe = if fixed { x / 10 } else { (x + y) / 10 } % 2 == 0;
        return if stripe {
            [220, 40, 40]
        } else {
            [245, 245, 245]
        };
    }
    let guard = (84..96).contains(&x) && (70..100).contains(&y);
    if fixed && guard {
        return if y < 78 {
            [230, 190, 150]
        } else {
            [40, 120, 60]
        };
    }
    if y >= 90 { [150, 150, 150] } else { sky }
}

/// A PNG of the picture `pixel` paints: 8-bit RGB, not interlaced.
fn png(pixel: impl Fn(u32, u32) -> [u8; 3]) -> Vec<u8> {
    fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], data: &[u8]) {
        out.extend_from_slice(&(data.len() as u32).to_be_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(data);
        let mut crc = crc32fast::Hasher::new();
        crc.update(kind);
        crc.update(data);
        out.extend_from_slice(&crc.finalize().to_be_bytes());
    }
    let mut out = vec![0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];
    let mut header = Vec::new();
    header.extend_from_slice(&WIDTH.to_be_bytes());
    header.extend_from_slice(&HEIGHT.to_be_bytes());
    // 8 bits per channel, RGB (colour type 2), deflate, filter method 0, not interlaced.
    header.extend_from_slice(&[8, 2, 0, 0, 0]);
    chunk(&mut out, b"IHDR", &header);
    let mut rows = Vec::with_capacity(((WIDTH * 3 + 1) * HEIGHT) as usize);
    for y in 0..HEIGHT {
        // Each row starts with its filter: none.
        rows.push(0);
        for x in 0..WIDTH {
            rows.extend_from_slice(&pixel(x, y));
        }
    }
    let mut z = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
    z.write_all(&rows).expect("writing to memory");
    chunk(&mut out, b"IDAT", &z.finish().expect("writing to memory"));
    chunk(&mut out, b"IEND", &[]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_photos_are_pictures_the_server_accepts_and_before_differs_from_after() {
        let photos = Photos::new();
        for bytes in photos.before.iter().chain(&photos.after) {
            assert_eq!(infer::get(bytes).map(|t| t.mime_type()), Some("image/png"));
            let size = imagesize::blob_size(bytes).unwrap();
            assert_eq!((size.width, size.height), (WIDTH as usize, HEIGHT as usize));
        }
        assert_ne!(photos.before(0).sha256, photos.after(0).sha256);
        assert_ne!(photos.before(0).sha256, photos.before(1).sha256);
        assert_eq!(
            photos.before(0).sha256,
            photos.before(3).sha256,
            "made once"
        );
    }
}
