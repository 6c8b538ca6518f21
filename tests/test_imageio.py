"""Reading and writing every supported kind of file, and clear errors for the rest."""

import re

import numpy as np
import pytest
from PIL import Image, ImageOps

from eqdenoise.errors import EqdenoiseError
from eqdenoise.files.imageio import read_image, read_pages, write_image, write_pages

rng = np.random.default_rng(0)


def roundtrip(tmp_path, image: Image.Image, name: str, **save):
    src = tmp_path / name
    image.save(src, **save)
    loaded = read_image(src)
    dst = tmp_path / f"out-{name}"
    write_image(loaded, loaded.pixels, dst)
    return loaded, Image.open(dst)


@pytest.mark.parametrize("name", ["g.png", "g.tif"])
def test_8bit_gray_roundtrip_is_lossless(tmp_path, name):
    array = rng.integers(0, 256, (9, 14), dtype=np.uint8)
    loaded, out = roundtrip(tmp_path, Image.fromarray(array), name)
    assert loaded.pixels.shape == (1, 9, 14) and loaded.peak == 255
    assert out.mode == "L" and out.format == Image.open(tmp_path / name).format
    assert np.array_equal(np.asarray(out), array)


@pytest.mark.parametrize("name", ["g16.png", "g16.tif"])
def test_16bit_gray_roundtrip_keeps_depth(tmp_path, name):
    array = rng.integers(0, 65536, (7, 5), dtype=np.uint16)
    loaded, out = roundtrip(tmp_path, Image.fromarray(array), name)
    assert loaded.peak == 65535
    assert np.array_equal(np.asarray(out).astype(np.int64), array.astype(np.int64))
    assert out.mode in ("I;16", "I")


def test_rgba_keeps_alpha_untouched(tmp_path):
    array = rng.integers(0, 256, (6, 8, 4), dtype=np.uint8)
    loaded, out = roundtrip(tmp_path, Image.fromarray(array, "RGBA"), "c.png")
    assert loaded.pixels.shape == (3, 6, 8) and loaded.alpha is not None
    assert out.mode == "RGBA"
    assert np.array_equal(np.asarray(out), array)


def test_gray_alpha_and_jpeg(tmp_path):
    la = Image.fromarray(rng.integers(0, 256, (6, 8, 2), dtype=np.uint8), "LA")
    _, out = roundtrip(tmp_path, la, "la.png")
    assert out.mode == "LA"
    jpeg = Image.fromarray(rng.integers(0, 256, (16, 24, 3), dtype=np.uint8), "RGB")
    loaded, out = roundtrip(tmp_path, jpeg, "c.jpg", quality=95)
    assert out.format == "JPEG" and out.size == (24, 16) and loaded.color


def test_float_tiff_roundtrip_and_nan_rejected(tmp_path):
    array = rng.random((5, 6)).astype(np.float32)
    loaded, out = roundtrip(tmp_path, Image.fromarray(array, "F"), "f.tif")
    assert out.mode == "F" and np.array_equal(np.asarray(out), array)
    array[2, 3] = np.nan
    Image.fromarray(array, "F").save(tmp_path / "nan.tif")
    with pytest.raises(EqdenoiseError, match="nan.tif: image contains NaN"):
        read_image(tmp_path / "nan.tif")


def test_truncated_unknown_missing_and_unsupported_files(tmp_path):
    Image.fromarray(rng.integers(0, 256, (64, 64), dtype=np.uint8)).save(tmp_path / "ok.png")
    data = (tmp_path / "ok.png").read_bytes()
    (tmp_path / "cut.png").write_bytes(data[: len(data) // 2])
    (tmp_path / "text.png").write_text("not an image")
    Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(tmp_path / "x.bmp")
    Image.fromarray(rng.integers(0, 256, (8, 8, 4), dtype=np.uint8), "RGBA").convert("CMYK").save(tmp_path / "k.tif")
    pages = [Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)) for _ in range(3)]
    pages[0].save(tmp_path / "stack.tif", save_all=True, append_images=pages[1:])
    cases = {"cut.png": "damaged or truncated", "text.png": "not a readable image", "x.bmp": "not supported",
             "k.tif": "mode 'CMYK' is not supported", "missing.png": "no such file",
             "stack.tif": "has 3 pages; this command takes single-page images"}
    for name, message in cases.items():
        with pytest.raises(EqdenoiseError, match=message) as info:
            read_image(tmp_path / name)
        assert str(info.value).startswith(str(tmp_path / name))


def test_write_is_atomic_and_never_overwrites_input(tmp_path):
    array = rng.integers(0, 256, (8, 8), dtype=np.uint8)
    Image.fromarray(array).save(tmp_path / "in.png")
    loaded = read_image(tmp_path / "in.png")
    with pytest.raises(EqdenoiseError, match="refusing to overwrite the input"):
        write_image(loaded, loaded.pixels * 0, tmp_path / "in.png", overwrite=True)
    assert np.array_equal(np.asarray(Image.open(tmp_path / "in.png")), array)
    write_image(loaded, loaded.pixels, tmp_path / "out.png")
    with pytest.raises(EqdenoiseError, match="output exists"):
        write_image(loaded, loaded.pixels, tmp_path / "out.png")
    write_image(loaded, loaded.pixels * 0, tmp_path / "out.png", overwrite=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "out.png"]


def test_output_must_keep_the_input_format(tmp_path):
    Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(tmp_path / "in.png")
    loaded = read_image(tmp_path / "in.png")
    with pytest.raises(EqdenoiseError, match=r"keeps the input's format \(PNG\)"):
        write_image(loaded, loaded.pixels, tmp_path / "out.jpg")
    write_image(loaded, loaded.pixels, tmp_path / "out.noext")
    assert Image.open(tmp_path / "out.noext").format == "PNG"


def test_outputs_get_ordinary_permissions(tmp_path):
    import os

    Image.fromarray(rng.integers(0, 256, (8, 8), dtype=np.uint8)).save(tmp_path / "in.png")
    loaded = read_image(tmp_path / "in.png")
    write_image(loaded, loaded.pixels, tmp_path / "out.png")
    umask = os.umask(0)
    os.umask(umask)
    assert (tmp_path / "out.png").stat().st_mode & 0o777 == 0o666 & ~umask


def test_a_tiff_stack_is_read_page_by_page_and_written_back_as_a_stack(tmp_path):
    arrays = [rng.integers(0, 65536, (9, 14), dtype=np.uint16) for _ in range(3)]
    pages = [Image.fromarray(a) for a in arrays]
    pages[0].save(tmp_path / "stack.tif", save_all=True, append_images=pages[1:])
    loaded = read_pages(tmp_path / "stack.tif")
    assert [page.peak for page in loaded] == [65535.0] * 3
    for page, array in zip(loaded, arrays, strict=True):
        np.testing.assert_array_equal(np.rint(page.pixels[0] * 65535), array)
    write_pages(loaded, [page.pixels for page in loaded], tmp_path / "out.tif")
    with Image.open(tmp_path / "out.tif") as written:
        assert written.n_frames == 3
        for index, array in enumerate(arrays):
            written.seek(index)
            np.testing.assert_array_equal(np.asarray(written), array)
    assert len(read_pages(tmp_path / "out.tif")) == 3


def test_a_stack_over_the_pixel_limit_is_refused_before_it_is_loaded(tmp_path, monkeypatch):
    pages = [Image.fromarray(rng.integers(0, 256, (10, 10), dtype=np.uint8)) for _ in range(3)]
    pages[0].save(tmp_path / "stack.tif", save_all=True, append_images=pages[1:])
    monkeypatch.setattr("eqdenoise.files.imageio.MAX_PIXELS", 250)
    with pytest.raises(EqdenoiseError, match=r"stack.tif: 10×10 \(with the 2 pages before it\) is larger than"):
        read_pages(tmp_path / "stack.tif")


def test_a_stack_of_more_pages_than_the_limit_is_refused_while_reading(tmp_path, monkeypatch):
    pages = [Image.fromarray(rng.integers(0, 256, (4, 4), dtype=np.uint8)) for _ in range(6)]
    pages[0].save(tmp_path / "many.tif", save_all=True, append_images=pages[1:])
    monkeypatch.setattr("eqdenoise.files.imageio.MAX_PAGES", 5)
    with pytest.raises(EqdenoiseError, match=r"many.tif: has more than 5 pages; split the stack"):
        read_pages(tmp_path / "many.tif")
    monkeypatch.setattr("eqdenoise.files.imageio.MAX_PAGES", 6)
    assert len(read_pages(tmp_path / "many.tif")) == 6


def _srgb_profile() -> bytes:
    from PIL import ImageCms

    return ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()


def _with_orientation(value: int) -> Image.Exif:
    exif = Image.Exif()
    exif[274] = value
    return exif


@pytest.mark.parametrize("fmt", ["PNG", "JPEG"])
def test_png_and_jpeg_keep_icc_exif_orientation_dpi_and_text(tmp_path, fmt):
    from eqdenoise.files.imageio import read_pages, write_pages

    source = tmp_path / f"in.{fmt.lower()}"
    pixels = (np.random.default_rng(1).random((18, 26, 3)) * 255).astype(np.uint8)
    options = {"icc_profile": _srgb_profile(), "exif": _with_orientation(6).tobytes(), "dpi": (300, 300)}
    if fmt == "PNG":
        from PIL import PngImagePlugin

        text = PngImagePlugin.PngInfo()
        text.add_text("Comment", "slide 4, stain HE")
        options["pnginfo"] = text
    Image.fromarray(pixels).save(source, format=fmt, **options)
    target = tmp_path / f"out.{fmt.lower()}"
    pages = read_pages(source)
    write_pages(pages, [page.pixels for page in pages], target)
    with Image.open(source) as before, Image.open(target) as after:
        assert after.info.get("icc_profile") == before.info["icc_profile"]
        assert after.getexif()[274] == 6
        assert tuple(round(v) for v in after.info["dpi"]) == (300, 300)
        if fmt == "PNG":
            assert after.text["Comment"] == "slide 4, stain HE"
        assert ImageOps.exif_transpose(after).size == ImageOps.exif_transpose(before).size == (18, 26)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16, np.float32])
def test_tiff_keeps_imagej_description_resolution_orientation_icc_and_compression(tmp_path, dtype):
    from eqdenoise.files.imageio import read_pages, write_pages

    description = "ImageJ=1.54f\nimages=2\nslices=2\nunit=micron\nspacing=0.5\n"
    source, target = tmp_path / "in.tif", tmp_path / "out.tif"
    planes = [Image.fromarray((np.random.default_rng(i).random((12, 16)) * 200).astype(dtype)) for i in range(2)]
    planes[0].save(source, save_all=True, append_images=planes[1:], compression="tiff_lzw",
                   tiffinfo={270: description, 274: 8, 282: 4.0, 283: 4.0, 296: 3}, icc_profile=_srgb_profile())
    pages = read_pages(source)
    write_pages(pages, [page.pixels for page in pages], target)
    with Image.open(target) as after:
        assert after.n_frames == 2
        tags = after.tag_v2
        assert tags[270] == description and tags[274] == 8 and (tags[282], tags[283], tags[296]) == (4.0, 4.0, 3)
        assert after.info["compression"] == "tiff_lzw" and after.info["icc_profile"] == _srgb_profile()


def test_a_denoised_jpeg_displays_like_its_input(tmp_path, tiny_rgb_path):
    from eqdenoise.api import denoise_file

    source, target = tmp_path / "photo.jpg", tmp_path / "photo-denoised.jpg"
    pixels = (np.random.default_rng(2).random((16, 24, 3)) * 255).astype(np.uint8)
    Image.fromarray(pixels).save(source, exif=_with_orientation(6).tobytes(), quality=95)
    denoise_file(source, target, model=tiny_rgb_path, sigma=10)
    with Image.open(source) as before, Image.open(target) as after:
        assert after.getexif()[274] == 6 and ImageOps.exif_transpose(after).size == ImageOps.exif_transpose(before).size


def _png16(path, planes: np.ndarray, color_type: int) -> None:
    """A 16-bit PNG written by hand (Pillow cannot write 16-bit colour): planes H×W×C, big-endian samples."""
    import struct
    import zlib

    height, width = planes.shape[:2]
    rows = b"".join(b"\x00" + planes[i].astype(">u2").tobytes() for i in range(height))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 16, color_type, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows))
                     + chunk(b"IEND", b""))


def test_16bit_colour_and_gray_alpha_are_refused_not_read_as_8bit(tmp_path):
    import tifffile

    rng = np.random.default_rng(0)
    planes = rng.integers(0, 65536, size=(6, 9, 4), dtype=np.uint16)
    _png16(tmp_path / "rgb.png", planes[..., :3], 2)
    _png16(tmp_path / "la.png", planes[..., :2], 4)
    _png16(tmp_path / "rgba.png", planes, 6)
    tifffile.imwrite(tmp_path / "rgb.tif", planes[..., :3])
    for name, kind in (("rgb.png", "colour"), ("la.png", "gray+alpha"), ("rgba.png", "colour"), ("rgb.tif", "colour")):
        with pytest.raises(EqdenoiseError, match=re.escape(f"{name}: 16-bit {kind} images are not supported")):
            read_pages(tmp_path / name)
    _png16(tmp_path / "gray.png", planes[..., :1], 0)
    page = read_image(tmp_path / "gray.png")
    assert page.peak == 65535.0 and np.array_equal(np.rint(page.pixels[0] * 65535), planes[..., 0])


@pytest.mark.parametrize(("dtype", "samples", "planar", "message"), [
    (np.uint16, 3, "separate", "16-bit colour images stored as separate planes are not supported"),
    (np.uint16, 4, "separate", "16-bit colour images stored as separate planes are not supported"),
    (np.uint16, 3, "contig", "16-bit colour images are not supported"),
    (np.int16, 1, "contig", "signed 16-bit integer TIFF is not supported"),
    (np.int8, 1, "contig", "signed 8-bit integer TIFF is not supported"),
    (np.uint8, 2, "separate", "gray+alpha images stored as separate planes are not supported"),
])
def test_tiff_samples_pillow_would_misread_are_refused(tmp_path, dtype, samples, planar, message):
    """Separate 16-bit planes were read byte-wise as 8-bit (garbage with exit 0); signed ones were called 32-bit."""
    import tifffile

    values = np.random.default_rng(1).integers(0, 120, size=(samples, 7, 11)).astype(dtype)
    path = tmp_path / "odd.tif"
    extra = {"extrasamples": ["unassalpha"]} if samples in (2, 4) else {}
    tifffile.imwrite(path, values if planar == "separate" else np.moveaxis(values, 0, -1).squeeze(),
                     photometric="rgb" if samples >= 3 else "minisblack", planarconfig=planar, compression="zlib", **extra)
    with pytest.raises(EqdenoiseError, match=re.escape(f"{path}: {message}")):
        read_pages(path)


def test_8bit_rgb_in_separate_planes_is_read_as_stored(tmp_path):
    import tifffile

    values = np.random.default_rng(2).integers(0, 256, size=(3, 7, 11)).astype(np.uint8)
    tifffile.imwrite(tmp_path / "planes.tif", values, photometric="rgb", planarconfig="separate")
    np.testing.assert_array_equal(read_image(tmp_path / "planes.tif").pixels * 255, values)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_a_miniswhite_tiff_is_read_as_intensities_and_written_to_display_the_same(tmp_path, dtype):
    """A 16-bit MinIsWhite page came back MinIsBlack with its stored values, so it showed as a negative."""
    import tifffile

    peak = np.iinfo(dtype).max
    stored = np.random.default_rng(3).integers(0, peak + 1, size=(9, 13)).astype(dtype)
    tifffile.imwrite(tmp_path / "white.tif", stored, photometric="miniswhite")
    page = read_image(tmp_path / "white.tif")
    np.testing.assert_array_equal(page.pixels[0] * peak, peak - stored.astype(np.float64))
    write_image(page, page.pixels, tmp_path / "out.tif")
    with tifffile.TiffFile(tmp_path / "out.tif") as written:
        shown = written.pages[0].asarray().astype(np.int64)
        if written.pages[0].photometric == 0:
            shown = peak - shown
    np.testing.assert_array_equal(shown, peak - stored.astype(np.int64))


def test_a_float_miniswhite_tiff_is_refused(tmp_path):
    import tifffile

    tifffile.imwrite(tmp_path / "white.tif", np.full((5, 6), 0.5, np.float32), photometric="miniswhite")
    with pytest.raises(EqdenoiseError, match="MinIsWhite \\(inverted\\) F TIFF is not supported"):
        read_pages(tmp_path / "white.tif")


@pytest.mark.parametrize(("mode", "key"), [("L", 8), ("I;16", 4000), ("RGB", (8, 16, 24))])
def test_png_colour_key_transparency_marks_the_same_pixels_after_denoising(tmp_path, mode, key):
    """tRNS was dropped; now the input's transparent pixels keep the key and no visible pixel lands on it."""
    rng = np.random.default_rng(4)
    shape = (10, 12, 3) if mode == "RGB" else (10, 12)
    dtype = np.uint16 if mode == "I;16" else np.uint8
    values = rng.integers(0, 20, size=shape).astype(dtype)
    keyed = np.zeros((10, 12), bool)
    keyed[::3, ::2] = True
    values[keyed] = key
    keyed = (values == key).all(axis=-1) if mode == "RGB" else values == key
    Image.fromarray(values).save(tmp_path / "keyed.png", transparency=key)
    page = read_image(tmp_path / "keyed.png")
    result = np.clip(page.pixels + rng.normal(0, 0.02, page.pixels.shape), 0, 1)
    result[:, ~keyed] = page.pixels[:, keyed][:, :1]
    write_image(page, result.astype(np.float32), tmp_path / "out.png")
    with Image.open(tmp_path / "out.png") as out:
        assert out.info["transparency"] == key and out.mode == Image.open(tmp_path / "keyed.png").mode
        written = np.asarray(out)
    hidden = (written == key).all(axis=-1) if mode == "RGB" else written == key
    np.testing.assert_array_equal(hidden, keyed)


def test_png_gamma_chromaticity_srgb_and_jpeg_comments_are_kept(tmp_path):
    from PIL import PngImagePlugin

    chunks = PngImagePlugin.PngInfo()
    chunks.add(b"gAMA", (45455).to_bytes(4, "big"))
    chunks.add(b"cHRM", b"".join(v.to_bytes(4, "big") for v in (31270, 32900, 64000, 33000, 30000, 60000, 15000, 6000)))
    chunks.add(b"sRGB", b"\x01")
    gray = np.arange(48, dtype=np.uint8).reshape(6, 8)
    Image.fromarray(gray).save(tmp_path / "g.png", pnginfo=chunks)
    page = read_image(tmp_path / "g.png")
    write_image(page, page.pixels, tmp_path / "g-out.png")
    with Image.open(tmp_path / "g.png") as before, Image.open(tmp_path / "g-out.png") as after:
        for key in ("gamma", "chromaticity", "srgb"):
            assert after.info[key] == before.info[key], key
    Image.fromarray(np.stack([gray] * 3, axis=-1)).save(tmp_path / "c.jpg", comment=b"slide 7, stain H&E")
    page = read_image(tmp_path / "c.jpg")
    write_image(page, page.pixels, tmp_path / "c-out.jpg")
    with Image.open(tmp_path / "c-out.jpg") as after:
        assert after.info["comment"] == b"slide 7, stain H&E"


@pytest.mark.parametrize("suffix", ["png", "tif"])
def test_a_1bit_image_comes_back_1bit(tmp_path, suffix):
    bits = np.random.default_rng(5).random((9, 14)) > 0.5
    Image.fromarray(bits).save(tmp_path / f"b.{suffix}")
    page = read_image(tmp_path / f"b.{suffix}")
    write_image(page, np.clip(page.pixels + 0.3 * (page.pixels - 0.5), 0, 1), tmp_path / f"out.{suffix}")
    with Image.open(tmp_path / f"out.{suffix}") as out:
        assert out.mode == "1"
        np.testing.assert_array_equal(np.asarray(out), bits)


def test_each_page_of_a_tiff_stack_keeps_its_own_description_and_resolution(tmp_path):
    from PIL import TiffImagePlugin

    pages = []
    for text, dpi in (("page one", 72.0), ("page two", 300.0), ("page three", 150.0)):
        tags = TiffImagePlugin.ImageFileDirectory_v2()
        tags[270], tags[282], tags[283] = text, dpi, dpi
        image = Image.fromarray(np.full((6, 7), int(dpi) % 256, np.uint8))
        image.encoderinfo = {"tiffinfo": tags}
        pages.append(image)
    pages[0].save(tmp_path / "stack.tif", save_all=True, append_images=pages[1:], tiffinfo=pages[0].encoderinfo["tiffinfo"])
    read = read_pages(tmp_path / "stack.tif")
    write_pages(read, [page.pixels for page in read], tmp_path / "out.tif")
    with Image.open(tmp_path / "out.tif") as out:
        found = []
        for index in range(3):
            out.seek(index)
            found.append((out.tag_v2[270], float(out.tag_v2[282])))
    assert found == [("page one", 72.0), ("page two", 300.0), ("page three", 150.0)]


@pytest.mark.parametrize(("subsampling", "expected"), [(0, False), (1, True), (2, True)])
def test_a_colour_jpeg_with_subsampled_chroma_is_marked_noise_in_luma(tmp_path, subsampling, expected):
    values = np.random.default_rng(6).integers(0, 256, size=(16, 16, 3)).astype(np.uint8)
    Image.fromarray(values).save(tmp_path / "x.jpg", subsampling=subsampling, quality=95)
    assert read_image(tmp_path / "x.jpg").noise_in_luma is expected
    Image.fromarray(values[..., 0]).save(tmp_path / "g.jpg", quality=95)
    assert read_image(tmp_path / "g.jpg").noise_in_luma is False
