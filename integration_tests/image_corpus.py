"""The image corpus: files every language must decode to Python's pixels, byte for byte, or refuse with its code.

    python integration_tests/image_corpus.py OUT    # OUT/<name> for each file, OUT/reference.json

Generated here (Pillow, seeded; nothing committed) plus real photos: demo/cat.jpg (CC0) and, from the pinned
scikit-image 0.22.0 wheel that `make real-model` fetches into .cache/wheels, camera.png (grayscale, CC0, Lav
Varshney). reference.json holds, per file, Python's decode (``mxport.decode_image``, i.e. MXNet's
``_cvimdecode``): ``{"shape": [1, H, W, 3], "sha256": ...}`` of the pixels, or ``{"error": CODE}``; with
``--npy`` the pixels too, as ``<name>.npy``.
"""

import hashlib
import io
import json
import os
import sys

import numpy as np

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def _smooth(rng, h, w, c):
    """A gradient with noise: every decoder step (IDCT, upsampling, colour conversion) shows in the pixels."""
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 // max(w - 1, 1), y * 255 // max(h - 1, 1), ((x + y) * 7) % 256, (x * y) % 256][:c], -1)
    return np.clip(base + rng.randint(-20, 21, base.shape), 0, 255).astype("uint8")


def _save(image, fmt, **options):
    out = io.BytesIO()
    image.save(out, fmt, **options)
    return out.getvalue()


def _without_jfif(jpeg):
    """The JPEG without its JFIF APP0 segment, as cameras write them (EXIF first)."""
    assert jpeg[2:4] == b"\xff\xe0"
    return jpeg[:2] + jpeg[4 + jpeg[4] * 256 + jpeg[5] :]


def files():
    """name -> bytes, in a fixed order."""
    from PIL import Image

    rng = np.random.RandomState(13)
    rgb = Image.fromarray(_smooth(rng, 61, 83, 3))
    gray = Image.fromarray(_smooth(rng, 61, 83, 1)[..., 0])
    out = {
        "baseline.jpg": _save(rgb, "JPEG", quality=90),
        "progressive.jpg": _save(rgb, "JPEG", quality=90, progressive=True),
        "quality50_420.jpg": _save(rgb, "JPEG", quality=50, subsampling=2),
        "gray.jpg": _save(gray, "JPEG", quality=90),
        "cmyk.jpg": _save(Image.fromarray(_smooth(rng, 61, 83, 3)).convert("CMYK"), "JPEG", quality=90),
        "rgb.png": _save(rgb, "PNG"),
        "gray.png": _save(gray, "PNG"),
        "gray_alpha.png": _save(Image.fromarray(_smooth(rng, 61, 83, 2), "LA"), "PNG"),
        "rgba.png": _save(Image.fromarray(_smooth(rng, 61, 83, 4), "RGBA"), "PNG"),
        "palette.png": _save(rgb.convert("P", palette=Image.ADAPTIVE, colors=16), "PNG"),
        "palette_transparent.png": _save(rgb.convert("P", palette=Image.ADAPTIVE, colors=16), "PNG", transparency=3),
        "gray16.png": _save(
            Image.fromarray(
                _smooth(rng, 61, 83, 1)[..., 0].astype("uint16") * 257 + rng.randint(0, 257, (61, 83)).astype("uint16")
            ),
            "PNG",
        ),
        "rgb48.png": None,  # 16 bits per channel, written below without Pillow (it cannot write RGB 16-bit)
        "1x1.jpg": _save(Image.fromarray(_smooth(rng, 1, 1, 3)), "JPEG"),
        "1x1.png": _save(Image.fromarray(_smooth(rng, 1, 1, 3)), "PNG"),
        "3x1001.jpg": _save(Image.fromarray(_smooth(rng, 1001, 3, 3)), "JPEG"),
        "3x1001.png": _save(Image.fromarray(_smooth(rng, 1001, 3, 3)), "PNG"),
        "bmp.bmp": _save(rgb, "BMP"),
    }
    out["rgb48.png"] = _png_rgb16(rng.randint(0, 65536, (7, 5, 3)).astype(">u2"))
    for orientation in (3, 6, 8):
        exif = Image.Exif()
        exif[0x0112] = orientation
        tagged = _save(rgb, "JPEG", quality=90, exif=exif.tobytes())
        out[f"exif{orientation}_jfif.jpg"] = tagged  # JFIF first: MXNet ignores the tag
        out[f"exif{orientation}_camera.jpg"] = _without_jfif(tagged)  # EXIF first: OpenCV turns the image
    out["truncated.jpg"] = out["baseline.jpg"][: len(out["baseline.jpg"]) // 2]
    out["truncated.png"] = out["rgb.png"][: len(out["rgb.png"]) // 2]
    out["header_cut.png"] = out["rgb.png"][:20]
    out["gif.gif"] = _save(rgb.convert("P"), "GIF")
    out["text.txt"] = b"this is text, not an image\n"
    out["empty.jpg"] = b""
    # real photos
    with open(os.path.join(REPO, "demo", "cat.jpg"), "rb") as f:
        out["cat.jpg"] = f.read()
    out["cat_gray.jpg"] = _save(Image.open(io.BytesIO(out["cat.jpg"])).convert("L"), "JPEG", quality=92)
    out["camera.png"] = real_photo("camera.png")
    return out


def _png_rgb16(pixels):
    import struct
    import zlib

    h, w, _ = pixels.shape

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + pixels[y].tobytes() for y in range(h))
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 16, 2, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(raw))
        + chunk(b"IEND", b"")
    )


def real_photo(name):
    """A photo from the pinned scikit-image wheel (.cache/wheels, fetched by `make real-model`)."""
    sys.path.insert(0, os.path.join(REPO, "models"))
    import efficientnet_lite0

    return efficientnet_lite0.photo(name)


def reference(data):
    import mxport

    try:
        pixels = mxport.decode_image(data).asnumpy()
    except mxport.MxportError as e:
        return {"error": e.code}, None
    return {"shape": list(pixels.shape), "sha256": hashlib.sha256(pixels.tobytes()).hexdigest()}, pixels


def write(folder, npy=False):
    """Writes the corpus and Python's reference.json into folder; returns {name: reference}."""
    os.makedirs(folder, exist_ok=True)
    refs = {}
    for name, data in files().items():
        with open(os.path.join(folder, name), "wb") as f:
            f.write(data)
        refs[name], pixels = reference(data)
        if npy and pixels is not None:
            np.save(os.path.join(folder, name + ".npy"), pixels)
    with open(os.path.join(folder, "reference.json"), "w") as f:
        json.dump(refs, f, indent=1, sort_keys=True)
    return refs


if __name__ == "__main__":
    write(sys.argv[1], npy="--npy" in sys.argv)
